// The contract between a feature that wants someone told something and modules/notifications, which delivers
// it: a `notification.requested` outbox event written in the same transaction as the change it announces.

import { publish, TOPICS } from './outbox.js';
import type { Tx } from './tx.js';

export type Channel = 'sms' | 'email' | 'push' | 'log';

export interface NotificationRequest {
  /** What it is about, e.g. `repair.escalated`; also the template a channel may use. */
  kind: string;
  estateId: string | null;
  accountIds: string[];
  title: string;
  body: string;
  /** Default: push (an app notification). */
  channels?: Channel[];
}

export async function requestNotification(tx: Tx, aggregateId: string, request: NotificationRequest): Promise<void> {
  if (request.accountIds.length === 0) return;
  await publish(tx, TOPICS.notificationRequested, aggregateId, { ...request });
}
