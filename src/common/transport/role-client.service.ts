import { Inject, Injectable } from '@nestjs/common';
import { ClientRedis } from '@nestjs/microservices';
// Not re-exported from the package root; it is what NATS "no responders" becomes.
import { EmptyResponseException } from '@nestjs/microservices/errors/empty-response.exception.js';
import type { Redis } from 'ioredis';
import { lastValueFrom, timeout, TimeoutError } from 'rxjs';
import { AppException } from 'src/common/errors/app.exception';
import { wirePattern } from 'src/common/transport/broker-servers';
import { InProcessServer, NoLocalHandlerError } from 'src/common/transport/in-process.server';
import { RolePattern, RoleRequest, RoleResponse, roleOfPattern } from 'src/common/transport/role-messages';
import { REMOTE_ROLE_CLIENT, RemoteRoleClient } from 'src/common/transport/transport.tokens';
import { TransportErrorCode, TransportException } from 'src/common/transport/transport.exception';
import { AppConfig } from 'src/config/app-config';

export interface RoleCallOptions {
  /** Overrides ROLE_CALL_TIMEOUT_MS for this call. */
  timeoutMs?: number;
}

/** Nest answers a pattern nobody handles with this text instead of a code. */
const NO_HANDLER_MESSAGE = 'There is no matching message handler defined in the remote service.';

/**
 * The one way to call another role. A pattern whose role runs in this process is handled
 * here without touching the network; any other goes over NATS or Redis. Either way the
 * payload and the answer pass through JSON, so a caller sees the same thing both ways.
 */
@Injectable()
export class RoleClient {
  constructor(
    private readonly config: AppConfig,
    private readonly local: InProcessServer,
    @Inject(REMOTE_ROLE_CLIENT) private readonly remote: RemoteRoleClient,
  ) {}

  /** Whether calls to this pattern stay in this process. */
  isLocal(pattern: RolePattern): boolean {
    return this.config.hasRole(roleOfPattern(pattern));
  }

  async send<P extends RolePattern>(pattern: P, payload: RoleRequest<P>, options: RoleCallOptions = {}): Promise<RoleResponse<P>> {
    const timeoutMs = options.timeoutMs ?? this.config.roleCallTimeoutMs;
    const role = roleOfPattern(pattern);
    const details = { role, pattern, timeoutMs };
    try {
      if (this.config.hasRole(role)) {
        const answer = await lastValueFrom(this.local.dispatch(pattern, jsonCopy(payload)).pipe(timeout(timeoutMs)), {
          defaultValue: undefined,
        });
        return jsonCopy(answer) as RoleResponse<P>;
      }
      if (!this.remote) {
        throw new TransportException(
          TransportErrorCode.RoleUnavailable,
          `Role ${role} does not run in this process and no transport is configured to reach it (set NATS_URL or REDIS_URL)`,
          details,
        );
      }
      const subject = wirePattern(this.config.transportNamespace, pattern);
      const deadline = Date.now() + timeoutMs;
      await withDeadline(this.assertSomeoneListens(subject, role, details), timeoutMs);
      const answer: unknown = await lastValueFrom(
        this.remote.send<unknown>(subject, payload).pipe(timeout(Math.max(1, deadline - Date.now()))),
        {
          defaultValue: undefined,
        },
      );
      return answer as RoleResponse<P>;
    } catch (error) {
      throw toCallError(error, role, details);
    }
  }

  /**
   * Redis pub/sub drops a message nobody subscribed to, and the caller would wait out the
   * timeout; counting subscribers first turns that into an immediate ROLE_UNAVAILABLE.
   * (NATS reports "no responders" by itself.)
   */
  private async assertSomeoneListens(subject: string, role: string, details: Record<string, unknown>): Promise<void> {
    if (!(this.remote instanceof ClientRedis)) return;
    await this.remote.connect();
    const [publisher] = this.remote.unwrap<[Redis, Redis]>();
    const reply = (await publisher.pubsub('NUMSUB', subject)) as [string, number];
    if (Number(reply[1]) === 0) throw noProcess(role, details);
  }
}

class BrokerSilentError extends Error {
  constructor(readonly ms: number) {
    super(`the broker did not answer within ${ms} ms`);
  }
}

/** A broker that is down queues commands instead of failing them; the caller's deadline still holds. */
async function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  // A late failure after the deadline has nobody left to tell.
  work.catch(() => undefined);
  try {
    return await Promise.race([work, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new BrokerSilentError(ms)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

function noProcess(role: string, details: Record<string, unknown>): TransportException {
  return new TransportException(
    TransportErrorCode.RoleUnavailable,
    `No process with role ${role} is listening (start one with GREMLINS_ROLES including ${role}, on the same transport and TRANSPORT_NAMESPACE)`,
    details,
  );
}

function toCallError(error: unknown, role: string, details: { timeoutMs: number } & Record<string, unknown>): Error {
  if (error instanceof AppException) return error;
  if (error instanceof TimeoutError) {
    return new TransportException(
      TransportErrorCode.RoleTimeout,
      `No process with role ${role} answered within ${details.timeoutMs} ms`,
      details,
    );
  }
  if (error instanceof EmptyResponseException || error instanceof NoLocalHandlerError) return noProcess(role, details);
  if (error instanceof BrokerSilentError) {
    return new TransportException(TransportErrorCode.RoleTransportFailed, `Calling role ${role} failed: ${error.message}`, details);
  }
  if (isErrorBody(error)) return new AppException(error.code, error.statusCode, error.message, error.details);
  const message =
    error instanceof Error
      ? error.message
      : typeof error === 'object' && error !== null
        ? String((error as { message?: unknown }).message)
        : String(error);
  if (message === NO_HANDLER_MESSAGE) return noProcess(role, details);
  return new TransportException(TransportErrorCode.RoleTransportFailed, `Calling role ${role} failed: ${message}`, details);
}

interface RemoteErrorBody {
  statusCode: number;
  code: string;
  message: string;
  details?: Record<string, unknown>;
}

function isErrorBody(value: unknown): value is RemoteErrorBody {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Partial<RemoteErrorBody>;
  return typeof candidate.statusCode === 'number' && typeof candidate.code === 'string' && typeof candidate.message === 'string';
}

function jsonCopy<T>(value: T): T {
  return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}
