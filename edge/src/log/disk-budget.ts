import type { EventLog } from './event-log.js';
import { TelemetryBuffer, type TelemetrySample } from './telemetry-buffer.js';

export type BudgetState = 'ok' | 'near_full' | 'exhausted';

export interface DiskBudgetOptions {
  log: EventLog;
  telemetry: TelemetryBuffer;
  /** bytes the event log and the telemetry buffer may hold together (a policy limit, not the disk's size) */
  budgetBytes: number;
  /** raise `disk_near_full` at this share of the budget (default 0.9) … */
  raiseAt?: number;
  /** … and clear it below this share (default 0.8): the gap keeps it from flapping */
  clearBelow?: number;
  now?: () => number;
  /** where "the budget is exhausted" is said loudly (default: console.error) */
  warn?: (message: string) => void;
}

export interface BudgetUsage {
  bytes: number;
  budgetBytes: number;
  eventBytes: number;
  telemetryBytes: number;
  state: BudgetState;
  droppedTelemetry: number;
}

/**
 * The policy over the gateway's store-and-forward bytes (payload bytes of the
 * unacknowledged events + buffered telemetry; SQLite's own pages and the WAL
 * come on top):
 * - telemetry is dropped first, oldest first, and counted (`droppedTelemetry`);
 * - access events and alarms are never dropped: when they alone exceed the
 *   budget, appends go on (a door decision must be recorded while the disk has
 *   room) and the gateway says so — a second `disk_near_full` alarm and `warn`;
 * - at `raiseAt` of the budget a `disk_near_full` alarm is logged once, and
 *   cleared once usage is back below `clearBelow`.
 * The physical limit is SQLite's: when the disk is full the append throws and
 * the Decider keeps the door shut.
 */
export class DiskBudget {
  #state: BudgetState = 'ok';
  #checking = false;
  #unhook: (() => void) | undefined;
  readonly #listeners = new Set<(u: BudgetUsage) => void>();
  readonly #raiseAt: number;
  readonly #clearBelow: number;
  readonly #now: () => number;
  readonly #warn: (message: string) => void;

  constructor(private readonly o: DiskBudgetOptions) {
    this.#raiseAt = o.raiseAt ?? 0.9;
    this.#clearBelow = o.clearBelow ?? 0.8;
    this.#now = o.now ?? Date.now;
    this.#warn = o.warn ?? ((m) => console.error(m));
  }

  /** Checks after every committed event; call once. */
  start(): void {
    this.#unhook = this.o.log.onAppend(() => this.check());
    this.check();
  }

  stop(): void {
    this.#unhook?.();
  }

  /** Calls fn whenever the state changes (health publishes on change). */
  onChange(fn: (u: BudgetUsage) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  usage(): BudgetUsage {
    const eventBytes = this.o.log.backlog().bytes;
    const telemetryBytes = this.o.telemetry.bytes;
    return {
      bytes: eventBytes + telemetryBytes,
      budgetBytes: this.o.budgetBytes,
      eventBytes,
      telemetryBytes,
      state: this.#state,
      droppedTelemetry: this.o.telemetry.dropped,
    };
  }

  /**
   * Makes room for new telemetry by dropping the oldest, and returns the samples
   * that may be stored. When events leave no room at all, new samples are
   * dropped (and counted) too — the buffer can never push events out.
   */
  admitTelemetry(samples: readonly TelemetrySample[]): TelemetrySample[] {
    const room = this.o.budgetBytes - this.o.log.backlog().bytes;
    let need = 0;
    let keep = samples.length;
    // keep the newest samples that fit in the room events leave
    for (let i = samples.length - 1; i >= 0; i--) {
      const size = TelemetryBuffer.size(samples[i] as TelemetrySample);
      if (need + size > room) {
        keep = samples.length - 1 - i;
        break;
      }
      need += size;
    }
    const admitted = samples.slice(samples.length - keep);
    if (keep < samples.length) this.o.telemetry.countDropped(samples.length - keep);
    const over = this.o.log.backlog().bytes + this.o.telemetry.bytes + need - this.o.budgetBytes;
    if (over > 0) this.o.telemetry.dropOldest(over);
    return admitted;
  }

  /** Re-evaluates after an append or a drain: drops telemetry over budget, raises / clears the alarm. */
  check(): void {
    if (this.#checking) return; // the alarm's own append comes back here
    this.#checking = true;
    try {
      let u = this.usage();
      if (u.bytes > u.budgetBytes && u.telemetryBytes > 0) {
        this.o.telemetry.dropOldest(u.bytes - u.budgetBytes);
        u = this.usage();
      }
      const share = u.bytes / u.budgetBytes;
      const next: BudgetState =
        u.eventBytes >= u.budgetBytes
          ? 'exhausted'
          : share >= this.#raiseAt || (this.#state !== 'ok' && share >= this.#clearBelow)
            ? 'near_full'
            : 'ok';
      if (next === this.#state) return;
      const was = this.#state;
      this.#state = next;
      this.#transition(was, next, u);
      for (const fn of this.#listeners) fn({ ...u, state: next });
    } finally {
      this.#checking = false;
    }
  }

  #transition(was: BudgetState, next: BudgetState, u: BudgetUsage): void {
    const used = `${u.bytes} of ${u.budgetBytes} budget bytes (events ${u.eventBytes}, telemetry ${u.telemetryBytes})`;
    if (next === 'exhausted') {
      this.#warn(
        `DISK BUDGET EXHAUSTED by access events and alarms that may not be dropped: ${used}; ` +
          'still recording every decision while the disk has room — restore the uplink or raise the budget',
      );
      this.#alarm('raised', `budget exhausted by undroppable events: ${used}`);
    } else if (next === 'near_full' && was === 'ok') this.#alarm('raised', `near full: ${used}`);
    else if (next === 'ok') this.#alarm('cleared', `back below ${Math.round(this.#clearBelow * 100)} %: ${used}`);
  }

  #alarm(state: 'raised' | 'cleared', detail: string): void {
    try {
      this.o.log.append({
        ts: this.#now(),
        priority: 'critical',
        type: 'alarm',
        alarm: 'disk_near_full',
        state,
        detail: detail.slice(0, 500),
      });
    } catch (e) {
      // the disk itself is full: nothing more can be recorded, say it where it can be seen
      this.#warn(`could not log disk_near_full (${state}): ${(e as Error).message}`);
    }
  }
}
