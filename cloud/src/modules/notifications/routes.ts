// The notifications plugin: no routes of its own yet; it runs the delivery worker every few seconds while the
// API is up (tests call drainNotifications directly with their own adapters and clock).
import type { FastifyInstance } from 'fastify';
import { scheduleJob } from '../../core/schedule.js';
import { defaultAdapters } from './channels.js';
import { drainNotifications } from './worker.js';

export const NOTIFY_INTERVAL_MS = 5_000;

export default async function notifications(app: FastifyInstance): Promise<void> {
  const adapters = defaultAdapters(app.log.child({ module: 'cloud:notifications' }));
  scheduleJob(app, 'notification delivery', NOTIFY_INTERVAL_MS, () => drainNotifications(app.deps, adapters));
}
