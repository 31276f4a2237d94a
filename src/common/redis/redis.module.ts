import { Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { closeRedisConnection, createRedisConnection } from 'src/common/redis/redis-connection';
import { REDIS_CLIENT } from 'src/common/redis/redis.constants';
import { AppConfig } from 'src/config/app-config';

/**
 * Provides the process-wide Redis connection under `REDIS_CLIENT` (null without
 * REDIS_URL). Keys written through it start with `config.redisKeyPrefix`.
 */
@Global()
@Module({
  providers: [
    {
      provide: REDIS_CLIENT,
      inject: [AppConfig],
      useFactory: (config: AppConfig): Redis | null => (config.redisUrl ? createRedisConnection(config.redisUrl) : null),
    },
  ],
  exports: [REDIS_CLIENT],
})
export class RedisModule implements OnApplicationShutdown {
  constructor(@Inject(REDIS_CLIENT) private readonly redis: Redis | null) {}

  // Application shutdown runs after every module's destroy hook, so users of the
  // connection have finished their last commands by now.
  async onApplicationShutdown(): Promise<void> {
    if (this.redis) await closeRedisConnection(this.redis);
  }
}
