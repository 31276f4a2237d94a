import { Field, ID, ObjectType } from '@nestjs/graphql';
import { JsonObjectScalar } from 'src/graphql/json-object.scalar';
import type { RunEvent, RunEventType } from 'src/modules/agents/events/run-events';

/** One event of a run: its type, the run and task it concerns, and its payload. */
@ObjectType('WorkflowRunEvent')
export class RunEventDto {
  @Field(() => String, { description: 'status, plan, task.started, tool.called, tool.result, token, task.finished or finished' })
  type: RunEventType;
  @Field(() => ID) runId: string;
  @Field(() => ID, { nullable: true }) taskId: string | null;
  @Field(() => String, { nullable: true, description: 'token: the text added to the final answer' }) delta: string | null;
  @Field(() => JsonObjectScalar, { description: 'The whole event, as on Socket.IO and SSE' }) payload: Record<string, unknown>;

  static from(event: RunEvent): RunEventDto {
    const { type, ...payload } = event;
    return {
      type,
      runId: event.runId,
      taskId: 'taskId' in event ? event.taskId : null,
      delta: event.type === 'token' ? event.delta : null,
      payload,
    };
  }
}
