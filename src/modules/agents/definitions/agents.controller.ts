import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Patch, Post } from '@nestjs/common';
import { ApiCreatedResponse, ApiHeader, ApiNoContentResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { Auth, Authenticated } from 'src/common/auth/auth.decorator';
import { AuthContext } from 'src/common/auth/auth-context';
import { Permission } from 'src/common/auth/permission.enum';
import { AgentDefinitionsService } from 'src/modules/agents/definitions/agent-definitions.service';
import { AgentDto, CreateAgentDto, UpdateAgentDto } from 'src/modules/agents/dto/agents.dto';

@ApiTags('agents')
@ApiHeader({ name: 'X-Workspace-Id', required: false, description: 'Workspace to act in; defaults to your personal workspace' })
@Controller('agents')
export class AgentsController {
  constructor(private readonly agents: AgentDefinitionsService) {}

  @Get()
  @Authenticated({ permission: Permission.AgentRead })
  @ApiOkResponse({ type: [AgentDto], description: 'Built-in agents, then the workspace’s custom agents by name' })
  list(@Auth() auth: AuthContext): Promise<AgentDto[]> {
    return this.agents.list(auth);
  }

  @Post()
  @Authenticated({ permission: Permission.AgentWrite })
  @ApiCreatedResponse({ type: AgentDto })
  create(@Auth() auth: AuthContext, @Body() dto: CreateAgentDto): Promise<AgentDto> {
    return this.agents.create(auth, dto);
  }

  @Get(':agentId')
  @Authenticated({ permission: Permission.AgentRead })
  @ApiOkResponse({ type: AgentDto })
  get(@Auth() auth: AuthContext, @Param('agentId', ParseUUIDPipe) id: string): Promise<AgentDto> {
    return this.agents.get(auth, id);
  }

  @Patch(':agentId')
  @Authenticated({ permission: Permission.AgentWrite })
  @ApiOkResponse({ type: AgentDto, description: 'Runs already planned keep the agent as it was' })
  update(@Auth() auth: AuthContext, @Param('agentId', ParseUUIDPipe) id: string, @Body() dto: UpdateAgentDto): Promise<AgentDto> {
    return this.agents.update(auth, id, dto);
  }

  @Delete(':agentId')
  @HttpCode(204)
  @Authenticated({ permission: Permission.AgentWrite })
  @ApiNoContentResponse({ description: 'Deleted; runs already planned keep their copy of it' })
  delete(@Auth() auth: AuthContext, @Param('agentId', ParseUUIDPipe) id: string): Promise<void> {
    return this.agents.delete(auth, id);
  }
}
