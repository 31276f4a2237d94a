import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { Auth, Authenticated } from 'src/common/auth/auth.decorator';
import { AuthContext } from 'src/common/auth/auth-context';
import { Permission } from 'src/common/auth/permission.enum';
import { QuotaStatusDto } from 'src/modules/model-router/usage/dto/quotas.dto';
import { ListUsageQuery, UsagePageDto } from 'src/modules/model-router/usage/dto/usage.dto';
import { UsageReportService } from 'src/modules/model-router/usage/usage-report.service';

/**
 * Any member who may use models may read usage: their own, or the whole workspace's with
 * `usage.read` (owners and admins). The workspace is the request's (X-Workspace-Id, the
 * API key's, or the personal one).
 */
@ApiTags('usage')
@Controller('usage')
export class UsageController {
  constructor(private readonly usage: UsageReportService) {}

  @Get()
  @Authenticated({ permission: Permission.ModelRead })
  @ApiOkResponse({ type: UsagePageDto })
  list(@Auth() auth: AuthContext, @Query() query: ListUsageQuery): Promise<UsagePageDto> {
    return this.usage.list(auth, query);
  }

  @Get('quota')
  @Authenticated({ permission: Permission.ModelRead })
  @ApiOkResponse({ type: [QuotaStatusDto] })
  quota(@Auth() auth: AuthContext): Promise<QuotaStatusDto[]> {
    return this.usage.quotaStatus(auth);
  }
}
