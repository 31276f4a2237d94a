import { ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { describe, expect, it } from 'vitest';
import { AuthContext } from 'src/common/auth/auth-context';
import { Authenticated } from 'src/common/auth/auth.decorator';
import { Permission } from 'src/common/auth/permission.enum';
import { AuthGuard } from 'src/modules/auth/auth.guard';
import type { CredentialResolver } from 'src/modules/auth/credential-resolver.service';
import { InstanceRole, RateLimitTier } from 'src/modules/users/user.entity';

class Handlers {
  @Authenticated({ permission: Permission.MemberManage })
  manage(): void {}

  @Authenticated()
  anyone(): void {}

  undeclared(): void {}
}

const viewer: AuthContext = {
  userId: 'u',
  email: 'u@example.com',
  profile: { name: 'U', personalWorkspaceId: 'w', createdAt: new Date(0), rateLimitTier: RateLimitTier.Standard },
  instanceRole: InstanceRole.User,
  workspaceId: 'w',
  permissions: new Set([Permission.WorkspaceRead, Permission.MemberRead]),
  rateLimitTier: RateLimitTier.Standard,
};

/** A socket message: Nest passes (client, data, ack); the handshake left `auth` on `client.data`. */
function wsContext(handler: keyof Handlers, auth: AuthContext | undefined): ExecutionContext {
  const client = { data: { auth } };
  return {
    getType: () => 'ws',
    // Reflector reads metadata off the function; it is never called.
    // eslint-disable-next-line @typescript-eslint/unbound-method
    getHandler: () => Handlers.prototype[handler],
    getClass: () => Handlers,
    switchToWs: () => ({ getClient: () => client, getData: () => ({}), getPattern: () => handler }),
  } as unknown as ExecutionContext;
}

describe('AuthGuard on socket messages', () => {
  const noResolver = {} as CredentialResolver;
  const guard = new AuthGuard(new Reflector(), noResolver);

  it('lets a handshake-authenticated socket through without resolving credentials again', () => {
    // A handshake-authenticated socket is admitted synchronously: no promise per message.
    expect(guard.canActivate(wsContext('anyone', viewer))).toBe(true);
  });

  it("holds a message to its handler's declared permission", async () => {
    await expect(guard.canActivate(wsContext('manage', viewer))).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });

  it('refuses a socket with no handshake auth, and a handler that declares no rule', async () => {
    await expect(guard.canActivate(wsContext('anyone', undefined))).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    await expect(guard.canActivate(wsContext('undeclared', viewer))).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });
});
