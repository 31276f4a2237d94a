import { Module } from '@nestjs/common';
import { HealthModule } from 'src/common/observability/health.module';
import { LoggingModule } from 'src/common/observability/logging.module';
import { MetricsModule } from 'src/common/observability/metrics.module';

/** Logs, metrics and health probes: infrastructure every role loads. */
@Module({ imports: [LoggingModule, MetricsModule, HealthModule] })
export class ObservabilityModule {}
