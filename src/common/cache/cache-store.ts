/**
 * A small key/value cache for JSON values, shared by every module: in-process (bounded
 * LRU) in embedded mode, Redis when REDIS_URL is set, so replicas see one cache. Inject
 * `CacheStore` and take a namespace of your own:
 *
 *   this.cache = cache.namespace('router');
 *   await this.cache.set(`answer:${hash}`, answer, 60_000);
 *
 * Values go through JSON in both implementations, so what comes back is a copy (a Date
 * comes back as its ISO string) whichever backend is configured.
 */
export abstract class CacheStore {
  protected constructor(protected readonly prefix: string) {}

  /** The value, or undefined when absent or expired. */
  abstract get<T = unknown>(key: string): Promise<T | undefined>;

  /** Stores a JSON-serialisable value; without `ttlMs` it stays until evicted or deleted. */
  abstract set(key: string, value: unknown, ttlMs?: number): Promise<void>;

  /** True when something was removed. */
  abstract delete(key: string): Promise<boolean>;

  /**
   * Adds `by` to an integer counter (a missing key counts from 0) and returns the new value.
   * `ttlMs` is applied only while the counter has no expiry yet, i.e. when it is created,
   * so a fixed window does not slide on every increment.
   */
  abstract incr(key: string, by?: number, ttlMs?: number): Promise<number>;

  /** A view whose keys live under `name:` inside this store's namespace. */
  namespace(name: string): CacheStore {
    if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new Error(`Invalid cache namespace "${name}"`);
    return this.withPrefix(`${this.prefix}${name}:`);
  }

  /** Read-through helper: computes and stores the value on a miss. Not a lock; concurrent misses both compute. */
  async getOrSet<T>(key: string, compute: () => Promise<T>, ttlMs?: number): Promise<T> {
    const cached = await this.get<T>(key);
    if (cached !== undefined) return cached;
    const value = await compute();
    if (value !== undefined) await this.set(key, value, ttlMs);
    return value;
  }

  protected abstract withPrefix(prefix: string): CacheStore;

  protected fullKey(key: string): string {
    return this.prefix + key;
  }
}

export function serialize(value: unknown): string {
  const json = JSON.stringify(value);
  // JSON.stringify returns undefined for undefined, functions and symbols.
  if (typeof json !== 'string') throw new TypeError('Cache values must be JSON-serialisable (undefined cannot be stored)');
  return json;
}

export function assertTtl(ttlMs: number | undefined): void {
  if (ttlMs !== undefined && !(Number.isSafeInteger(ttlMs) && ttlMs > 0)) {
    throw new RangeError(`Cache TTL must be a positive whole number of milliseconds, got ${ttlMs}`);
  }
}

export function assertIncrement(by: number): void {
  if (!Number.isSafeInteger(by)) throw new RangeError(`Cache increments must be whole numbers, got ${by}`);
}
