/** Name of our one throttler: the hourly budget per caller. */
export const RATE_LIMIT_THROTTLER = 'default';

export const RATE_LIMIT_WINDOW_MS = 60 * 60 * 1000;
