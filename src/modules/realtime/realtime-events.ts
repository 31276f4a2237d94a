import type { Namespace, Socket } from 'socket.io';
import { AuthContext } from 'src/common/auth/auth-context';
import { Permission } from 'src/common/auth/permission.enum';
import type { ErrorBody } from 'src/common/errors/error-body';

export const REALTIME_NAMESPACE = '/realtime';

/** Why the server ended a connection; the client should not reconnect with the same credential. */
export enum RevocationReason {
  AccountSuspended = 'account-suspended',
  ApiKeyRevoked = 'api-key-revoked',
  /** The login session behind the connection's token ended (logout or a stolen refresh token). */
  SessionEnded = 'session-ended',
  /** Removed from the workspace or given another role: reconnect to act with the new permissions. */
  WorkspaceAccessChanged = 'workspace-access-changed',
}

export interface SessionRevokedPayload {
  reason: RevocationReason;
  message: string;
}

export interface MemberChangedPayload {
  workspaceId: string;
  userId: string;
  change: 'added' | 'role-changed' | 'removed';
  /** The role after the change; null when removed. */
  role: string | null;
  customRoleId: string | null;
  changedBy: string;
  at: string;
}

/** A document's ingestion moved on: sent to the user who uploaded it. */
export interface DocumentProgressPayload {
  documentId: string;
  knowledgeBaseId: string;
  status: 'queued' | 'extracting' | 'chunking' | 'embedding' | 'indexed' | 'failed';
  /** 0-100 across the whole pipeline. */
  progress: number;
  errorCode: string | null;
  errorMessage: string | null;
}

/** Events the server sends to one user's connections (room `user:<id>`). */
export interface UserEventPayloads {
  'session.revoked': SessionRevokedPayload;
  'rag:document.progress': DocumentProgressPayload;
}

/** Events the server sends to a workspace room; each needs a permission (see WORKSPACE_EVENT_PERMISSIONS). */
export interface WorkspaceEventPayloads {
  'workspace.member.changed': MemberChangedPayload;
}

export type UserEventName = keyof UserEventPayloads;
export type WorkspaceEventName = keyof WorkspaceEventPayloads;
type ServerEventPayloads = UserEventPayloads & WorkspaceEventPayloads;

/**
 * Workspace events reach only connections that hold this permission in the workspace, so
 * that a narrow API key or custom role never sees more over the socket than over REST.
 * `null`: every connection acting in the workspace.
 */
export const WORKSPACE_EVENT_PERMISSIONS: Readonly<Record<WorkspaceEventName, Permission | null>> = {
  'workspace.member.changed': Permission.MemberRead,
};

export type ServerToClientEvents = { [E in keyof ServerEventPayloads]: (payload: ServerEventPayloads[E]) => void };

/** Every client request is acknowledged with one of these. */
export type AckResponse<T> = { ok: true; data: T } | { ok: false; error: ErrorBody };

export interface PingRequest {
  clientTime?: number;
}

export interface PingResponse {
  serverTime: string;
  clientTime?: number;
}

export interface ClientToServerEvents {
  ping: (request: PingRequest, ack: (response: AckResponse<PingResponse>) => void) => void;
}

/** Commands between replicas (Socket.IO `serverSideEmit`), so each one acts on its own sockets. */
export interface RevokeCommand {
  room: string;
  /** Only sockets acting in this workspace; all sockets in the room when absent. */
  workspaceId?: string;
  reason: RevocationReason;
  message: string;
}

export interface InterServerEvents {
  revoke: (command: RevokeCommand) => void;
}

/** What the handshake middleware stores on `socket.data` (also read by the global AuthGuard and @Auth()). */
export interface SocketData {
  auth: AuthContext;
}

export type RealtimeNamespace = Namespace<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;
export type RealtimeSocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;

export const rooms = {
  user: (userId: string) => `user:${userId}`,
  workspace: (workspaceId: string) => `workspace:${workspaceId}`,
  workspacePermission: (workspaceId: string, permission: Permission) => `workspace:${workspaceId}#${permission}`,
  apiKey: (keyId: string) => `api-key:${keyId}`,
  session: (sessionId: string) => `session:${sessionId}`,
};

/** Rooms a connection joins: its user, its API key, its workspace and one per gated permission it holds. */
export function roomsFor(auth: AuthContext): string[] {
  const joined = [rooms.user(auth.userId)];
  if (auth.apiKeyId) joined.push(rooms.apiKey(auth.apiKeyId));
  if (auth.sessionId) joined.push(rooms.session(auth.sessionId));
  if (auth.workspaceId) {
    joined.push(rooms.workspace(auth.workspaceId));
    const gated = new Set(Object.values(WORKSPACE_EVENT_PERMISSIONS).filter((permission) => permission !== null));
    for (const permission of gated) {
      if (auth.permissions.has(permission)) joined.push(rooms.workspacePermission(auth.workspaceId, permission));
    }
  }
  return joined;
}
