import { ThrottlerStorage } from '@nestjs/throttler';
import { LRUCache } from 'lru-cache';

/** The record shape the throttler guard expects (not exported by the package's index). */
export type ThrottlerStorageRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;

interface Window {
  hits: number;
  /** Epoch ms when the window (or the block, which replaces it) ends. */
  endsAt: number;
  blocked: boolean;
}

/**
 * Fixed-window counters in process memory, the embedded default. Same semantics as
 * `RedisThrottlerStorage` (one contract test covers both). Bounded: under a flood of
 * distinct callers the least recently seen counters are dropped rather than memory grown.
 */
/** A store that can count without I/O; the guard then meters without a promise. */
export interface SynchronousThrottlerStorage extends ThrottlerStorage {
  incrementNow(key: string, ttl: number, limit: number, blockDuration: number): ThrottlerStorageRecord;
}

export function isSynchronousStorage(storage: ThrottlerStorage): storage is SynchronousThrottlerStorage {
  return typeof (storage as Partial<SynchronousThrottlerStorage>).incrementNow === 'function';
}

export class MemoryThrottlerStorage implements SynchronousThrottlerStorage {
  private readonly windows: LRUCache<string, Window>;

  constructor(maxTrackedCallers = 100_000) {
    this.windows = new LRUCache({ max: maxTrackedCallers });
  }

  // The throttler name is already part of the key the guard builds.
  increment(key: string, ttl: number, limit: number, blockDuration: number, _throttlerName?: string): Promise<ThrottlerStorageRecord> {
    return Promise.resolve(this.incrementNow(key, ttl, limit, blockDuration));
  }

  incrementNow(key: string, ttl: number, limit: number, blockDuration: number): ThrottlerStorageRecord {
    const now = Date.now();
    let window = this.windows.get(key);
    if (window && window.blocked && window.endsAt > now) {
      const left = seconds(window.endsAt - now);
      return { totalHits: window.hits, timeToExpire: left, isBlocked: true, timeToBlockExpire: left };
    }
    if (!window || window.endsAt <= now) {
      window = { hits: 0, endsAt: now + ttl, blocked: false };
      this.windows.set(key, window);
    }
    window.hits += 1;
    if (window.hits <= limit) {
      return {
        totalHits: window.hits,
        timeToExpire: seconds(window.endsAt - now),
        isBlocked: false,
        timeToBlockExpire: 0,
      };
    }
    // Over the limit: blocked for blockDuration (a fresh window starts after it), or with
    // no block duration until the current window ends.
    if (blockDuration > 0) {
      window.blocked = true;
      window.endsAt = now + blockDuration;
    }
    const left = seconds(window.endsAt - now);
    return { totalHits: window.hits, timeToExpire: left, isBlocked: true, timeToBlockExpire: left };
  }
}

/** Throttler records speak whole seconds, rounded up so Retry-After is never early. */
export function seconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}
