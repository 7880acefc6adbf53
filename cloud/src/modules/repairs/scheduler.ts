// Runs the repairs job every minute while the API is up (not in tests: they call runRepairJobs with a clock).
import type { FastifyInstance } from 'fastify';
import { runRepairJobs } from './jobs.js';

export const REPAIR_JOB_INTERVAL_MS = 60_000;

export function scheduleRepairJobs(app: FastifyInstance): void {
  if (app.deps.config.env === 'test') return;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> = Promise.resolve();
  app.addHook('onReady', async () => {
    timer = setInterval(() => {
      running = runRepairJobs(app.deps).catch((err: unknown) => app.log.error({ err }, 'repairs job failed'));
    }, REPAIR_JOB_INTERVAL_MS);
    timer.unref();
  });
  app.addHook('onClose', async () => {
    clearInterval(timer);
    await running;
  });
}
