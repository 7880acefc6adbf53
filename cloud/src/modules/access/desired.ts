// The one place access management hands its changes to the gateways. A change writes its delta (protocols item
// shapes) into access_desired_queue inside its own transaction (a transactional outbox): the business change and
// "tell the gateways" commit or roll back together, so a committed change is never lost on the way and a rolled
// back one is never sent. Then flushDesired() pushes the queued deltas, in order, to the sync engine's desired
// state (cloud/src/sync), which versions, signs and publishes them. The desired state cannot take part in the
// business transaction itself: its put() runs its own statements on the driver and publishes over MQTT.
import type { AccessSync, CredentialSync, GallerySync, PassSync, RevocationSync, Section } from '@estate/protocols';
import type { CloudDeps } from '../../core/deps.js';
import { AppError, type ErrorCode } from '../../core/errors.js';
import type { Tx } from '../../core/tx.js';
import type { Prisma } from '../../generated/prisma/client.js';
import { desiredState } from '../../sync/index.js';

export type AccessItem = AccessSync['upserts'][number];
export type GalleryItem = GallerySync['upserts'][number];
export type CredentialItem = CredentialSync['upserts'][number];
export type PassItem = PassSync['upserts'][number];
export type RevocationItem = RevocationSync['upserts'][number];
interface Items {
  access: AccessItem;
  gallery: GalleryItem;
  credentials: CredentialItem;
  passes: PassItem;
  revocations: RevocationItem;
}
export type AccessSection = keyof Items;
export interface Delta<S extends AccessSection = AccessSection> {
  upserts: Items[S][];
  deletes: { kind: string; id: string }[];
}

/** What the sync engine offers (issue 5 agreed interface: `desiredState(deps)`). */
export interface DesiredSink {
  put(gatewayId: string, section: Section, delta: Delta): Promise<unknown>;
  putForEstate(estateId: string, section: Section, delta: Delta): Promise<unknown>;
}

/** The sync engine's desired state. */
export function desiredSink(deps: CloudDeps): DesiredSink {
  return desiredState(deps);
}

/** Queues one delta in the caller's transaction. `gatewayId` for a door (only its own gateway runs it). */
export async function queueDesired<S extends AccessSection>(
  tx: Tx,
  estateId: string,
  section: S,
  delta: Partial<Delta<S>>,
  gatewayId?: string,
): Promise<void> {
  const upserts = delta.upserts ?? [];
  const deletes = delta.deletes ?? [];
  if (upserts.length === 0 && deletes.length === 0) return;
  await tx.accessDesiredQueue.create({
    data: {
      estateId,
      gatewayId: gatewayId ?? null,
      section,
      upserts: upserts as unknown as Prisma.InputJsonValue,
      deletes: deletes as unknown as Prisma.InputJsonValue,
    },
  });
}

export interface FlushResult {
  pushed: number;
  pending: number;
  error?: string;
  /** Deltas the sync engine refused for good in this run: set aside with their reason, no longer blocking. */
  failed?: number;
}

/**
 * Refusals that no retry can cure (the delta is invalid for its section, or its gateway is gone). Anything else
 * (the database, the broker) is transient: the run stops there and the next flush tries again in order.
 */
const PERMANENT = new Set<ErrorCode>(['VALIDATION', 'BAD_REQUEST', 'NOT_FOUND']);

const running = new WeakMap<object, Promise<FlushResult>>();
/** Where a delta set aside for good is reported (the access plugin registers the app's logger). */
const reporters = new WeakMap<object, (msg: string, detail: Record<string, unknown>) => void>();

export function reportFailuresTo(deps: CloudDeps, report: (msg: string, detail: Record<string, unknown>) => void) {
  reporters.set(deps, report);
}

/**
 * Pushes queued deltas in id order and marks each pushed. A failed push stops the run (later deltas may depend
 * on it) and is tried again by the next flush, unless the sync engine refuses it for good (PERMANENT): that one
 * is set aside with its reason. `settledMs` leaves younger rows alone: the background retry takes
 * only what the committing request's own flush (afterCommit) failed to push, instead of racing it. Runs of one process never overlap; two cloud instances may push
 * the same delta twice, which is harmless (upserts and deletes are idempotent), but could in a rare race push two
 * deltas of one item out of order; POST /api/gateways/:id/resync (snapshot.ts) rebuilds a gateway's desired state
 * from the access tables when that happens.
 */
export function flushDesired(
  deps: CloudDeps,
  sink = desiredSink(deps),
  opts: { settledMs?: number } = {},
): Promise<FlushResult> {
  const previous = running.get(deps) ?? Promise.resolve(undefined);
  const next = previous.then(() => flushOnce(deps, sink, opts.settledMs ?? 0));
  running.set(
    deps,
    next.catch(() => ({ pushed: 0, pending: 0 })),
  );
  return next;
}

async function flushOnce(deps: CloudDeps, sink: DesiredSink, settledMs: number): Promise<FlushResult> {
  const { prisma } = deps;
  const pending = () => prisma.accessDesiredQueue.count({ where: { pushedAt: null } });
  // the background retry: only rows left unpushed for settledMs (the app's clock against the row's database
  // timestamp: clock skew only shifts when a retry happens)
  const where =
    settledMs > 0 ? { pushedAt: null, createdAt: { lt: new Date(Date.now() - settledMs) } } : { pushedAt: null };
  let pushed = 0;
  let failed = 0;
  const done = (r: FlushResult): FlushResult => (failed ? { ...r, failed } : r);
  for (;;) {
    const rows = await prisma.accessDesiredQueue.findMany({
      where,
      orderBy: { id: 'asc' },
      take: 100,
    });
    if (rows.length === 0) return done({ pushed, pending: 0 });
    for (const row of rows) {
      const delta = { upserts: row.upserts, deletes: row.deletes } as unknown as Delta;
      try {
        if (row.gatewayId) await sink.put(row.gatewayId, row.section as Section, delta);
        else await sink.putForEstate(row.estateId, row.section as Section, delta);
      } catch (err) {
        if (!(err instanceof AppError && PERMANENT.has(err.code))) {
          return done({ pushed, pending: await pending(), error: (err as Error).message });
        }
        // a revocation queued behind a delta that can never be pushed must still reach the doors
        const failedReason = `${err.code}: ${err.message}`.slice(0, 500);
        await prisma.accessDesiredQueue.update({ where: { id: row.id }, data: { pushedAt: new Date(), failedReason } });
        failed++;
        reporters.get(deps)?.('access change refused by the sync engine; set aside so later ones go through', {
          queueId: row.id.toString(),
          estateId: row.estateId,
          gatewayId: row.gatewayId,
          section: row.section,
          reason: failedReason,
        });
        continue;
      }
      await prisma.accessDesiredQueue.update({ where: { id: row.id }, data: { pushedAt: new Date() } });
      pushed++;
    }
  }
}

/** Best effort after a committed change: the queue keeps what could not be pushed. */
export function afterCommit(deps: CloudDeps): Promise<void> {
  return flushDesired(deps).then(
    () => undefined,
    () => undefined,
  );
}

export const revocation = (kind: RevocationItem['kind'], id: string, reason: string): RevocationItem => ({
  kind,
  id,
  revokedAt: Date.now(),
  reason,
});
