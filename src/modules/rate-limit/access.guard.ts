import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { isPromise } from 'src/common/async/maybe-promise';
import { AuthGuard } from 'src/modules/auth/auth.guard';
import { RateLimitGuard } from 'src/modules/rate-limit/rate-limit.guard';

/**
 * The one global guard: authenticate, then meter. Composed here rather than registered as
 * two APP_GUARDs because the order matters (the budget is keyed by `request.auth`) and
 * because rejected credentials must be metered too: without that, guessing tokens or API
 * keys would be the one unlimited thing on the API.
 */
@Injectable()
export class AccessGuard implements CanActivate {
  constructor(
    private readonly auth: AuthGuard,
    private readonly rateLimit: RateLimitGuard,
  ) {}

  /** Stays synchronous when both halves can answer without I/O (cached caller, in-memory budget). */
  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    let allowed: boolean | Promise<boolean>;
    try {
      allowed = this.auth.canActivate(context);
    } catch (error) {
      return this.meterRejected(context, error);
    }
    if (isPromise(allowed)) {
      return allowed.then(
        (ok) => ok && this.rateLimit.canActivate(context),
        (error: unknown) => this.meterRejected(context, error),
      );
    }
    return allowed && this.rateLimit.canActivate(context);
  }

  /** Counted against the client IP; over budget, the 429 wins over the auth error. */
  private async meterRejected(context: ExecutionContext, error: unknown): Promise<never> {
    await this.rateLimit.canActivate(context);
    throw error;
  }
}
