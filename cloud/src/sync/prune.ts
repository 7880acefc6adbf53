// Tombstone pruning for desired state. A deleted item stays as a tombstone so a delta from an older version can
// say "drop it"; kept forever they would grow without bound (every revoked credential, every expired pass). Once a
// gateway has acknowledged version N of a section, no delta to it starts below N, so its tombstones at or below N
// can go. A gateway silent for longer than ESTATE_CLOUD_SYNC_STALE_DAYS, or retired, loses all of them: it will
// get a full copy of the section when it comes back (deltaFor: fromVersion below the horizon), which a gateway
// that far behind would most likely need anyway. (Tombstones carry a version, not a time, so "older than 30 days"
// cannot be told item by item; pruning all of a stale gateway's is the same answer without a schema change.)
import type { Section } from '@estate/protocols';
import type { FastifyInstance } from 'fastify';
import type { CloudDeps } from '../core/deps.js';
import { scheduleJob } from '../core/schedule.js';
import { pruneTombstones } from './store.js';

const DAY_MS = 24 * 3600_000;
/** How often the pruning runs. */
const PRUNE_INTERVAL_MS = DAY_MS;
// the tick that checks whether a run is due: a daily timer alone would never fire in a cloud restarted (deployed)
// more often than once a day
const PRUNE_TICK_MS = 3600_000;

export interface PrunedSection {
  gatewayId: string;
  section: Section;
  /** Tombstones at or below this version were removed; it is the section's horizon now. */
  upTo: number;
  /** Pruned as a stale or retired gateway (to the section's current version), not by its acknowledgement. */
  stale: boolean;
  removed: number;
}

/**
 * One pruning pass over every gateway and section: up to the version the gateway acknowledged, or to the
 * section's current version when the gateway is retired or has not acknowledged (never: since it was claimed
 * or created) for `staleAfterDays`. Sections with nothing to remove are left alone, so their horizon does not
 * move for nothing.
 */
export async function pruneDesiredTombstones(
  deps: Pick<CloudDeps, 'driver' | 'config'>,
  now: Date = new Date(),
): Promise<PrunedSection[]> {
  const staleBefore = new Date(now.getTime() - deps.config.syncStaleDays * DAY_MS);
  const targets = await deps.driver.query<Omit<PrunedSection, 'removed'>>(
    `WITH cut AS (
       SELECT s.gateway_id, s.section, st.stale,
              CASE WHEN st.stale THEN s.version ELSE LEAST(s.applied_version, s.version) END AS up_to
       FROM desired_sections s
       JOIN gateways g ON g.id = s.gateway_id
       LEFT JOIN gateway_desired d ON d.gateway_id = s.gateway_id
       CROSS JOIN LATERAL (
         SELECT g.status = 'retired' OR COALESCE(d.acked_at, g.claimed_at, g.created_at) < $1 AS stale
       ) st
     )
     SELECT gateway_id AS "gatewayId", section, stale, up_to AS "upTo" FROM cut
     WHERE up_to > 0 AND EXISTS (
       SELECT 1 FROM desired_items i
       WHERE i.gateway_id = cut.gateway_id AND i.section = cut.section AND i.deleted AND i.version <= cut.up_to
     )
     ORDER BY gateway_id, section`,
    [staleBefore],
  );
  const out: PrunedSection[] = [];
  // a transaction per section: a gateway with a huge backlog of tombstones never holds the others up
  for (const t of targets) {
    out.push({ ...t, removed: await pruneTombstones(deps.driver, t.gatewayId, t.section, t.upTo) });
  }
  return out;
}

/** Runs the pruning once a day while the API is up (checked hourly, first within an hour of the start). */
export function scheduleTombstonePruning(app: FastifyInstance, intervalMs = PRUNE_INTERVAL_MS): void {
  let last = Number.NEGATIVE_INFINITY;
  scheduleJob(app, 'desired-state tombstone pruning', Math.min(PRUNE_TICK_MS, intervalMs), async () => {
    const started = Date.now();
    if (started - last < intervalMs) return;
    const pruned = await pruneDesiredTombstones(app.deps);
    // only after a run that worked: a failed one (logged by scheduleJob) is tried again at the next tick
    last = started;
    const removed = pruned.reduce((n, p) => n + p.removed, 0);
    if (removed > 0) app.log.info({ sections: pruned.length, removed }, 'pruned desired-state tombstones');
  });
}
