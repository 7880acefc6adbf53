import { performance } from 'node:perf_hooks';
import { summarise } from './stats.js';

/**
 * Timestamps of named points inside one decision (device sent, broker got it,
 * log commit started …), kept per iteration so the stages between consecutive
 * points can be summarised: where the time goes.
 */
export class Marks {
  #current: [string, number][] | undefined;
  readonly #done: [string, number][][] = [];

  begin(): void {
    this.#current = [];
  }

  mark(label: string, at = performance.now()): void {
    this.#current?.push([label, at]);
  }

  /** Ends the iteration; `keep` false drops it (warm-up). */
  end(keep: boolean): void {
    if (this.#current && keep) this.#done.push(this.#current);
    this.#current = undefined;
  }

  /**
   * Per stage `a -> b` (consecutive points in time order), a latency summary.
   * Stages are listed in the order they first occur.
   */
  stages(): { stage: string; summary: ReturnType<typeof summarise> }[] {
    const samples = new Map<string, number[]>();
    for (const points of this.#done) {
      const sorted = [...points].sort((x, y) => x[1] - y[1]);
      for (let i = 1; i < sorted.length; i++) {
        const [a, ta] = sorted[i - 1] as [string, number];
        const [b, tb] = sorted[i] as [string, number];
        const key = `${a} -> ${b}`;
        const list = samples.get(key) ?? [];
        list.push(tb - ta);
        samples.set(key, list);
      }
    }
    return [...samples].map(([stage, ms]) => ({ stage, summary: summarise(ms) }));
  }
}
