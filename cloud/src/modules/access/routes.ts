// Access management (issue 6): doors and groups, face templates, BLE keys, PINs, visitors and access events.
// Registered under /api; the public visitor page (visitorPage) is registered at the root by app.ts.
import type { FastifyPluginAsync } from 'fastify';
import accessEventRoutes from './access-events.js';
import bleKeyRoutes from './ble-keys.js';
import { flushDesired, reportFailuresTo } from './desired.js';
import doorsGroupsRoutes from './doors-groups.js';
import faceRoutes from './faces.js';
import pinRoutes from './pins.js';
import { resyncRoutes } from './snapshot.js';
import visitorRoutes from './visitor-routes.js';

export { visitorPage } from './visitor-routes.js';

const access: FastifyPluginAsync = async (app) => {
  for (const part of [
    doorsGroupsRoutes,
    faceRoutes,
    bleKeyRoutes,
    pinRoutes,
    visitorRoutes,
    accessEventRoutes,
    resyncRoutes,
  ]) {
    await app.register(part);
  }
  reportFailuresTo(app.deps, (msg, detail) => app.log.error(detail, msg));
  // Deltas a failed push left in the queue are retried in the background.
  const timer = setInterval(
    () => void flushDesired(app.deps, undefined, { settledMs: 10_000 }).catch(() => undefined),
    10_000,
  );
  timer.unref();
  app.addHook('onClose', async () => clearInterval(timer));
};
export default access;
