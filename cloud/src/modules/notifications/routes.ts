// The notifications plugin: no routes of its own yet; it runs the delivery worker every few seconds while the
// API is up (tests call drainNotifications directly with their own adapters and clock).
import type { FastifyInstance } from 'fastify';
import { defaultAdapters } from './channels.js';
import { drainNotifications } from './worker.js';

export const NOTIFY_INTERVAL_MS = 5_000;

export default async function notifications(app: FastifyInstance): Promise<void> {
  if (app.deps.config.env === 'test') return;
  const adapters = defaultAdapters(app.log.child({ module: 'cloud:notifications' }));
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> = Promise.resolve();
  app.addHook('onReady', async () => {
    timer = setInterval(() => {
      running = drainNotifications(app.deps, adapters).catch((err: unknown) =>
        app.log.error({ err }, 'notification delivery failed'),
      );
    }, NOTIFY_INTERVAL_MS);
    timer.unref();
  });
  app.addHook('onClose', async () => {
    clearInterval(timer);
    await running;
  });
}
