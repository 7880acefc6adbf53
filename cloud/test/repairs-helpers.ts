// Builders for the repairs and community tests: technicians with accounts, building positions, orders.
import type { TestCloud } from './helpers/cloud.js';
import { PASSWORD } from './helpers/cloud.js';

/** Smallest valid PNG header + IHDR: enough for the magic-byte check. */
export const PNG = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex').toString('base64');

let n = 0;
export async function aTechnician(
  c: TestCloud,
  opts: { name: string; skills: string[]; lat?: number; lng?: number; estateId?: string; shift?: [number, number] },
) {
  const estateId = opts.estateId ?? c.world.estateA;
  const login = `t.tech.${++n}.${opts.name.toLowerCase()}`;
  const account = await c.deps.prisma.account.create({
    data: { login, role: 'technician', estateId, passwordHash: await c.deps.passwords.hash(PASSWORD) },
  });
  const staff = estateId === c.world.estateA ? c.tokens.staff : c.tokens.staffB;
  const [shiftStartMin, shiftEndMin] = opts.shift ?? [0, 0];
  const res = await c.call(staff, {
    method: 'POST',
    url: '/api/technicians',
    payload: { accountId: account.id, name: opts.name, skills: opts.skills, shiftStartMin, shiftEndMin },
  });
  if (res.statusCode !== 201) throw new Error(res.body);
  const token = (await c.login(login)).accessToken;
  if (opts.lat !== undefined && opts.lng !== undefined) {
    const r = await c.call(token, {
      method: 'PUT',
      url: '/api/technicians/me/location',
      payload: { lat: opts.lat, lng: opts.lng },
    });
    if (r.statusCode !== 200) throw new Error(r.body);
  }
  return { id: res.json<{ id: string }>().id, accountId: account.id, token };
}

/** Puts the resident's own building at a known point. */
export async function placeOwnBuilding(c: TestCloud, lat: number, lng: number) {
  const h = await c.deps.prisma.household.findUniqueOrThrow({
    where: { id: c.world.own.householdId },
    include: { unit: true },
  });
  const res = await c.call(c.tokens.staff, {
    method: 'PUT',
    url: `/api/buildings/${h.unit.buildingId}/position`,
    payload: { lat, lng },
  });
  if (res.statusCode !== 200) throw new Error(res.body);
  return h.unit.buildingId;
}

export interface OrderJson {
  id: string;
  status: string;
  technician: { id: string; name: string } | null;
  assignments: { technicianId: string; reason: string; mode: string; endedReason: string | null }[];
  transitions: { from: string | null; to: string }[];
  photos: { id: string; contentType: string }[];
  rating: number | null;
  escalated: boolean;
}

export async function aRepair(c: TestCloud, body: Record<string, unknown> = {}, token = c.tokens.resident) {
  const res = await c.call(token, {
    method: 'POST',
    url: '/api/repairs',
    payload: { category: 'plumbing', description: '厨房水管漏水', place: { kind: 'unit' }, ...body },
  });
  if (res.statusCode !== 201) throw new Error(res.body);
  return res.json<OrderJson>();
}

export async function act(c: TestCloud, token: string, id: string, action: string, payload: unknown = {}) {
  return c.call(token, {
    method: 'POST',
    url: `/api/repairs/${id}/${action}`,
    payload: payload as Record<string, unknown>,
  });
}

/** Row counts and last change of every repairs & community table: a refused request leaves them as they were. */
export async function repairsFingerprint(c: TestCloud) {
  const rows = await c.deps.driver.query<{ t: string; n: number; u: string | null }>(`
    SELECT 'orders' AS t, count(*)::int AS n, max(updated_at)::text AS u FROM repair_orders
    UNION ALL SELECT 'transitions', count(*)::int, NULL FROM repair_transitions
    UNION ALL SELECT 'assignments', count(*)::int, max(ended_at)::text FROM repair_assignments
    UNION ALL SELECT 'photos', count(*)::int, NULL FROM repair_photos
    UNION ALL SELECT 'complaints', count(*)::int, max(followed_up_at)::text FROM repair_complaints
    UNION ALL SELECT 'signups', count(*)::int, max(coalesce(cancelled_at, promoted_at, signed_up_at))::text FROM event_signups
    UNION ALL SELECT 'comments', count(*)::int, max(hidden_at)::text FROM comments
    UNION ALL SELECT 'notices', count(*)::int, NULL FROM notices
    UNION ALL SELECT 'outbox', count(*)::int, NULL FROM outbox_events
    UNION ALL SELECT 'audit', count(*)::int, NULL FROM audit_log`);
  return Object.fromEntries(rows.map((r) => [r.t, `${r.n}/${r.u ?? ''}`]));
}
