import { Column, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

/** Instance-wide settings changed by admins at run time (sign-up mode, ...), as JSON values. */
@Entity('instance_settings')
export class InstanceSetting {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  key: string;

  @Column({ type: 'jsonb' })
  value: unknown;

  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt: Date;
}
