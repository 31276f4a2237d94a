import { Module } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { REDIS_CLIENT } from 'src/common/redis/redis.constants';
import { AppConfig } from 'src/config/app-config';
import { MemoryQuotaCounterStore } from 'src/modules/model-router/usage/counters/memory-quota-counter-store';
import { QuotaCounterStore } from 'src/modules/model-router/usage/counters/quota-counter-store';
import { RedisQuotaCounterStore } from 'src/modules/model-router/usage/counters/redis-quota-counter-store';
import { QuotaDefinitions, QuotaRuleSource } from 'src/modules/model-router/usage/quota-definitions';
import { QuotaService } from 'src/modules/model-router/usage/quota.service';
import { QuotasRepository } from 'src/modules/model-router/usage/quotas.repository';
import { TokenQuotas, UsageRecorder } from 'src/modules/model-router/usage/usage.contract';
import { UsageRepository } from 'src/modules/model-router/usage/usage.repository';
import { UsageService } from 'src/modules/model-router/usage/usage.service';

/**
 * Token quotas and usage records for the chat gateway. Counters live in Redis when
 * REDIS_URL is set (shared by replicas), in process memory otherwise. The HTTP side
 * (admin quotas, usage reads) is UsageApiModule, in the `api` role.
 */
@Module({
  providers: [
    QuotasRepository,
    UsageRepository,
    QuotaDefinitions,
    { provide: QuotaRuleSource, useExisting: QuotaDefinitions },
    {
      provide: QuotaCounterStore,
      inject: [AppConfig, REDIS_CLIENT],
      useFactory: (config: AppConfig, redis: Redis | null): QuotaCounterStore =>
        redis ? new RedisQuotaCounterStore(redis, `${config.redisKeyPrefix}quota:`) : new MemoryQuotaCounterStore(),
    },
    QuotaService,
    UsageService,
    { provide: TokenQuotas, useExisting: QuotaService },
    { provide: UsageRecorder, useExisting: UsageService },
  ],
  exports: [QuotaService, UsageService, TokenQuotas, UsageRecorder, QuotaDefinitions, QuotasRepository, UsageRepository],
})
export class UsageModule {}
