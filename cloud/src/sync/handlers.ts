// What the cloud does with a gateway's answers (wired as IngestHandlers.desiredAck / commandAck by ingest, or by
// the sync publisher itself when it listens): record the versions it runs and its drift, resend what it misses
// when it asks, repair a section that drifted, and record the outcome of a remote command.
import type { CommandAck, DesiredAck, Section } from '@estate/protocols';
import type { CloudDeps } from '../core/deps.js';
import { desiredState } from './desired-state.js';
import { attachSyncLink, type SyncLink } from './publisher.js';
import { sectionRows } from './store.js';

export interface SyncHandlerOptions {
  /** Called after an ack is recorded (and any resend published): for observers such as the bench. */
  onDesiredAck?: (gatewayId: string, ack: DesiredAck) => void;
  onCommandAck?: (gatewayId: string, ack: CommandAck) => void;
  /**
   * A drifted section is reissued at most once in this long per gateway (default 10 min): if the gateway and the
   * cloud ever hashed differently, repairs must not loop; the drift stays recorded for staff either way.
   */
  repairEveryMs?: number;
}

const REPAIR_EVERY_MS = 10 * 60_000;

export interface SyncHandlers {
  desiredAck(gatewayId: string, a: DesiredAck): Promise<void>;
  commandAck(gatewayId: string, a: CommandAck): Promise<void>;
}

export function syncHandlers(deps: CloudDeps, publisher?: SyncLink, o: SyncHandlerOptions = {}): SyncHandlers {
  if (publisher) attachSyncLink(deps, publisher);
  const { driver } = deps;
  const desired = desiredState(deps);
  const repaired = new Map<string, number>(); // `${gateway}\n${section}` → when last reissued
  const repairEveryMs = o.repairEveryMs ?? REPAIR_EVERY_MS;

  /** Drift the gateway measured against the current version and hash of a section: reissue it as a full copy. */
  async function repairDrift(gatewayId: string, a: DesiredAck): Promise<void> {
    if (a.drift.length === 0) return;
    const rows = await sectionRows(driver, gatewayId);
    const now = Date.now();
    for (const d of a.drift) {
      const section = d.section as Section;
      const row = rows.get(section);
      if (!row || a.sections[section] !== row.version || d.expected !== row.sha256) continue; // stale report
      const key = `${gatewayId}\n${section}`;
      if (now - (repaired.get(key) ?? Number.NEGATIVE_INFINITY) < repairEveryMs) continue;
      repaired.set(key, now);
      await desired.reissue(gatewayId, section);
    }
  }

  return {
    async desiredAck(gatewayId, a) {
      const known = await driver.query('SELECT 1 FROM gateways WHERE id = $1', [gatewayId]);
      if (known.length === 0) return;
      await driver.transaction(async (tx) => {
        await tx.query(
          `UPDATE desired_sections d SET applied_version = (e.value)::int
           FROM jsonb_each_text($2::jsonb) AS e WHERE d.gateway_id = $1 AND d.section = e.key`,
          [gatewayId, JSON.stringify(a.sections)],
        );
        await tx.query(
          `INSERT INTO gateway_desired (gateway_id, applied_version, ack_status, ack_reason, drift, acked_at)
           VALUES ($1, $2, $3, $4, $5::jsonb, $6)
           ON CONFLICT (gateway_id) DO UPDATE SET applied_version = $2, ack_status = $3, ack_reason = $4,
             drift = $5::jsonb, acked_at = $6`,
          [gatewayId, a.version, a.status, a.reason ?? null, JSON.stringify(a.drift), new Date(a.ts)],
        );
        await tx.query('UPDATE gateways SET applied_version = $2 WHERE id = $1', [gatewayId, a.version]);
      });
      // A gateway asks with reason `resync` (a gap, a manifest ahead of it, a resync command, a first connect):
      // it gets the delta from the version it runs — a full copy when that is 0 or older than the tombstones.
      if (a.reason === 'resync') {
        const rows = await sectionRows(driver, gatewayId);
        const behind: Partial<Record<Section, number>> = {};
        for (const [s, r] of rows) if (a.sections[s] < r.version) behind[s] = a.sections[s];
        await desired.push(gatewayId, behind);
      }
      await repairDrift(gatewayId, a);
      o.onDesiredAck?.(gatewayId, a);
    },

    async commandAck(gatewayId, a) {
      // the first answer counts; a redelivered ack changes nothing
      await deps.prisma.gatewayCommand.updateMany({
        where: { cmdId: a.cmdId, gatewayId, ackedAt: null },
        data: { status: a.result, reason: a.reason ?? null, detail: a.detail ?? null, ackedAt: new Date(a.ts) },
      });
      o.onCommandAck?.(gatewayId, a);
    },
  };
}
