import { Column, CreateDateColumn, Entity, ForeignKey, Index, PrimaryGeneratedColumn } from 'typeorm';
import { User } from 'src/modules/users/user.entity';

/**
 * One login. Refresh tokens rotate within it (it is their "family") and access tokens carry
 * its id, so revoking the session ends every token of that login at once.
 */
@Entity('sessions')
@Index('idx_sessions_user', ['userId'])
export class Session {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'uuid' })
  @ForeignKey(() => User, { onDelete: 'CASCADE' })
  userId: string;

  /** How the session was opened: password, oidc, register. */
  @Column({ type: 'varchar', length: 16 })
  method: string;

  @Column({ type: 'varchar', length: 64, nullable: true })
  ip: string | null;

  @Column({ type: 'varchar', length: 256, nullable: true })
  userAgent: string | null;

  @Column({ type: 'timestamptz' })
  expiresAt: Date;

  @Column({ type: 'timestamptz', nullable: true })
  revokedAt: Date | null;

  /** Why it was revoked: logout, refresh-token-reuse, suspended, password-change. */
  @Column({ type: 'varchar', length: 32, nullable: true })
  revokedReason: string | null;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt: Date;
}
