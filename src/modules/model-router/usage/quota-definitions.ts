import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import { InjectRedis } from 'src/common/redis/redis.constants';
import { ReplicatedInvalidation } from 'src/common/redis/replicated-invalidation';
import { AppConfig } from 'src/config/app-config';
import type { QuotaPeriod, QuotaScope } from 'src/modules/model-router/usage/quota-windows';
import { QuotaSubjectRef, QuotasRepository } from 'src/modules/model-router/usage/quotas.repository';
import type { UsageSubject } from 'src/modules/model-router/usage/usage.contract';

export interface QuotaRule {
  scope: QuotaScope;
  subjectId: string;
  period: QuotaPeriod;
  limitTokens: number;
}

/** Where QuotaService finds the limits of a caller (the cached repository; a plain list in tests). */
export abstract class QuotaRuleSource {
  abstract forSubject(subject: UsageSubject): Promise<QuotaRule[]>;
}

/** Upper bound on staleness should an invalidation message ever be lost. */
const ENTRY_TTL_MS = 60_000;
const MAX_ENTRIES = 100_000;

export function subjectRefs(subject: UsageSubject): QuotaSubjectRef[] {
  const refs: QuotaSubjectRef[] = [
    { scope: 'workspace', subjectId: subject.workspaceId },
    { scope: 'user', subjectId: subject.userId },
  ];
  if (subject.apiKeyId) refs.push({ scope: 'api-key', subjectId: subject.apiKeyId });
  return refs;
}

/**
 * The quotas of each workspace, user and API key, cached in process so that a call under no
 * quota costs no query (the cache holds "none" too). Admin changes call `invalidate()`,
 * which empties this cache and, over Redis pub/sub, that of every other replica, the same
 * way the AccessCache does; a read that started before an invalidation is never stored
 * after it. Without Redis there is one process and the local clear is enough.
 */
@Injectable()
export class QuotaDefinitions extends QuotaRuleSource implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(QuotaDefinitions.name);
  private readonly entries = new LRUCache<string, QuotaRule[]>({ max: MAX_ENTRIES, ttl: ENTRY_TTL_MS });
  private readonly invalidation: ReplicatedInvalidation;
  private epoch = 0;

  constructor(
    private readonly repository: QuotasRepository,
    @InjectRedis() redis: Redis | null,
    config: AppConfig,
  ) {
    super();
    this.invalidation = new ReplicatedInvalidation(
      redis,
      `${config.redisKeyPrefix}quota:definitions-changed`,
      () => this.clearLocal(),
      this.logger,
      ENTRY_TTL_MS,
    );
  }

  onModuleInit(): void {
    this.invalidation.start();
  }

  onModuleDestroy(): Promise<void> {
    return this.invalidation.stop();
  }

  async forSubject(subject: UsageSubject): Promise<QuotaRule[]> {
    const refs = subjectRefs(subject);
    const rules: QuotaRule[] = [];
    const missing: QuotaSubjectRef[] = [];
    for (const ref of refs) {
      const cached = this.entries.get(cacheKey(ref));
      if (cached) rules.push(...cached);
      else missing.push(ref);
    }
    if (missing.length === 0) return rules;

    const epoch = this.epoch;
    const loaded = await this.repository.findForSubjects(missing);
    for (const ref of missing) {
      const own = loaded
        .filter((quota) => quota.scope === ref.scope && quota.subjectId === ref.subjectId)
        .map(({ scope, subjectId, period, limitTokens }) => ({ scope, subjectId, period, limitTokens }));
      if (epoch === this.epoch) this.entries.set(cacheKey(ref), own);
      rules.push(...own);
    }
    return rules;
  }

  invalidate(): Promise<void> {
    return this.invalidation.publish();
  }

  private clearLocal(): void {
    this.epoch++;
    this.entries.clear();
  }
}

function cacheKey(ref: QuotaSubjectRef): string {
  return `${ref.scope}:${ref.subjectId}`;
}
