import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { RedisModule } from 'src/common/redis/redis.module';
import { HealthController } from 'src/common/observability/health.controller';
import { RedisHealthIndicator } from 'src/common/observability/redis-health.indicator';

/** `GET /health/live` and `GET /health/ready`, in every role. */
@Module({
  imports: [TerminusModule.forRoot({ errorLogStyle: 'json' }), RedisModule],
  controllers: [HealthController],
  providers: [RedisHealthIndicator],
})
export class HealthModule {}
