import { Body, Controller, Get, Patch } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { Auth, Authenticated } from 'src/common/auth/auth.decorator';
import { AuthContext } from 'src/common/auth/auth-context';
import { Permission } from 'src/common/auth/permission.enum';
import { AuditAction } from 'src/modules/audit/audit-event.entity';
import { AuditService } from 'src/modules/audit/audit.service';
import { InstanceSettingsDto, UpdateInstanceSettingsDto } from 'src/modules/settings/settings.dto';
import { SettingsService } from 'src/modules/settings/settings.service';

@ApiTags('admin')
@Controller('admin/settings')
export class SettingsController {
  constructor(
    private readonly settings: SettingsService,
    private readonly audit: AuditService,
  ) {}

  @Get()
  @Authenticated({ permission: Permission.AdminSettingsManage })
  @ApiOkResponse({ type: InstanceSettingsDto })
  get(): Promise<InstanceSettingsDto> {
    return this.settings.get();
  }

  @Patch()
  @Authenticated({ permission: Permission.AdminSettingsManage, sessionOnly: true })
  @ApiOkResponse({ type: InstanceSettingsDto })
  async update(@Auth() auth: AuthContext, @Body() dto: UpdateInstanceSettingsDto): Promise<InstanceSettingsDto> {
    const updated = await this.settings.update(dto);
    await this.audit.record({ action: AuditAction.SettingsChanged, actor: auth, metadata: { ...dto } });
    return updated;
  }
}
