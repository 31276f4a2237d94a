import { Module } from '@nestjs/common';
import { PubSubModule } from 'src/graphql/pubsub.module';
import { AuthModule } from 'src/modules/auth/auth.module';
import { ModelRouterModule } from 'src/modules/model-router/model-router.module';
import { ModelRegistryModule } from 'src/modules/model-router/registry/model-registry.module';
import { RagGroundingModule } from 'src/modules/rag/grounding';
import { RealtimeModule } from 'src/modules/realtime/realtime.module';
import { AgentDefinitionsRepository } from 'src/modules/agents/definitions/agent-definitions.repository';
import { AgentDefinitionsService } from 'src/modules/agents/definitions/agent-definitions.service';
import { AgentsController } from 'src/modules/agents/definitions/agents.controller';
import { AgentsResolver } from 'src/modules/agents/definitions/agents.resolver';
import { ModelCaller } from 'src/modules/agents/engine/model-caller';
import { RunAccess } from 'src/modules/agents/engine/run-access.service';
import { RunControl } from 'src/modules/agents/engine/run-control';
import { RunOutcomes } from 'src/modules/agents/engine/run-outcomes';
import { RunPlanner } from 'src/modules/agents/engine/run-planner';
import { RunSweeper } from 'src/modules/agents/engine/run-sweeper';
import { TaskExecutor } from 'src/modules/agents/engine/task-executor';
import { WorkflowJobs } from 'src/modules/agents/engine/workflow.jobs';
import { RunEventStream } from 'src/modules/agents/events/run-event-stream';
import { RunEventsPublisher } from 'src/modules/agents/events/run-events.publisher';
import { RunsGateway } from 'src/modules/agents/events/runs.gateway';
import { RunAccessRepository } from 'src/modules/agents/runs/run-access.repository';
import { RunsController } from 'src/modules/agents/runs/runs.controller';
import { RunsRepository } from 'src/modules/agents/runs/runs.repository';
import { RunsResolver, StepFieldsResolver } from 'src/modules/agents/runs/runs.resolver';
import { RunsService } from 'src/modules/agents/runs/runs.service';
import { AgentToolsModule } from 'src/modules/agents/tools/agent-tools.module';

/**
 * Agents and multi-agent workflow runs: agent definitions (REST, GraphQL), runs (REST with
 * SSE, GraphQL with a subscription, Socket.IO rooms) and the workers that execute them from
 * the `agents` queue. Runs as the `agents` role. RealtimeModule is imported so that wherever
 * this runs, the `/realtime` namespace its run rooms live in authenticates its connections.
 */
@Module({
  // RagGroundingModule: knowledge bases are checked through the RAG role's seam, never its internals.
  imports: [AuthModule, ModelRouterModule, ModelRegistryModule, PubSubModule, RealtimeModule, RagGroundingModule, AgentToolsModule],
  controllers: [AgentsController, RunsController],
  providers: [
    AgentDefinitionsRepository,
    AgentDefinitionsService,
    AgentsResolver,
    RunsRepository,
    RunAccessRepository,
    RunAccess,
    RunsService,
    RunsResolver,
    StepFieldsResolver,
    RunEventsPublisher,
    RunEventStream,
    RunsGateway,
    RunControl,
    ModelCaller,
    TaskExecutor,
    RunPlanner,
    RunOutcomes,
    WorkflowJobs,
    RunSweeper,
  ],
})
export class AgentsModule {}
