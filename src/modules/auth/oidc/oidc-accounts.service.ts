import { Injectable } from '@nestjs/common';
import { AuditAction } from 'src/modules/audit/audit-event.entity';
import { AuditService } from 'src/modules/audit/audit.service';
import { AuthErrorCode, AuthException } from 'src/modules/auth/auth.exception';
import { ClientInfo } from 'src/modules/auth/auth.service';
import { OidcIdentity } from 'src/modules/auth/oidc/oidc-identity';
import { SettingsService, SignupMode } from 'src/modules/settings/settings.service';
import { User, UserStatus } from 'src/modules/users/user.entity';
import { UsersRepository } from 'src/modules/users/users.repository';

/** How the provider's identity found its account, recorded in the audit log. */
export enum OidcAccountMatch {
  Subject = 'subject',
  VerifiedEmail = 'verified-email',
  Created = 'created',
}

/**
 * Maps a provider identity to a local account. Linking by email is the dangerous step: an
 * attacker who controls an identity with someone else's unverified address must never get
 * that person's account, so it happens only on the provider's `email_verified` and only
 * for an account not yet linked to another identity.
 */
@Injectable()
export class OidcAccountsService {
  constructor(
    private readonly users: UsersRepository,
    private readonly settings: SettingsService,
    private readonly audit: AuditService,
  ) {}

  async resolve(identity: OidcIdentity, client: ClientInfo): Promise<{ user: User; match: OidcAccountMatch }> {
    const linked = await this.users.findByOidcSubject(identity.subject);
    if (linked) return { user: linked, match: OidcAccountMatch.Subject };
    if (!identity.email) {
      throw new AuthException(
        AuthErrorCode.OidcFailed,
        'The identity provider did not share a valid email address; request the "email" scope',
      );
    }
    const existing = await this.users.findByEmail(identity.email);
    if (existing) return { user: await this.linkByEmail(existing, identity), match: OidcAccountMatch.VerifiedEmail };
    return { user: await this.create(identity, identity.email, client), match: OidcAccountMatch.Created };
  }

  private async linkByEmail(user: User, identity: OidcIdentity): Promise<User> {
    if (!identity.emailVerified) {
      throw new AuthException(
        AuthErrorCode.OidcEmailUnverified,
        'An account with this email already exists and the identity provider has not verified the address; sign in with your password instead',
      );
    }
    if (user.oidcSubject) {
      throw new AuthException(AuthErrorCode.EmailTaken, 'The account with this email is linked to a different single sign-on identity');
    }
    // A suspended account is refused by the caller; it is not worth modifying first.
    if (user.status !== UserStatus.Active) return user;
    await this.users.linkOidcSubject(user.id, identity.subject);
    return { ...user, oidcSubject: identity.subject };
  }

  private async create(identity: OidcIdentity, email: string, client: ClientInfo): Promise<User> {
    const { signupMode } = await this.settings.get();
    const user = await this.users
      .createAccount({ email, name: identity.name, oidcSubject: identity.subject }, signupMode === SignupMode.Open)
      .catch((error: unknown) => {
        // Lost a race with a concurrent sign-up for the same address or identity.
        if ((error as { code?: string }).code === '23505') {
          throw new AuthException(AuthErrorCode.EmailTaken, 'An account with this email already exists');
        }
        throw error;
      });
    if (!user) throw new AuthException(AuthErrorCode.SignupClosed, 'Sign-up is closed on this instance; ask an administrator');
    await this.audit.record({
      action: AuditAction.UserRegistered,
      actor: { userId: user.id },
      target: { type: 'user', id: user.id },
      ip: client.ip,
      metadata: { instanceRole: user.instanceRole, method: 'oidc' },
    });
    return user;
  }
}
