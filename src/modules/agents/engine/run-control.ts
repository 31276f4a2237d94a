import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { PubSubService } from 'src/graphql/pubsub.service';
import { AgentsErrorCode, AgentsException } from 'src/modules/agents/agents.exception';
import { RunControlMessage } from 'src/modules/agents/events/run-events';

/** Why an execution was stopped; the signal's reason. */
export class RunStopped extends AgentsException {
  constructor(readonly reason: RunControlMessage['reason']) {
    super(
      reason === 'timed-out' ? AgentsErrorCode.TimedOut : AgentsErrorCode.Cancelled,
      reason === 'timed-out' ? 'The run went past its time limit' : reason === 'cancelled' ? 'The run was cancelled' : 'The run failed',
    );
  }
}

export interface Execution {
  signal: AbortSignal;
  close(): void;
}

/**
 * The in-flight executions of this process, by run. Cancelling a run (on any replica) or a
 * sibling task failing aborts them through their signal, which stops model calls and tools
 * at once; the run's deadline aborts them too.
 */
@Injectable()
export class RunControl implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Agents');
  private readonly executions = new Map<string, Set<AbortController>>();
  private subscription?: AsyncIterableIterator<RunControlMessage>;

  constructor(private readonly pubsub: PubSubService) {}

  onApplicationBootstrap(): void {
    this.subscription = this.pubsub.subscribe('agent-run-control');
    void this.listen(this.subscription);
  }

  async onModuleDestroy(): Promise<void> {
    await this.subscription?.return?.();
  }

  /** A signal for one execution of a task of `runId`, aborted at `deadline` or when the run is stopped. */
  open(runId: string, deadline: Date | null): Execution {
    const controller = new AbortController();
    let executions = this.executions.get(runId);
    if (!executions) this.executions.set(runId, (executions = new Set()));
    executions.add(controller);
    const timer =
      deadline === null
        ? undefined
        : setTimeout(() => controller.abort(new RunStopped('timed-out')), Math.max(0, deadline.getTime() - Date.now()));
    timer?.unref();
    return {
      signal: controller.signal,
      close: () => {
        clearTimeout(timer);
        executions.delete(controller);
        if (executions.size === 0) this.executions.delete(runId);
      },
    };
  }

  /** Stops the run's executions here and on every other replica. */
  stop(runId: string, reason: RunControlMessage['reason']): void {
    this.stopLocally(runId, reason);
    this.pubsub.publish('agent-run-control', { runId, reason });
  }

  /** Executions of runs in this process (for tests and shutdown diagnostics). */
  get active(): number {
    return [...this.executions.values()].reduce((sum, set) => sum + set.size, 0);
  }

  private stopLocally(runId: string, reason: RunControlMessage['reason']): void {
    for (const controller of this.executions.get(runId) ?? []) controller.abort(new RunStopped(reason));
  }

  private async listen(messages: AsyncIterableIterator<RunControlMessage>): Promise<void> {
    try {
      for await (const message of messages) this.stopLocally(message.runId, message.reason);
    } catch (error) {
      this.logger.warn(`Run control messages stopped: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}
