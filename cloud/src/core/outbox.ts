// Domain events that must survive a crash are written to outbox_events in the same transaction as the change.
import type { Prisma } from '../generated/prisma/client.js';
import { type Json, toJson } from './canonical-json.js';

export const TOPICS = {
  consentWithdrawn: 'consent.withdrawn',
  personErased: 'person.erased',
  notificationRequested: 'notification.requested',
} as const;
export type Topic = (typeof TOPICS)[keyof typeof TOPICS];

export async function publish(
  tx: Prisma.TransactionClient,
  topic: Topic,
  aggregateId: string,
  payload: Record<string, unknown>,
): Promise<void> {
  await tx.outboxEvent.create({
    data: { topic, aggregateId, payload: toJson(payload) as Exclude<Json, null> as Prisma.InputJsonValue },
  });
}
