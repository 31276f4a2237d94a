import { SkipThrottle } from '@nestjs/throttler';
import { RATE_LIMIT_THROTTLER } from 'src/modules/rate-limit/rate-limit.constants';

/**
 * Exempts a route or controller from the hourly request budget. For endpoints that
 * infrastructure polls (health probes, Prometheus scrapes), never for user-facing work.
 */
export const SkipRateLimit = (): MethodDecorator & ClassDecorator => SkipThrottle({ [RATE_LIMIT_THROTTLER]: true });
