import type { Clock } from './clock.js';

interface Waiter<T> {
  resolve: (value: T) => void;
  reject: (error: Error) => void;
  cancelTimer: () => void;
}

/**
 * Replies awaited by key (BLE session, reader input seq). A reply nobody waits
 * for is reported as unmatched rather than thrown: it is the gateway's message,
 * not our bug.
 */
export class Pending<T> {
  private readonly waiters = new Map<string, Waiter<T>>();

  constructor(
    private readonly clock: Clock,
    private readonly what: string,
  ) {}

  wait(key: string, timeoutMs: number): Promise<T> {
    this.cancel(key);
    return new Promise<T>((resolve, reject) => {
      const cancelTimer = this.clock.after(timeoutMs, () => {
        this.waiters.delete(key);
        reject(new Error(`no ${this.what} for ${key} within ${timeoutMs} ms`));
      });
      this.waiters.set(key, { resolve, reject, cancelTimer });
    });
  }

  /** Hands `value` to whoever waits for `key`; false when nobody does. */
  settle(key: string, value: T): boolean {
    const w = this.waiters.get(key);
    if (!w) return false;
    this.waiters.delete(key);
    w.cancelTimer();
    w.resolve(value);
    return true;
  }

  /** Forgets a wait whose promise nobody awaits any more. */
  cancel(key: string): void {
    const w = this.waiters.get(key);
    if (!w) return;
    this.waiters.delete(key);
    w.cancelTimer();
  }

  rejectAll(error: Error): void {
    for (const [key, w] of this.waiters) {
      this.waiters.delete(key);
      w.cancelTimer();
      w.reject(error);
    }
  }
}
