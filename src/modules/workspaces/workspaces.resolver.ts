import { Args, Mutation, Query, Resolver } from '@nestjs/graphql';
import { Auth, Authenticated } from 'src/common/auth/auth.decorator';
import { AuthContext } from 'src/common/auth/auth-context';
import { Permission } from 'src/common/auth/permission.enum';
import { WorkspaceArg } from 'src/graphql/workspace-arg.decorator';
import { CreateWorkspaceDto, UpdateWorkspaceDto, WorkspaceDto } from 'src/modules/workspaces/workspaces.dto';
import { WorkspacesService } from 'src/modules/workspaces/workspaces.service';

@Resolver(() => WorkspaceDto)
export class WorkspacesResolver {
  constructor(private readonly service: WorkspacesService) {}

  @Query(() => [WorkspaceDto], { description: 'Workspaces you belong to, with your role in each' })
  @Authenticated()
  workspaces(@Auth() auth: AuthContext): Promise<WorkspaceDto[]> {
    return this.service.listMine(auth);
  }

  @Query(() => WorkspaceDto)
  @Authenticated({ permission: Permission.WorkspaceRead })
  workspace(@Auth() auth: AuthContext, @WorkspaceArg({ required: true }) _workspaceId: string): Promise<WorkspaceDto> {
    return this.service.get(auth);
  }

  @Mutation(() => WorkspaceDto)
  @Authenticated({ sessionOnly: true })
  createWorkspace(@Auth() auth: AuthContext, @Args('input') input: CreateWorkspaceDto): Promise<WorkspaceDto> {
    return this.service.create(auth, input);
  }

  @Mutation(() => WorkspaceDto)
  @Authenticated({ permission: Permission.WorkspaceUpdate })
  renameWorkspace(
    @Auth() auth: AuthContext,
    @WorkspaceArg({ required: true }) _workspaceId: string,
    @Args('input') input: UpdateWorkspaceDto,
  ): Promise<WorkspaceDto> {
    return this.service.rename(auth, input);
  }

  @Mutation(() => Boolean)
  @Authenticated({ permission: Permission.WorkspaceDelete, sessionOnly: true })
  async deleteWorkspace(@Auth() auth: AuthContext, @WorkspaceArg({ required: true }) _workspaceId: string): Promise<boolean> {
    await this.service.delete(auth);
    return true;
  }
}
