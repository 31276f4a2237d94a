import { ParseUUIDPipe } from '@nestjs/common';
import { Args, ID, Mutation, Query, Resolver } from '@nestjs/graphql';
import { Auth, Authenticated } from 'src/common/auth/auth.decorator';
import { AuthContext } from 'src/common/auth/auth-context';
import { Permission } from 'src/common/auth/permission.enum';
import { WorkspaceArg } from 'src/graphql/workspace-arg.decorator';
import { RolesService } from 'src/modules/workspaces/roles.service';
import { CreateRoleDto, RoleDto, UpdateRoleDto } from 'src/modules/workspaces/workspaces.dto';

@Resolver(() => RoleDto)
export class WorkspaceRolesResolver {
  constructor(private readonly service: RolesService) {}

  @Query(() => [RoleDto], { description: "The workspace's custom roles" })
  @Authenticated({ permission: Permission.RoleRead })
  roles(@Auth() auth: AuthContext, @WorkspaceArg() _workspaceId?: string): Promise<RoleDto[]> {
    return this.service.list(auth);
  }

  @Mutation(() => RoleDto)
  @Authenticated({ permission: Permission.RoleManage })
  createRole(@Auth() auth: AuthContext, @Args('input') input: CreateRoleDto, @WorkspaceArg() _workspaceId?: string): Promise<RoleDto> {
    return this.service.create(auth, input);
  }

  @Mutation(() => RoleDto)
  @Authenticated({ permission: Permission.RoleManage })
  updateRole(
    @Auth() auth: AuthContext,
    @Args('roleId', { type: () => ID }, ParseUUIDPipe) roleId: string,
    @Args('input') input: UpdateRoleDto,
    @WorkspaceArg() _workspaceId?: string,
  ): Promise<RoleDto> {
    return this.service.update(auth, roleId, input);
  }

  @Mutation(() => Boolean)
  @Authenticated({ permission: Permission.RoleManage })
  async deleteRole(
    @Auth() auth: AuthContext,
    @Args('roleId', { type: () => ID }, ParseUUIDPipe) roleId: string,
    @WorkspaceArg() _workspaceId?: string,
  ): Promise<boolean> {
    await this.service.delete(auth, roleId);
    return true;
  }
}
