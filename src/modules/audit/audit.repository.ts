import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import { AuditAction, AuditEvent } from 'src/modules/audit/audit-event.entity';

export interface AuditQuery {
  action?: AuditAction;
  actorUserId?: string;
  /** Keyset pagination: events strictly older than this one. */
  before?: { createdAt: Date; id: string };
  limit: number;
}

@Injectable()
export class AuditRepository {
  constructor(@InjectRepository(AuditEvent) private readonly events: Repository<AuditEvent>) {}

  /** Returns the stored row, with the id and timestamp the database gave it. */
  async insert(event: Partial<AuditEvent>): Promise<AuditEvent> {
    const result = await this.events.insert(event as QueryDeepPartialEntity<AuditEvent>);
    return this.events.create({ ...event, ...(result.generatedMaps[0] as Partial<AuditEvent>) });
  }

  findById(id: string): Promise<AuditEvent | null> {
    return this.events.findOneBy({ id });
  }

  find(query: AuditQuery): Promise<AuditEvent[]> {
    const builder = this.events
      .createQueryBuilder('event')
      .orderBy('event.createdAt', 'DESC')
      .addOrderBy('event.id', 'DESC')
      .take(query.limit);
    if (query.action) builder.andWhere('event.action = :action', { action: query.action });
    if (query.actorUserId) builder.andWhere('event.actorUserId = :actor', { actor: query.actorUserId });
    if (query.before) {
      builder.andWhere('(event.createdAt, event.id) < (:createdAt, :id)', query.before);
    }
    return builder.getMany();
  }

  /** Retention: removes events created before `cutoff`, in batches so no delete holds long locks. */
  async deleteOlderThan(cutoff: Date, batchSize = 5_000): Promise<number> {
    let total = 0;
    for (;;) {
      const result = await this.events
        .createQueryBuilder()
        .delete()
        .where('id IN (SELECT id FROM audit_events WHERE created_at < :cutoff LIMIT :batchSize)', { cutoff, batchSize })
        .execute();
      const deleted = result.affected ?? 0;
      total += deleted;
      if (deleted < batchSize) return total;
    }
  }
}
