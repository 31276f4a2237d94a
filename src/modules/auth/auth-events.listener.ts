import { Injectable } from '@nestjs/common';
import { OnAppEvent } from 'src/common/events/app-events';
import type { AppEventMap } from 'src/common/events/app-events';
import { AccessCache } from 'src/modules/auth/access-cache.service';
import { TokenService } from 'src/modules/auth/tokens/token.service';

@Injectable()
export class AuthEventsListener {
  constructor(
    private readonly tokens: TokenService,
    private readonly accessCache: AccessCache,
  ) {}

  /** Requests already fail on the user's status; revoking also keeps reactivation from reviving old logins. */
  @OnAppEvent('user.suspended')
  async onUserSuspended({ userId }: AppEventMap['user.suspended']): Promise<void> {
    await this.tokens.endAllSessions(userId, 'suspended');
  }

  // Each of these can narrow what some caller may do: drop every cached caller, here and on
  // every other replica, before the action that caused it returns.
  @OnAppEvent('user.reactivated')
  @OnAppEvent('api-key.revoked')
  @OnAppEvent('workspace.member.changed')
  @OnAppEvent('access.changed')
  async onAccessChanged(): Promise<void> {
    await this.accessCache.invalidate();
  }
}
