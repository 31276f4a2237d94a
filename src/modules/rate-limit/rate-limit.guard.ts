import { ExecutionContext, HttpStatus, Injectable, Logger } from '@nestjs/common';
import { GqlContextType, GqlExecutionContext } from '@nestjs/graphql';
import {
  InjectThrottlerOptions,
  InjectThrottlerStorage,
  ThrottlerGuard,
  ThrottlerLimitDetail,
  ThrottlerModuleOptions,
  ThrottlerRequest,
  ThrottlerStorage,
} from '@nestjs/throttler';
import { createHash } from 'node:crypto';
import { AuthRequest, getRequestFromContext } from 'src/common/auth/request-context';
import { AppException, CommonErrorCode } from 'src/common/errors/app.exception';
import { MemoizedReflector } from 'src/modules/rate-limit/memoized-reflector';
import { RateLimitTier } from 'src/modules/users/user.entity';

const METERED = Symbol('rate-limit.metered');
const MAX_IP_KEY_LENGTH = 64;
const STORAGE_WARNING_INTERVAL_MS = 30_000;

type MeteredRequest = AuthRequest & { [METERED]?: Map<string, Promise<boolean>> };

/**
 * The hourly request budget, on top of @nestjs/throttler: one counter per caller for the
 * whole API (not per route), keyed by API key, else user, else client IP. Runs after
 * authentication (see AccessGuard) because the key and the tier come from `request.auth`.
 */
@Injectable()
export class RateLimitGuard extends ThrottlerGuard {
  protected override logger = new Logger(RateLimitGuard.name);
  private lastStorageWarningAt = 0;

  constructor(@InjectThrottlerOptions() options: ThrottlerModuleOptions, @InjectThrottlerStorage() storage: ThrottlerStorage) {
    // Reflector is stateless (it reads decorator metadata), so a private memoizing one is safe.
    super(options, storage, new MemoizedReflector());
  }

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    const type = context.getType<GqlContextType>();
    // Socket messages are not requests; the handshake is authenticated once and the
    // gateways meter their own traffic. RPC calls come from our own processes.
    if (type !== 'http' && type !== 'graphql') return true;
    const request = getRequestFromContext(context) as MeteredRequest | undefined;
    // GraphQL subscriptions over a socket carry no HTTP request to meter.
    if (!request) return true;
    if (request.auth?.rateLimitTier === RateLimitTier.Unlimited) return true;
    return super.canActivate(context);
  }

  protected override handleRequest(props: ThrottlerRequest): Promise<boolean> {
    // GraphQL runs guards once per resolver: one HTTP request costs one unit however many
    // fields it asks for, and every field sees the same verdict.
    const request = getRequestFromContext(props.context) as MeteredRequest;
    const verdicts = (request[METERED] ??= new Map<string, Promise<boolean>>());
    let verdict = verdicts.get(props.throttler.name!);
    if (!verdict) {
      verdict = this.meter(props);
      verdicts.set(props.throttler.name!, verdict);
    }
    return verdict;
  }

  private async meter(props: ThrottlerRequest): Promise<boolean> {
    try {
      return await super.handleRequest(props);
    } catch (error) {
      if (error instanceof AppException) throw error;
      // Fail open: a Redis outage should degrade limits, not take the API down with it.
      if (Date.now() - this.lastStorageWarningAt > STORAGE_WARNING_INTERVAL_MS) {
        this.lastStorageWarningAt = Date.now();
        this.logger.warn(`Rate limits not enforced, storage failed: ${error instanceof Error ? error.message : String(error)}`);
      }
      return true;
    }
  }

  protected override async getTracker(req: Record<string, unknown>, context?: ExecutionContext): Promise<string> {
    // Read through the transport-aware accessor: for GraphQL that is the field's own view.
    const auth = context ? getRequestFromContext(context).auth : (req as Partial<AuthRequest>).auth;
    // A key has a budget of its own, apart from its owner's interactive sessions.
    if (auth?.apiKeyId) return `key:${auth.apiKeyId}`;
    if (auth) return `user:${auth.userId}`;
    // Fastify's request.ip honours TRUST_PROXY; IPv6 is grouped by /64 like one host.
    const ip = ((await super.getTracker(req)) as string | undefined) ?? 'unknown';
    // Behind a trusted proxy the address is whatever the proxy forwarded: bound its size.
    return `ip:${ip.length <= MAX_IP_KEY_LENGTH ? ip : createHash('sha256').update(ip).digest('hex')}`;
  }

  /** One budget per caller across all routes, unlike the library's per-handler default. */
  protected override generateKey(_context: ExecutionContext, tracker: string, throttlerName: string): string {
    return `${throttlerName}:${tracker}`;
  }

  protected override getRequestResponse(context: ExecutionContext): { req: Record<string, unknown>; res: Record<string, unknown> } {
    if (context.getType<GqlContextType>() === 'graphql') {
      const ctx = GqlExecutionContext.create(context).getContext<{
        req?: Record<string, unknown>;
        reply?: Record<string, unknown>;
        res?: Record<string, unknown>;
      }>();
      return { req: ctx.req ?? {}, res: ctx.reply ?? ctx.res ?? {} };
    }
    return super.getRequestResponse(context);
  }

  protected override throwThrottlingException(_context: ExecutionContext, detail: ThrottlerLimitDetail): Promise<void> {
    throw new AppException(
      CommonErrorCode.RateLimited,
      HttpStatus.TOO_MANY_REQUESTS,
      `Rate limit of ${detail.limit} requests per hour exceeded; retry in ${detail.timeToBlockExpire} seconds`,
      { limit: detail.limit, retryAfterSeconds: detail.timeToBlockExpire },
    );
  }
}
