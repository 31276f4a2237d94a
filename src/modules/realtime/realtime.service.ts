import { Injectable } from '@nestjs/common';
import { AppConfig } from 'src/config/app-config';
import {
  RealtimeNamespace,
  RevocationReason,
  RevokeCommand,
  rooms,
  UserEventName,
  UserEventPayloads,
  WORKSPACE_EVENT_PERMISSIONS,
  WorkspaceEventName,
  WorkspaceEventPayloads,
} from 'src/modules/realtime/realtime-events';

/**
 * What other modules use to push to connected clients. Emits go through the Socket.IO
 * adapter, so with Redis they reach clients on every replica.
 */
@Injectable()
export class RealtimeService {
  private namespace?: RealtimeNamespace;

  constructor(private readonly config: AppConfig) {}

  /** Called by the gateway once Socket.IO is up; until then nobody can be connected. */
  attach(namespace: RealtimeNamespace): void {
    this.namespace = namespace;
    // Revocations from other replicas: each replica disconnects its own sockets.
    namespace.on('revoke', (command) => this.revokeLocally(command));
  }

  emitToUser<E extends UserEventName>(userId: string, event: E, payload: UserEventPayloads[E]): void {
    // The signatures above pair event and payload; Socket.IO's typings cannot follow a generic E (nor a union of pairs).
    this.namespace
      ?.to(rooms.user(userId))
      .emit(...([event, payload] as unknown as ['session.revoked', UserEventPayloads['session.revoked']]));
  }

  emitToWorkspace<E extends WorkspaceEventName>(workspaceId: string, event: E, payload: WorkspaceEventPayloads[E]): void {
    const permission = WORKSPACE_EVENT_PERMISSIONS[event];
    const room = permission ? rooms.workspacePermission(workspaceId, permission) : rooms.workspace(workspaceId);
    this.namespace?.to(room).emit(...([event, payload] as [WorkspaceEventName, WorkspaceEventPayloads[WorkspaceEventName]]));
  }

  disconnectUser(userId: string, reason: RevocationReason, message: string): void {
    this.revoke({ room: rooms.user(userId), reason, message });
  }

  disconnectApiKey(keyId: string, reason: RevocationReason, message: string): void {
    this.revoke({ room: rooms.apiKey(keyId), reason, message });
  }

  disconnectSession(sessionId: string, reason: RevocationReason, message: string): void {
    this.revoke({ room: rooms.session(sessionId), reason, message });
  }

  /** The user's connections acting in this workspace; their other workspaces are untouched. */
  disconnectUserInWorkspace(userId: string, workspaceId: string, reason: RevocationReason, message: string): void {
    this.revoke({ room: rooms.user(userId), workspaceId, reason, message });
  }

  /**
   * Each replica tells its own sockets why and then disconnects them. Doing both on the
   * socket's own replica keeps the reason ahead of the disconnect, which a room emit
   * followed by a cluster-wide `disconnectSockets` (two separate requests) cannot promise.
   */
  private revoke(command: RevokeCommand): void {
    if (!this.namespace) return;
    if (this.config.redisUrl) this.namespace.serverSideEmit('revoke', command);
    this.revokeLocally(command);
  }

  private revokeLocally({ room, workspaceId, reason, message }: RevokeCommand): void {
    const namespace = this.namespace;
    const ids = namespace?.adapter.rooms.get(room);
    if (!namespace || !ids) return;
    for (const id of [...ids]) {
      const socket = namespace.sockets.get(id);
      if (!socket || (workspaceId !== undefined && socket.data.auth.workspaceId !== workspaceId)) continue;
      socket.emit('session.revoked', { reason, message });
      // A server-side disconnect: socket.io-client does not reconnect on its own after it.
      socket.disconnect();
    }
  }
}
