import { writeFileSync } from 'node:fs';
import { MiB, vmHwmBytes } from './rss.js';

/**
 * Peak RSS of one phase of a run (gallery sync, gateway boot, decisions), where
 * the process-wide peak (RssSampler) cannot say which phase it came from. On
 * Linux, writing 5 to /proc/self/clear_refs resets the kernel's high-water mark
 * (VmHWM) to the current RSS, so the phase's exact peak is read back at its end;
 * elsewhere, or if the reset is refused, only the 10 ms samples count.
 */
export class PhaseRss {
  #peak = 0;
  #exact = false;
  readonly #timer: NodeJS.Timeout;

  constructor() {
    try {
      writeFileSync('/proc/self/clear_refs', '5');
      this.#exact = vmHwmBytes() !== undefined;
    } catch {
      this.#exact = false;
    }
    this.#sample();
    this.#timer = setInterval(() => this.#sample(), 10);
    this.#timer.unref();
  }

  #sample(): void {
    this.#peak = Math.max(this.#peak, process.memoryUsage.rss());
  }

  /** Ends the phase; its peak RSS in MiB, rounded to 0.1. */
  end(): number {
    clearInterval(this.#timer);
    this.#sample();
    const peak = Math.max(this.#peak, this.#exact ? (vmHwmBytes() ?? 0) : 0);
    return Math.round((peak / MiB) * 10) / 10;
  }
}
