import { Injectable } from '@nestjs/common';
import { OnAppEvent } from 'src/common/events/app-events';
import type { AppEventMap } from 'src/common/events/app-events';
import { TokenService } from 'src/modules/auth/tokens/token.service';

@Injectable()
export class AuthEventsListener {
  constructor(private readonly tokens: TokenService) {}

  /** Requests already fail on the user's status; revoking also keeps reactivation from reviving old logins. */
  @OnAppEvent('user.suspended')
  async onUserSuspended({ userId }: AppEventMap['user.suspended']): Promise<void> {
    await this.tokens.endAllSessions(userId, 'suspended');
  }
}
