import { applyDecorators, CallHandler, ExecutionContext, Injectable, NestInterceptor, UseInterceptors } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { GqlContextType, GqlExecutionContext, ReturnTypeFunc, Subscription, SubscriptionOptions } from '@nestjs/graphql';
import type { GraphQLResolveInfo } from 'graphql';
import { map, Observable } from 'rxjs';
import { AUTH_METADATA, AuthMetadata } from 'src/common/auth/auth.decorator';
import { getRequestFromContext } from 'src/common/auth/request-context';
import { toGraphQLError } from 'src/graphql/graphql-errors';
import { AuthGuard } from 'src/modules/auth/auth.guard';

/**
 * The auth guard admits a subscriber once, when it subscribes; a subscription can then run
 * for hours. This re-checks the subscriber's credential and the field's declared access
 * before each event is delivered, for every `@AuthorizedSubscription` in the app, so a suspended
 * account, a revoked key, an ended session or a removed member stops receiving at the next
 * event. The stream then ends with the error (its `code` says why).
 */
@Injectable()
export class SubscriptionAccessInterceptor implements NestInterceptor {
  constructor(
    private readonly reflector: Reflector,
    private readonly guard: AuthGuard,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType<GqlContextType>() !== 'graphql') return next.handle();
    const info = GqlExecutionContext.create(context).getInfo<GraphQLResolveInfo>();
    if (info.parentType !== info.schema.getSubscriptionType()) return next.handle();
    const rule = this.reflector.getAllAndOverride<AuthMetadata | undefined>(AUTH_METADATA, [context.getHandler(), context.getClass()]);
    if (!rule || rule.public) return next.handle();
    const request = getRequestFromContext(context);
    return next
      .handle()
      .pipe(map((source) => reauthorizeEach(source as AsyncIterator<unknown>, () => this.guard.authorize(request, rule))));
  }
}

/**
 * Wraps an event stream so `authorize` runs before each event. A plain object rather than
 * an async generator: a generator's `return()` waits for a pending `next()`, so an
 * unsubscribe would hang (and keep the Redis subscription) until the next event arrived.
 */
export function reauthorizeEach<T>(source: AsyncIterator<T>, authorize: () => Promise<unknown>): AsyncIterableIterator<T> {
  let finished = false;
  const stop = async (): Promise<IteratorResult<T>> => {
    if (!finished) {
      finished = true;
      await source.return?.();
    }
    return { done: true, value: undefined };
  };
  return {
    async next() {
      if (finished) return { done: true, value: undefined };
      const result = await source.next();
      if (result.done) return result;
      try {
        await authorize();
      } catch (error) {
        await stop();
        throw toGraphQLError(error);
      }
      return result;
    },
    return: stop,
    async throw(error?: unknown) {
      await stop();
      throw error;
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

/**
 * `@Subscription` with access re-checked before every event. Applied per field rather than
 * as a global interceptor, because any global interceptor puts an rxjs pipeline on every
 * REST request too (measured: a tenth of the throughput of GET /auth/me).
 */
export const AuthorizedSubscription = (type: ReturnTypeFunc, options: SubscriptionOptions) =>
  applyDecorators(Subscription(type, options), UseInterceptors(SubscriptionAccessInterceptor));
