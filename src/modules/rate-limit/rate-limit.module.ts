import { ExecutionContext, Module } from '@nestjs/common';
import { ThrottlerModule } from '@nestjs/throttler';
import type { Redis } from 'ioredis';
import { getRequestFromContext } from 'src/common/auth/request-context';
import { REDIS_CLIENT } from 'src/common/redis/redis.constants';
import { AppConfig } from 'src/config/app-config';
import { AuthModule } from 'src/modules/auth/auth.module';
import { AccessGuard } from 'src/modules/rate-limit/access.guard';
import { MemoryThrottlerStorage } from 'src/modules/rate-limit/memory-throttler-storage';
import { RATE_LIMIT_THROTTLER, RATE_LIMIT_WINDOW_MS } from 'src/modules/rate-limit/rate-limit.constants';
import { RateLimitGuard } from 'src/modules/rate-limit/rate-limit.guard';
import { RedisThrottlerStorage } from 'src/modules/rate-limit/redis-throttler-storage';

/**
 * Hourly request budgets: RATE_LIMIT_ANONYMOUS_PER_HOUR per client IP,
 * RATE_LIMIT_AUTHENTICATED_PER_HOUR per user or API key, none for the `unlimited` tier.
 * Counters live in Redis when it is configured (shared by replicas), in memory otherwise.
 */
@Module({
  imports: [
    AuthModule,
    ThrottlerModule.forRootAsync({
      inject: [AppConfig, REDIS_CLIENT],
      useFactory: (config: AppConfig, redis: Redis | null) => ({
        throttlers: [
          {
            name: RATE_LIMIT_THROTTLER,
            ttl: RATE_LIMIT_WINDOW_MS,
            // 0: an exhausted caller waits for the current hour to end, not a fresh hour.
            blockDuration: 0,
            limit: (context: ExecutionContext) =>
              getRequestFromContext(context).auth ? config.rateLimits.authenticatedPerHour : config.rateLimits.anonymousPerHour,
          },
        ],
        storage: redis ? new RedisThrottlerStorage(redis, `${config.redisKeyPrefix}rl:`) : new MemoryThrottlerStorage(),
      }),
    }),
  ],
  providers: [RateLimitGuard, AccessGuard],
  exports: [AccessGuard, RateLimitGuard],
})
export class RateLimitModule {}
