/**
 * Time source and timers in one place, so a test can jump an hour of charging
 * or a door pulse instead of waiting for it. Times are UTC ms (DESIGN.md).
 */
export interface Clock {
  now(): number;
  /** Runs `fn` once after `ms`; the returned function cancels it. */
  after(ms: number, fn: () => void): () => void;
  /** Runs `fn` every `ms`; the returned function cancels it. */
  every(ms: number, fn: () => void): () => void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  after(ms, fn) {
    const t = setTimeout(fn, ms);
    return () => clearTimeout(t);
  },
  every(ms, fn) {
    const t = setInterval(fn, ms);
    return () => clearInterval(t);
  },
};

/** Timers owned by one device, so that stop() can cancel every one of them at once. */
export class Timers {
  private readonly live = new Set<() => void>();

  constructor(private readonly clock: Clock) {}

  after(ms: number, fn: () => void): () => void {
    const cancel = () => {
      stop();
      this.live.delete(cancel);
    };
    const stop = this.clock.after(ms, () => {
      this.live.delete(cancel);
      fn();
    });
    this.live.add(cancel);
    return cancel;
  }

  every(ms: number, fn: () => void): () => void {
    const stop = this.clock.every(ms, fn);
    const cancel = () => {
      stop();
      this.live.delete(cancel);
    };
    this.live.add(cancel);
    return cancel;
  }

  cancelAll(): void {
    for (const cancel of [...this.live]) cancel();
  }
}
