import { Injectable, Logger } from '@nestjs/common';
import * as oidc from 'openid-client';
import { AppException } from 'src/common/errors/app.exception';
import { AppConfig, OidcConfig } from 'src/config/app-config';
import { AuthErrorCode, AuthException } from 'src/modules/auth/auth.exception';
import { OIDC_CALLBACK_PATH, OidcLoginState } from 'src/modules/auth/oidc/oidc-login-state';

/** Provider metadata changes rarely; signing keys are refreshed by openid-client on their own. */
const DISCOVERY_TTL_MS = 60 * 60 * 1000;
const REQUEST_TIMEOUT_SECONDS = 10;
/** openid-client codes that mean the provider could not be reached or answered garbage. */
const UNAVAILABLE_CODES = new Set(['OAUTH_TIMEOUT', 'OAUTH_ABORT', 'OAUTH_RESPONSE_IS_NOT_CONFORM', 'OAUTH_RESPONSE_IS_NOT_JSON']);

/**
 * The protocol side of OIDC login, on openid-client: discovery (lazy and cached, so a
 * provider that is down never stops the app from booting), the authorization URL with
 * PKCE S256, state and nonce, and the code exchange with ID token validation and userinfo.
 */
@Injectable()
export class OidcClientService {
  private readonly logger = new Logger(OidcClientService.name);
  private discovered?: { configuration: Promise<oidc.Configuration>; expiresAt: number };

  constructor(private readonly config: AppConfig) {}

  /** The OIDC settings, or the 404 every OIDC endpoint answers when none are configured. */
  requireConfig(): OidcConfig {
    if (!this.config.oidc) throw new AuthException(AuthErrorCode.OidcNotConfigured, 'OIDC login is not configured on this instance');
    return this.config.oidc;
  }

  /** Built from PUBLIC_URL, never from the request's Host header, which a caller controls. */
  get callbackUrl(): string {
    return `${this.config.publicUrl}${OIDC_CALLBACK_PATH}`;
  }

  newLoginState(): OidcLoginState {
    return { state: oidc.randomState(), nonce: oidc.randomNonce(), codeVerifier: oidc.randomPKCECodeVerifier() };
  }

  async authorizationUrl(login: OidcLoginState): Promise<string> {
    const configuration = await this.configuration();
    const url = oidc.buildAuthorizationUrl(configuration, {
      redirect_uri: this.callbackUrl,
      scope: this.requireConfig().scopes,
      code_challenge: await oidc.calculatePKCECodeChallenge(login.codeVerifier),
      code_challenge_method: 'S256',
      state: login.state,
      nonce: login.nonce,
    });
    return url.href;
  }

  /**
   * Validates the authorization response (state, `iss`), exchanges the code with the PKCE
   * verifier, validates the ID token (signature, issuer, audience, expiry, nonce) and adds
   * the userinfo claims, which many providers only put there.
   */
  async exchangeCode(callbackQuery: string, login: OidcLoginState): Promise<Record<string, unknown>> {
    const configuration = await this.configuration();
    const currentUrl = new URL(this.callbackUrl);
    currentUrl.search = callbackQuery;
    try {
      const tokens = await oidc.authorizationCodeGrant(configuration, currentUrl, {
        pkceCodeVerifier: login.codeVerifier,
        expectedState: login.state,
        expectedNonce: login.nonce,
        idTokenExpected: true,
      });
      const idToken = tokens.claims();
      if (!idToken) throw new AuthException(AuthErrorCode.OidcFailed, 'The identity provider returned no ID token');
      const userinfo = configuration.serverMetadata().userinfo_endpoint
        ? await oidc.fetchUserInfo(configuration, tokens.access_token, idToken.sub)
        : {};
      // The ID token's issuer and subject are the validated identity; userinfo adds profile claims.
      return { ...idToken, ...userinfo, iss: idToken.iss, sub: idToken.sub };
    } catch (error) {
      throw this.translate(error);
    }
  }

  private configuration(): Promise<oidc.Configuration> {
    const now = Date.now();
    if (!this.discovered || this.discovered.expiresAt <= now) {
      const settings = this.requireConfig();
      const entry = {
        configuration: oidc.discovery(new URL(settings.issuerUrl), settings.clientId, settings.clientSecret, undefined, {
          execute: settings.allowInsecureHttp ? [oidc.allowInsecureRequests] : [],
          timeout: REQUEST_TIMEOUT_SECONDS,
        }),
        expiresAt: now + DISCOVERY_TTL_MS,
      };
      this.discovered = entry;
      // Forget a failed discovery at once so the next login tries again.
      entry.configuration.catch((error: unknown) => {
        if (this.discovered === entry) this.discovered = undefined;
        this.logger.warn(`OIDC discovery of ${settings.issuerUrl} failed: ${describe(error)}`);
      });
    }
    return this.discovered.configuration.catch(() => {
      throw unavailable();
    });
  }

  private translate(error: unknown): AppException {
    if (error instanceof AppException) return error;
    if (error instanceof oidc.AuthorizationResponseError) {
      return new AuthException(AuthErrorCode.OidcFailed, `The identity provider refused the login (${error.error})`);
    }
    if (error instanceof oidc.ResponseBodyError) {
      return new AuthException(AuthErrorCode.OidcFailed, `The identity provider rejected the code exchange (${error.error})`);
    }
    // fetch() throws a TypeError with a cause when the connection itself fails.
    if (
      (error instanceof TypeError && error.cause !== undefined) ||
      (error instanceof oidc.ClientError && UNAVAILABLE_CODES.has(error.code ?? ''))
    ) {
      this.logger.warn(`OIDC provider request failed: ${describe(error)}`);
      return unavailable();
    }
    if (error instanceof oidc.ClientError) {
      this.logger.warn(`OIDC response rejected: ${describe(error)}`);
      return new AuthException(AuthErrorCode.OidcFailed, `The identity provider's response failed validation: ${error.message}`);
    }
    throw error;
  }
}

const unavailable = () =>
  new AuthException(AuthErrorCode.OidcProviderUnavailable, 'The identity provider cannot be reached right now; try again later');

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? ` (${error.cause.message})` : '';
  return `${error.message}${cause}`;
}
