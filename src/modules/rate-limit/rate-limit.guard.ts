import { CanActivate, ExecutionContext, HttpStatus, Injectable, Logger } from '@nestjs/common';
import { GqlContextType, GqlExecutionContext } from '@nestjs/graphql';
import {
  InjectThrottlerOptions,
  InjectThrottlerStorage,
  normalizeIp,
  ThrottlerModuleOptions,
  ThrottlerOptions,
  ThrottlerStorage,
} from '@nestjs/throttler';
import { createHash } from 'node:crypto';
import { rejection } from 'src/common/async/maybe-promise';
import { AuthRequest, getRequestFromContext } from 'src/common/auth/request-context';
import { AppException, CommonErrorCode } from 'src/common/errors/app.exception';
import { isSynchronousStorage, ThrottlerStorageRecord } from 'src/modules/rate-limit/memory-throttler-storage';
import { RATE_LIMIT_THROTTLER } from 'src/modules/rate-limit/rate-limit.constants';
import { RateLimitTier } from 'src/modules/users/user.entity';

const METERED = Symbol('rate-limit.metered');
const MAX_IP_KEY_LENGTH = 64;
const STORAGE_WARNING_INTERVAL_MS = 30_000;
/** The metadata `SkipThrottle` (our `@SkipRateLimit()`) writes for a throttler. */
const SKIP_METADATA = `THROTTLER:SKIP${RATE_LIMIT_THROTTLER}`;

type MeteredRequest = AuthRequest & { [METERED]?: boolean | Promise<boolean> };
interface ReplyLike {
  header?(name: string, value: unknown): unknown;
  setHeader?(name: string, value: unknown): unknown;
}

/**
 * The hourly request budget: one counter per caller for the whole API (not per route),
 * keyed by API key, else user, else client IP, in @nestjs/throttler's storage (memory or
 * Redis). Runs after authentication (see AccessGuard) because the key and the tier come
 * from `request.auth`.
 *
 * It uses the throttler's options, storage and decorators but not its guard: the library
 * guard resolves seven metadata keys and four option values with an `await` each on every
 * request, which cost a quarter of the throughput of GET /auth/me. This does the same work
 * with one storage call.
 */
@Injectable()
export class RateLimitGuard implements CanActivate {
  private readonly logger = new Logger(RateLimitGuard.name);
  private readonly throttler: ThrottlerOptions;
  private readonly skipped = new WeakMap<object, boolean>();
  private lastStorageWarningAt = 0;

  constructor(
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
    @InjectThrottlerStorage() private readonly storage: ThrottlerStorage,
  ) {
    const throttlers = Array.isArray(options) ? options : options.throttlers;
    const throttler = throttlers.find((candidate) => (candidate.name ?? 'default') === RATE_LIMIT_THROTTLER);
    if (!throttler) throw new Error(`Rate limiting needs a throttler named "${RATE_LIMIT_THROTTLER}"`);
    this.throttler = throttler;
  }

  /** Kept for callers that initialise guards by hand (tests); nothing to prepare. */
  async onModuleInit(): Promise<void> {}

  canActivate(context: ExecutionContext): Promise<boolean> | boolean {
    const type = context.getType<GqlContextType>();
    // Socket messages are not requests; the handshake is authenticated once and the
    // gateways meter their own traffic. RPC calls come from our own processes.
    if (type !== 'http' && type !== 'graphql') return true;
    const request = getRequestFromContext(context) as MeteredRequest | undefined;
    // GraphQL subscriptions over a socket carry no HTTP request to meter.
    if (!request) return true;
    if (request.auth?.rateLimitTier === RateLimitTier.Unlimited) return true;
    if (this.isSkipped(context)) return true;
    // GraphQL runs guards once per resolver: one HTTP request costs one unit however many
    // fields it asks for, and every field sees the same verdict.
    return (request[METERED] ??= this.meterOnce(context, request));
  }

  /** The verdict every field of a GraphQL request shares: a refusal is kept as a rejection. */
  private meterOnce(context: ExecutionContext, request: MeteredRequest): boolean | Promise<boolean> {
    try {
      return this.meter(context, request);
    } catch (error) {
      return rejection(error);
    }
  }

  private meter(context: ExecutionContext, request: MeteredRequest): boolean | Promise<boolean> {
    const limit = this.value(this.throttler.limit, context);
    const ttl = this.value(this.throttler.ttl, context);
    const blockDuration = this.value(this.throttler.blockDuration ?? ttl, context);
    const key = `${RATE_LIMIT_THROTTLER}:${this.tracker(request)}`;
    // The in-memory store answers at once: no promise per request on the embedded default.
    if (isSynchronousStorage(this.storage)) {
      return this.apply(context, limit, this.storage.incrementNow(key, ttl, limit, blockDuration));
    }
    return this.storage.increment(key, ttl, limit, blockDuration, RATE_LIMIT_THROTTLER).then(
      (record) => this.apply(context, limit, record),
      (error: unknown) => {
        // Fail open: a Redis outage should degrade limits, not take the API down with it.
        if (Date.now() - this.lastStorageWarningAt > STORAGE_WARNING_INTERVAL_MS) {
          this.lastStorageWarningAt = Date.now();
          this.logger.warn(`Rate limits not enforced, storage failed: ${error instanceof Error ? error.message : String(error)}`);
        }
        return true;
      },
    );
  }

  private apply(context: ExecutionContext, limit: number, record: ThrottlerStorageRecord): true {
    const reply = this.reply(context);
    if (record.isBlocked) {
      setHeader(reply, 'Retry-After', record.timeToBlockExpire);
      throw new AppException(
        CommonErrorCode.RateLimited,
        HttpStatus.TOO_MANY_REQUESTS,
        `Rate limit of ${limit} requests per hour exceeded; retry in ${record.timeToBlockExpire} seconds`,
        { limit, retryAfterSeconds: record.timeToBlockExpire },
      );
    }
    setHeader(reply, 'X-RateLimit-Limit', limit);
    setHeader(reply, 'X-RateLimit-Remaining', Math.max(0, limit - record.totalHits));
    setHeader(reply, 'X-RateLimit-Reset', record.timeToExpire);
    return true;
  }

  private tracker(request: MeteredRequest): string {
    const auth = request.auth;
    // A key has a budget of its own, apart from its owner's interactive sessions.
    if (auth?.apiKeyId) return `key:${auth.apiKeyId}`;
    if (auth) return `user:${auth.userId}`;
    // Fastify's request.ip honours TRUST_PROXY; IPv6 is grouped by /64 like one host.
    const ip = normalizeIp(request.ip ?? 'unknown', 64);
    // Behind a trusted proxy the address is whatever the proxy forwarded: bound its size.
    return `ip:${ip.length <= MAX_IP_KEY_LENGTH ? ip : createHash('sha256').update(ip).digest('hex')}`;
  }

  /** `@SkipRateLimit()` on the handler or its class; route metadata is fixed after boot. */
  private isSkipped(context: ExecutionContext): boolean {
    const handler = context.getHandler();
    let skipped = this.skipped.get(handler);
    if (skipped === undefined) {
      skipped = Boolean(Reflect.getMetadata(SKIP_METADATA, handler) ?? Reflect.getMetadata(SKIP_METADATA, context.getClass()));
      this.skipped.set(handler, skipped);
    }
    return skipped;
  }

  private value(option: ThrottlerOptions['limit'], context: ExecutionContext): number {
    const value = typeof option === 'function' ? option(context) : option;
    if (typeof value !== 'number') throw new Error('Rate-limit options must resolve synchronously to numbers');
    return value;
  }

  private reply(context: ExecutionContext): ReplyLike | undefined {
    if (context.getType<GqlContextType>() === 'graphql') {
      const ctx = GqlExecutionContext.create(context).getContext<{ reply?: ReplyLike; res?: ReplyLike }>();
      return ctx.reply ?? ctx.res;
    }
    return context.switchToHttp().getResponse<ReplyLike>();
  }
}

function setHeader(reply: ReplyLike | undefined, name: string, value: unknown): void {
  if (typeof reply?.header === 'function') reply.header(name, value);
  else if (typeof reply?.setHeader === 'function') reply.setHeader(name, value);
}
