import {
  type DesiredAck,
  type DesiredState,
  type GatewayConfig,
  type KeyRing,
  SECTIONS,
  type Section,
  verifyDocument,
} from '@estate/protocols';
import type Database from 'better-sqlite3';
import type { Gateway } from '../gateway.js';
import type { StoredItem } from '../state/section-store.js';

/** A sync document as decoded from the wire (config whole, the other sections as chunked deltas). */
export type ConfigDoc = {
  gatewayId: string;
  section: 'config';
  toVersion: number;
  config: GatewayConfig;
  signature: DesiredState['signature'];
};
export type DeltaDoc = {
  gatewayId: string;
  section: Exclude<Section, 'config'>;
  fromVersion: number;
  toVersion: number;
  chunk: { index: number; count: number };
  upserts: StoredItem[];
  deletes: { kind: string; id: string }[];
  signature: DesiredState['signature'];
};

export interface DesiredSyncOptions {
  gateway: Gateway;
  gatewayId: string;
  db: Database.Database;
  ring: () => KeyRing;
  now: () => number;
  sendAck: (ack: DesiredAck) => void;
  refuse: (what: string, reason: string, detail?: string) => void;
  /** how long a section may lag the manifest before the gateway asks for it (its delta may still be on the way) */
  askAfterMs?: number;
}

interface Assembly {
  from: number;
  to: number;
  count: number;
  upserts: StoredItem[][];
  deletes: { kind: string; id: string }[][];
  got: number;
}

/**
 * The desired-state half of the gateway's sync client: verifies and applies deltas (whole, after every chunk
 * arrived), follows the manifest, and acknowledges the versions it runs with any drift. A gap, or a section
 * left behind the manifest, is answered with an ack whose reason is `resync`: the cloud then resends from
 * the version the gateway runs.
 */
export class DesiredSync {
  readonly #o: DesiredSyncOptions;
  readonly #assemblies = new Map<Section, Assembly>();
  readonly #hashes = new Map<string, string>(); // `${section}:${version}` → hash: content at a version is fixed
  #manifest: DesiredState | undefined;
  #ackTimer: NodeJS.Timeout | undefined;
  #askTimer: NodeJS.Timeout | undefined;
  #askResync = false;
  readonly #meta: { get(k: string): number; set(k: string, v: number): void };

  constructor(o: DesiredSyncOptions) {
    this.#o = o;
    o.db.exec('CREATE TABLE IF NOT EXISTS sync_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)');
    const get = o.db.prepare<[string], { value: number }>('SELECT value FROM sync_meta WHERE key = ?');
    const set = o.db.prepare('INSERT OR REPLACE INTO sync_meta (key, value) VALUES (?, ?)');
    this.#meta = { get: (k) => get.get(k)?.value ?? 0, set: (k, v) => void set.run(k, v) };
  }

  stop(): void {
    clearTimeout(this.#ackTimer);
    clearTimeout(this.#askTimer);
  }

  /** The manifest version the gateway last fully ran. */
  get appliedVersion(): number {
    return this.#meta.get('applied_version');
  }

  #verified(doc: { gatewayId: string; signature: DesiredState['signature'] }, what: string): boolean {
    if (doc.gatewayId !== this.#o.gatewayId) {
      this.#o.refuse(what, 'wrong_gateway', `addressed to ${doc.gatewayId}`);
      return false;
    }
    const check = verifyDocument(doc, this.#o.ring(), 'desired', this.#o.now());
    if (check.ok) return true;
    this.#o.refuse(what, check.reason, check.detail);
    this.#o.sendAck(this.#ack('rejected', check.reason));
    return false;
  }

  onManifest(m: DesiredState): void {
    if (!this.#verified(m, 'desired')) return;
    const seen = this.#meta.get('manifest_version');
    if (m.version < seen) {
      this.#o.refuse('desired', 'stale_version', `manifest ${m.version} is older than ${seen}`);
      return;
    }
    this.#meta.set('manifest_version', m.version);
    this.#manifest = m;
    this.#scheduleAsk();
    this.#ackSoon();
  }

  onConfig(doc: ConfigDoc): void {
    if (!this.#verified(doc, 'sync/config')) return;
    const upserts = [{ kind: 'config', id: 'config', config: doc.config }];
    this.#apply({ section: 'config', fromVersion: 0, toVersion: doc.toVersion, upserts, deletes: [] });
  }

  onDelta(doc: DeltaDoc): void {
    const what = `sync/${doc.section}`;
    if (!this.#verified(doc, what)) return;
    const current = this.#o.gateway.parts.store.version(doc.section);
    if (doc.toVersion <= current) {
      this.#o.refuse(what, 'stale_version', `version ${doc.toVersion} is not newer than ${current}`);
      return;
    }
    const { index, count } = doc.chunk;
    if (index >= count) {
      this.#o.refuse(what, 'bad_chunk', `chunk ${index} of ${count}`);
      return;
    }
    let a = this.#assemblies.get(doc.section);
    if (!a || a.from !== doc.fromVersion || a.to !== doc.toVersion || a.count !== count) {
      // a newer delta supersedes a half-received one; its missing chunks will never be needed
      a = { from: doc.fromVersion, to: doc.toVersion, count, upserts: [], deletes: [], got: 0 };
      this.#assemblies.set(doc.section, a);
    }
    if (a.upserts[index]) return; // a redelivered chunk
    a.upserts[index] = doc.upserts;
    a.deletes[index] = doc.deletes;
    a.got++;
    if (a.got < count) return;
    this.#assemblies.delete(doc.section);
    this.#apply({
      section: doc.section,
      fromVersion: a.from,
      toVersion: a.to,
      upserts: a.upserts.flat(),
      deletes: a.deletes.flat(),
    });
  }

  #apply(delta: Parameters<Gateway['apply']>[0]): void {
    const r = this.#o.gateway.apply(delta);
    if (r.ok) {
      this.#ackSoon();
      return;
    }
    this.#o.refuse(`sync/${delta.section}`, r.reason, `delta ${delta.fromVersion}→${delta.toVersion} at ${r.current}`);
    if (r.reason === 'version_gap') this.requestResync();
  }

  /** Ask the cloud for whatever the gateway misses (a gap, a resync command, a section behind the manifest). */
  requestResync(): void {
    this.#askResync = true;
    this.#ackSoon();
  }

  #behind(): Section[] {
    const m = this.#manifest;
    if (!m) return [];
    const store = this.#o.gateway.parts.store;
    return SECTIONS.filter((s) => store.version(s) < m.sections[s].version);
  }

  #scheduleAsk(): void {
    clearTimeout(this.#askTimer);
    if (this.#behind().length === 0) return;
    this.#askTimer = setTimeout(() => {
      // a delta still arriving (chunks in hand) is not a reason to ask again
      if (this.#behind().some((s) => !this.#assemblies.has(s))) this.requestResync();
    }, this.#o.askAfterMs ?? 1_500);
    this.#askTimer.unref();
  }

  #ackSoon(): void {
    if (this.#ackTimer) return;
    this.#ackTimer = setTimeout(() => {
      this.#ackTimer = undefined;
      const resync = this.#askResync;
      this.#askResync = false;
      const caughtUp = this.#manifest !== undefined && this.#behind().length === 0;
      if (caughtUp) clearTimeout(this.#askTimer);
      this.#o.sendAck(this.#ack(caughtUp ? 'applied' : 'partial', resync ? 'resync' : undefined));
    }, 20);
    this.#ackTimer.unref();
  }

  #hash(section: Section, version: number): string {
    const key = `${section}:${version}`;
    let h = this.#hashes.get(key);
    if (!h) {
      h = this.#o.gateway.parts.store.hash(section);
      for (const k of this.#hashes.keys()) if (k.startsWith(`${section}:`)) this.#hashes.delete(k);
      this.#hashes.set(key, h);
    }
    return h;
  }

  #ack(status: DesiredAck['status'], reason?: string): DesiredAck {
    const store = this.#o.gateway.parts.store;
    const sections = Object.fromEntries(SECTIONS.map((s) => [s, store.version(s)])) as DesiredAck['sections'];
    const m = this.#manifest;
    const drift: DesiredAck['drift'] = [];
    if (m) {
      for (const s of SECTIONS) {
        if (sections[s] !== m.sections[s].version) continue;
        const actual = this.#hash(s, sections[s]);
        if (actual !== m.sections[s].sha256 && drift.length < 16) {
          drift.push({ section: s, expected: m.sections[s].sha256, actual });
        }
      }
      if (status === 'applied' && m.version > this.appliedVersion) this.#meta.set('applied_version', m.version);
    }
    return {
      gatewayId: this.#o.gatewayId,
      ts: this.#o.now(),
      version: this.appliedVersion,
      status,
      sections,
      drift,
      ...(reason ? { reason } : {}),
    };
  }
}
