import { Column, CreateDateColumn, Entity, ForeignKey, Index, PrimaryGeneratedColumn } from 'typeorm';
import { Session } from 'src/modules/auth/tokens/session.entity';

/**
 * A single-use refresh token. Only its SHA-256 is stored: the secret is 256 random bits,
 * so a fast hash is as safe as a slow one and costs nothing per refresh.
 */
@Entity('refresh_tokens')
@Index('idx_refresh_tokens_session', ['sessionId'])
export class RefreshToken {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'uuid' })
  @ForeignKey(() => Session, { onDelete: 'CASCADE' })
  sessionId: string;

  @Column({ type: 'char', length: 64 })
  secretHash: string;

  @Column({ type: 'timestamptz' })
  expiresAt: Date;

  /** Set when it was exchanged; presenting it again means it leaked. */
  @Column({ type: 'timestamptz', nullable: true })
  usedAt: Date | null;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt: Date;
}
