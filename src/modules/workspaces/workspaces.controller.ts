import { Body, Controller, Delete, Get, HttpCode, Patch, Post } from '@nestjs/common';
import { ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiParam, ApiTags } from '@nestjs/swagger';
import { Auth, Authenticated } from 'src/common/auth/auth.decorator';
import { AuthContext } from 'src/common/auth/auth-context';
import { Permission } from 'src/common/auth/permission.enum';
import { CreateWorkspaceDto, UpdateWorkspaceDto, WorkspaceDto } from 'src/modules/workspaces/workspaces.dto';
import { WorkspacesService } from 'src/modules/workspaces/workspaces.service';

@ApiTags('workspaces')
@Controller('workspaces')
export class WorkspacesController {
  constructor(private readonly workspaces: WorkspacesService) {}

  @Get()
  @Authenticated()
  @ApiOkResponse({ type: [WorkspaceDto], description: 'Workspaces you belong to, with your role in each' })
  list(@Auth() auth: AuthContext): Promise<WorkspaceDto[]> {
    return this.workspaces.listMine(auth);
  }

  @Post()
  @Authenticated({ sessionOnly: true })
  @ApiCreatedResponse({ type: WorkspaceDto })
  create(@Auth() auth: AuthContext, @Body() dto: CreateWorkspaceDto): Promise<WorkspaceDto> {
    return this.workspaces.create(auth, dto);
  }

  @Get(':workspaceId')
  @Authenticated({ permission: Permission.WorkspaceRead })
  @ApiParam({ name: 'workspaceId', format: 'uuid' })
  @ApiOkResponse({ type: WorkspaceDto })
  get(@Auth() auth: AuthContext): Promise<WorkspaceDto> {
    return this.workspaces.get(auth);
  }

  @Patch(':workspaceId')
  @Authenticated({ permission: Permission.WorkspaceUpdate })
  @ApiParam({ name: 'workspaceId', format: 'uuid' })
  @ApiOkResponse({ type: WorkspaceDto })
  rename(@Auth() auth: AuthContext, @Body() dto: UpdateWorkspaceDto): Promise<WorkspaceDto> {
    return this.workspaces.rename(auth, dto);
  }

  @Delete(':workspaceId')
  @HttpCode(204)
  @Authenticated({ permission: Permission.WorkspaceDelete, sessionOnly: true })
  @ApiParam({ name: 'workspaceId', format: 'uuid' })
  @ApiNoContentResponse()
  delete(@Auth() auth: AuthContext): Promise<void> {
    return this.workspaces.delete(auth);
  }
}
