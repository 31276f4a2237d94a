import { pino, type DestinationStream, type Level, type LevelWithSilent } from 'pino';
import type { Params } from 'nestjs-pino';
import { AppConfig } from 'src/config/app-config';
import { logRedactPaths, redactUrl, scrubSecrets } from 'src/common/observability/redaction';

/** Probes and scrapes hit these every few seconds; at info they would drown everything else. */
const QUIET_PATHS = /^\/(health\/|metrics(\?|$))/;

/** The level of a request's `request completed` line. */
export function requestLogLevel(url: string, statusCode: number): LevelWithSilent {
  if (statusCode >= 500) return 'error';
  if (statusCode >= 400) return 'warn';
  return QUIET_PATHS.test(url) ? 'debug' : 'info';
}

/**
 * Where logs go: stdout, or LOG_FILE when set. Asynchronous, so a request never waits on a
 * write; pino flushes what is buffered when the process exits.
 */
export function createLogDestination(config: AppConfig): DestinationStream & { flushSync(): void } {
  return pino.destination({ dest: config.logFile ?? 1, sync: false, mkdir: true, append: true });
}

interface LoggedRequest {
  id?: unknown;
  method?: unknown;
  url?: unknown;
  remoteAddress?: unknown;
}

/**
 * JSON logs at config.logLevel. Request bodies and headers are never logged: `req` and `res`
 * keep an allow-list of fields whatever object is logged under them, and `redact` plus the
 * `log` formatter mask credential fields that reach a log any other way.
 *
 * nestjs-pino's own HTTP middleware is not mounted (`forRoutes: []`): Nest mounts middleware
 * per route under the global prefix, which on Fastify misses unmatched and some unprefixed
 * paths and runs twice on others. `HttpLoggingService` binds the request context and writes
 * the request line from Fastify hooks instead, which see every request exactly once.
 */
export function buildLoggerParams(config: AppConfig, destination: DestinationStream): Params {
  return {
    pinoHttp: [
      {
        level: config.logLevel,
        redact: { paths: logRedactPaths(), censor: '[Redacted]' },
        timestamp: pino.stdTimeFunctions.isoTime,
        formatters: {
          level: (label) => ({ level: label as Level }),
          // Credential fields below the top level (a logged DTO, `params`): see logRedactPaths.
          log: (object) => scrubSecrets(object),
        },
        wrapSerializers: false,
        serializers: {
          req: (req: LoggedRequest) => ({
            id: req.id,
            method: req.method,
            url: typeof req.url === 'string' ? redactUrl(req.url) : undefined,
            remoteAddress: req.remoteAddress,
          }),
          res: (res: { statusCode?: unknown }) => ({ statusCode: res.statusCode }),
        },
      },
      destination,
    ],
    forRoutes: [],
  };
}
