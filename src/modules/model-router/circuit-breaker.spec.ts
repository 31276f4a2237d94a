import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from 'src/modules/model-router/circuit-breaker';

function breaker(): { b: CircuitBreaker; advance: (ms: number) => void } {
  let now = 0;
  return { b: new CircuitBreaker({ failureThreshold: 3, openMs: 1000 }, () => now), advance: (ms) => (now += ms) };
}

describe('CircuitBreaker', () => {
  it('opens after the threshold of consecutive failures; a success resets the count', () => {
    const { b } = breaker();
    b.recordFailure();
    b.recordFailure();
    b.recordSuccess();
    b.recordFailure();
    b.recordFailure();
    expect(b.state).toBe('closed');
    b.recordFailure();
    expect(b.state).toBe('open');
    expect(b.tryAcquire()).toBe(false);
  });

  it('lets exactly one probe through when half-open', () => {
    const { b, advance } = breaker();
    for (let i = 0; i < 3; i++) b.recordFailure();
    advance(999);
    expect(b.state).toBe('open');
    advance(1);
    expect(b.state).toBe('half-open');
    expect(b.tryAcquire()).toBe(true);
    expect(b.tryAcquire()).toBe(false);
    expect(b.canAttempt()).toBe(false);
  });

  it('closes on a successful probe and reopens on a failed one', () => {
    const { b, advance } = breaker();
    for (let i = 0; i < 3; i++) b.recordFailure();
    advance(1000);
    b.tryAcquire();
    b.recordFailure();
    expect(b.state).toBe('open');
    advance(1000);
    expect(b.tryAcquire()).toBe(true);
    b.recordSuccess();
    expect(b.state).toBe('closed');
    expect(b.tryAcquire()).toBe(true);
    expect(b.tryAcquire()).toBe(true);
  });

  it('frees the probe slot when the probe ends without a verdict', () => {
    const { b, advance } = breaker();
    for (let i = 0; i < 3; i++) b.recordFailure();
    advance(1000);
    b.tryAcquire();
    b.releaseProbe();
    expect(b.tryAcquire()).toBe(true);
  });
});
