import { ExecutionContext } from '@nestjs/common';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host.js';
import { describe, expect, it } from 'vitest';
import { AuthContext } from 'src/common/auth/auth-context';
import { AuthRequest, getRequestFromContext } from 'src/common/auth/request-context';

/** What Nest hands guards and param decorators for one resolved GraphQL field. */
function fieldContext(request: AuthRequest, args: Record<string, unknown>, info: object): ExecutionContext {
  const context = new ExecutionContextHost([undefined, args, { req: request }, info]);
  context.setType('graphql');
  return context;
}

const caller = (workspaceId: string) => ({ userId: 'u1', workspaceId }) as AuthContext;

describe('getRequestFromContext on GraphQL fields', () => {
  class FastifyLikeRequest implements AuthRequest {
    headers = { authorization: 'Bearer t' };
    params = {};
    auth?: AuthContext;
    readonly socket = { remoteAddress: '10.0.0.7' };
    get ip(): string {
      return this.socket.remoteAddress;
    }
  }

  it('gives each field its own workspace and caller, over one shared request', () => {
    const request = new FastifyLikeRequest();
    const teamInfo = {};
    const ownInfo = {};
    const team = getRequestFromContext(fieldContext(request, { workspaceId: 'team' }, teamInfo));
    const own = getRequestFromContext(fieldContext(request, {}, ownInfo));

    expect(team.params).toEqual({ workspaceId: 'team' });
    expect(own.params).toEqual({});
    expect(team.headers).toBe(request.headers);
    expect(team.ip).toBe('10.0.0.7');

    team.auth = caller('team');
    own.auth = caller('personal');
    // The guard and @Auth() of the same field see the same view...
    expect(getRequestFromContext(fieldContext(request, { workspaceId: 'team' }, teamInfo)).auth?.workspaceId).toBe('team');
    expect(getRequestFromContext(fieldContext(request, {}, ownInfo)).auth?.workspaceId).toBe('personal');
    // ...while request-wide state (the rate limiter's marks, the caller for logs) stays on the request.
    (team as AuthRequest & { marked?: boolean }).marked = true;
    expect((request as FastifyLikeRequest & { marked?: boolean }).marked).toBe(true);
    expect(request.auth?.userId).toBe('u1');
  });

  it('ignores a workspaceId argument that is not a string', () => {
    const view = getRequestFromContext(fieldContext(new FastifyLikeRequest(), { workspaceId: { $ne: null } }, {}));
    expect(view.params).toEqual({});
  });
});
