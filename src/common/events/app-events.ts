import { Injectable } from '@nestjs/common';
import { EventEmitter2, OnEvent } from '@nestjs/event-emitter';

/**
 * In-process domain events, one typed map for the whole app. Emitters await their
 * listeners (`emitAsync`), so a listener's failure fails the action that caused it.
 */
export interface AppEventMap {
  'user.suspended': { userId: string };
  'user.reactivated': { userId: string };
  'api-key.revoked': { keyId: string; userId: string; workspaceId: string };
  /** A login session ended (logout, refresh-token reuse): its tokens and sockets stop now. */
  'session.ended': { sessionId: string; userId: string; reason: 'logout' | 'refresh-token-reuse' };
  /** Anything else that can change what a caller may do (instance role, custom role permissions, workspace deleted). */
  'access.changed': { reason: string };
  /** A membership was added, re-roled or removed; `role` is the new one (null when removed). */
  'workspace.member.changed': {
    workspaceId: string;
    userId: string;
    change: 'added' | 'role-changed' | 'removed';
    role: string | null;
    customRoleId: string | null;
    actorUserId: string;
  };
}

export type AppEventName = keyof AppEventMap;

@Injectable()
export class AppEvents {
  constructor(private readonly emitter: EventEmitter2) {}

  async emit<E extends AppEventName>(event: E, payload: AppEventMap[E]): Promise<void> {
    await this.emitter.emitAsync(event, payload);
  }
}

/** `@OnAppEvent('user.suspended')`: a typed `@OnEvent` that propagates errors to the emitter. */
export const OnAppEvent = (event: AppEventName) => OnEvent(event, { suppressErrors: false, async: false, promisify: true });
