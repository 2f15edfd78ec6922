import { systemClock, type Clock } from '../base/clock.js';

export interface RestartBudgetLimits {
  /** Restarts allowed within one window. */
  readonly count: number;
  /** Sliding window length in milliseconds. */
  readonly windowMs: number;
}

/** Five restarts per ten minutes: enough for transient errors, not for a watcher that keeps failing. */
export const DEFAULT_RESTART_BUDGET: RestartBudgetLimits = { count: 5, windowMs: 10 * 60_000 };

/**
 * A sliding-window allowance of restarts. take() spends one if the window has room; once it
 * returns false the caller gives up (a watcher then stays failed and its owner falls back to
 * polling). Not thread-shared; owned by one watcher.
 */
export class RestartBudget {
  private readonly spent: number[] = [];

  constructor(private readonly limits: RestartBudgetLimits = DEFAULT_RESTART_BUDGET, private readonly clock: Clock = systemClock) {}

  take(): boolean {
    const now = this.clock.now();
    while (this.spent.length > 0 && (this.spent[0] as number) <= now - this.limits.windowMs) this.spent.shift();
    if (this.spent.length >= this.limits.count) return false;
    this.spent.push(now);
    return true;
  }

  /** Restarts still allowed right now. */
  remaining(): number {
    const now = this.clock.now();
    return this.limits.count - this.spent.filter((t) => t > now - this.limits.windowMs).length;
  }
}
