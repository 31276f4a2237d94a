import { Injectable } from '@nestjs/common';
import { AuthContext } from 'src/common/auth/auth-context';
import { CommonErrors } from 'src/common/errors/app.exception';
import { AuditAction } from 'src/modules/audit/audit-event.entity';
import { AuditService } from 'src/modules/audit/audit.service';
import { LoginDto, MeDto, RegisterDto } from 'src/modules/auth/auth.dto';
import { AuthErrorCode, AuthException } from 'src/modules/auth/auth.exception';
import { hashPassword, verifyPassword } from 'src/modules/auth/passwords';
import { RefreshTokenReusedError, SessionOrigin, TokenPair, TokenService } from 'src/modules/auth/tokens/token.service';
import { SettingsService, SignupMode } from 'src/modules/settings/settings.service';
import { UsersRepository } from 'src/modules/users/users.repository';
import { User, UserStatus } from 'src/modules/users/user.entity';

export interface ClientInfo {
  ip?: string;
  userAgent?: string;
}

@Injectable()
export class AuthService {
  private readonly meAnswers = new WeakMap<AuthContext, MeDto>();

  constructor(
    private readonly users: UsersRepository,
    private readonly tokens: TokenService,
    private readonly settings: SettingsService,
    private readonly audit: AuditService,
  ) {}

  async register(dto: RegisterDto, client: ClientInfo): Promise<TokenPair> {
    const { signupMode } = await this.settings.get();
    if (await this.users.findByEmail(dto.email)) throw emailTaken();
    const passwordHash = await hashPassword(dto.password);
    const user = await this.users
      .createAccount({ email: dto.email, name: dto.name, passwordHash }, signupMode === SignupMode.Open)
      .catch((error: unknown) => {
        // Lost a race with a concurrent sign-up for the same address.
        if ((error as { code?: string }).code === '23505') throw emailTaken();
        throw error;
      });
    if (!user) throw new AuthException(AuthErrorCode.SignupClosed, 'Sign-up is closed on this instance; ask an administrator');
    await this.audit.record({
      action: AuditAction.UserRegistered,
      actor: { userId: user.id },
      target: { type: 'user', id: user.id },
      ip: client.ip,
      metadata: { instanceRole: user.instanceRole },
    });
    return this.tokens.startSession(user.id, { method: 'register', ...client });
  }

  async login(dto: LoginDto, client: ClientInfo): Promise<TokenPair> {
    const user = await this.users.findByEmailWithPassword(dto.email);
    const valid = await verifyPassword(user?.passwordHash, dto.password);
    if (!user || !valid) {
      await this.audit.record({
        action: AuditAction.LoginFailed,
        actor: { userId: user?.id ?? null },
        ip: client.ip,
        metadata: { email: dto.email },
      });
      throw new AuthException(AuthErrorCode.InvalidCredentials, 'Email or password is incorrect');
    }
    assertActive(user);
    await this.audit.record({
      action: AuditAction.LoginSucceeded,
      actor: { userId: user.id },
      ip: client.ip,
      metadata: { method: 'password' },
    });
    return this.tokens.startSession(user.id, { method: 'password', ...client });
  }

  /** Signs in a user already authenticated by another means (OIDC). */
  async startSession(user: User, origin: SessionOrigin): Promise<TokenPair> {
    assertActive(user);
    return this.tokens.startSession(user.id, origin);
  }

  async refresh(refreshToken: string, client: ClientInfo): Promise<TokenPair> {
    try {
      const { tokens, userId } = await this.tokens.refresh(refreshToken);
      const user = await this.users.findById(userId);
      if (!user) throw CommonErrors.unauthenticated('Account no longer exists');
      assertActive(user);
      return tokens;
    } catch (error) {
      if (error instanceof RefreshTokenReusedError) {
        await this.audit.record({
          action: AuditAction.RefreshTokenReused,
          actor: { userId: error.userId },
          target: { type: 'session', id: error.sessionId },
          ip: client.ip,
        });
      }
      throw error;
    }
  }

  async logout(auth: AuthContext, client: ClientInfo): Promise<void> {
    if (auth.sessionId) await this.tokens.endSession(auth.sessionId, auth.userId);
    await this.audit.record({
      action: AuditAction.Logout,
      actor: auth,
      target: auth.sessionId ? { type: 'session', id: auth.sessionId } : undefined,
      ip: client.ip,
    });
  }

  /**
   * Answered from the resolved caller alone: the hot path of every client's start-up. The
   * resolver hands out one context per cached caller, so the answer is built once per caller.
   */
  me(auth: AuthContext): MeDto {
    let answer = this.meAnswers.get(auth);
    if (!answer) {
      answer = buildMe(auth);
      this.meAnswers.set(auth, answer);
    }
    return answer;
  }
}

function buildMe(auth: AuthContext): MeDto {
  return {
    user: {
      id: auth.userId,
      email: auth.email,
      name: auth.profile.name,
      instanceRole: auth.instanceRole,
      status: UserStatus.Active,
      rateLimitTier: auth.profile.rateLimitTier,
      personalWorkspaceId: auth.profile.personalWorkspaceId,
      createdAt: auth.profile.createdAt,
    },
    workspaceId: auth.workspaceId,
    permissions: [...auth.permissions].sort(),
    apiKeyId: auth.apiKeyId ?? null,
  };
}

function assertActive(user: User): void {
  if (user.status !== UserStatus.Active) throw new AuthException(AuthErrorCode.AccountSuspended, 'This account is suspended');
}

const emailTaken = () => new AuthException(AuthErrorCode.EmailTaken, 'An account with this email already exists');
