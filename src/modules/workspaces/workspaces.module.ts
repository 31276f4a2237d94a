import { Module } from '@nestjs/common';
import { UsersModule } from 'src/modules/users/users.module';
import { MembersService } from 'src/modules/workspaces/members.service';
import { RolesService } from 'src/modules/workspaces/roles.service';
import { WorkspaceMembersController } from 'src/modules/workspaces/workspace-members.controller';
import { WorkspaceRolesController } from 'src/modules/workspaces/workspace-roles.controller';
import { WorkspacesController } from 'src/modules/workspaces/workspaces.controller';
import { WorkspacesRepository } from 'src/modules/workspaces/workspaces.repository';
import { WorkspacesService } from 'src/modules/workspaces/workspaces.service';

@Module({
  imports: [UsersModule],
  controllers: [WorkspacesController, WorkspaceMembersController, WorkspaceRolesController],
  providers: [WorkspacesRepository, WorkspacesService, MembersService, RolesService],
  exports: [WorkspacesService, MembersService, RolesService],
})
export class WorkspacesModule {}
