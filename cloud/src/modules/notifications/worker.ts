// Notification delivery from the outbox. Step 1 takes `notification.requested` outbox events (SKIP LOCKED, so
// several instances share the work) and fans each out into one delivery row per recipient and channel; the
// unique (outbox id, account, channel) key makes a retake harmless, and the event is marked processed in the
// same transaction. Step 2 claims due deliveries with a lease, sends them, and records the outcome: `sent`
// once (a sent row is never picked again), or a retry with exponential backoff, or `failed` after the last try.
import type { CloudDeps } from '../../core/deps.js';
import type { Channel, NotificationRequest } from '../../core/notify.js';
import { TOPICS } from '../../core/outbox.js';
import type { ChannelAdapters } from './channels.js';

export const MAX_ATTEMPTS = 6;
const LEASE_MS = 60_000;
const BATCH = 100;

/** 30 s, 1 min, 2 min … capped at 1 h. */
export const backoffMs = (attempt: number) => Math.min(3_600_000, 30_000 * 2 ** (attempt - 1));

export interface DrainResult {
  fannedOut: number;
  sent: number;
  retried: number;
  failed: number;
}

export async function drainNotifications(
  deps: Pick<CloudDeps, 'prisma'>,
  adapters: ChannelAdapters,
  now: Date = new Date(),
): Promise<DrainResult> {
  const { prisma } = deps;
  const result: DrainResult = { fannedOut: 0, sent: 0, retried: 0, failed: 0 };

  result.fannedOut = await prisma.$transaction(async (tx) => {
    const events = await tx.$queryRaw<{ id: bigint; payload: NotificationRequest }[]>`
      SELECT id, payload FROM outbox_events
      WHERE processed_at IS NULL AND topic = ${TOPICS.notificationRequested}
      ORDER BY id LIMIT ${BATCH} FOR UPDATE SKIP LOCKED`;
    let n = 0;
    for (const e of events) {
      const channels: Channel[] = e.payload.channels?.length ? e.payload.channels : ['push'];
      const rows = e.payload.accountIds.flatMap((accountId) =>
        channels.map((channel) => ({
          outboxId: e.id,
          accountId,
          estateId: e.payload.estateId,
          channel,
          kind: e.payload.kind,
          title: e.payload.title,
          body: e.payload.body,
          nextAttemptAt: now,
        })),
      );
      if (rows.length) n += (await tx.notificationDelivery.createMany({ data: rows, skipDuplicates: true })).count;
      await tx.outboxEvent.update({ where: { id: e.id }, data: { processedAt: now } });
    }
    return n;
  });

  const due = await prisma.$queryRaw<
    { id: string; account_id: string; channel: Channel; kind: string; title: string; body: string; attempts: number }[]
  >`
    UPDATE notification_deliveries SET locked_until = ${new Date(now.getTime() + LEASE_MS)}, attempts = attempts + 1
    WHERE id IN (
      SELECT id FROM notification_deliveries
      WHERE status = 'pending' AND next_attempt_at <= ${now} AND (locked_until IS NULL OR locked_until <= ${now})
      ORDER BY next_attempt_at LIMIT ${BATCH} FOR UPDATE SKIP LOCKED)
    RETURNING id::text, account_id::text, channel, kind, title, body, attempts`;
  for (const d of due) {
    try {
      await adapters[d.channel].send({
        idempotencyKey: d.id,
        accountId: d.account_id,
        channel: d.channel,
        kind: d.kind,
        title: d.title,
        body: d.body,
      });
      await prisma.notificationDelivery.updateMany({
        where: { id: d.id, status: 'pending' },
        data: { status: 'sent', sentAt: now, lockedUntil: null, lastError: null },
      });
      result.sent++;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      const last = d.attempts >= MAX_ATTEMPTS;
      await prisma.notificationDelivery.updateMany({
        where: { id: d.id, status: 'pending' },
        data: last
          ? { status: 'failed', lockedUntil: null, lastError: message.slice(0, 500) }
          : {
              nextAttemptAt: new Date(now.getTime() + backoffMs(d.attempts)),
              lockedUntil: null,
              lastError: message.slice(0, 500),
            },
      });
      if (last) result.failed++;
      else result.retried++;
    }
  }
  return result;
}
