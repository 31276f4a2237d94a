export type CircuitState = 'closed' | 'open' | 'half-open';

export interface CircuitBreakerOptions {
  /** Consecutive failures that open the circuit. */
  failureThreshold: number;
  /** How long an open circuit refuses before it lets one probe through. */
  openMs: number;
}

/**
 * Per-node breaker. Closed: requests flow, consecutive failures are counted. Open: the node
 * is skipped until `openMs` has passed. Half-open: exactly one request (the probe) is let
 * through; its success closes the circuit, its failure opens it again.
 */
export class CircuitBreaker {
  private failures = 0;
  private openedAt = 0;
  private probing = false;
  private current: CircuitState = 'closed';

  constructor(
    private readonly options: CircuitBreakerOptions,
    private readonly now: () => number = Date.now,
  ) {}

  get state(): CircuitState {
    if (this.current === 'open' && this.now() - this.openedAt >= this.options.openMs) {
      this.current = 'half-open';
      this.probing = false;
    }
    return this.current;
  }

  /** Whether a request may be sent now, without claiming the half-open probe. */
  canAttempt(): boolean {
    const state = this.state;
    return state === 'closed' || (state === 'half-open' && !this.probing);
  }

  /** Claims permission for one request; in half-open only the first caller gets it. */
  tryAcquire(): boolean {
    if (!this.canAttempt()) return false;
    if (this.current === 'half-open') this.probing = true;
    return true;
  }

  recordSuccess(): void {
    this.failures = 0;
    this.probing = false;
    this.current = 'closed';
  }

  recordFailure(): void {
    this.probing = false;
    if (this.current === 'half-open') return this.open();
    this.failures += 1;
    if (this.failures >= this.options.failureThreshold) this.open();
  }

  /** A request that ended without telling anything about the node (e.g. client abort). */
  releaseProbe(): void {
    this.probing = false;
  }

  private open(): void {
    this.current = 'open';
    this.openedAt = this.now();
    this.failures = 0;
  }
}
