// Repair orders end to end through the API on a real database: submission with photos, dispatch to the nearest
// skilled technician with its reason, the status machine, reassignment and SLA escalation by the job (with a
// moved clock), ratings, complaints and the figures (issue 8, "Repair orders", "Dispatch", "Ratings").
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runRepairJobs } from '../src/modules/repairs/jobs.js';
import { type TestCloud, testCloud } from './helpers/cloud.js';
import { act, aRepair, aTechnician, type OrderJson, PNG, placeOwnBuilding } from './repairs-helpers.js';

let c: TestCloud;
let near: Awaited<ReturnType<typeof aTechnician>>;
let far: Awaited<ReturnType<typeof aTechnician>>;
let sparky: Awaited<ReturnType<typeof aTechnician>>;
beforeAll(async () => {
  c = await testCloud();
  await placeOwnBuilding(c, 31.2304, 121.4737);
  // ~110 m north, ~1.1 km north, and an electrician right next door.
  near = await aTechnician(c, { name: 'Near', skills: ['plumbing'], lat: 31.2314, lng: 121.4737 });
  far = await aTechnician(c, { name: 'Far', skills: ['plumbing', 'general'], lat: 31.2404, lng: 121.4737 });
  sparky = await aTechnician(c, { name: 'Sparky', skills: ['electrical'], lat: 31.2305, lng: 121.4737 });
});
afterAll(() => c?.close());

const get = async (id: string, token = c.tokens.staff) =>
  (await c.call(token, { method: 'GET', url: `/api/repairs/${id}` })).json<OrderJson>();

describe('submission and dispatch', () => {
  it('a resident reports a leak with a photo; the nearest plumber gets it and the assignment says why', async () => {
    const o = await aRepair(c, { photos: [{ contentBase64: PNG }] });
    expect(o.status).toBe('assigned');
    expect(o.technician?.id).toBe(near.id);
    expect(o.assignments[0]?.reason).toMatch(/^1\d\d m away, plumbing, 0 open orders$/);
    expect(o.photos).toEqual([expect.objectContaining({ contentType: 'image/png' })]);
    expect(o.transitions.map((t) => t.to)).toEqual(['pending', 'assigned']);
    const photo = await c.call(c.tokens.resident, { method: 'GET', url: `/api/repair-photos/${o.photos[0]?.id}` });
    expect(photo.statusCode).toBe(200);
    expect(photo.headers['content-type']).toBe('image/png');
    expect(photo.rawPayload.toString('base64')).toBe(PNG);
  });

  it('workload counts: with one open order the near plumber still wins over one 1 km away, with three he does not', async () => {
    const second = await aRepair(c);
    expect(second.technician?.id).toBe(near.id);
    expect(second.assignments[0]?.reason).toMatch(/1 open order$/);
    await aRepair(c);
    const fourth = await aRepair(c);
    expect(fourth.technician?.id).toBe(far.id);
    expect(fourth.assignments[0]?.reason).toMatch(/^1\d{3} m away, plumbing, 0 open orders$/);
  });

  it('skill decides before distance: an electrical fault goes to the electrician', async () => {
    const o = await aRepair(c, { category: 'electrical', description: '客厅跳闸' });
    expect(o.technician?.id).toBe(sparky.id);
  });

  it('off shift and off duty technicians are not candidates; the order waits as pending', async () => {
    await c.call(c.tokens.staff, { method: 'PATCH', url: `/api/technicians/${sparky.id}`, payload: { onDuty: false } });
    const o = await aRepair(c, { category: 'electrical', description: '插座没电' });
    expect(o.status).toBe('pending');
    expect(o.technician).toBeNull();
    await c.call(c.tokens.staff, { method: 'PATCH', url: `/api/technicians/${sparky.id}`, payload: { onDuty: true } });
    const result = await runRepairJobs(c.deps);
    expect(result.dispatched).toBeGreaterThanOrEqual(1);
    expect((await get(o.id)).technician?.id).toBe(sparky.id);
  });

  it('staff override names the technician and records why', async () => {
    const o = await aRepair(c);
    const res = await c.call(c.tokens.staff, {
      method: 'POST',
      url: `/api/repairs/${o.id}/assign`,
      payload: { technicianId: far.id, note: '住户指定' },
    });
    expect(res.statusCode, res.body).toBe(200);
    const after = res.json<OrderJson>();
    expect(after.technician?.id).toBe(far.id);
    expect(after.assignments.at(-1)).toMatchObject({ mode: 'override' });
    expect(after.assignments.at(-1)?.reason).toMatch(/^staff override \(住户指定\): \d+ m away, plumbing/);
    expect(after.assignments[0]?.endedReason).toBe('reassigned by staff');
  });
});

describe('the status machine', () => {
  it('accept → start → complete → rate, each timestamped, recorded and audited', async () => {
    const o = await aRepair(c, { category: 'electrical', description: '灯不亮' });
    for (const a of ['accept', 'start', 'complete']) {
      const res = await act(c, sparky.token, o.id, a, { note: `${a} ok` });
      expect(res.statusCode, res.body).toBe(200);
    }
    const rated = await act(c, c.tokens.resident, o.id, 'rating', { rating: 5, comment: '很快' });
    expect(rated.statusCode, rated.body).toBe(200);
    const after = rated.json<OrderJson & Record<string, string>>();
    expect(after.status).toBe('rated');
    expect(after.transitions.map((t) => t.to)).toEqual([
      'pending',
      'assigned',
      'accepted',
      'in_progress',
      'completed',
      'rated',
    ]);
    for (const k of ['assignedAt', 'acceptedAt', 'startedAt', 'completedAt', 'ratedAt']) expect(after[k]).toBeTruthy();
    const audit = await c.deps.prisma.auditEntry.findMany({ where: { entityId: o.id }, orderBy: { id: 'asc' } });
    expect(audit.map((a) => a.action)).toEqual([
      'repair.submit',
      'repair.assigned',
      'repair.accepted',
      'repair.in_progress',
      'repair.completed',
      'repair.rated',
    ]);
    // The household is told the work is done, through the outbox.
    const told = await c.deps.prisma.outboxEvent.findMany({
      where: { aggregateId: o.id, topic: 'notification.requested' },
    });
    expect(told.map((e) => (e.payload as { kind: string }).kind)).toContain('repair.completed');
  });

  it('a completed order can be reopened; it is dispatched again with fresh deadlines', async () => {
    const o = await aRepair(c, { category: 'electrical', description: '又跳闸了' });
    for (const a of ['accept', 'start', 'complete']) await act(c, sparky.token, o.id, a);
    const res = await act(c, c.tokens.resident, o.id, 'reopen', { note: '没修好' });
    expect(res.statusCode, res.body).toBe(200);
    const after = res.json<OrderJson>();
    expect(after.transitions.slice(-2).map((t) => t.to)).toEqual(['reopened', 'assigned']);
  });
});

describe('the repairs job (time moved forward)', () => {
  it('reassigns an order not accepted within the window to the next technician, never back', async () => {
    const o = await aRepair(c);
    const first = o.technician?.id;
    const later = new Date(Date.now() + 11 * 60_000);
    const r = await runRepairJobs(c.deps, later);
    expect(r.reassigned).toBeGreaterThanOrEqual(1);
    const after = await get(o.id);
    expect(after.technician?.id).not.toBe(first);
    expect(after.assignments.at(-1)?.reason).toMatch(/^not accepted within 10 min; /);
    expect(after.assignments[0]?.endedReason).toBe('not accepted within 10 min');
  });

  it('escalates to the supervisors when the accept deadline passes, once', async () => {
    const o = await aRepair(c, { category: 'lift', description: '电梯困人' });
    const later = new Date(Date.now() + 16 * 60_000);
    await runRepairJobs(c.deps, later);
    const after = await get(o.id);
    expect(after.escalated).toBe(true);
    const staff = await c.deps.prisma.account.findUniqueOrThrow({ where: { login: c.world.logins.staff } });
    const events = await c.deps.prisma.outboxEvent.findMany({
      where: { aggregateId: o.id, topic: 'notification.requested' },
    });
    const escalations = events.filter((e) => (e.payload as { kind: string }).kind === 'repair.escalated');
    expect(escalations).toHaveLength(1);
    expect((escalations[0]?.payload as { accountIds?: string[] } | undefined)?.accountIds).toContain(staff.id);
    await runRepairJobs(c.deps, new Date(later.getTime() + 60_000));
    const again = await c.deps.prisma.outboxEvent.count({
      where: { aggregateId: o.id, topic: 'notification.requested' },
    });
    expect(again).toBe(events.length);
    expect(await c.deps.prisma.auditEntry.count({ where: { entityId: o.id, action: 'repair.escalate' } })).toBe(1);
  });
});

describe('complaints and figures', () => {
  it('a complaint is recorded, followed up by staff and counted in the figures', async () => {
    const o = await aRepair(c, { category: 'electrical', description: '电表异常' });
    for (const a of ['accept', 'start', 'complete']) await act(c, sparky.token, o.id, a);
    await act(c, c.tokens.resident, o.id, 'rating', { rating: 2 });
    const res = await c.call(c.tokens.resident, {
      method: 'POST',
      url: `/api/repairs/${o.id}/complaints`,
      payload: { body: '师傅迟到两小时' },
    });
    expect(res.statusCode, res.body).toBe(201);
    const complaint = res.json<{ id: string }>();
    const fu = await c.call(c.tokens.staff, {
      method: 'POST',
      url: `/api/complaints/${complaint.id}/follow-up`,
      payload: { followUp: '已致电住户道歉', resolved: true },
    });
    expect(fu.statusCode, fu.body).toBe(200);
    expect(fu.json()).toMatchObject({ status: 'resolved', followUp: '已致电住户道歉' });

    const stats = await c.call(c.tokens.staff, { method: 'GET', url: '/api/repairs/stats' });
    expect(stats.statusCode, stats.body).toBe(200);
    const s = stats.json<{
      estates: { estateId: string; orders: number; complaintRate: number; avgRating: number }[];
      technicians: { technicianId: string; avgRating: number; completed: number; avgMinutesToAccept: number }[];
    }>();
    expect(s.estates).toHaveLength(1);
    expect(s.estates[0]?.estateId).toBe(c.world.estateA);
    expect(s.estates[0]?.complaintRate).toBeGreaterThan(0);
    const sp = s.technicians.find((t) => t.technicianId === sparky.id);
    expect(sp?.avgRating).toBe(3.5);
    expect(sp?.completed).toBe(3);
    expect(sp?.avgMinutesToAccept).toBeGreaterThanOrEqual(0);
  });
});
