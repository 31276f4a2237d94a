import { Type } from '@nestjs/common';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import { ThrottlerModuleOptions, ThrottlerStorage } from '@nestjs/throttler';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { AuthContext } from 'src/common/auth/auth-context';
import { getRequestFromContext } from 'src/common/auth/request-context';
import { AppException } from 'src/common/errors/app.exception';
import { closeRedisConnection, createRedisConnection } from 'src/common/redis/redis-connection';
import { MemoryThrottlerStorage } from 'src/modules/rate-limit/memory-throttler-storage';
import { RateLimitGuard } from 'src/modules/rate-limit/rate-limit.guard';
import { RedisThrottlerStorage } from 'src/modules/rate-limit/redis-throttler-storage';
import { SkipRateLimit } from 'src/modules/rate-limit/skip-rate-limit.decorator';
import { InstanceRole, RateLimitTier } from 'src/modules/users/user.entity';

class Resolver {}
function me(): void {}

const options: ThrottlerModuleOptions = {
  throttlers: [
    {
      name: 'default',
      ttl: 3_600_000,
      blockDuration: 0,
      limit: (context) => (getRequestFromContext(context).auth ? 3 : 2),
    },
  ],
};

async function guardWith(storage: ThrottlerStorage): Promise<RateLimitGuard> {
  const guard = new RateLimitGuard(options, storage);
  await guard.onModuleInit();
  return guard;
}

interface FakeReply {
  headers: Record<string, unknown>;
  header(name: string, value: unknown): void;
}

const reply = (): FakeReply => ({
  headers: {},
  header(name, value) {
    this.headers[name] = value;
  },
});

function graphqlContext(gqlContext: object): ExecutionContextHost {
  const context = new ExecutionContextHost([{}, {}, gqlContext, {}], Resolver, me);
  context.setType('graphql');
  return context;
}

function auth(overrides: Partial<AuthContext> = {}): AuthContext {
  return {
    userId: '00000000-0000-4000-8000-000000000001',
    email: 'a@example.com',
    profile: { name: 'A', personalWorkspaceId: null, createdAt: new Date(), rateLimitTier: RateLimitTier.Standard },
    instanceRole: InstanceRole.User,
    workspaceId: '00000000-0000-4000-8000-000000000002',
    permissions: new Set(),
    rateLimitTier: RateLimitTier.Standard,
    ...overrides,
  };
}

describe('RateLimitGuard on other transports', () => {
  let guard: RateLimitGuard;

  beforeEach(async () => {
    guard = await guardWith(new MemoryThrottlerStorage());
  });

  it('meters GraphQL by the same tracker, once per HTTP request however many fields it resolves', async () => {
    const first = { req: { ip: '203.0.113.9', headers: {} }, reply: reply() };
    for (let field = 0; field < 5; field++) expect(await guard.canActivate(graphqlContext(first))).toBe(true);
    expect(first.reply.headers['X-RateLimit-Remaining']).toBe(1);

    expect(await guard.canActivate(graphqlContext({ req: { ip: '203.0.113.9', headers: {} }, reply: reply() }))).toBe(true);
    const third = { req: { ip: '203.0.113.9', headers: {} }, reply: reply() };
    const rejection = guard.canActivate(graphqlContext(third));
    await expect(rejection).rejects.toBeInstanceOf(AppException);
    await expect(rejection).rejects.toMatchObject({ code: 'RATE_LIMITED', status: 429, details: { limit: 2 } });
    expect(Number(third.reply.headers['Retry-After'])).toBeGreaterThan(0);
    // Every other field of the rejected request gets the same answer without another hit.
    await expect(guard.canActivate(graphqlContext(third))).rejects.toMatchObject({ code: 'RATE_LIMITED' });
  });

  it('keys authenticated GraphQL callers by user and skips the unlimited tier', async () => {
    // As the auth guard does before this one runs.
    const signedIn = (caller: AuthContext, ip: string) => {
      const context = graphqlContext({ req: { ip, headers: {} }, reply: reply() });
      getRequestFromContext(context).auth = caller;
      return context;
    };
    for (let i = 0; i < 3; i++) expect(await guard.canActivate(signedIn(auth(), `203.0.113.${20 + i}`))).toBe(true);
    await expect(guard.canActivate(signedIn(auth(), '203.0.113.30'))).rejects.toMatchObject({
      code: 'RATE_LIMITED',
      details: { limit: 3 },
    });
    // Another user from the same address is unaffected; so is the IP's anonymous budget.
    expect(await guard.canActivate(signedIn(auth({ userId: '00000000-0000-4000-8000-000000000009' }), '203.0.113.30'))).toBe(true);

    const unlimited = signedIn(auth({ rateLimitTier: RateLimitTier.Unlimited }), '203.0.113.30');
    for (let i = 0; i < 5; i++) expect(await guard.canActivate(unlimited)).toBe(true);
    expect(unlimited.getArgByIndex<{ reply: FakeReply }>(2).reply.headers).toEqual({});
  });

  it('does not crash on a GraphQL context without a reply, or without a request (subscriptions)', async () => {
    expect(await guard.canActivate(graphqlContext({ req: { ip: '203.0.113.11', headers: {} } }))).toBe(true);
    expect(await guard.canActivate(graphqlContext({}))).toBe(true);
  });

  it('leaves socket messages and RPC calls to their own transports', async () => {
    for (const type of ['ws', 'rpc'] as const) {
      const context = new ExecutionContextHost([{ data: {} }, {}], Resolver, me);
      context.setType(type);
      for (let i = 0; i < 5; i++) expect(await guard.canActivate(context)).toBe(true);
    }
  });
});

describe('RateLimitGuard on HTTP', () => {
  @SkipRateLimit()
  class ProbeController {
    live(): void {}
  }
  class ApiController {
    @SkipRateLimit()
    scrape(): void {}
    work(): void {}
  }

  function http(classRef: Type, handler: () => void, ip = '203.0.113.40') {
    const res = reply();
    return { context: new ExecutionContextHost([{ ip, headers: {} }, res], classRef, handler), res };
  }

  it('exempts handlers and controllers marked @SkipRateLimit, every time', async () => {
    const guard = await guardWith(new MemoryThrottlerStorage());
    /* eslint-disable @typescript-eslint/unbound-method -- only the function identity is used, for metadata */
    for (let i = 0; i < 5; i++) {
      expect(await guard.canActivate(http(ProbeController, ProbeController.prototype.live).context)).toBe(true);
      expect(await guard.canActivate(http(ApiController, ApiController.prototype.scrape).context)).toBe(true);
    }
    const first = http(ApiController, ApiController.prototype.work);
    expect(await guard.canActivate(first.context)).toBe(true);
    expect(first.res.headers).toMatchObject({ 'X-RateLimit-Limit': 2, 'X-RateLimit-Remaining': 1 });
    await guard.canActivate(http(ApiController, ApiController.prototype.work).context);
    await expect(guard.canActivate(http(ApiController, ApiController.prototype.work).context)).rejects.toMatchObject({ status: 429 });
    /* eslint-enable @typescript-eslint/unbound-method */
  });

  it('answers without a promise from the in-memory store, and with one from a store that needs I/O', async () => {
    /* eslint-disable @typescript-eslint/unbound-method -- only the function identity is used, for metadata */
    const memory = await guardWith(new MemoryThrottlerStorage());
    const inMemory = http(ApiController, ApiController.prototype.work);
    expect(memory.canActivate(inMemory.context)).toBe(true);
    expect(inMemory.res.headers).toMatchObject({ 'X-RateLimit-Limit': 2, 'X-RateLimit-Remaining': 1 });

    const backing = new MemoryThrottlerStorage();
    const remoteLike: ThrottlerStorage = { increment: (...args) => backing.increment(...args) };
    const remote = await guardWith(remoteLike);
    const viaIo = http(ApiController, ApiController.prototype.work);
    const verdict = remote.canActivate(viaIo.context);
    expect(verdict).toBeInstanceOf(Promise);
    expect(await verdict).toBe(true);
    expect(viaIo.res.headers).toMatchObject({ 'X-RateLimit-Limit': 2, 'X-RateLimit-Remaining': 1 });
    /* eslint-enable @typescript-eslint/unbound-method */
  });
});

describe('RateLimitGuard when Redis is down', () => {
  const unreachable = createRedisConnection('redis://127.0.0.1:1');
  afterAll(() => closeRedisConnection(unreachable));

  it('lets requests through instead of failing them, and stops waiting on the dead connection', async () => {
    const guard = await guardWith(new RedisThrottlerStorage(unreachable, 'test:unreachable:'));
    const request = () => graphqlContext({ req: { ip: '203.0.113.12', headers: {} }, reply: reply() });
    expect(await guard.canActivate(request())).toBe(true);
    const started = Date.now();
    for (let i = 0; i < 5; i++) expect(await guard.canActivate(request())).toBe(true);
    expect(Date.now() - started).toBeLessThan(500);
  });
});
