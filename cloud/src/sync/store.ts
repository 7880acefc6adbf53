// The desired-state tables (migrations/0044_desired_state.sql) through the raw driver: a put writes thousands of
// items (a gallery) in a few set-based statements, which Prisma's per-row API would not. One put is one
// transaction under the gateway's row lock, so versions of one gateway never interleave.
import type { Section } from '@estate/protocols';
import type { SqlDriver, SqlTx } from '../db/driver.js';
import { type Digested, EMPTY_SECTION_HASH, sectionHash } from './hash.js';

/** An item to store: the body kept in the database and the digest of the item as the gateway stores it. */
export interface StoredUpsert {
  kind: string;
  id: string;
  body: object;
  digest: string;
}

export interface SectionRow {
  section: Section;
  version: number;
  sha256: string;
  items: number;
  horizon: number;
  appliedVersion: number;
}

export interface ItemRow {
  kind: string;
  id: string;
  deleted: boolean;
  body: Record<string, unknown> | null;
}

// Statement batches: one jsonb parameter per batch keeps both drivers (pg and PGlite) on plain text parameters.
const BATCH = 1_000;

function* batches<T>(xs: readonly T[]): Generator<T[]> {
  for (let i = 0; i < xs.length; i += BATCH) yield xs.slice(i, i + BATCH);
}

const UPSERT = `
  INSERT INTO desired_items (gateway_id, section, kind, item_id, version, deleted, body, digest)
  SELECT $1, $2, e->>'kind', e->>'id', $3, false, e->'body', e->>'digest' FROM jsonb_array_elements($4::jsonb) AS e
  ON CONFLICT (gateway_id, section, kind, item_id) DO UPDATE
    SET version = EXCLUDED.version, deleted = false, body = EXCLUDED.body, digest = EXCLUDED.digest
    WHERE desired_items.deleted OR desired_items.digest IS DISTINCT FROM EXCLUDED.digest
  RETURNING kind, item_id AS id`;

// a delete of an item never stored still leaves a tombstone: the gateway may hold it (drift) and must drop it
const DELETE = `
  INSERT INTO desired_items (gateway_id, section, kind, item_id, version, deleted, body, digest)
  SELECT $1, $2, e->>'kind', e->>'id', $3, true, NULL, NULL FROM jsonb_array_elements($4::jsonb) AS e
  ON CONFLICT (gateway_id, section, kind, item_id) DO UPDATE
    SET version = EXCLUDED.version, deleted = true, body = NULL, digest = NULL
    WHERE NOT desired_items.deleted
  RETURNING kind, item_id AS id`;

/** What one change did: the section after it, its version before, and which items it changed (keyOf). */
export interface Written {
  row: SectionRow;
  previous: number;
  upserted: ReadonlySet<string>;
  deleted: ReadonlySet<string>;
}

/** The key of an item in the sets of `Written`. */
export const keyOf = (i: { kind: string; id: string }) => `${i.kind}\n${i.id}`;

export function unkey(key: string): { kind: string; id: string } {
  const at = key.indexOf('\n');
  return { kind: key.slice(0, at), id: key.slice(at + 1) };
}

/**
 * Writes one change of a section at the gateway's next version. An item whose digest did not change and a delete
 * of an item already deleted are no change; when nothing changed the version is not bumped (null is returned).
 * The items it did change come back, so the caller can send the delta from what it holds instead of rereading
 * every body (a 10,000-face gallery is ~26 MB).
 */
export async function writeChange(
  driver: SqlDriver,
  gatewayId: string,
  section: Section,
  upserts: readonly StoredUpsert[],
  deletes: readonly { kind: string; id: string }[],
): Promise<Written | null> {
  return driver.transaction(async (tx) => {
    await tx.query('INSERT INTO gateway_desired (gateway_id) VALUES ($1) ON CONFLICT (gateway_id) DO NOTHING', [
      gatewayId,
    ]);
    const [locked] = await tx.query<{ version: number }>(
      'SELECT version FROM gateway_desired WHERE gateway_id = $1 FOR UPDATE',
      [gatewayId],
    );
    // read under the lock: the version the previous push of this section took the gateway to
    const [before] = await tx.query<{ version: number }>(
      'SELECT version FROM desired_sections WHERE gateway_id = $1 AND section = $2',
      [gatewayId, section],
    );
    const version = (locked?.version ?? 0) + 1;
    const upserted = new Set<string>();
    const deleted = new Set<string>();
    for (const b of batches(upserts)) {
      const rows = b.map((u) => ({ kind: u.kind, id: u.id, body: u.body, digest: u.digest }));
      const changed = await tx.query<Key>(UPSERT, [gatewayId, section, version, JSON.stringify(rows)]);
      for (const k of changed) upserted.add(keyOf(k));
    }
    for (const b of batches(deletes)) {
      const rows = b.map((d) => ({ kind: d.kind, id: d.id }));
      const changed = await tx.query<Key>(DELETE, [gatewayId, section, version, JSON.stringify(rows)]);
      for (const k of changed) deleted.add(keyOf(k));
    }
    if (upserted.size + deleted.size === 0) return null;
    await tx.query('UPDATE gateway_desired SET version = $2, updated_at = now() WHERE gateway_id = $1', [
      gatewayId,
      version,
    ]);
    const row = await rehash(tx, gatewayId, section, version);
    return { row, previous: before?.version ?? 0, upserted, deleted };
  });
}

interface Key {
  kind: string;
  id: string;
}

/**
 * Moves a section to the gateway's next version with its items unchanged and its horizon raised to that version,
 * so the only way to it is a full copy (fromVersion 0). This is how a gateway whose content drifted from what it
 * acknowledged is repaired: it refuses anything not newer than the version it runs, and a full copy replaces the
 * whole section. Null when the section was never written for this gateway.
 */
export async function reissueSection(driver: SqlDriver, gatewayId: string, section: Section) {
  return driver.transaction(async (tx) => {
    const [locked] = await tx.query<{ version: number }>(
      'SELECT version FROM gateway_desired WHERE gateway_id = $1 FOR UPDATE',
      [gatewayId],
    );
    const [current] = await tx.query<{ version: number }>(
      'SELECT version FROM desired_sections WHERE gateway_id = $1 AND section = $2',
      [gatewayId, section],
    );
    if (!locked || !current || current.version === 0) return null;
    const version = locked.version + 1;
    await tx.query('UPDATE gateway_desired SET version = $2, updated_at = now() WHERE gateway_id = $1', [
      gatewayId,
      version,
    ]);
    await rehash(tx, gatewayId, section, version);
    await tx.query('UPDATE desired_sections SET horizon = $3 WHERE gateway_id = $1 AND section = $2', [
      gatewayId,
      section,
      version,
    ]);
    return version;
  });
}

async function rehash(tx: SqlTx, gatewayId: string, section: Section, version: number): Promise<SectionRow> {
  const live = await tx.query<Digested>(
    'SELECT kind, item_id AS id, digest FROM desired_items WHERE gateway_id = $1 AND section = $2 AND NOT deleted',
    [gatewayId, section],
  );
  const sha256 = sectionHash(live);
  const [row] = await tx.query<SectionRow>(
    `INSERT INTO desired_sections (gateway_id, section, version, sha256, items) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (gateway_id, section) DO UPDATE SET version = $3, sha256 = $4, items = $5
     RETURNING section, version, sha256, items, horizon, applied_version AS "appliedVersion"`,
    [gatewayId, section, version, sha256, live.length],
  );
  if (!row) throw new Error('desired_sections upsert returned nothing');
  return row;
}

export async function sectionRows(driver: SqlDriver, gatewayId: string): Promise<Map<Section, SectionRow>> {
  const rows = await driver.query<SectionRow>(
    `SELECT section, version, sha256, items, horizon, applied_version AS "appliedVersion"
     FROM desired_sections WHERE gateway_id = $1`,
    [gatewayId],
  );
  return new Map(rows.map((r) => [r.section, r]));
}

export const emptySection = (section: Section): SectionRow => ({
  section,
  version: 0,
  sha256: EMPTY_SECTION_HASH,
  items: 0,
  horizon: 0,
  appliedVersion: 0,
});

export async function manifestVersion(driver: SqlDriver, gatewayId: string): Promise<number> {
  const [row] = await driver.query<{ version: number }>('SELECT version FROM gateway_desired WHERE gateway_id = $1', [
    gatewayId,
  ]);
  return row?.version ?? 0;
}

/** The kind and id of every live item of a section: what a full copy would carry, without reading the bodies. */
export function liveKeys(driver: SqlDriver, gatewayId: string, section: Section): Promise<Key[]> {
  return driver.query<Key>(
    'SELECT kind, item_id AS id FROM desired_items WHERE gateway_id = $1 AND section = $2 AND NOT deleted',
    [gatewayId, section],
  );
}

/** Items of a section changed after `fromVersion` (tombstones included), or every live item when `full`. */
export function changedItems(
  driver: SqlDriver,
  gatewayId: string,
  section: Section,
  fromVersion: number,
  full: boolean,
): Promise<ItemRow[]> {
  return driver.query<ItemRow>(
    `SELECT kind, item_id AS id, deleted, body FROM desired_items
     WHERE gateway_id = $1 AND section = $2 AND ${full ? 'NOT deleted' : 'version > $3'}
     ORDER BY kind, item_id`,
    full ? [gatewayId, section] : [gatewayId, section, fromVersion],
  );
}

/**
 * Forgets tombstones at or below `version` (they are only needed by gateways older than that); such gateways
 * then get a full copy instead of a delta. Returns how many were removed. A put at the same time is safe: it
 * only writes versions above `version`, and a tombstone it turns back into an item is no longer `deleted` when
 * the DELETE re-reads the row it waited on.
 */
export async function pruneTombstones(
  driver: SqlDriver,
  gatewayId: string,
  section: Section,
  version: number,
): Promise<number> {
  return driver.transaction(async (tx) => {
    const [removed] = await tx.query<{ n: number }>(
      `WITH gone AS (
         DELETE FROM desired_items WHERE gateway_id = $1 AND section = $2 AND deleted AND version <= $3 RETURNING 1
       ) SELECT count(*)::int AS n FROM gone`,
      [gatewayId, section, version],
    );
    await tx.query(
      'UPDATE desired_sections SET horizon = GREATEST(horizon, $3) WHERE gateway_id = $1 AND section = $2',
      [gatewayId, section, version],
    );
    return removed?.n ?? 0;
  });
}
