import { ParseUUIDPipe } from '@nestjs/common';
import { Args, ID, Int, Mutation, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { Auth, Authenticated } from 'src/common/auth/auth.decorator';
import { AuthContext } from 'src/common/auth/auth-context';
import { Permission } from 'src/common/auth/permission.enum';
import { CommonErrors } from 'src/common/errors/app.exception';
import { PubSubService } from 'src/graphql/pubsub.service';
import { AuthorizedSubscription } from 'src/graphql/subscription-access.interceptor';
import { WorkspaceArg } from 'src/graphql/workspace-arg.decorator';
import { RunEventDto } from 'src/modules/agents/dto/run-event.dto';
import { CreateRunDto, RunDto, RunPageArgs, RunStartedDto, StepDto } from 'src/modules/agents/dto/runs.dto';
import { RunEvent } from 'src/modules/agents/events/run-events';
import { RunsService } from 'src/modules/agents/runs/runs.service';

const idArg = (name: string) => Args(name, { type: () => ID }, ParseUUIDPipe);

@Resolver(() => RunDto)
export class RunsResolver {
  constructor(
    private readonly runs: RunsService,
    private readonly pubsub: PubSubService,
  ) {}

  @Query(() => [RunDto], { description: 'Your workflow runs in the workspace, newest first (without tasks)' })
  @Authenticated({ permission: Permission.WorkflowRead })
  workflowRuns(
    @Auth() auth: AuthContext,
    @Args('before', { type: () => ID, nullable: true, description: 'Cursor: the id of the last run of the previous page' })
    before: string | null,
    @Args('limit', { type: () => Int, defaultValue: 20, description: '1 to 100' }) limit: number,
    @WorkspaceArg() _workspaceId?: string,
  ): Promise<RunDto[]> {
    return this.runs.list(auth, validPage({ before: before ?? undefined, limit }));
  }

  @Query(() => RunDto, { description: 'A run with its plan, tasks and every step' })
  @Authenticated({ permission: Permission.WorkflowRead })
  workflowRun(@Auth() auth: AuthContext, @idArg('id') id: string, @WorkspaceArg() _workspaceId?: string): Promise<RunDto> {
    return this.runs.get(auth, id);
  }

  @Mutation(() => RunStartedDto, { description: 'Queues a run (needs model.invoke too); subscribe to workflowRunEvents to follow it' })
  @Authenticated({ permission: Permission.WorkflowRun })
  startWorkflowRun(
    @Auth() auth: AuthContext,
    @Args('input') input: CreateRunDto,
    @WorkspaceArg() _workspaceId?: string,
  ): Promise<RunStartedDto> {
    return this.runs.start(auth, input);
  }

  @Mutation(() => RunDto, { description: 'Stops the run: in-flight model and tool calls are aborted' })
  @Authenticated({ permission: Permission.WorkflowRun })
  cancelWorkflowRun(@Auth() auth: AuthContext, @idArg('id') id: string, @WorkspaceArg() _workspaceId?: string): Promise<RunDto> {
    return this.runs.cancel(auth, id);
  }

  @AuthorizedSubscription(() => RunEventDto, {
    description: "A run's events from now on: plan, tasks, tool calls and results, answer tokens, and finished",
    resolve: (event: RunEvent) => RunEventDto.from(event),
  })
  @Authenticated({ permission: Permission.WorkflowRead })
  async workflowRunEvents(@Auth() auth: AuthContext, @idArg('runId') runId: string, @WorkspaceArg() _workspaceId?: string) {
    await this.runs.require(auth, runId);
    return this.pubsub.subscribe('agent-run-event', runId);
  }
}

@Resolver(() => StepDto)
export class StepFieldsResolver {
  /** A tool's structured result need not be an object, so GraphQL carries it as JSON text. */
  @ResolveField(() => String, { nullable: true, description: "Tool steps: the tool's structured result, as JSON text" })
  dataJson(@Parent() step: StepDto): string | null {
    return step.data === null || step.data === undefined ? null : JSON.stringify(step.data);
  }
}

/** The page arguments sit beside `workspaceId`, so they are checked here rather than as one args DTO. */
function validPage(raw: { before?: string; limit: number }): RunPageArgs {
  const page = plainToInstance(RunPageArgs, raw);
  const problems = validateSync(page).flatMap((error) => Object.values(error.constraints ?? {}));
  if (problems.length > 0) throw CommonErrors.validation(problems.join('; '));
  return page;
}
