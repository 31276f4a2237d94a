import { Injectable } from '@nestjs/common';
import { timingSafeEqual } from 'node:crypto';
import { AppException } from 'src/common/errors/app.exception';
import { AppConfig } from 'src/config/app-config';
import { AuditAction } from 'src/modules/audit/audit-event.entity';
import { AuditService } from 'src/modules/audit/audit.service';
import { AuthErrorCode, AuthException } from 'src/modules/auth/auth.exception';
import { AuthService, ClientInfo } from 'src/modules/auth/auth.service';
import { OidcAccountsService } from 'src/modules/auth/oidc/oidc-accounts.service';
import { OidcClientService } from 'src/modules/auth/oidc/oidc-client.service';
import { identityFromClaims } from 'src/modules/auth/oidc/oidc-identity';
import { LoginStateSealer, OIDC_LOGIN_TTL_SECONDS, OIDC_ROUTE_PREFIX, serializeLoginCookie } from 'src/modules/auth/oidc/oidc-login-state';
import { OidcProvidersDto } from 'src/modules/auth/oidc/oidc.dto';
import { TokenPair } from 'src/modules/auth/tokens/token.service';
import { UserStatus } from 'src/modules/users/user.entity';

/** Authorization responses carry a code, state, iss and a few provider extras; nothing near this. */
const MAX_CALLBACK_QUERY_LENGTH = 8192;

/** What the controller sends: a redirect (browser flow) or the token pair as JSON. */
export type OidcOutcome = { redirectUrl: string; tokens?: undefined } | { redirectUrl?: undefined; tokens: TokenPair };

interface FailureContext {
  userId?: string;
  subject?: string;
  email?: string | null;
}

@Injectable()
export class OidcService {
  private readonly sealer: LoginStateSealer;

  constructor(
    private readonly config: AppConfig,
    private readonly client: OidcClientService,
    private readonly accounts: OidcAccountsService,
    private readonly auth: AuthService,
    private readonly audit: AuditService,
  ) {
    this.sealer = new LoginStateSealer(config.jwtSecret);
  }

  providers(): OidcProvidersDto {
    const oidc = this.config.oidc;
    if (!oidc) return { enabled: false, name: null, loginUrl: null };
    return { enabled: true, name: oidc.providerName, loginUrl: `${OIDC_ROUTE_PREFIX}/login` };
  }

  /** Starts a login: the provider's authorization URL and the cookie that carries its secrets. */
  async startLogin(): Promise<{ outcome: OidcOutcome; cookie?: string }> {
    this.client.requireConfig();
    const login = this.client.newLoginState();
    try {
      const authorizationUrl = await this.client.authorizationUrl(login);
      const cookie = serializeLoginCookie(this.sealer.seal(login), { maxAgeSeconds: OIDC_LOGIN_TTL_SECONDS, secure: this.secureCookies });
      return { outcome: { redirectUrl: authorizationUrl }, cookie };
    } catch (error) {
      return { outcome: this.failureOutcome(error) };
    }
  }

  /** Deletes the login cookie: it is good for one callback, whatever its result. */
  clearLoginCookie(): string {
    return serializeLoginCookie('', { maxAgeSeconds: 0, secure: this.secureCookies });
  }

  async finishLogin(callbackQuery: string, sealedLogin: string | undefined, client: ClientInfo): Promise<OidcOutcome> {
    const settings = this.client.requireConfig();
    const context: FailureContext = {};
    try {
      const tokens = await this.authenticate(callbackQuery, sealedLogin, client, context);
      const redirect = settings.postLoginRedirectUrl;
      if (!redirect) return { tokens };
      return {
        redirectUrl: withFragment(redirect, {
          access_token: tokens.accessToken,
          refresh_token: tokens.refreshToken,
          token_type: tokens.tokenType,
          expires_in: String(tokens.expiresIn),
        }),
      };
    } catch (error) {
      if (error instanceof AppException) {
        await this.audit.record({
          action: AuditAction.LoginFailed,
          actor: { userId: context.userId ?? null },
          ip: client.ip,
          metadata: { method: 'oidc', code: error.code, subject: context.subject, email: context.email ?? undefined },
        });
      }
      return this.failureOutcome(error);
    }
  }

  private async authenticate(callbackQuery: string, sealedLogin: string | undefined, client: ClientInfo, context: FailureContext) {
    const login = this.sealer.open(sealedLogin);
    const state = new URLSearchParams(callbackQuery).get('state');
    if (!login || !state || callbackQuery.length > MAX_CALLBACK_QUERY_LENGTH || !sameString(state, login.state)) {
      throw new AuthException(
        AuthErrorCode.OidcStateInvalid,
        'This login attempt expired, was started in another browser or was tampered with; start the login again',
      );
    }
    const identity = identityFromClaims(await this.client.exchangeCode(callbackQuery, login));
    if (!identity) throw new AuthException(AuthErrorCode.OidcFailed, 'The identity provider returned an unusable identity');
    Object.assign(context, { subject: identity.subject, email: identity.email });

    const { user, match } = await this.accounts.resolve(identity, client);
    context.userId = user.id;
    if (user.status !== UserStatus.Active) throw new AuthException(AuthErrorCode.AccountSuspended, 'This account is suspended');
    const tokens = await this.auth.startSession(user, { method: 'oidc', ...client });
    await this.audit.record({
      action: AuditAction.OidcLogin,
      actor: { userId: user.id },
      target: { type: 'user', id: user.id },
      ip: client.ip,
      metadata: { provider: this.client.requireConfig().providerName, subject: identity.subject, match },
    });
    return tokens;
  }

  /**
   * With a post-login page configured, a browser should land there and learn what went
   * wrong rather than stare at JSON; without one the global filter renders the error.
   */
  private failureOutcome(error: unknown): OidcOutcome {
    const redirect = this.config.oidc?.postLoginRedirectUrl;
    if (!redirect || !(error instanceof AppException)) throw error;
    return { redirectUrl: withFragment(redirect, { error: error.code, error_description: error.message }) };
  }

  private get secureCookies(): boolean {
    return this.config.publicUrl.startsWith('https://');
  }
}

/** The fragment never reaches servers or Referer headers, so tokens stay in the browser. */
function withFragment(base: string, values: Record<string, string>): string {
  const url = new URL(base);
  url.hash = new URLSearchParams(values).toString();
  return url.href;
}

function sameString(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
