// Runs the repairs job every minute while the API is up (not in tests: they call runRepairJobs with a clock).
import type { FastifyInstance } from 'fastify';
import { scheduleJob } from '../../core/schedule.js';
import { runRepairJobs } from './jobs.js';

export const REPAIR_JOB_INTERVAL_MS = 60_000;

export function scheduleRepairJobs(app: FastifyInstance): void {
  scheduleJob(app, 'repairs job', REPAIR_JOB_INTERVAL_MS, () => runRepairJobs(app.deps));
}
