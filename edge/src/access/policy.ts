import type Database from 'better-sqlite3';
import type { AccessModel, DoorConfig } from './access-model.js';
import { isOpen, localTime } from './schedule.js';

/** A deny reason is a policy reason or a credential reason (`expired`, `pin_locked_out` …). */
export type Verdict = { granted: true; reason: 'granted' } | { granted: false; reason: DenyReason | (string & {}) };

export type DenyReason =
  | 'unknown_door'
  | 'lockdown'
  | 'person_revoked'
  | 'not_permitted'
  | 'outside_schedule'
  | 'anti_passback'
  | 'door_not_on_pass'
  | 'no_config';

const GRANTED: Verdict = { granted: true, reason: 'granted' };
export const deny = (reason: DenyReason | (string & {})): Verdict => ({ granted: false, reason });

/**
 * Who may open which door when. Pure apart from two memories. Anti-passback directions are kept in RAM on purpose:
 * after a restart nobody is locked in or out because of a stale direction. Lockdowns are kept in the gateway db
 * (with `db`): a restart, a crash or a power cut must not quietly lift a lockdown the estate ordered.
 */
export class AccessPolicy {
  /** door id, or '*' for the whole gateway → until when (epoch ms), or null: until released */
  readonly #lockdown = new Map<string, number | null>();
  readonly #lastDirection = new Map<string, 'in' | 'out'>();
  readonly #store: LockdownStore | undefined;
  readonly #now: () => number;

  constructor(
    private readonly model: AccessModel,
    o: { db?: Database.Database; now?: () => number } = {},
  ) {
    this.#now = o.now ?? Date.now;
    this.#store = o.db && new LockdownStore(o.db);
    for (const [doorId, until] of this.#store?.load() ?? []) {
      // a timed one that ran out while the gateway was down is forgotten, not kept as an inert row
      if (until !== null && until <= this.#now()) this.#store?.save(doorId, false, null);
      else this.#lockdown.set(doorId, until);
    }
  }

  /** Locks a door (or '*': every door) down, until released or until `until`; the latest order for a door wins. */
  setLockdown(doorId: string | '*', on: boolean, until: number | null = null): void {
    if (on) {
      this.#lockdown.set(doorId, until); // in effect even if it cannot be stored: the safe side
      this.#store?.save(doorId, true, until);
    } else {
      // stored first: a release that cannot be written lifts nothing (a restart would bring the lockdown back)
      this.#store?.save(doorId, false, null);
      this.#lockdown.delete(doorId);
    }
  }

  /** Lifts the lockdown of one door, or every lockdown (the gateway-wide one included) without a door. */
  releaseLockdown(doorId?: string): void {
    for (const id of doorId ? [doorId] : [...this.#lockdown.keys()]) this.setLockdown(id, false);
  }

  isLockedDown(doorId: string): boolean {
    const now = this.#now();
    const active = (until: number | null | undefined) => until === null || (until !== undefined && until > now);
    return active(this.#lockdown.get('*')) || active(this.#lockdown.get(doorId));
  }

  /** A resident or staff member identified by face, BLE key or PIN. */
  forPerson(personId: string, door: DoorConfig | undefined, now: number): Verdict {
    const base = this.#doorCheck(door);
    if (base || !door) return base ?? deny('unknown_door');
    if (this.model.isRevoked('person', personId)) return deny('person_revoked');
    const tz = this.model.config?.timezone;
    if (!tz) return deny('no_config');
    let member = false;
    const t = localTime(now, tz);
    for (const groupId of this.model.memberGroups.get(personId) ?? []) {
      const g = this.model.groups.get(groupId);
      if (!g?.doors.has(door.id)) continue;
      member = true;
      if (isOpen(g.schedule, t)) return this.#passback(personId, door);
    }
    return deny(member ? 'outside_schedule' : 'not_permitted');
  }

  /** A visitor pass names its doors itself; its window was checked with the token. */
  forPass(doors: readonly string[], door: DoorConfig | undefined): Verdict {
    const base = this.#doorCheck(door);
    if (base || !door) return base ?? deny('unknown_door');
    return doors.includes(door.id) ? GRANTED : deny('door_not_on_pass');
  }

  #doorCheck(door: DoorConfig | undefined): Verdict | undefined {
    if (!door) return deny('unknown_door');
    if (this.isLockedDown(door.id)) return deny('lockdown');
    return undefined;
  }

  #passback(personId: string, door: DoorConfig): Verdict {
    if (door.antiPassback === 'off' || door.direction === 'both') return GRANTED;
    const last = this.#lastDirection.get(personId);
    // 'hard' refuses a second entry without an exit in between; 'soft' lets it through (the event still records it)
    if (door.antiPassback === 'hard' && last === door.direction) return deny('anti_passback');
    this.#lastDirection.set(personId, door.direction);
    return GRANTED;
  }
}

/** Lockdowns in the gateway db, written through on every change (they are rare). */
class LockdownStore {
  readonly #upsert: Database.Statement<[string, number | null]>;
  readonly #delete: Database.Statement<[string]>;

  constructor(private readonly db: Database.Database) {
    db.exec('CREATE TABLE IF NOT EXISTS lockdowns (door_id TEXT PRIMARY KEY, until_ms INTEGER)');
    this.#upsert = db.prepare(
      'INSERT INTO lockdowns (door_id, until_ms) VALUES (?, ?) ON CONFLICT(door_id) DO UPDATE SET until_ms = excluded.until_ms',
    );
    this.#delete = db.prepare('DELETE FROM lockdowns WHERE door_id = ?');
  }

  load(): [string, number | null][] {
    const rows = this.db.prepare('SELECT door_id, until_ms FROM lockdowns').all() as {
      door_id: string;
      until_ms: number | null;
    }[];
    return rows.map((r) => [r.door_id, r.until_ms]);
  }

  save(doorId: string, on: boolean, until: number | null): void {
    if (on) this.#upsert.run(doorId, until);
    else this.#delete.run(doorId);
  }
}
