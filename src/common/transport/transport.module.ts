import { DynamicModule, Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import { ClientProxyFactory, Transport } from '@nestjs/microservices';
import { redisOptionsFromUrl } from 'src/common/redis/redis-url';
import { RoleRedisClient } from 'src/common/transport/broker-servers';
import { InProcessServer } from 'src/common/transport/in-process.server';
import { ProcessInfo } from 'src/common/transport/process-identity';
import { RoleClient } from 'src/common/transport/role-client.service';
import { createPingHandler } from 'src/common/transport/system-ping.handler';
import { AppVersion, REMOTE_ROLE_CLIENT, RemoteRoleClient } from 'src/common/transport/transport.tokens';
import { AppConfig } from 'src/config/app-config';
import { readAppVersion } from 'src/config/app-version';

/** Reconnect for as long as the process lives; a broker restart must not need an app restart. */
const RECONNECT_DELAY_MS = 1_000;

export function createRemoteClient(config: AppConfig): RemoteRoleClient {
  switch (config.transport) {
    case 'nats':
      return ClientProxyFactory.create({
        transport: Transport.NATS,
        options: { servers: [config.natsUrl!], name: `gremlins-client-${config.roles.join('+')}`, maxReconnectAttempts: -1 },
      });
    case 'redis':
      return new RoleRedisClient({
        ...redisOptionsFromUrl(config.redisUrl!),
        retryAttempts: Number.MAX_SAFE_INTEGER,
        retryDelay: RECONNECT_DELAY_MS,
      });
    case 'in-process':
      return null;
  }
}

/**
 * Cross-role calls: `RoleClient` for callers, a ping handler per local role, and the
 * in-process server that `connectRoleTransports` (src/app.ts) attaches to the app.
 */
@Global()
@Module({})
export class TransportModule implements OnApplicationShutdown {
  constructor(@Inject(REMOTE_ROLE_CLIENT) private readonly remote: RemoteRoleClient) {}

  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: TransportModule,
      controllers: config.roles.map(createPingHandler),
      providers: [
        { provide: InProcessServer, useValue: new InProcessServer() },
        { provide: ProcessInfo, useValue: new ProcessInfo(config.roles) },
        { provide: AppVersion, useValue: new AppVersion(readAppVersion()) },
        { provide: REMOTE_ROLE_CLIENT, useFactory: () => createRemoteClient(config) },
        RoleClient,
      ],
      exports: [RoleClient, ProcessInfo, AppVersion],
    };
  }

  async onApplicationShutdown(): Promise<void> {
    await this.remote?.close();
  }
}
