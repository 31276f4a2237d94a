import { Controller, Get, Res, ServiceUnavailableException } from '@nestjs/common';
import { ApiOkResponse, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import {
  HealthCheckResult,
  HealthCheckService,
  HealthIndicatorResult,
  HealthIndicatorService,
  TypeOrmHealthIndicator,
} from '@nestjs/terminus';
import type { FastifyReply } from 'fastify';
import { Public } from 'src/common/auth/auth.decorator';
import { RedisHealthIndicator } from 'src/common/observability/redis-health.indicator';
import { SkipRateLimit } from 'src/modules/rate-limit/skip-rate-limit.decorator';

/** Long enough for a busy database, short enough to answer within a probe's timeout. */
const CHECK_TIMEOUT_MS = 1_500;
/**
 * The probes are public: however often they are called, each dependency is checked at most
 * this often, so hammering /health/ready cannot load the database or Redis.
 */
const CHECK_CACHE_MS = 1_000;

/**
 * Probes for orchestrators and load balancers, outside the API prefix and public. Both
 * answer Terminus's report, `{ status, info, error, details }`, with 200 when healthy and
 * 503 otherwise (also while the process is shutting down), so a failing dependency is
 * named in the body.
 */
@ApiTags('health')
// Polled by orchestrators and scrapers: never throttled.
@SkipRateLimit()
@Controller('health')
export class HealthController {
  private readonly startedAt = Date.now();

  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly database: TypeOrmHealthIndicator,
    private readonly redis: RedisHealthIndicator,
  ) {}

  /** The process is up and its event loop answers; dependencies are readiness's business. */
  @Get('live')
  @Public()
  @ApiOkResponse({ description: 'The process is running' })
  @ApiServiceUnavailableResponse({ description: 'The process is shutting down' })
  live(@Res({ passthrough: true }) reply: FastifyReply): Promise<HealthCheckResult> {
    return this.report(reply, [
      () => this.indicators.check('process').up({ uptimeSeconds: Math.round((Date.now() - this.startedAt) / 1000) }),
    ]);
  }

  /** Ready to serve: the database answers SELECT 1 and, when configured, Redis answers PING. */
  @Get('ready')
  @Public()
  @ApiOkResponse({ description: 'Every dependency answers' })
  @ApiServiceUnavailableResponse({ description: 'A dependency is down; the body names it' })
  ready(@Res({ passthrough: true }) reply: FastifyReply): Promise<HealthCheckResult> {
    return this.report(reply, [
      () => this.database.pingCheck('database').withTimeout(CHECK_TIMEOUT_MS).cacheFor(CHECK_CACHE_MS),
      ...(this.redis.configured ? [() => this.redis.pingCheck('redis', CHECK_TIMEOUT_MS).cacheFor(CHECK_CACHE_MS)] : []),
    ]);
  }

  /**
   * Terminus signals failure by throwing a 503 that carries the report; the global error
   * filter would flatten it to the generic error shape, so the report is sent instead.
   */
  private async report(reply: FastifyReply, checks: Parameters<HealthCheckService['check']>[0]): Promise<HealthCheckResult> {
    try {
      return await this.health.check(checks);
    } catch (error) {
      if (!(error instanceof ServiceUnavailableException)) throw error;
      void reply.status(503);
      return withoutFailureMessages(error.getResponse() as HealthCheckResult);
    }
  }
}

/**
 * A failed check's message names hosts, ports and driver internals; anyone can call the
 * probes, so the body says which dependency is down and the log (Terminus logs every failed
 * check) says why.
 */
function withoutFailureMessages(result: HealthCheckResult): HealthCheckResult {
  const strip = <T extends Partial<HealthIndicatorResult> | undefined>(section: T): T =>
    section &&
    (Object.fromEntries(
      Object.entries(section).map(([key, entry]) => [
        key,
        entry?.status === 'down' ? { status: entry.status, responseTime: entry.responseTime } : entry,
      ]),
    ) as T);
  return { ...result, info: strip(result.info), error: strip(result.error), details: strip(result.details) };
}
