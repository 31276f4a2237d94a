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

  async insert(event: Partial<AuditEvent>): Promise<void> {
    await this.events.insert(event as QueryDeepPartialEntity<AuditEvent>);
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
}
