import { Controller, Get, HttpCode, HttpStatus, Post } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Auth, Authenticated } from 'src/common/auth/auth.decorator';
import { AuthContext } from 'src/common/auth/auth-context';
import { Permission } from 'src/common/auth/permission.enum';
import { MaintenanceRunResultDto, SystemStatusDto } from 'src/modules/system/system.dto';
import { SystemService } from 'src/modules/system/system.service';

@ApiTags('admin')
@Controller('admin')
export class SystemController {
  constructor(private readonly system: SystemService) {}

  @Get('system')
  @Authenticated({ permission: Permission.AdminSystemManage })
  @ApiOperation({ summary: "This process's roles and transport, and which roles answer a ping" })
  @ApiOkResponse({ type: SystemStatusDto })
  status(): Promise<SystemStatusDto> {
    return this.system.status();
  }

  @Post('maintenance/run')
  @HttpCode(HttpStatus.OK)
  @Authenticated({ permission: Permission.AdminSystemManage, sessionOnly: true })
  @ApiOperation({ summary: 'Run the housekeeping pass now, on a scheduler process; 503 ROLE_UNAVAILABLE when none runs' })
  @ApiOkResponse({ type: MaintenanceRunResultDto })
  runMaintenance(@Auth() auth: AuthContext): Promise<MaintenanceRunResultDto> {
    return this.system.runMaintenance(auth);
  }
}
