import { Inject } from '@nestjs/common';

/**
 * The shared ioredis connection, or `null` when REDIS_URL is unset (embedded mode). Inject
 * with `@InjectRedis() redis: Redis | null` and fall back to an in-process implementation
 * on `null`.
 */
export const REDIS_CLIENT = Symbol('REDIS_CLIENT');

export const InjectRedis = (): ParameterDecorator => Inject(REDIS_CLIENT);
