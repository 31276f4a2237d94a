import { Field, ID, InputType, Int, ObjectType } from '@nestjs/graphql';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayUnique,
  IsArray,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  IsUUID,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';
import { JsonObjectScalar } from 'src/graphql/json-object.scalar';
import type { ComplexityDecision } from 'src/modules/model-router/complexity';
import type { ChatToolCall } from 'src/modules/model-router/providers/llm-provider';
import { AgentArtifact } from 'src/modules/agents/runs/agent-artifact.entity';
import { AgentRun, RunMode, RunPlan, RunStatus } from 'src/modules/agents/runs/agent-run.entity';
import { AgentStep, StepRouting } from 'src/modules/agents/runs/agent-step.entity';
import { AgentTask, TaskKind, TaskStatus } from 'src/modules/agents/runs/agent-task.entity';

export const RUN_MODES: readonly RunMode[] = ['auto', 'single', 'multi'];
export const MIN_PRIORITY = 1;
export const MAX_PRIORITY = 10;
export const DEFAULT_PRIORITY = 5;
/** Most characters of a run's query. */
export const MAX_QUERY_CHARS = 20_000;
const MAX_KNOWLEDGE_BASES = 20;

@InputType('WorkflowRunLimitsInput')
export class RunLimitsDto {
  @ApiPropertyOptional({ minimum: 1, description: 'Model and tool steps over the whole run; at most AGENTS_MAX_STEPS (also the default)' })
  @Field(() => Int, { nullable: true })
  @IsOptional()
  @IsInt()
  @Min(1)
  maxSteps?: number;

  @ApiPropertyOptional({ minimum: 0, description: 'Tool calls over the whole run; at most AGENTS_MAX_TOOL_CALLS (also the default)' })
  @Field(() => Int, { nullable: true })
  @IsOptional()
  @IsInt()
  @Min(0)
  maxToolCalls?: number;

  @ApiPropertyOptional({
    minimum: 100,
    description: 'Prompt plus completion tokens over every model call; at most AGENTS_MAX_TOKEN_BUDGET',
  })
  @Field(() => Int, { nullable: true })
  @IsOptional()
  @IsInt()
  @Min(100)
  tokenBudget?: number;

  @ApiPropertyOptional({ minimum: 1000, description: 'Wall time from admission to the end; at most AGENTS_MAX_TIMEOUT_MS' })
  @Field(() => Int, { nullable: true })
  @IsOptional()
  @IsInt()
  @Min(1_000)
  timeoutMs?: number;
}

@InputType('StartWorkflowRunInput')
export class CreateRunDto {
  @ApiProperty({ maxLength: MAX_QUERY_CHARS })
  @Field()
  @IsString()
  @Matches(/\S/, { message: 'query must not be blank' })
  @MaxLength(MAX_QUERY_CHARS)
  query: string;

  @ApiPropertyOptional({ enum: RUN_MODES, default: 'auto', description: 'auto: complexity analysis picks single or multi' })
  @Field(() => String, { nullable: true, description: 'auto (default), single or multi' })
  @IsOptional()
  @IsIn(RUN_MODES)
  mode?: RunMode;

  @ApiPropertyOptional({ type: [String], description: 'Agents the run may use (built-in or custom names); default: any' })
  @Field(() => [String], { nullable: true })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(20)
  @ArrayUnique()
  @IsString({ each: true })
  @MaxLength(40, { each: true })
  agents?: string[];

  @ApiPropertyOptional({
    type: [String],
    format: 'uuid',
    description: 'Knowledge bases document_search may read; each must be readable by you',
  })
  @Field(() => [ID], { nullable: true })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(MAX_KNOWLEDGE_BASES)
  @ArrayUnique()
  @IsUUID('all', { each: true })
  knowledgeBaseIds?: string[];

  @ApiPropertyOptional({ minimum: MIN_PRIORITY, maximum: MAX_PRIORITY, default: DEFAULT_PRIORITY, description: 'Higher starts first' })
  @Field(() => Int, { nullable: true })
  @IsOptional()
  @IsInt()
  @Min(MIN_PRIORITY)
  @Max(MAX_PRIORITY)
  priority?: number;

  @ApiPropertyOptional({ type: RunLimitsDto })
  @Field(() => RunLimitsDto, { nullable: true })
  @IsOptional()
  @ValidateNested()
  @Type(() => RunLimitsDto)
  limits?: RunLimitsDto;
}

export class RunPageArgs {
  @ApiPropertyOptional({ format: 'uuid', description: 'Cursor: the id of the last run of the previous page' })
  @IsOptional()
  @IsUUID()
  before?: string;

  @ApiPropertyOptional({ minimum: 1, maximum: 100, default: 20 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  limit: number = 20;
}

@ObjectType('WorkflowRunLimits')
export class RunLimitsViewDto {
  @ApiProperty() @Field(() => Int) maxSteps: number;
  @ApiProperty() @Field(() => Int) maxToolCalls: number;
  @ApiProperty() @Field(() => Int) tokenBudget: number;
  @ApiProperty() @Field(() => Int) timeoutMs: number;
}

@ObjectType('WorkflowRunUsage')
export class RunUsageDto {
  @ApiProperty() @Field(() => Int) promptTokens: number;
  @ApiProperty() @Field(() => Int) completionTokens: number;
  @ApiProperty() @Field(() => Int) totalTokens: number;
  @ApiProperty({ description: 'Steps taken (model and tool calls)' }) @Field(() => Int) steps: number;
  @ApiProperty() @Field(() => Int) toolCalls: number;
}

@ObjectType('WorkflowError')
export class RunErrorDto {
  @ApiProperty() @Field() code: string;
  @ApiProperty() @Field() message: string;
}

@ObjectType('WorkflowArtifact')
export class ArtifactDto {
  @ApiProperty({ format: 'uuid' }) @Field(() => ID) id: string;
  @ApiProperty() @Field() name: string;
  @ApiProperty() @Field() mediaType: string;
  @ApiProperty() @Field(() => Int) sizeBytes: number;
  @ApiProperty({ description: 'Download path (same credentials)' }) @Field({ description: 'Download path (same credentials)' }) url: string;

  static from(artifact: AgentArtifact): ArtifactDto {
    return {
      id: artifact.id,
      name: artifact.name,
      mediaType: artifact.mediaType,
      sizeBytes: artifact.sizeBytes,
      url: `/api/v1/workflows/runs/${artifact.runId}/artifacts/${artifact.id}`,
    };
  }
}

@ObjectType('WorkflowToolCall')
export class ToolCallDto {
  @ApiProperty() @Field() id: string;
  @ApiProperty() @Field() name: string;
  @ApiProperty({ description: 'As the model wrote them (JSON text)' })
  @Field({ description: 'As the model wrote them (JSON text)' })
  arguments: string;
}

@ObjectType('WorkflowStep')
export class StepDto {
  @ApiProperty({ format: 'uuid' }) @Field(() => ID) id: string;
  @ApiProperty() @Field(() => Int) sequence: number;
  @ApiProperty({ enum: ['model', 'tool'] }) @Field() type: string;
  @ApiProperty({ enum: ['completed', 'failed', 'rejected'], description: 'rejected: a malformed or unallowed tool call, never run' })
  @Field({ description: 'rejected: a malformed or unallowed tool call, never run' })
  status: string;
  @ApiProperty({ nullable: true, type: String }) @Field(() => String, { nullable: true }) model: string | null;
  @ApiProperty({ nullable: true, type: Object }) @Field(() => JsonObjectScalar, { nullable: true }) routing: StepRouting | null;
  @ApiProperty({ nullable: true, type: String, description: 'Model steps: what the model wrote' })
  @Field(() => String, { nullable: true, description: 'Model steps: what the model wrote' })
  content: string | null;
  @ApiProperty({ type: [ToolCallDto], nullable: true }) @Field(() => [ToolCallDto], { nullable: true }) toolCalls: ToolCallDto[] | null;
  @ApiProperty({ nullable: true, type: String }) @Field(() => String, { nullable: true }) finishReason: string | null;
  @ApiProperty({ nullable: true, type: Number }) @Field(() => Int, { nullable: true }) promptTokens: number | null;
  @ApiProperty({ nullable: true, type: Number }) @Field(() => Int, { nullable: true }) completionTokens: number | null;
  @ApiProperty({ nullable: true, type: String }) @Field(() => String, { nullable: true }) tool: string | null;
  @ApiProperty({ nullable: true, type: String }) @Field(() => String, { nullable: true }) toolCallId: string | null;
  @ApiProperty({ nullable: true, type: Object }) @Field(() => JsonObjectScalar, { nullable: true }) arguments: Record<
    string,
    unknown
  > | null;
  @ApiProperty({ nullable: true, type: String, description: 'Tool steps: what went back to the model' })
  @Field(() => String, { nullable: true, description: 'Tool steps: what went back to the model' })
  result: string | null;
  /** GraphQL reads it as `dataJson` (it need not be an object). */
  @ApiProperty({ nullable: true, description: "Tool steps: the tool's structured result" })
  data: unknown;
  @ApiProperty({ type: RunErrorDto, nullable: true }) @Field(() => RunErrorDto, { nullable: true }) error: RunErrorDto | null;
  @ApiProperty({ type: [ArtifactDto] }) @Field(() => [ArtifactDto]) artifacts: ArtifactDto[];
  @ApiProperty() @Field() startedAt: Date;
  @ApiProperty() @Field(() => Int) durationMs: number;

  static from(step: AgentStep, artifacts: readonly AgentArtifact[]): StepDto {
    return {
      id: step.id,
      sequence: step.sequence,
      type: step.type,
      status: step.status,
      model: step.model,
      routing: step.routing,
      content: step.content,
      toolCalls:
        step.toolCalls?.map((call: ChatToolCall) => ({
          id: call.id ?? '',
          name: call.function.name,
          arguments: call.function.arguments,
        })) ?? null,
      finishReason: step.finishReason,
      promptTokens: step.promptTokens,
      completionTokens: step.completionTokens,
      tool: step.toolName,
      toolCallId: step.toolCallId,
      arguments: step.arguments,
      result: step.result,
      data: step.data ?? null,
      error: step.errorCode ? { code: step.errorCode, message: step.errorMessage ?? '' } : null,
      artifacts: artifacts.filter((artifact) => artifact.stepId === step.id).map((artifact) => ArtifactDto.from(artifact)),
      startedAt: step.startedAt,
      durationMs: step.durationMs,
    };
  }
}

@ObjectType('WorkflowTask')
export class TaskDto {
  @ApiProperty({ format: 'uuid' }) @Field(() => ID) id: string;
  @ApiProperty({ description: 'The planner’s id (t1...), or plan, main, aggregate' }) @Field() key: string;
  @ApiProperty({ enum: ['plan', 'task', 'aggregate'] }) @Field(() => String) kind: TaskKind;
  @ApiProperty() @Field() agent: string;
  @ApiProperty() @Field() instruction: string;
  @ApiProperty({ type: [String] }) @Field(() => [String]) dependsOn: string[];
  @ApiProperty({ enum: ['pending', 'queued', 'running', 'completed', 'failed', 'cancelled'] }) @Field(() => String) status: TaskStatus;
  @ApiProperty({ description: 'Its result is the run’s answer' }) @Field() final: boolean;
  @ApiProperty({ nullable: true, enum: ['native', 'json'], type: String, description: 'How its model was asked for tool calls' })
  @Field(() => String, { nullable: true, description: 'How its model was asked for tool calls: native or json' })
  toolMode: string | null;
  @ApiProperty({ nullable: true, type: String }) @Field(() => String, { nullable: true }) result: string | null;
  @ApiProperty({ type: RunErrorDto, nullable: true }) @Field(() => RunErrorDto, { nullable: true }) error: RunErrorDto | null;
  @ApiProperty({ nullable: true, type: Date }) @Field(() => Date, { nullable: true }) startedAt: Date | null;
  @ApiProperty({ nullable: true, type: Date }) @Field(() => Date, { nullable: true }) finishedAt: Date | null;
  @ApiProperty({ type: [StepDto] }) @Field(() => [StepDto]) steps: StepDto[];

  static from(task: AgentTask, steps: readonly AgentStep[], artifacts: readonly AgentArtifact[]): TaskDto {
    return {
      id: task.id,
      key: task.key,
      kind: task.kind,
      agent: task.agent,
      instruction: task.instruction,
      dependsOn: task.dependsOn,
      status: task.status,
      final: task.final,
      toolMode: task.toolMode,
      result: task.result,
      error: task.errorCode ? { code: task.errorCode, message: task.errorMessage ?? '' } : null,
      startedAt: task.startedAt,
      finishedAt: task.finishedAt,
      steps: steps.filter((step) => step.taskId === task.id).map((step) => StepDto.from(step, artifacts)),
    };
  }
}

@ObjectType('WorkflowRun')
export class RunDto {
  @ApiProperty({ format: 'uuid' }) @Field(() => ID) id: string;
  @ApiProperty({ format: 'uuid' }) @Field(() => ID) workspaceId: string;
  @ApiProperty({ format: 'uuid', description: 'Who started it: runs are private to them' }) @Field(() => ID) userId: string;
  @ApiProperty() @Field() query: string;
  @ApiProperty({ enum: RUN_MODES }) @Field(() => String) mode: RunMode;
  @ApiProperty({ nullable: true, enum: ['single', 'multi'], type: String }) @Field(() => String, { nullable: true }) resolvedMode:
    string | null;
  @ApiProperty({ enum: ['queued', 'planning', 'running', 'completed', 'failed', 'cancelled'] }) @Field(() => String) status: RunStatus;
  @ApiProperty() @Field(() => Int) priority: number;
  @ApiProperty({ type: [String] }) @Field(() => [String]) agents: string[];
  @ApiProperty({ type: [String] }) @Field(() => [ID]) knowledgeBaseIds: string[];
  @ApiProperty({ type: RunLimitsViewDto }) @Field(() => RunLimitsViewDto) limits: RunLimitsViewDto;
  @ApiProperty({ type: RunUsageDto }) @Field(() => RunUsageDto) usage: RunUsageDto;
  @ApiProperty({ nullable: true, type: Object, description: 'The complexity analysis behind the mode' })
  @Field(() => JsonObjectScalar, { nullable: true, description: 'The complexity analysis behind the mode' })
  complexity: ComplexityDecision | null;
  @ApiProperty({ nullable: true, type: Object }) @Field(() => JsonObjectScalar, { nullable: true }) plan: RunPlan | null;
  @ApiProperty({ nullable: true, type: String, description: 'The final answer' })
  @Field(() => String, { nullable: true, description: 'The final answer' })
  result: string | null;
  @ApiProperty({ type: RunErrorDto, nullable: true }) @Field(() => RunErrorDto, { nullable: true }) error: RunErrorDto | null;
  @ApiProperty() @Field() createdAt: Date;
  @ApiProperty({ nullable: true, type: Date }) @Field(() => Date, { nullable: true }) startedAt: Date | null;
  @ApiProperty({ nullable: true, type: Date }) @Field(() => Date, { nullable: true }) deadlineAt: Date | null;
  @ApiProperty({ nullable: true, type: Date }) @Field(() => Date, { nullable: true }) finishedAt: Date | null;
  @ApiPropertyOptional({ type: [TaskDto], description: 'With their steps; only when one run is read' })
  @Field(() => [TaskDto], { nullable: true, description: 'With their steps; only when one run is read' })
  tasks?: TaskDto[];

  static from(run: AgentRun, detail?: { tasks: AgentTask[]; steps: AgentStep[]; artifacts: AgentArtifact[] }): RunDto {
    return {
      id: run.id,
      workspaceId: run.workspaceId,
      userId: run.userId,
      query: run.query,
      mode: run.mode,
      resolvedMode: run.resolvedMode,
      status: run.status,
      priority: run.priority,
      agents: run.agents,
      knowledgeBaseIds: run.knowledgeBaseIds,
      limits: { ...run.limits },
      usage: {
        promptTokens: run.promptTokens,
        completionTokens: run.completionTokens,
        totalTokens: run.promptTokens + run.completionTokens,
        steps: run.stepCount,
        toolCalls: run.toolCallCount,
      },
      complexity: run.complexity,
      plan: run.plan,
      result: run.result,
      error: run.errorCode ? { code: run.errorCode, message: run.errorMessage ?? '' } : null,
      createdAt: run.createdAt,
      startedAt: run.startedAt,
      deadlineAt: run.deadlineAt,
      finishedAt: run.finishedAt,
      ...(detail && { tasks: detail.tasks.map((task) => TaskDto.from(task, detail.steps, detail.artifacts)) }),
    };
  }
}

@ObjectType('WorkflowRunStarted')
export class RunStartedDto {
  @ApiProperty({ format: 'uuid' }) @Field(() => ID) id: string;
  @ApiProperty({ enum: ['queued'] }) @Field(() => String) status: RunStatus;
  @ApiProperty({ description: 'Follow it here (SSE), or join its Socket.IO room agent-run:join' })
  @Field({ description: 'SSE stream of its events' })
  eventsUrl: string;
}
