import { Type } from '@nestjs/common';
import { Reflector, ReflectableDecorator } from '@nestjs/core';

/**
 * Route metadata is fixed once the app has booted, yet the throttler guard looks up seven
 * keys on every request (about a third of its cost). This reflector remembers each answer
 * per (handler, class, key).
 */
export class MemoizedReflector extends Reflector {
  private readonly memo = new WeakMap<object, WeakMap<object, Map<unknown, unknown>>>();

  override getAllAndOverride<TParam = unknown, TTransformed = TParam>(
    decorator: ReflectableDecorator<TParam, TTransformed>,
    targets: (Type | Function)[],
  ): TTransformed;
  override getAllAndOverride<TResult = unknown, TKey = unknown>(metadataKey: TKey, targets: (Type | Function)[]): TResult;
  override getAllAndOverride(key: unknown, targets: (Type | Function)[]): unknown {
    const [handler, classRef] = targets;
    if (targets.length !== 2 || !handler || !classRef) return super.getAllAndOverride(key, targets);
    let byClass = this.memo.get(handler);
    if (!byClass) this.memo.set(handler, (byClass = new WeakMap()));
    let byKey = byClass.get(classRef);
    if (!byKey) byClass.set(classRef, (byKey = new Map()));
    if (byKey.has(key)) return byKey.get(key);
    const value: unknown = super.getAllAndOverride(key, targets);
    byKey.set(key, value);
    return value;
  }
}
