import { Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import { LoggerModule as PinoLoggerModule } from 'nestjs-pino';
import type { DestinationStream } from 'pino';
import { AppConfig } from 'src/config/app-config';
import { HttpLoggingService } from 'src/common/observability/http-logging.service';
import { buildLoggerParams, createLogDestination } from 'src/common/observability/logging-options';

const LOG_DESTINATION = Symbol('LOG_DESTINATION');

type FlushableDestination = DestinationStream & { flushSync(): void };

@Module({
  providers: [{ provide: LOG_DESTINATION, inject: [AppConfig], useFactory: createLogDestination }],
  exports: [LOG_DESTINATION],
})
class LogDestinationModule implements OnApplicationShutdown {
  constructor(@Inject(LOG_DESTINATION) private readonly destination: FlushableDestination) {}

  /** The last lines (the shutdown itself) must reach the file before the process or test moves on. */
  onApplicationShutdown(): void {
    try {
      this.destination.flushSync();
    } catch {
      // Not open yet or already gone: nothing buffered that could still be written.
    }
  }
}

/**
 * The application logger: pino through nestjs-pino, so `new Logger(Context)` anywhere in the
 * code writes structured JSON with the request id of the request it runs in. `createApp`
 * installs it with `app.useLogger(app.get(Logger))`.
 */
@Module({
  imports: [
    PinoLoggerModule.forRootAsync({
      imports: [LogDestinationModule],
      inject: [AppConfig, LOG_DESTINATION],
      useFactory: buildLoggerParams,
    }),
  ],
  providers: [HttpLoggingService],
})
export class LoggingModule {}
