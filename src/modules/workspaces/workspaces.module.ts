import { AuthModule } from 'src/modules/auth/auth.module';
import { Module } from '@nestjs/common';
import { PubSubModule } from 'src/graphql/pubsub.module';
import { UsersModule } from 'src/modules/users/users.module';
import { MembersService } from 'src/modules/workspaces/members.service';
import { RolesService } from 'src/modules/workspaces/roles.service';
import { WorkspaceMembersController } from 'src/modules/workspaces/workspace-members.controller';
import { WorkspaceMembersListener } from 'src/modules/workspaces/workspace-members.listener';
import { WorkspaceMembersResolver } from 'src/modules/workspaces/workspace-members.resolver';
import { WorkspaceRolesController } from 'src/modules/workspaces/workspace-roles.controller';
import { WorkspaceRolesResolver } from 'src/modules/workspaces/workspace-roles.resolver';
import { WorkspacesController } from 'src/modules/workspaces/workspaces.controller';
import { WorkspacesResolver } from 'src/modules/workspaces/workspaces.resolver';
import { WorkspacesRepository } from 'src/modules/workspaces/workspaces.repository';
import { WorkspacesService } from 'src/modules/workspaces/workspaces.service';

@Module({
  imports: [UsersModule, PubSubModule, AuthModule],
  controllers: [WorkspacesController, WorkspaceMembersController, WorkspaceRolesController],
  providers: [
    WorkspacesRepository,
    WorkspacesService,
    MembersService,
    RolesService,
    WorkspacesResolver,
    WorkspaceMembersResolver,
    WorkspaceRolesResolver,
    WorkspaceMembersListener,
  ],
  exports: [WorkspacesService, MembersService, RolesService],
})
export class WorkspacesModule {}
