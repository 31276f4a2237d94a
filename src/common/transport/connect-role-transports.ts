import { INestApplication } from '@nestjs/common';
import { CustomStrategy, NestMicroservice } from '@nestjs/microservices';
import { redisOptionsFromUrl } from 'src/common/redis/redis-url';
import { NamespacedNatsServer, NamespacedRedisServer } from 'src/common/transport/broker-servers';
import { InProcessServer } from 'src/common/transport/in-process.server';
import { RoleRpcExceptionFilter } from 'src/common/transport/rpc-exception.filter';
import { AppConfig } from 'src/config/app-config';

/** How long a stopping NATS server keeps answering requests it already took. */
const NATS_GRACE_PERIOD_MS = 1_000;

/**
 * Makes the app a hybrid: the in-process transport always, plus NATS or Redis when
 * configured, each serving every `@MessagePattern` of the modules this process loaded.
 * Call before `app.init()`; `app.startAllMicroservices()` then connects the brokers.
 */
export function connectRoleTransports(app: INestApplication, config: AppConfig): void {
  attach(app, app.get(InProcessServer));
  switch (config.transport) {
    case 'nats':
      attach(
        app,
        new NamespacedNatsServer(config.transportNamespace, {
          servers: [config.natsUrl!],
          // One queue group per namespace: each request reaches one replica of the role.
          queue: config.transportNamespace,
          name: `gremlins-${config.roles.join('+')}`,
          maxReconnectAttempts: -1,
          gracefulShutdown: true,
          gracePeriod: NATS_GRACE_PERIOD_MS,
        }),
      );
      return;
    case 'redis':
      attach(
        app,
        new NamespacedRedisServer(config.transportNamespace, {
          ...redisOptionsFromUrl(config.redisUrl!),
          retryAttempts: Number.MAX_SAFE_INTEGER,
          retryDelay: 1_000,
        }),
      );
      return;
    case 'in-process':
      return;
  }
}

function attach(app: INestApplication, strategy: CustomStrategy['strategy']): void {
  // Initialisation is deferred only to install the exception filter before the handlers
  // are wrapped (Nest reads global filters at wrap time); then we do what Nest would have.
  const microservice = app.connectMicroservice<CustomStrategy>({ strategy }, { deferInitialization: true }) as NestMicroservice;
  microservice.useGlobalFilters(new RoleRpcExceptionFilter());
  microservice.registerListeners();
  microservice.setIsInitialized(true);
  microservice.setIsInitHookCalled(true);
}
