import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { Authenticated } from 'src/common/auth/auth.decorator';
import { Permission } from 'src/common/auth/permission.enum';
import { AuditEventDto, ListAuditEventsQuery } from 'src/modules/audit/audit-events.dto';
import { AuditService } from 'src/modules/audit/audit.service';

@ApiTags('admin')
@Controller('admin/audit-events')
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  @Get()
  @Authenticated({ permission: Permission.AdminAuditRead })
  @ApiOkResponse({ type: [AuditEventDto] })
  list(@Query() query: ListAuditEventsQuery): Promise<AuditEventDto[]> {
    return this.audit.list(query);
  }
}
