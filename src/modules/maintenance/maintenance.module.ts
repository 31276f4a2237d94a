import { Module } from '@nestjs/common';
import { AuthModule } from 'src/modules/auth/auth.module';
import { MaintenanceHandler } from 'src/modules/maintenance/maintenance.handler';
import { MaintenanceJobs } from 'src/modules/maintenance/maintenance.jobs';
import { MaintenanceService } from 'src/modules/maintenance/maintenance.service';

/** The scheduler role's housekeeping. AuditRepository comes from the global AuditModule. */
@Module({
  imports: [AuthModule],
  controllers: [MaintenanceHandler],
  providers: [MaintenanceService, MaintenanceJobs],
})
export class MaintenanceModule {}
