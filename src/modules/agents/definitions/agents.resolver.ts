import { ParseUUIDPipe } from '@nestjs/common';
import { Args, ID, Mutation, Query, Resolver } from '@nestjs/graphql';
import { Auth, Authenticated } from 'src/common/auth/auth.decorator';
import { AuthContext } from 'src/common/auth/auth-context';
import { Permission } from 'src/common/auth/permission.enum';
import { WorkspaceArg } from 'src/graphql/workspace-arg.decorator';
import { AgentDefinitionsService } from 'src/modules/agents/definitions/agent-definitions.service';
import { AgentDto, CreateAgentDto, UpdateAgentDto } from 'src/modules/agents/dto/agents.dto';

const idArg = () => Args('id', { type: () => ID }, ParseUUIDPipe);

@Resolver(() => AgentDto)
export class AgentsResolver {
  constructor(private readonly definitions: AgentDefinitionsService) {}

  @Query(() => [AgentDto], { description: 'Built-in agents, then the workspace’s custom agents by name' })
  @Authenticated({ permission: Permission.AgentRead })
  agents(@Auth() auth: AuthContext, @WorkspaceArg() _workspaceId?: string): Promise<AgentDto[]> {
    return this.definitions.list(auth);
  }

  @Query(() => AgentDto, { description: 'A custom agent' })
  @Authenticated({ permission: Permission.AgentRead })
  agent(@Auth() auth: AuthContext, @idArg() id: string, @WorkspaceArg() _workspaceId?: string): Promise<AgentDto> {
    return this.definitions.get(auth, id);
  }

  @Mutation(() => AgentDto)
  @Authenticated({ permission: Permission.AgentWrite })
  createAgent(@Auth() auth: AuthContext, @Args('input') input: CreateAgentDto, @WorkspaceArg() _workspaceId?: string): Promise<AgentDto> {
    return this.definitions.create(auth, input);
  }

  @Mutation(() => AgentDto)
  @Authenticated({ permission: Permission.AgentWrite })
  updateAgent(
    @Auth() auth: AuthContext,
    @idArg() id: string,
    @Args('input') input: UpdateAgentDto,
    @WorkspaceArg() _workspaceId?: string,
  ): Promise<AgentDto> {
    return this.definitions.update(auth, id, input);
  }

  @Mutation(() => Boolean)
  @Authenticated({ permission: Permission.AgentWrite })
  async deleteAgent(@Auth() auth: AuthContext, @idArg() id: string, @WorkspaceArg() _workspaceId?: string): Promise<boolean> {
    await this.definitions.delete(auth, id);
    return true;
  }
}
