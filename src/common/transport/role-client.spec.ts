import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CommonErrors } from 'src/common/errors/app.exception';
import { connectRoleTransports } from 'src/common/transport/connect-role-transports';
import { RoleClient } from 'src/common/transport/role-client.service';
import { rolePattern } from 'src/common/transport/role-messages';
import { TransportModule } from 'src/common/transport/transport.module';
import { AppConfig, loadConfig } from 'src/config/app-config';
import { ConfigModule } from 'src/config/config.module';
import { startRedisRelay } from 'test/support/redis-relay';

const NATS_URL = process.env.TEST_NATS_URL ?? 'nats://127.0.0.1:4222';
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Stands in for the maintenance handler; its behaviour is picked by the payload. */
@Controller()
class FakeSchedulerHandler {
  @MessagePattern(rolePattern('scheduler.maintenance.run'))
  run(@Payload() request: { requestedBy?: string }): unknown {
    switch (request.requestedBy) {
      case 'not-found':
        throw CommonErrors.notFound('Widget');
      case 'crash':
        throw new Error('password=hunter2 in a stack trace');
      default:
        return { deleted: { sessions: 1, apiKeys: 0, auditEvents: 0 }, startedAt: new Date('2026-05-06T07:08:09.000Z'), echo: request };
    }
  }
}

async function boot(config: AppConfig, withHandler: boolean): Promise<NestFastifyApplication> {
  @Module({
    imports: [ConfigModule.forRoot(config), TransportModule.forRoot(config)],
    controllers: withHandler ? [FakeSchedulerHandler] : [],
  })
  class TestModule {}
  const app = await NestFactory.create<NestFastifyApplication>(TestModule, new FastifyAdapter(), { logger: false });
  connectRoleTransports(app, config);
  await app.init();
  try {
    await app.startAllMicroservices();
  } catch (error) {
    await app.close();
    throw error;
  }
  return app;
}

const configFor = (roles: string, transport: Record<string, string | undefined>, namespace: string) =>
  loadConfig({
    NODE_ENV: 'test',
    JWT_SECRET: randomBytes(32).toString('base64url'),
    GREMLINS_ROLES: roles,
    TRANSPORT_NAMESPACE: namespace,
    ...transport,
  });

describe.each<{ name: string; transport: Record<string, string>; split: boolean }>([
  { name: 'in-process (one app runs both roles)', transport: {}, split: false },
  { name: 'NATS (two apps)', transport: { GREMLINS_TRANSPORT: 'nats', NATS_URL }, split: true },
  { name: 'Redis (two apps)', transport: { GREMLINS_TRANSPORT: 'redis', REDIS_URL }, split: true },
])('RoleClient over $name', ({ transport, split }) => {
  const apps: NestFastifyApplication[] = [];
  let client: RoleClient;

  beforeAll(async () => {
    const namespace = `test-${randomBytes(6).toString('hex')}`;
    if (split) {
      apps.push(await boot(configFor('scheduler', transport, namespace), true));
      apps.push(await boot(configFor('api', transport, namespace), false));
    } else {
      apps.push(await boot(configFor('api,scheduler', transport, namespace), true));
    }
    client = apps[apps.length - 1].get(RoleClient);
  });
  afterAll(async () => {
    for (const app of apps.reverse()) await app.close();
  });

  it('returns the answer as it would arrive over JSON (dates as strings)', async () => {
    const answer: unknown = await client.send('scheduler.maintenance.run', { requestedBy: 'u1' });
    expect(answer).toEqual({
      deleted: { sessions: 1, apiKeys: 0, auditEvents: 0 },
      startedAt: '2026-05-06T07:08:09.000Z',
      echo: { requestedBy: 'u1' },
    });
    expect(client.isLocal('scheduler.maintenance.run')).toBe(!split);
  });

  it("rethrows the handler's AppException with its code and status", async () => {
    await expect(client.send('scheduler.maintenance.run', { requestedBy: 'not-found' })).rejects.toMatchObject({
      code: 'NOT_FOUND',
      status: 404,
      message: 'Widget not found',
    });
  });

  it('turns any other failure into INTERNAL_ERROR without its message', async () => {
    const error: unknown = await client.send('scheduler.maintenance.run', { requestedBy: 'crash' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'INTERNAL_ERROR', status: 500, message: 'Internal server error' });
    expect(JSON.stringify(error)).not.toContain('hunter2');
  });

  it('answers pings for the roles of the answering app', async () => {
    const pong = await client.send('scheduler.system.ping', {});
    expect(pong).toMatchObject({ role: 'scheduler', process: { pid: process.pid, roles: split ? ['scheduler'] : ['api', 'scheduler'] } });
  });
});

describe('RoleClient namespaces', () => {
  it('does not reach a scheduler in another TRANSPORT_NAMESPACE', async () => {
    const scheduler = await boot(
      configFor('scheduler', { GREMLINS_TRANSPORT: 'nats', NATS_URL }, `test-${randomBytes(6).toString('hex')}`),
      true,
    );
    const api = await boot(configFor('api', { GREMLINS_TRANSPORT: 'nats', NATS_URL }, `test-${randomBytes(6).toString('hex')}`), false);
    try {
      await expect(api.get(RoleClient).send('scheduler.system.ping', {}, { timeoutMs: 2_000 })).rejects.toMatchObject({
        code: 'ROLE_UNAVAILABLE',
      });
    } finally {
      await api.close();
      await scheduler.close();
    }
  });
});

describe('RoleClient over Redis when Redis goes away', () => {
  it('fails calls with a role error and still shuts both apps down promptly', async () => {
    const relay = await startRedisRelay();
    const namespace = `test-${randomBytes(6).toString('hex')}`;
    const transport = { GREMLINS_TRANSPORT: 'redis', REDIS_URL: relay.url };
    const scheduler = await boot(configFor('scheduler', transport, namespace), true);
    const api = await boot(configFor('api', transport, namespace), false);
    const client = api.get(RoleClient);
    expect(await client.send('scheduler.system.ping', {})).toMatchObject({ role: 'scheduler' });

    await relay.cut();
    const callStarted = Date.now();
    const error: unknown = await client.send('scheduler.system.ping', {}, { timeoutMs: 1_000 }).catch((e: unknown) => e);
    expect(Date.now() - callStarted).toBeLessThan(2_000);
    expect(error).toMatchObject({ code: 'ROLE_TRANSPORT_FAILED', status: 502 });

    const started = Date.now();
    await api.close();
    await scheduler.close();
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});

describe('RoleClient brokers at boot', () => {
  it.each([
    { GREMLINS_TRANSPORT: 'nats', NATS_URL: 'nats://127.0.0.1:1' },
    { GREMLINS_TRANSPORT: 'redis', REDIS_URL: 'redis://127.0.0.1:1' },
  ])('refuses to start when the $GREMLINS_TRANSPORT broker is unreachable', async (transport) => {
    const started = Date.now();
    await expect(boot(configFor('scheduler', transport, 'unreachable'), true)).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
