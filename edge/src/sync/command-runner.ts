import { type CommandAck, type GatewayCommand, ID_PATTERN, type KeyRing, verifyDocument } from '@estate/protocols';
import type Database from 'better-sqlite3';
import type { DoorConfig } from '../access/access-model.js';
import type { Gateway } from '../gateway.js';

export interface CommandRunnerOptions {
  gateway: Gateway;
  db: Database.Database;
  ring: () => KeyRing;
  now: () => number;
  sendAck: (ack: CommandAck) => void;
  refuse: (what: string, reason: string, detail?: string) => void;
  resync: () => void;
}

/** Commands longer-lived than this are refused: a signed command must not be a standing licence to open. */
const MAX_LIFETIME_MS = 60_000;
/** Seen ids are kept past their expiry by this much (clock steps); an expired command is refused anyway. */
const SEEN_KEEP_MS = 3_600_000;
const WIRE_ID = new RegExp(ID_PATTERN);

type Outcome = { result: CommandAck['result']; reason?: string; detail?: string };

/**
 * Remote commands from the cloud. Checked in this order, and refused with a reason at the first failure:
 * signature by a trusted `command` key, expiry (never run late), replay (every accepted id is kept in the
 * gateway db). Every outcome is written to the event log before anything moves; a lockdown never opens a door,
 * and the door service keeps egress and fire release working through it.
 */
export class CommandRunner {
  readonly #o: CommandRunnerOptions;
  readonly #claim: Database.Statement<[string, number]>;
  readonly #prune: Database.Statement<[number]>;
  readonly #timers = new Set<NodeJS.Timeout>();

  constructor(o: CommandRunnerOptions) {
    this.#o = o;
    o.db.exec('CREATE TABLE IF NOT EXISTS seen_commands (cmd_id TEXT PRIMARY KEY, expires_at INTEGER NOT NULL)');
    this.#claim = o.db.prepare('INSERT OR IGNORE INTO seen_commands (cmd_id, expires_at) VALUES (?, ?)');
    this.#prune = o.db.prepare('DELETE FROM seen_commands WHERE expires_at < ?');
  }

  stop(): void {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
  }

  async handle(cmd: GatewayCommand): Promise<void> {
    const outcome = await this.#run(cmd);
    if (outcome.result !== 'done') this.#o.refuse('cmd', outcome.reason ?? outcome.result, outcome.detail);
    this.#o.sendAck({ cmdId: cmd.cmdId, ts: this.#o.now(), ...outcome });
  }

  async #run(cmd: GatewayCommand): Promise<Outcome> {
    const now = this.#o.now();
    const check = verifyDocument(cmd, this.#o.ring(), 'command', now);
    // a forged command is not even logged as a command: it never claimed a valid id
    if (!check.ok) return { result: 'refused', reason: check.reason, detail: check.detail };
    if (now > cmd.expiresAt) return this.#logged(cmd, { result: 'refused', reason: 'expired' });
    if (cmd.expiresAt - cmd.issuedAt > MAX_LIFETIME_MS || cmd.issuedAt > now + MAX_LIFETIME_MS) {
      return this.#logged(cmd, { result: 'refused', reason: 'bad_lifetime' });
    }
    this.#prune.run(now - SEEN_KEEP_MS);
    if (this.#claim.run(cmd.cmdId, cmd.expiresAt).changes === 0) {
      return this.#logged(cmd, { result: 'refused', reason: 'replayed' });
    }
    try {
      return await this.#execute(cmd, now);
    } catch (e) {
      return this.#logged(cmd, { result: 'failed', reason: 'error', detail: (e as Error).message.slice(0, 200) });
    }
  }

  #logged(cmd: GatewayCommand, o: Outcome): Outcome {
    try {
      this.#o.gateway.parts.log.append({
        ts: this.#o.now(),
        priority: 'high',
        type: 'command_result',
        cmdId: cmd.cmdId,
        result: o.result,
        ...(o.reason ? { reason: o.reason } : {}),
      });
    } catch {
      // the ack still tells the cloud; a refusal needs no record to stay safe
    }
    return o;
  }

  /** A door action: the access decision (method `remote`) is committed first, then the relay moves. */
  async #doorAction(cmd: GatewayCommand, now: number, act: (door: DoorConfig) => Promise<void>): Promise<Outcome> {
    const p = this.#o.gateway.parts;
    const door = cmd.doorId ? p.model.doors.get(cmd.doorId) : undefined;
    if (!door) return this.#logged(cmd, { result: 'refused', reason: 'unknown_door' });
    const locked = p.policy.isLockedDown(door.id);
    try {
      p.log.append({
        ts: now,
        priority: 'high',
        type: 'access_decision',
        doorId: door.id,
        deviceId: door.deviceId,
        method: 'remote',
        granted: !locked,
        reason: locked ? 'lockdown' : 'granted',
        latencyMs: Math.max(0, now - cmd.issuedAt),
        ...(WIRE_ID.test(cmd.cmdId) ? { credentialId: cmd.cmdId } : {}),
      });
    } catch {
      return { result: 'failed', reason: 'log_unavailable' };
    }
    if (locked) return this.#logged(cmd, { result: 'refused', reason: 'lockdown' });
    await act(door);
    return this.#logged(cmd, { result: 'done' });
  }

  #later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.#timers.delete(t);
      fn();
    }, ms);
    t.unref();
    this.#timers.add(t);
  }

  /** Doors held open (by a remote hold) and not in fire release: those a lockdown or a release closes. */
  async #releaseHolds(doorId: string | undefined): Promise<void> {
    const p = this.#o.gateway.parts;
    for (const door of p.model.doors.values()) {
      if (doorId && door.id !== doorId) continue;
      const s = p.doors.states.get(door.deviceId);
      if (s?.held && !s.fire) await p.doors.releaseHold(door);
    }
  }

  async #execute(cmd: GatewayCommand, now: number): Promise<Outcome> {
    const p = this.#o.gateway.parts;
    switch (cmd.action) {
      case 'unlock':
        return this.#doorAction(cmd, now, (door) => p.doors.unlock(door));
      case 'hold_open':
        return this.#doorAction(cmd, now, async (door) => {
          await p.doors.holdOpen(door);
          if (cmd.durationS) this.#later(cmd.durationS * 1_000, () => void p.doors.releaseHold(door).catch(() => {}));
        });
      case 'lockdown': {
        if (cmd.doorId && !p.model.doors.has(cmd.doorId)) {
          return this.#logged(cmd, { result: 'refused', reason: 'unknown_door' });
        }
        const outcome = this.#logged(cmd, { result: 'done' });
        // a timed lockdown ends by its stored end time, not a timer, so it outlives a restart and ends on time
        p.policy.setLockdown(cmd.doorId ?? '*', true, cmd.durationS ? now + cmd.durationS * 1_000 : null);
        await this.#releaseHolds(cmd.doorId);
        return outcome;
      }
      case 'release': {
        const outcome = this.#logged(cmd, { result: 'done' });
        p.policy.releaseLockdown(cmd.doorId);
        await this.#releaseHolds(cmd.doorId);
        return outcome;
      }
      case 'resync':
        this.#o.resync();
        return this.#logged(cmd, { result: 'done' });
      case 'self_test':
        return this.#logged(cmd, { result: 'refused', reason: 'not_supported' });
    }
  }
}
