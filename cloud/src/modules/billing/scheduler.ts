// Overdue follow-up without anyone pressing a button: every hour, for every estate, the overdue run as of that
// estate's local date (late fees, escalating reminders, follow-up tasks). runOverdue is idempotent per estate and
// day, so running it hourly only catches the day change and anything that became overdue since.
import type { FastifyInstance } from 'fastify';
import { systemActor } from '../../core/context.js';
import type { CloudDeps } from '../../core/deps.js';
import { scheduleJob } from '../../core/schedule.js';
import { localDate } from './money.js';
import { runOverdue } from './overdue.js';

export const BILLING_JOB_INTERVAL_MS = 60 * 60_000;

export interface BillingJobResult {
  estateId: string;
  asOf: string;
  lateFees: number;
  reminders: number;
  followUps: number;
}

export async function runBillingJobs(deps: CloudDeps, now: Date = new Date()): Promise<BillingJobResult[]> {
  const actor = systemActor('billing-scheduler');
  const estates = await deps.prisma.estate.findMany({ select: { id: true, timezone: true }, orderBy: { code: 'asc' } });
  const results: BillingJobResult[] = [];
  // one estate at a time: each run takes the estate's advisory lock and a transaction of its own
  for (const e of estates) {
    const asOf = localDate(now, e.timezone);
    const r = await runOverdue(deps.prisma, actor, e.id, asOf);
    results.push({ estateId: e.id, asOf, lateFees: r.lateFees, reminders: r.reminders, followUps: r.followUps });
  }
  return results;
}

export function scheduleBillingJobs(app: FastifyInstance): void {
  scheduleJob(app, 'billing overdue job', BILLING_JOB_INTERVAL_MS, () => runBillingJobs(app.deps));
}
