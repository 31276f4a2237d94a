import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import type { Redis } from 'ioredis';
import { InjectRedis } from 'src/common/redis/redis.constants';

/** PING over the application's own Redis connection: ready means the connection the app uses works. */
@Injectable()
export class RedisHealthIndicator {
  constructor(
    private readonly indicators: HealthIndicatorService,
    @InjectRedis() private readonly redis: Redis | null,
  ) {}

  get configured(): boolean {
    return this.redis !== null;
  }

  pingCheck(key: string, timeoutMs: number) {
    const redis = this.redis;
    return this.indicators
      .check(key)
      .attempt(async () => {
        if (!redis) throw new Error('REDIS_URL is not set');
        const reply: string = await redis.ping();
        if (reply !== 'PONG') throw new Error(`unexpected PING reply ${reply}`);
      })
      .withTimeout(timeoutMs);
  }
}
