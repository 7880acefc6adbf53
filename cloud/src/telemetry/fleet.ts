// Gateway online/offline state and the offline alarm. Ingest keeps gateways.online and last_seen_at (presence,
// health, batches); this watch adds what a gateway cannot report about itself: silence. A gateway not heard from
// for `offlineAfterS` is marked offline; an offline gateway (silent, or its presence said so — e.g. the broker's
// last will) gets one open `gateway_offline` alarm, cleared when it is online again; the estate's staff are told
// both ways through the outbox. The partial unique index on open alarms keeps "raised once" true when two cloud
// instances run the watch together: the second insert conflicts and notifies no one.
// Gateways never seen (claimed but not yet connected) and retired ones raise nothing.
import type { CloudDeps } from '../core/deps.js';
import { requestNotification } from '../core/notify.js';
import type { Tx } from '../core/tx.js';

export const DEFAULT_OFFLINE_AFTER_S = 90;

export interface FleetWatchResult {
  markedOffline: string[];
  raised: string[];
  cleared: string[];
}

interface AlarmRow {
  id: string;
  gateway_id: string;
  estate_id: string;
  name: string;
  reason: string;
}

export function fleetWatch(deps: Pick<CloudDeps, 'prisma'> & { config?: { gatewayOfflineS?: number } }) {
  const { prisma } = deps;
  const offlineAfterS = deps.config?.gatewayOfflineS ?? DEFAULT_OFFLINE_AFTER_S;

  const tell = async (tx: Tx, rows: AlarmRow[], online: boolean) => {
    const estates = [...new Set(rows.map((r) => r.estate_id))];
    const staff = await tx.account.findMany({
      where: { role: 'staff', estateId: { in: estates }, disabledAt: null },
      select: { id: true, estateId: true },
    });
    for (const r of rows) {
      await requestNotification(tx, r.id, {
        kind: online ? 'gateway.online' : 'gateway.offline',
        estateId: r.estate_id,
        accountIds: staff.filter((s) => s.estateId === r.estate_id).map((s) => s.id),
        title: online ? `网关恢复在线 (gateway back online): ${r.name}` : `网关离线 (gateway offline): ${r.name}`,
        body: online
          ? `Gateway ${r.gateway_id} is reporting again.`
          : `Gateway ${r.gateway_id} ${r.reason === 'silent' ? `sent nothing for ${offlineAfterS} s` : 'went offline'}; doors keep working on their own, but events wait on the gateway until it is back.`,
      });
    }
  };

  return {
    offlineAfterS,

    /** One pass; `now` is the cloud clock (tests move it). */
    async tick(now: Date = new Date()): Promise<FleetWatchResult> {
      return prisma.$transaction(async (tx) => {
        const silent = await tx.$queryRaw<{ id: string }[]>`
          UPDATE gateways SET online = false
          WHERE status = 'active' AND online AND last_seen_at < ${now}::timestamptz - make_interval(secs => ${offlineAfterS})
          RETURNING id`;
        const silentIds = silent.map((g) => g.id);
        const raised = await tx.$queryRaw<AlarmRow[]>`
          WITH new AS (
            INSERT INTO fleet_alarms (gateway_id, estate_id, kind, raised_at, reason)
            SELECT g.id, g.estate_id, 'gateway_offline', ${now}::timestamptz,
              CASE WHEN g.id = ANY(${silentIds}::text[]) THEN 'silent' ELSE 'presence' END
            FROM gateways g WHERE g.status = 'active' AND NOT g.online AND g.last_seen_at IS NOT NULL
            ON CONFLICT (gateway_id, (coalesce(device_id, '')), kind) WHERE cleared_at IS NULL DO NOTHING
            RETURNING id, gateway_id, estate_id, reason)
          SELECT new.id::text, new.gateway_id, new.estate_id::text, g.name, new.reason
          FROM new JOIN gateways g ON g.id = new.gateway_id ORDER BY new.gateway_id`;
        const cleared = await tx.$queryRaw<AlarmRow[]>`
          UPDATE fleet_alarms a SET cleared_at = greatest(${now}::timestamptz, a.raised_at)
          FROM gateways g
          WHERE a.gateway_id = g.id AND a.kind = 'gateway_offline' AND a.cleared_at IS NULL
            AND (g.online OR g.status <> 'active')
          RETURNING a.id::text, a.gateway_id, a.estate_id::text, g.name, a.reason`;
        await tell(tx, raised, false);
        await tell(tx, cleared, true);
        return {
          markedOffline: silentIds.sort(),
          raised: raised.map((r) => r.gateway_id),
          cleared: cleared.map((r) => r.gateway_id).sort(),
        };
      });
    },

    /** Alarms of an estate (all estates when undefined), open ones first, newest first. */
    async alarms(estateId: string | undefined, open: boolean, limit = 200) {
      const rows = await prisma.fleetAlarm.findMany({
        where: { ...(estateId ? { estateId } : {}), ...(open ? { clearedAt: null } : {}) },
        orderBy: [{ raisedAt: 'desc' }, { id: 'asc' }],
        take: limit,
      });
      return rows.map((a) => ({
        id: a.id,
        gatewayId: a.gatewayId,
        estateId: a.estateId,
        deviceId: a.deviceId,
        kind: a.kind,
        reason: a.reason,
        raisedAt: a.raisedAt.toISOString(),
        clearedAt: a.clearedAt?.toISOString() ?? null,
      }));
    },

    /** The gateways of an estate with their devices: online flags and last-seen times. */
    async state(estateId: string) {
      const gateways = await prisma.gateway.findMany({
        where: { estateId, status: { not: 'retired' } },
        include: { devices: { orderBy: { deviceId: 'asc' } } },
        orderBy: { id: 'asc' },
      });
      return gateways.map((g) => ({
        gatewayId: g.id,
        name: g.name,
        status: g.status,
        online: g.online,
        lastSeenAt: g.lastSeenAt?.toISOString() ?? null,
        devices: g.devices.map((d) => ({
          deviceId: d.deviceId,
          kind: d.kind,
          online: d.online,
          lastSeenAt: d.lastSeenAt?.toISOString() ?? null,
        })),
      }));
    },
  };
}

export type FleetWatch = ReturnType<typeof fleetWatch>;
