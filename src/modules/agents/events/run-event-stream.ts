import { Injectable } from '@nestjs/common';
import { AuthContext } from 'src/common/auth/auth-context';
import { PubSubService } from 'src/graphql/pubsub.service';
import { RunEvent } from 'src/modules/agents/events/run-events';
import { AgentRun, TERMINAL_RUN_STATUSES } from 'src/modules/agents/runs/agent-run.entity';
import { RunsService } from 'src/modules/agents/runs/runs.service';

const KEEP_ALIVE_MS = 15_000;

export interface OpenRunStream {
  /** Calls `write` with a `status` event, then each event until `finished`; `keepAlive` in quiet periods. */
  relay(write: (event: RunEvent) => void, keepAlive: () => void): Promise<void>;
  close(): Promise<void>;
}

/**
 * A run's events for one SSE client: subscribed before the run is read, so nothing between
 * the snapshot and the first live event is missed.
 */
@Injectable()
export class RunEventStream {
  constructor(
    private readonly runs: RunsService,
    private readonly pubsub: PubSubService,
  ) {}

  async open(auth: AuthContext, runId: string): Promise<OpenRunStream> {
    await this.runs.require(auth, runId);
    const events = this.pubsub.subscribe('agent-run-event', runId);
    let run: AgentRun;
    try {
      run = await this.runs.require(auth, runId);
    } catch (error) {
      await events.return?.();
      throw error;
    }
    let closed = false;
    const close = async () => {
      if (closed) return;
      closed = true;
      await events.return?.();
    };
    return {
      close,
      relay: async (write, keepAlive) => {
        const timer = setInterval(keepAlive, KEEP_ALIVE_MS);
        try {
          write({ type: 'status', runId, status: run.status });
          if (TERMINAL_RUN_STATUSES.includes(run.status)) {
            write({
              type: 'finished',
              runId,
              status: run.status,
              result: run.result,
              error: run.errorCode ? { code: run.errorCode, message: run.errorMessage ?? '' } : null,
              usage: {
                promptTokens: run.promptTokens,
                completionTokens: run.completionTokens,
                steps: run.stepCount,
                toolCalls: run.toolCallCount,
              },
            });
            return;
          }
          for (;;) {
            const next = await events.next();
            if (next.done) return;
            write(next.value);
            if (next.value.type === 'finished') return;
          }
        } finally {
          clearInterval(timer);
          await close();
        }
      },
    };
  }
}
