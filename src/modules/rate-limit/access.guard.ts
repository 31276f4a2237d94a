import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
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

  async canActivate(context: ExecutionContext): Promise<boolean> {
    let allowed: boolean;
    try {
      allowed = await this.auth.canActivate(context);
    } catch (error) {
      // Counted against the client IP; over budget, the 429 wins over the auth error.
      await this.rateLimit.canActivate(context);
      throw error;
    }
    return allowed && this.rateLimit.canActivate(context);
  }
}
