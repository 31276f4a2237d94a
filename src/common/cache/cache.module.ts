import { Global, Module } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { CacheStore } from 'src/common/cache/cache-store';
import { MemoryCacheStore } from 'src/common/cache/memory-cache-store';
import { RedisCacheStore } from 'src/common/cache/redis-cache-store';
import { REDIS_CLIENT } from 'src/common/redis/redis.constants';
import { AppConfig } from 'src/config/app-config';

/** Makes `CacheStore` injectable everywhere: Redis when configured, an in-process LRU otherwise. */
@Global()
@Module({
  providers: [
    {
      provide: CacheStore,
      inject: [AppConfig, REDIS_CLIENT],
      useFactory: (config: AppConfig, redis: Redis | null): CacheStore =>
        redis ? new RedisCacheStore(redis, `${config.redisKeyPrefix}cache:`) : new MemoryCacheStore(),
    },
  ],
  exports: [CacheStore],
})
export class CacheModule {}
