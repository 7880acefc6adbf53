import { type CredentialReason, type PassClaims, verifyPass } from '@estate/protocols';
import type Database from 'better-sqlite3';
import type { AccessModel } from '../access/access-model.js';

export type PassResult =
  | { ok: true; claims: PassClaims; use: number }
  | { ok: false; reason: CredentialReason | 'pass_revoked' | 'pass_used_up' | 'wrong_estate'; passId?: string };

/**
 * Visitor QR passes: verified offline against the cloud's keys, then the use
 * is counted in SQLite *before* the door opens, so a copied code cannot be
 * used more often than `max`, even across a restart.
 */
export class PassVerifier {
  readonly #uses: Database.Statement<[string], { uses: number }>;
  readonly #count: Database.Statement<[string, number]>;

  constructor(
    db: Database.Database,
    private readonly model: AccessModel,
  ) {
    db.exec('CREATE TABLE IF NOT EXISTS pass_uses (pass_id TEXT PRIMARY KEY, uses INTEGER NOT NULL)');
    this.#uses = db.prepare('SELECT uses FROM pass_uses WHERE pass_id = ?');
    this.#count = db.prepare(
      'INSERT INTO pass_uses (pass_id, uses) VALUES (?, 1) ON CONFLICT (pass_id) DO UPDATE SET uses = uses + 1 WHERE uses < ?',
    );
  }

  /** Verifies the token; on success the caller still applies the door policy, then calls `consume`. */
  verify(token: string, now: number): PassResult {
    const v = verifyPass(token, { ring: this.model.ring, now });
    if (!v.ok) return { ok: false, reason: v.reason };
    const { claims } = v;
    if (this.model.config && claims.estate !== this.model.config.estateId) return { ok: false, reason: 'wrong_estate' };
    if (this.model.isRevoked('pass', claims.id)) return { ok: false, reason: 'pass_revoked', passId: claims.id };
    const used = this.#uses.get(claims.id)?.uses ?? 0;
    if (used >= claims.max) return { ok: false, reason: 'pass_used_up', passId: claims.id };
    return { ok: true, claims, use: used + 1 };
  }

  /** Counts one use; false if another scan took the last one meanwhile. */
  consume(claims: PassClaims): boolean {
    return this.#count.run(claims.id, claims.max).changes === 1;
  }
}
