import { Injectable, Logger } from '@nestjs/common';
import { OnAppEvent } from 'src/common/events/app-events';
import type { AppEventMap } from 'src/common/events/app-events';
import { RevocationReason } from 'src/modules/realtime/realtime-events';
import { RealtimeService } from 'src/modules/realtime/realtime.service';

/**
 * Turns domain events into socket pushes. The change itself is already committed when these
 * run, so a fan-out failure is logged rather than failing the action that caused it.
 */
@Injectable()
export class RealtimeListener {
  private readonly logger = new Logger('Realtime');

  constructor(private readonly realtime: RealtimeService) {}

  @OnAppEvent('user.suspended')
  onUserSuspended({ userId }: AppEventMap['user.suspended']): void {
    this.safely(() => this.realtime.disconnectUser(userId, RevocationReason.AccountSuspended, 'This account has been suspended'));
  }

  @OnAppEvent('api-key.revoked')
  onApiKeyRevoked({ keyId }: AppEventMap['api-key.revoked']): void {
    this.safely(() =>
      this.realtime.disconnectApiKey(keyId, RevocationReason.ApiKeyRevoked, 'The API key of this connection has been revoked'),
    );
  }

  @OnAppEvent('session.ended')
  onSessionEnded({ sessionId }: AppEventMap['session.ended']): void {
    this.safely(() =>
      this.realtime.disconnectSession(sessionId, RevocationReason.SessionEnded, 'The session of this connection has ended; sign in again'),
    );
  }

  @OnAppEvent('workspace.member.changed')
  onMemberChanged(event: AppEventMap['workspace.member.changed']): void {
    this.safely(() => {
      this.realtime.emitToWorkspace(event.workspaceId, 'workspace.member.changed', {
        workspaceId: event.workspaceId,
        userId: event.userId,
        change: event.change,
        role: event.role,
        customRoleId: event.customRoleId,
        changedBy: event.actorUserId,
        at: new Date().toISOString(),
      });
      // The member's open connections in this workspace carry the old permissions.
      if (event.change !== 'added') {
        this.realtime.disconnectUserInWorkspace(
          event.userId,
          event.workspaceId,
          RevocationReason.WorkspaceAccessChanged,
          event.change === 'removed' ? 'You are no longer a member of this workspace' : 'Your role in this workspace changed; reconnect',
        );
      }
    });
  }

  private safely(push: () => void): void {
    try {
      push();
    } catch (error) {
      this.logger.warn(`Could not push a realtime event: ${String(error)}`);
    }
  }
}
