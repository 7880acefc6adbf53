import { readFileSync } from 'node:fs';

export const MiB = 1024 * 1024;

/** The kernel's high-water mark of this process's resident set (Linux), in bytes; undefined elsewhere. */
export function vmHwmBytes(): number | undefined {
  try {
    const m = /^VmHWM:\s+(\d+)\s+kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Peak resident set size of this process: sampled every `intervalMs` while
 * running, and, where the kernel reports it (/proc/self/status VmHWM), its exact
 * high-water mark — which catches a peak between two samples.
 */
export class RssSampler {
  #peak = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(private readonly intervalMs = 20) {}

  start(): this {
    this.sample();
    this.#timer = setInterval(() => this.sample(), this.intervalMs);
    this.#timer.unref();
    return this;
  }

  sample(): void {
    this.#peak = Math.max(this.#peak, process.memoryUsage.rss());
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.sample();
  }

  /** Peak RSS in MiB, rounded to 0.1. */
  peakMb(): number {
    const peak = Math.max(this.#peak, vmHwmBytes() ?? 0);
    return Math.round((peak / MiB) * 10) / 10;
  }
}
