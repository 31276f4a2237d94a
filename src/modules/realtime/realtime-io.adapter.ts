import { INestApplicationContext, Logger } from '@nestjs/common';
import { IoAdapter } from '@nestjs/platform-socket.io';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import type { Server, ServerOptions } from 'socket.io';
import { CommonErrorCode } from 'src/common/errors/app.exception';
import type { ErrorBody } from 'src/common/errors/error-body';
import { closeRedisConnection } from 'src/common/redis/redis-connection';
import { AppConfig } from 'src/config/app-config';

/**
 * Largest message a client may send. Client requests are small commands; anything bigger
 * is refused by Engine.IO (the connection is closed) before it is parsed.
 */
export const REALTIME_MAX_MESSAGE_BYTES = 64 * 1024;

const ROOT_REFUSAL: ErrorBody = { statusCode: 404, code: CommonErrorCode.NotFound, message: 'Connect to a namespace such as /realtime' };

/**
 * Socket.IO on the app's own HTTP server (Fastify's underlying Node server). With REDIS_URL
 * every namespace gets the Redis adapter, so a room emit, and a `serverSideEmit` between
 * replicas, reaches sockets connected to any replica.
 */
export class RealtimeIoAdapter extends IoAdapter {
  private readonly redisLogger = new Logger('Realtime');
  private readonly redisClients: Redis[] = [];

  constructor(
    app: INestApplicationContext,
    private readonly config: AppConfig,
  ) {
    super(app);
  }

  override createIOServer(port: number, options?: ServerOptions): Server {
    const server = super.createIOServer(port, {
      ...options,
      maxHttpBufferSize: REALTIME_MAX_MESSAGE_BYTES,
      // Clients bring their own socket.io-client; nothing to serve.
      serveClient: false,
      ...(this.config.redisUrl && { adapter: this.createRedisAdapter(this.config.redisUrl) }),
    } as ServerOptions);
    // Socket.IO always serves the main namespace; nothing of ours lives there, so nobody gets in.
    server.of('/').use((_socket, next) => next(Object.assign(new Error(ROOT_REFUSAL.message), { data: ROOT_REFUSAL })));
    return server;
  }

  override async dispose(): Promise<void> {
    await Promise.all(this.redisClients.splice(0).map((client) => closeRedisConnection(client)));
  }

  private createRedisAdapter(url: string): ServerOptions['adapter'] {
    const pub = this.redisClient(url, 'pub');
    const sub = this.redisClient(url, 'sub');
    return createAdapter(pub, sub, { key: `${this.config.redisKeyPrefix}socket.io` });
  }

  private redisClient(url: string, role: 'pub' | 'sub'): Redis {
    // The adapter publishes and subscribes without awaiting: a command that gave up would be
    // an unhandled rejection, so commands wait for the reconnect instead of failing.
    const client = new Redis(url, { maxRetriesPerRequest: null, connectionName: `gremlins-realtime-${role}` });
    let lastLoggedAt = 0;
    client.on('error', (error: Error) => {
      if (Date.now() - lastLoggedAt < 30_000) return;
      lastLoggedAt = Date.now();
      this.redisLogger.warn(`Redis (socket fan-out, ${role}) connection problem: ${error.message}`);
    });
    this.redisClients.push(client);
    return client;
  }
}
