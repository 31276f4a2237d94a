import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { rolePattern } from 'src/common/transport/role-messages';
import { MaintenanceRunRequest, MaintenanceRunResult } from 'src/modules/maintenance/maintenance.messages';
import { MaintenanceService } from 'src/modules/maintenance/maintenance.service';

/** Cross-role entry points of the scheduler role (no HTTP routes). */
@Controller()
export class MaintenanceHandler {
  constructor(private readonly maintenance: MaintenanceService) {}

  @MessagePattern(rolePattern('scheduler.maintenance.run'))
  run(@Payload() request: MaintenanceRunRequest): Promise<MaintenanceRunResult> {
    // Only a string reaches the log, whatever another process sent.
    const requestedBy = typeof request?.requestedBy === 'string' ? request.requestedBy.slice(0, 64) : undefined;
    return this.maintenance.run({ requestedBy });
  }
}
