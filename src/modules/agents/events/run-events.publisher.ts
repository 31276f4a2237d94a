import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import type { Namespace } from 'socket.io';
import { PubSubService } from 'src/graphql/pubsub.service';
import { RunEvent } from 'src/modules/agents/events/run-events';

/** Connections that follow a run; joined with `agent-run:join` after an access check. */
export const runRoom = (runId: string) => `agent-run:${runId}`;

/**
 * A run's events go out once, on the live-event bus (Redis pub/sub with REDIS_URL, so from
 * whichever replica executes the run): GraphQL and SSE subscribers read them there, and each
 * replica with Socket.IO connections in a run's room relays them to those connections only.
 * Relaying per room, rather than broadcasting every event through the Socket.IO Redis
 * adapter, costs one Redis message per event however many replicas there are, and none for
 * a room nobody follows.
 */
@Injectable()
export class RunEventsPublisher implements OnModuleDestroy {
  private readonly logger = new Logger('Agents');
  private namespace?: Namespace;
  private readonly relays = new Map<string, AsyncIterableIterator<RunEvent>>();

  constructor(private readonly pubsub: PubSubService) {}

  /** Called by the socket gateway once Socket.IO is up. */
  attach(namespace: Namespace): void {
    this.namespace = namespace;
  }

  publish(event: RunEvent): void {
    this.pubsub.publish('agent-run-event', event, event.runId);
  }

  /**
   * Starts relaying a run's events to this replica's connections in its room, unless it
   * already does. Returns once subscribed, so that the caller can read the run's state after
   * and miss nothing.
   */
  follow(runId: string): void {
    if (this.relays.has(runId)) return;
    const events = this.pubsub.subscribe('agent-run-event', runId);
    this.relays.set(runId, events);
    void this.relay(runId, events);
  }

  /** Stops relaying when no connection of this replica is left in the run's room. */
  unfollowIfEmpty(runId: string): void {
    if ((this.namespace?.adapter.rooms.get(runRoom(runId))?.size ?? 0) > 0) return;
    const events = this.relays.get(runId);
    this.relays.delete(runId);
    void events?.return?.();
  }

  async onModuleDestroy(): Promise<void> {
    const relays = [...this.relays.values()];
    this.relays.clear();
    await Promise.all(relays.map((events) => events.return?.() ?? Promise.resolve()));
  }

  private async relay(runId: string, events: AsyncIterableIterator<RunEvent>): Promise<void> {
    const room = runRoom(runId);
    try {
      for await (const event of events) {
        const { type, ...payload } = event;
        this.namespace?.local.to(room).emit(`agent-run:${type}`, payload);
        if (type === 'finished' || (this.namespace?.adapter.rooms.get(room)?.size ?? 0) === 0) break;
      }
    } catch (error) {
      this.logger.warn(`Relaying run ${runId} to its room stopped: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      if (this.relays.get(runId) === events) this.relays.delete(runId);
      await events.return?.();
    }
  }
}
