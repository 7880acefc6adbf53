// Periodic jobs while the API is up: started when the app is ready, stopped (and awaited) when it closes. A tick
// that comes while the previous run is still going is skipped, so a slow run never piles up behind itself. Not in
// tests: they call the job functions directly with their own clock.
import type { FastifyInstance } from 'fastify';

export function scheduleJob(app: FastifyInstance, name: string, intervalMs: number, job: () => Promise<unknown>): void {
  if (app.deps.config.env === 'test') return;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;
  const tick = () => {
    if (running) return;
    running = job()
      .catch((err: unknown) => app.log.error({ err, job: name }, `${name} failed`))
      .finally(() => {
        running = undefined;
      });
  };
  app.addHook('onReady', async () => {
    timer = setInterval(tick, intervalMs);
    timer.unref();
  });
  app.addHook('onClose', async () => {
    clearInterval(timer);
    await running;
  });
}
