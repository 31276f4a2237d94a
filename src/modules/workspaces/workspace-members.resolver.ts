import { AuthorizedSubscription } from 'src/graphql/subscription-access.interceptor';
import { ParseUUIDPipe } from '@nestjs/common';
import { Args, ID, Mutation, Query, Resolver } from '@nestjs/graphql';
import { Auth, Authenticated } from 'src/common/auth/auth.decorator';
import { AuthContext } from 'src/common/auth/auth-context';
import { Permission } from 'src/common/auth/permission.enum';
import { PubSubService } from 'src/graphql/pubsub.service';
import { WorkspaceArg } from 'src/graphql/workspace-arg.decorator';
import { MembersService } from 'src/modules/workspaces/members.service';
import { AddMemberDto, MemberDto, SetMemberRoleDto, WorkspaceMemberChangeDto } from 'src/modules/workspaces/workspaces.dto';

@Resolver(() => MemberDto)
export class WorkspaceMembersResolver {
  constructor(
    private readonly service: MembersService,
    private readonly pubsub: PubSubService,
  ) {}

  @Query(() => [MemberDto])
  @Authenticated({ permission: Permission.MemberRead })
  members(@Auth() auth: AuthContext, @WorkspaceArg() _workspaceId?: string): Promise<MemberDto[]> {
    return this.service.list(auth);
  }

  @Mutation(() => MemberDto)
  @Authenticated({ permission: Permission.MemberManage })
  addMember(@Auth() auth: AuthContext, @Args('input') input: AddMemberDto, @WorkspaceArg() _workspaceId?: string): Promise<MemberDto> {
    return this.service.add(auth, input);
  }

  @Mutation(() => MemberDto)
  @Authenticated({ permission: Permission.MemberManage })
  setMemberRole(
    @Auth() auth: AuthContext,
    @Args('userId', { type: () => ID }, ParseUUIDPipe) userId: string,
    @Args('input') input: SetMemberRoleDto,
    @WorkspaceArg() _workspaceId?: string,
  ): Promise<MemberDto> {
    return this.service.setRole(auth, userId, input);
  }

  @Mutation(() => Boolean)
  @Authenticated({ permission: Permission.MemberManage })
  async removeMember(
    @Auth() auth: AuthContext,
    @Args('userId', { type: () => ID }, ParseUUIDPipe) userId: string,
    @WorkspaceArg() _workspaceId?: string,
  ): Promise<boolean> {
    await this.service.remove(auth, userId);
    return true;
  }

  @AuthorizedSubscription(() => WorkspaceMemberChangeDto, {
    description: 'Members added, re-roled or removed in the workspace; only its members may listen',
    resolve: (change: WorkspaceMemberChangeDto) => change,
  })
  @Authenticated({ permission: Permission.MemberRead })
  workspaceMemberChanged(@Auth() auth: AuthContext, @WorkspaceArg({ required: true }) _workspaceId: string) {
    // The guard resolved the argument against the caller's memberships; its canonical form is here.
    return this.pubsub.subscribe('workspace-member-changed', auth.workspaceId);
  }
}
