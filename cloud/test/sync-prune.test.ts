// Tombstone pruning of desired state on a real database: a gateway's tombstones go once it has acknowledged past
// them, another gateway's stay until it does (or until it is stale or retired); a delta from below the pruned
// horizon is a full copy of the section, one from the acknowledged version still a delta.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { desiredState, pruneDesiredTombstones, syncHandlers } from '../src/sync/index.js';
import { aTemplate } from './helpers/templates.js';
import { aGateway, type IngestCloud, ingestCloud } from './ingest-helpers.js';

let c: IngestCloud;
beforeAll(async () => {
  c = await ingestCloud();
}, 120_000); // PGlite's migrations alone take most of a minute on a loaded 2-core machine
afterAll(async () => {
  await c?.close();
});

const template = aTemplate;
const ref = (i: number) => ({ kind: 'template', id: `t-${i}` });

/** gallery v1: t-1…t-5; v2: t-1, t-2 deleted; v3: t-3 deleted, t-6 added. Live: t-4, t-5, t-6. */
async function galleryHistory(gatewayId: string) {
  const ds = desiredState(c.deps);
  await ds.put(gatewayId, 'gallery', { upserts: [1, 2, 3, 4, 5].map(template) });
  await ds.put(gatewayId, 'gallery', { deletes: [ref(1), ref(2)] });
  const last = await ds.put(gatewayId, 'gallery', { upserts: [template(6)], deletes: [ref(3)] });
  expect(last).toMatchObject({ changed: true, version: 3 });
}

const tombstones = async (gatewayId: string) =>
  (
    await c.deps.driver.query<{ id: string; version: number }>(
      `SELECT item_id AS id, version FROM desired_items
       WHERE gateway_id = $1 AND section = 'gallery' AND deleted ORDER BY item_id`,
      [gatewayId],
    )
  ).map((r) => `${r.id}@${r.version}`);

const horizon = async (gatewayId: string) =>
  (
    await c.deps.driver.query<{ horizon: number }>(
      `SELECT horizon FROM desired_sections WHERE gateway_id = $1 AND section = 'gallery'`,
      [gatewayId],
    )
  )[0]?.horizon;

/** What a delta document says, in short. */
async function delta(gatewayId: string, fromVersion: number) {
  const docs = await desiredState(c.deps).deltaFor(gatewayId, 'gallery', fromVersion);
  const d = docs.map(
    (x) => x.doc as { fromVersion: number; toVersion: number; upserts: { id: string }[]; deletes: { id: string }[] },
  );
  return {
    from: d[0]?.fromVersion,
    to: d[0]?.toVersion,
    upserts: d.flatMap((x) => x.upserts.map((u) => u.id)).sort(),
    deletes: d.flatMap((x) => x.deletes.map((u) => u.id)).sort(),
  };
}

const ack = (gatewayId: string, gallery: number) =>
  syncHandlers(c.deps).desiredAck(gatewayId, {
    gatewayId,
    ts: Date.now(),
    version: gallery,
    status: 'applied',
    sections: { config: 0, access: 0, gallery, credentials: 0, passes: 0, revocations: 0, reservations: 0 },
    drift: [],
  });

describe('tombstone pruning', () => {
  it('prunes up to the acknowledged version; a quiet gateway keeps its tombstones until it is stale', async () => {
    expect(c.deps.config.syncStaleDays).toBe(30);
    const acked = (await aGateway(c.deps, c.estateA)).id;
    const quiet = (await aGateway(c.deps, c.estateA)).id;
    const retired = (await aGateway(c.deps, c.estateA, 'retired')).id;
    for (const g of [acked, quiet, retired]) await galleryHistory(g);
    const all = ['t-1@2', 't-2@2', 't-3@3'];
    expect(await tombstones(acked)).toEqual(all);
    // before: a delta from v1 is a real delta, tombstones included
    expect(await delta(acked, 1)).toEqual({ from: 1, to: 3, upserts: ['t-6'], deletes: ['t-1', 't-2', 't-3'] });
    const manifestBefore = (await desiredState(c.deps).manifest(acked)).sections;

    await ack(acked, 2);
    const pruned = await pruneDesiredTombstones(c.deps);
    expect(pruned).toEqual(
      expect.arrayContaining([
        { gatewayId: acked, section: 'gallery', upTo: 2, stale: false, removed: 2 },
        // retired: nobody will ask for a delta again
        { gatewayId: retired, section: 'gallery', upTo: 3, stale: true, removed: 3 },
      ]),
    );
    expect(pruned.find((p) => p.gatewayId === quiet)).toBeUndefined();
    expect(await tombstones(acked)).toEqual(['t-3@3']);
    expect(await horizon(acked)).toBe(2);
    expect(await tombstones(quiet)).toEqual(all);
    expect(await horizon(quiet)).toBe(0);
    expect(await tombstones(retired)).toEqual([]);
    // the content did not change: same versions, hashes and item counts
    expect((await desiredState(c.deps).manifest(acked)).sections).toEqual(manifestBefore);

    // from below the horizon: a full copy (fromVersion 0 makes the gateway replace the section), no tombstones
    expect(await delta(acked, 1)).toEqual({ from: 0, to: 3, upserts: ['t-4', 't-5', 't-6'], deletes: [] });
    // from the acknowledged version: still a delta
    expect(await delta(acked, 2)).toEqual({ from: 2, to: 3, upserts: ['t-6'], deletes: ['t-3'] });
    expect(await delta(acked, 3)).toEqual({ from: undefined, to: undefined, upserts: [], deletes: [] });
    // the other gateway still gets its delta from v1
    expect(await delta(quiet, 1)).toEqual({ from: 1, to: 3, upserts: ['t-6'], deletes: ['t-1', 't-2', 't-3'] });

    // a second run finds nothing to do and moves no horizon
    expect(await pruneDesiredTombstones(c.deps)).toEqual([]);
    expect(await horizon(quiet)).toBe(0);
  });

  it('a gateway that has not acknowledged for the stale period loses all its tombstones and gets a full copy', async () => {
    const fresh = (await aGateway(c.deps, c.estateB)).id;
    const silent = (await aGateway(c.deps, c.estateB)).id;
    for (const g of [fresh, silent]) await galleryHistory(g);
    await ack(fresh, 1);
    await ack(silent, 1);
    // silent's last acknowledgement was 31 days ago (the gateway's ack time is what the cloud records)
    await c.deps.driver.query(
      `UPDATE gateway_desired SET acked_at = now() - interval '31 days' WHERE gateway_id = $1`,
      [silent],
    );
    const pruned = (await pruneDesiredTombstones(c.deps)).filter((p) => [fresh, silent].includes(p.gatewayId));
    // fresh acknowledged v1, below every tombstone: nothing of it goes
    expect(pruned).toEqual([{ gatewayId: silent, section: 'gallery', upTo: 3, stale: true, removed: 3 }]);
    expect(await tombstones(fresh)).toEqual(['t-1@2', 't-2@2', 't-3@3']);
    expect(await tombstones(silent)).toEqual([]);
    expect(await delta(silent, 1)).toEqual({ from: 0, to: 3, upserts: ['t-4', 't-5', 't-6'], deletes: [] });
    expect(await delta(fresh, 1)).toEqual({ from: 1, to: 3, upserts: ['t-6'], deletes: ['t-1', 't-2', 't-3'] });

    // later the fresh one falls silent too: a run 31 days on treats it as stale
    const later = new Date(Date.now() + 31 * 24 * 3600_000);
    const after = (await pruneDesiredTombstones(c.deps, later)).filter((p) => p.gatewayId === fresh);
    expect(after).toEqual([{ gatewayId: fresh, section: 'gallery', upTo: 3, stale: true, removed: 3 }]);
    expect(await delta(fresh, 1)).toEqual({ from: 0, to: 3, upserts: ['t-4', 't-5', 't-6'], deletes: [] });
    // and once it is back at the current version, deltas resume from there
    await ack(fresh, 3);
    await desiredState(c.deps).put(fresh, 'gallery', { deletes: [ref(4)] });
    expect(await delta(fresh, 3)).toEqual({ from: 3, to: 4, upserts: [], deletes: ['t-4'] });
  });
});
