import { Controller, Get, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { PrometheusController } from '@willsoto/nestjs-prometheus';
import type { FastifyReply } from 'fastify';
import { Public } from 'src/common/auth/auth.decorator';
import { SkipRateLimit } from 'src/modules/rate-limit/skip-rate-limit.decorator';

/**
 * Prometheus text exposition at `/metrics` (path set by `PrometheusModule.register`). Public
 * so that a scraper needs no credentials: keep it off the public ingress instead.
 */
@ApiExcludeController()
// Polled by orchestrators and scrapers: never throttled.
@SkipRateLimit()
@Controller()
export class MetricsController extends PrometheusController {
  @Get()
  @Public()
  override index(@Res({ passthrough: true }) response: FastifyReply): Promise<string> {
    return super.index(response);
  }
}
