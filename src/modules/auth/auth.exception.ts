import { HttpStatus } from '@nestjs/common';
import { AppException } from 'src/common/errors/app.exception';

export enum AuthErrorCode {
  InvalidCredentials = 'AUTH_INVALID_CREDENTIALS',
  InvalidToken = 'AUTH_INVALID_TOKEN',
  TokenExpired = 'AUTH_TOKEN_EXPIRED',
  InvalidRefreshToken = 'AUTH_INVALID_REFRESH_TOKEN',
  RefreshTokenReused = 'AUTH_REFRESH_TOKEN_REUSED',
  InvalidApiKey = 'AUTH_INVALID_API_KEY',
  AccountSuspended = 'AUTH_ACCOUNT_SUSPENDED',
  SignupClosed = 'AUTH_SIGNUP_CLOSED',
  EmailTaken = 'AUTH_EMAIL_TAKEN',
  ApiKeyNotAllowed = 'AUTH_API_KEY_NOT_ALLOWED',
  PermissionEscalation = 'AUTH_PERMISSION_ESCALATION',
  OidcNotConfigured = 'AUTH_OIDC_NOT_CONFIGURED',
  OidcFailed = 'AUTH_OIDC_FAILED',
  OidcStateInvalid = 'AUTH_OIDC_STATE_INVALID',
  OidcEmailUnverified = 'AUTH_OIDC_EMAIL_UNVERIFIED',
  OidcProviderUnavailable = 'AUTH_OIDC_PROVIDER_UNAVAILABLE',
}

const STATUS: Record<AuthErrorCode, HttpStatus> = {
  [AuthErrorCode.InvalidCredentials]: HttpStatus.UNAUTHORIZED,
  [AuthErrorCode.InvalidToken]: HttpStatus.UNAUTHORIZED,
  [AuthErrorCode.TokenExpired]: HttpStatus.UNAUTHORIZED,
  [AuthErrorCode.InvalidRefreshToken]: HttpStatus.UNAUTHORIZED,
  [AuthErrorCode.RefreshTokenReused]: HttpStatus.UNAUTHORIZED,
  [AuthErrorCode.InvalidApiKey]: HttpStatus.UNAUTHORIZED,
  [AuthErrorCode.AccountSuspended]: HttpStatus.FORBIDDEN,
  [AuthErrorCode.SignupClosed]: HttpStatus.FORBIDDEN,
  [AuthErrorCode.EmailTaken]: HttpStatus.CONFLICT,
  [AuthErrorCode.ApiKeyNotAllowed]: HttpStatus.FORBIDDEN,
  [AuthErrorCode.PermissionEscalation]: HttpStatus.FORBIDDEN,
  [AuthErrorCode.OidcNotConfigured]: HttpStatus.NOT_FOUND,
  [AuthErrorCode.OidcFailed]: HttpStatus.UNAUTHORIZED,
  [AuthErrorCode.OidcStateInvalid]: HttpStatus.BAD_REQUEST,
  [AuthErrorCode.OidcEmailUnverified]: HttpStatus.CONFLICT,
  [AuthErrorCode.OidcProviderUnavailable]: HttpStatus.SERVICE_UNAVAILABLE,
};

export class AuthException extends AppException {
  constructor(code: AuthErrorCode, message: string) {
    super(code, STATUS[code], message);
  }
}
