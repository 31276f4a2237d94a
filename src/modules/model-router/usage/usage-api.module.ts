import { Module } from '@nestjs/common';
import { AdminQuotasController } from 'src/modules/model-router/usage/admin-quotas.controller';
import { AdminQuotasService } from 'src/modules/model-router/usage/admin-quotas.service';
import { UsageReportService } from 'src/modules/model-router/usage/usage-report.service';
import { UsageController } from 'src/modules/model-router/usage/usage.controller';
import { UsageModule } from 'src/modules/model-router/usage/usage.module';

/** REST for quotas (instance admins) and usage (workspace members); the `api` role loads it. */
@Module({
  imports: [UsageModule],
  controllers: [AdminQuotasController, UsageController],
  providers: [AdminQuotasService, UsageReportService],
})
export class UsageApiModule {}
