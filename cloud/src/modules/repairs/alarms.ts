// Alarms become work orders. The gateway ↔ cloud link turns a gateway `alarm` event (protocols GatewayEvent,
// type 'alarm') into this domain event, resolving the estate the gateway belongs to. A raised door-forced,
// water-leak or charger-fault alarm opens an order of the matching category, or — when the same device already
// has an open one — adds to it (alarm_count). Delivery is at least once, so the idempotency key
// (gateway id + sequence number, DESIGN "Wire contract rules") makes a replay a no-op.
import { systemActor } from '../../core/context.js';
import type { CloudDeps } from '../../core/deps.js';
import { change } from '../../core/tx.js';
import { CATEGORIES, type Category, OPEN } from './categories.js';
import { repairService } from './service.js';

export interface AlarmEvent {
  type: 'alarm';
  estateId: string;
  gatewayId: string;
  seq: number;
  /** Gateway time of the alarm, ISO 8601 UTC. */
  ts: string;
  alarm: string;
  state: 'raised' | 'cleared';
  deviceId?: string | undefined;
  doorId?: string | undefined;
  detail?: string | undefined;
}

/** Which alarms are faults someone must go and fix. */
export const ALARM_CATEGORY: Readonly<Record<string, Category>> = {
  door_forced: 'door_access',
  water_leak: 'plumbing',
  charger_fault: 'charger',
};
const DESCRIPTION: Readonly<Record<string, string>> = {
  door_forced: '门被强行打开 (door forced)',
  water_leak: '漏水报警 (water leak)',
  charger_fault: '充电桩故障 (charger fault)',
};

export type AlarmOutcome =
  | { outcome: 'opened' | 'updated'; orderId: string }
  | { outcome: 'duplicate'; orderId: string }
  | { outcome: 'ignored'; reason: string };

export function alarmListener(deps: CloudDeps, clock: () => Date = () => new Date()) {
  const { prisma } = deps;
  const service = repairService(deps, clock);
  const actor = systemActor('alarms');

  return async function onAlarm(e: AlarmEvent): Promise<AlarmOutcome> {
    const category = ALARM_CATEGORY[e.alarm];
    if (!category) return { outcome: 'ignored', reason: `${e.alarm} does not need a repair` };
    if (e.state !== 'raised') return { outcome: 'ignored', reason: 'cleared alarms do not close orders' };
    const deviceId = e.deviceId ?? (e.doorId ? `door:${e.doorId}` : undefined);
    if (!deviceId) return { outcome: 'ignored', reason: 'the alarm names no device or door' };
    const key = `${e.gatewayId}:${e.seq}`;
    const seen = await prisma.repairAlarmEvent.findUnique({ where: { idempotencyKey: key } });
    if (seen) return { outcome: 'duplicate', orderId: seen.orderId };
    const at = new Date(e.ts);
    return change(prisma, actor, async (tx, audit) => {
      const open = await tx.repairOrder.findFirst({
        where: { estateId: e.estateId, deviceId, category, status: { in: [...OPEN] } },
      });
      if (open) {
        await tx.repairOrder.update({
          where: { id: open.id },
          data: { alarmCount: { increment: 1 }, lastAlarmAt: at, updatedAt: clock() },
        });
        await tx.repairAlarmEvent.create({ data: { idempotencyKey: key, orderId: open.id } });
        await audit({
          action: 'repair.alarm_repeat',
          entity: 'repair_order',
          entityId: open.id,
          estateId: e.estateId,
          after: { alarm: e.alarm, deviceId, key, alarmCount: open.alarmCount + 1 },
        });
        return { outcome: 'updated' as const, orderId: open.id };
      }
      const now = clock();
      const sla = CATEGORIES[category];
      const o = await tx.repairOrder.create({
        data: {
          estateId: e.estateId,
          commonArea: e.doorId ? `门 ${e.doorId}` : `设备 ${deviceId}`,
          category,
          description: `${DESCRIPTION[e.alarm] ?? e.alarm}${e.detail ? `: ${e.detail}` : ''}`,
          source: 'alarm',
          createdBy: 'system:alarms',
          acceptDueAt: new Date(now.getTime() + sla.acceptMin * 60_000),
          completeDueAt: new Date(now.getTime() + sla.completeMin * 60_000),
          deviceId,
          doorId: e.doorId ?? null,
          alarmKind: e.alarm,
          alarmCount: 1,
          lastAlarmAt: at,
          createdAt: now,
          updatedAt: now,
        },
      });
      await tx.repairTransition.create({
        data: { orderId: o.id, toStatus: 'pending', at: now, actorId: 'system:alarms', note: `alarm ${key}` },
      });
      await tx.repairAlarmEvent.create({ data: { idempotencyKey: key, orderId: o.id } });
      await audit({
        action: 'repair.alarm_open',
        entity: 'repair_order',
        entityId: o.id,
        estateId: e.estateId,
        after: { alarm: e.alarm, deviceId, key, category },
      });
      const choice = await service.internal.autoChoice(tx, o);
      if (choice) await service.internal.assignTo(tx, audit, actor, o, choice, 'auto', 'alarm');
      return { outcome: 'opened' as const, orderId: o.id };
    });
  };
}
