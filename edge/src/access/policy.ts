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
 * Who may open which door when. Pure apart from the anti-passback memory,
 * which is kept in RAM on purpose: after a restart nobody is locked in or
 * out because of a stale direction.
 */
export class AccessPolicy {
  readonly #lockdown = new Set<string>(); // door ids, or '*' for the whole gateway
  readonly #lastDirection = new Map<string, 'in' | 'out'>();

  constructor(private readonly model: AccessModel) {}

  setLockdown(doorId: string | '*', on: boolean): void {
    if (on) this.#lockdown.add(doorId);
    else this.#lockdown.delete(doorId);
  }

  isLockedDown(doorId: string): boolean {
    return this.#lockdown.has('*') || this.#lockdown.has(doorId);
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
