import { createHash } from 'node:crypto';
import type { Section } from '@estate/protocols';
import type Database from 'better-sqlite3';
import type { Sealer } from './sealer.js';

export interface StoredItem {
  kind: string;
  id: string;
  [field: string]: unknown;
}

export interface Delta {
  section: Section;
  fromVersion: number;
  toVersion: number;
  upserts: readonly StoredItem[];
  deletes: readonly { kind: string; id: string }[];
}

export type ApplyResult =
  | { ok: true; version: number }
  | { ok: false; reason: 'stale_version' | 'version_gap'; current: number };

/**
 * The gateway's copy of its desired state, section by section (the sync
 * sections of the wire contract), in SQLite so it survives restarts and the
 * gateway keeps deciding offline. A delta applies atomically or not at all.
 */
export class SectionStore {
  readonly #get: Database.Statement<[string], { version: number }>;
  readonly #items: Database.Statement<[string], { kind: string; id: string; body: string }>;
  readonly #digests: Database.Statement<[string], { kind: string; id: string; body: string; digest: string | null }>;

  /** Sections whose items are personal data, sealed at rest (DESIGN.md: templates encrypted on the gateway). */
  static readonly SEALED: ReadonlySet<Section> = new Set(['gallery']);

  constructor(
    private readonly db: Database.Database,
    private readonly sealer: Sealer,
  ) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS section_items (
        section TEXT NOT NULL, kind TEXT NOT NULL, id TEXT NOT NULL, body TEXT NOT NULL,
        PRIMARY KEY (section, kind, id)
      );
      CREATE TABLE IF NOT EXISTS section_versions (section TEXT PRIMARY KEY, version INTEGER NOT NULL);
    `);
    // sha256-hex of the item's canonical JSON, written with the item, so hashing a section (every ack) reads 64
    // bytes per item instead of unsealing and parsing it; rows of an older gateway have none and are read whole
    const columns = db.prepare('PRAGMA table_info(section_items)').all() as { name: string }[];
    if (!columns.some((c) => c.name === 'digest')) db.exec('ALTER TABLE section_items ADD COLUMN digest TEXT');
    this.#get = db.prepare('SELECT version FROM section_versions WHERE section = ?');
    this.#items = db.prepare('SELECT kind, id, body FROM section_items WHERE section = ? ORDER BY kind, id');
    this.#digests = db.prepare(
      'SELECT kind, id, CASE WHEN digest IS NULL THEN body END AS body, digest FROM section_items WHERE section = ? ORDER BY kind, id',
    );
  }

  version(section: Section): number {
    return this.#get.get(section)?.version ?? 0;
  }

  items<T extends StoredItem = StoredItem>(section: Section): T[] {
    const sealed = SectionStore.SEALED.has(section);
    return this.#items
      .all(section)
      .map((r) => JSON.parse(sealed ? this.sealer.open(r.body, `${section}/${r.kind}/${r.id}`) : r.body) as T);
  }

  count(section: Section): number {
    const row = this.db.prepare('SELECT COUNT(*) AS n FROM section_items WHERE section = ?').get(section) as {
      n: number;
    };
    return row.n;
  }

  /** Visits the items one row at a time: a 50,000-template gallery is never held twice in memory as strings. */
  each<T extends StoredItem = StoredItem>(section: Section, visit: (item: T) => void): void {
    for (const r of this.#items.iterate(section)) visit(this.#parse(section, r) as T);
  }

  #parse(section: Section, r: { kind: string; id: string; body: string }): StoredItem {
    const sealed = SectionStore.SEALED.has(section);
    return JSON.parse(sealed ? this.sealer.open(r.body, `${section}/${r.kind}/${r.id}`) : r.body) as StoredItem;
  }

  /**
   * The section's hash as the cloud's manifest states it (cloud/src/sync/hash.ts): SHA-256 over the items in
   * (kind, id) order — SQLite's binary order, which for wire ids is the cloud's code-unit order — of the lines
   * `kind \n id \n sha256-hex(canonical JSON of the item) \n`. Equal hashes at equal versions = no drift.
   */
  hash(section: Section): string {
    const h = createHash('sha256');
    for (const r of this.#digests.iterate(section)) {
      h.update(`${r.kind}\n${r.id}\n${r.digest ?? digestOf(this.#parse(section, r))}\n`);
    }
    return h.digest('hex');
  }

  /**
   * fromVersion 0 replaces the section; otherwise the delta must start at the
   * version the gateway runs (an older one is stale, a newer one means a
   * missed delta: the caller asks the cloud for a full copy).
   */
  apply(d: Delta): ApplyResult {
    const current = this.version(d.section);
    if (d.toVersion <= current) return { ok: false, reason: 'stale_version', current };
    if (d.fromVersion !== 0 && d.fromVersion !== current) return { ok: false, reason: 'version_gap', current };
    this.db.transaction(() => {
      if (d.fromVersion === 0) this.db.prepare('DELETE FROM section_items WHERE section = ?').run(d.section);
      const del = this.db.prepare('DELETE FROM section_items WHERE section = ? AND kind = ? AND id = ?');
      for (const x of d.deletes) del.run(d.section, x.kind, x.id);
      const put = this.db.prepare(
        'INSERT OR REPLACE INTO section_items (section, kind, id, body, digest) VALUES (?, ?, ?, ?, ?)',
      );
      const sealed = SectionStore.SEALED.has(d.section);
      for (const item of d.upserts) {
        const body = JSON.stringify(item);
        // the digest of the item as stored (what `items` gives back), not of the object handed in
        const digest = digestOf(JSON.parse(body));
        put.run(
          d.section,
          item.kind,
          item.id,
          sealed ? this.sealer.seal(body, `${d.section}/${item.kind}/${item.id}`) : body,
          digest,
        );
      }
      this.db
        .prepare('INSERT OR REPLACE INTO section_versions (section, version) VALUES (?, ?)')
        .run(d.section, d.toVersion);
    })();
    return { ok: true, version: d.toVersion };
  }
}

const digestOf = (item: unknown) => createHash('sha256').update(canonical(item)).digest('hex');

/** Keys sorted by code unit, no whitespace, values as JSON.stringify writes them: the cloud's canonicalJson. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`).join(',')}}`;
}
