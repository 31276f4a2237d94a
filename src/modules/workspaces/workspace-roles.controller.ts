import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Patch, Post } from '@nestjs/common';
import { ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiParam, ApiTags } from '@nestjs/swagger';
import { Auth, Authenticated } from 'src/common/auth/auth.decorator';
import { AuthContext } from 'src/common/auth/auth-context';
import { Permission } from 'src/common/auth/permission.enum';
import { RolesService } from 'src/modules/workspaces/roles.service';
import { CreateRoleDto, RoleDto, UpdateRoleDto } from 'src/modules/workspaces/workspaces.dto';

@ApiTags('workspaces')
@ApiParam({ name: 'workspaceId', format: 'uuid' })
@Controller('workspaces/:workspaceId/roles')
export class WorkspaceRolesController {
  constructor(private readonly roles: RolesService) {}

  @Get()
  @Authenticated({ permission: Permission.RoleRead })
  @ApiOkResponse({ type: [RoleDto] })
  list(@Auth() auth: AuthContext): Promise<RoleDto[]> {
    return this.roles.list(auth);
  }

  @Post()
  @Authenticated({ permission: Permission.RoleManage })
  @ApiCreatedResponse({ type: RoleDto })
  create(@Auth() auth: AuthContext, @Body() dto: CreateRoleDto): Promise<RoleDto> {
    return this.roles.create(auth, dto);
  }

  @Patch(':roleId')
  @Authenticated({ permission: Permission.RoleManage })
  @ApiOkResponse({ type: RoleDto })
  update(@Auth() auth: AuthContext, @Param('roleId', ParseUUIDPipe) roleId: string, @Body() dto: UpdateRoleDto): Promise<RoleDto> {
    return this.roles.update(auth, roleId, dto);
  }

  @Delete(':roleId')
  @HttpCode(204)
  @Authenticated({ permission: Permission.RoleManage })
  @ApiNoContentResponse()
  delete(@Auth() auth: AuthContext, @Param('roleId', ParseUUIDPipe) roleId: string): Promise<void> {
    return this.roles.delete(auth, roleId);
  }
}
