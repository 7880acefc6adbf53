import { createHmac } from 'node:crypto';
import type Database from 'better-sqlite3';
import type { AccessModel } from '../access/access-model.js';

/** The keyed hash the cloud syncs for a PIN (see protocols CredentialSync `pin`). */
export function pinHash(pinKey: string, pin: string): string {
  return createHmac('sha256', Buffer.from(pinKey, 'base64url')).update(pin, 'utf8').digest('base64url');
}

export type PinResult =
  | { ok: true; personId: string }
  | { ok: false; reason: 'pin_locked_out' | 'pin_unknown' | 'no_config' };

/**
 * PIN entry with lockout: after `pinMaxAttempts` wrong PINs in a row on one
 * keypad, that keypad refuses every PIN for `pinLockoutS`. Counters live in
 * SQLite so pulling the gateway's plug does not reset a brute-force attempt.
 */
export class PinVerifier {
  readonly #get: Database.Statement<[string], { failures: number; locked_until: number }>;
  readonly #put: Database.Statement<[string, number, number]>;

  constructor(
    db: Database.Database,
    private readonly model: AccessModel,
  ) {
    db.exec(`CREATE TABLE IF NOT EXISTS pin_lockout (
      device_id TEXT PRIMARY KEY, failures INTEGER NOT NULL, locked_until INTEGER NOT NULL)`);
    this.#get = db.prepare('SELECT failures, locked_until FROM pin_lockout WHERE device_id = ?');
    this.#put = db.prepare('INSERT OR REPLACE INTO pin_lockout (device_id, failures, locked_until) VALUES (?, ?, ?)');
  }

  check(deviceId: string, pin: string, now: number): PinResult {
    const config = this.model.config;
    if (!config) return { ok: false, reason: 'no_config' };
    const row = this.#get.get(deviceId) ?? { failures: 0, locked_until: 0 };
    if (now < row.locked_until) return { ok: false, reason: 'pin_locked_out' };
    const personId = this.model.pins.get(pinHash(config.pinKey, pin));
    if (personId) {
      if (row.failures > 0) this.#put.run(deviceId, 0, 0);
      return { ok: true, personId };
    }
    const failures = row.failures + 1;
    const locked = failures >= config.pinMaxAttempts;
    this.#put.run(deviceId, locked ? 0 : failures, locked ? now + config.pinLockoutS * 1000 : 0);
    return { ok: false, reason: locked ? 'pin_locked_out' : 'pin_unknown' };
  }
}
