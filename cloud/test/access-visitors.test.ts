// Visitors through the API: a pass only for doors the host may open, approval confined to staff of the visit's
// estate, the public share page (the signed pass as an SVG QR, nothing at all for an unknown, expired or cancelled
// link), and the staff list of expected visitors with who actually came, from the gateways' access decisions.
import { randomBytes } from 'node:crypto';
import { verifyPass } from '@estate/protocols';
import QRCode from 'qrcode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tokenAad } from '../src/modules/access/visitors.js';
import { desiredState } from '../src/sync/index.js';
import { insertEvent, pairedGateway, trustedRing } from './access-helpers.js';
import { type TestCloud, testCloud } from './helpers/cloud.js';

let c: TestCloud;
let lobby: string;
let gate: string;
let farLobby: string;
const HOUR = 3_600_000;

beforeAll(async () => {
  c = await testCloud();
  const { ownBuilding, otherBuilding } = await pairedGateway(c);
  const door = async (name: string, deviceId: string, buildingId?: string) => {
    const r = await c.call(c.tokens.staff, {
      method: 'POST',
      url: `/api/estates/${c.world.estateA}/doors`,
      payload: { name, gatewayId: 'gw-a', deviceId, ...(buildingId ? { buildingId } : {}) },
    });
    expect(r.statusCode, r.body).toBe(201);
    return r.json<{ id: string }>().id;
  };
  lobby = await door('Lobby', 'door-ctl-1', ownBuilding);
  gate = await door('Main gate', 'gate-ctl');
  farLobby = await door('Far lobby', 'door-ctl-2', otherBuilding);
}, 180_000);
afterAll(() => c?.close());

interface Visit {
  id: string;
  status: string;
  shareUrl: string | null;
}
const register = (over: Record<string, unknown> = {}) =>
  c.call(c.tokens.resident, {
    method: 'POST',
    url: `/api/persons/${c.world.own.personId}/visitors`,
    payload: {
      name: 'Zhao Visitor',
      phone: '13812345678',
      purpose: 'dinner',
      validFrom: new Date(Date.now() - HOUR).toISOString(),
      validTo: new Date(Date.now() + 4 * HOUR).toISOString(),
      doors: [gate, lobby],
      ...over,
    },
  });
const registered = async (over: Record<string, unknown> = {}) => {
  const r = await register(over);
  expect(r.statusCode, r.body).toBe(201);
  return r.json<Visit>();
};
const decide = (token: string, id: string, verb: 'approve' | 'reject' = 'approve') =>
  c.call(token, { method: 'POST', url: `/api/visitors/${id}/${verb}`, payload: {} });
const state = async () => ({
  passes: await c.deps.prisma.visitorPass.findMany({ orderBy: { id: 'asc' } }),
  queued: await c.deps.prisma.accessDesiredQueue.count(),
  outbox: await c.deps.prisma.outboxEvent.count(),
});

describe('registration and approval', () => {
  it('refuses a pass for a door the host may not open: 403 DOORS_NOT_ALLOWED naming it, nothing stored', async () => {
    const before = await state();
    const res = await register({ doors: [gate, farLobby] });
    expect(res.statusCode).toBe(403);
    expect(res.json().error).toMatchObject({ code: 'DOORS_NOT_ALLOWED', field: '/body/doors/1' });
    expect(res.json().error.message).toContain(farLobby);
    expect(await state()).toEqual(before);
  });

  it('staff of another estate cannot approve (404) nor a resident (403); nothing changes', async () => {
    const v = await registered();
    expect(v).toMatchObject({ status: 'pending', shareUrl: null });
    const before = await state();
    for (const verb of ['approve', 'reject'] as const) {
      const other = await decide(c.tokens.staffB, v.id, verb);
      expect(other.statusCode).toBe(404);
      expect(other.json().error.code).toBe('NOT_FOUND');
      expect((await decide(c.tokens.resident, v.id, verb)).statusCode).toBe(403);
    }
    expect(await state()).toEqual(before);
    const row = await c.deps.prisma.visitorPass.findUniqueOrThrow({ where: { id: v.id } });
    expect(row).toMatchObject({ status: 'pending', tokenEnc: null, shareHash: null, decidedBy: null });
  });
});

describe('the share page /v/:token', () => {
  let visit: Visit;
  let path: string;

  it('shows the signed pass as an SVG QR code, with no caching', async () => {
    visit = await registered({ maxUses: 1 });
    const ok = await decide(c.tokens.staff, visit.id);
    expect(ok.statusCode, ok.body).toBe(200);
    const shareUrl = ok.json<Visit>().shareUrl ?? '';
    path = new URL(shareUrl).pathname;
    expect(path).toMatch(/^\/v\/[A-Za-z0-9_-]{43}$/);
    const page = await c.call(null, { method: 'GET', url: path });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.headers['cache-control']).toBe('no-store');
    expect(page.body).toContain('Zhao Visitor');
    // the QR encodes exactly the signed pass, which a gateway verifies offline with the trusted keys
    const row = await c.deps.prisma.visitorPass.findUniqueOrThrow({ where: { id: visit.id } });
    const token = c.deps.keyRing.open(row.tokenEnc ?? '', tokenAad(visit.id));
    const svg = await QRCode.toString(token, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
    expect(svg).toMatch(/^<svg/);
    expect(page.body).toContain(svg);
    const v = verifyPass(token, { ring: await trustedRing(c), now: Date.now() });
    expect(v.ok && v.claims).toMatchObject({ id: visit.id, doors: [gate, lobby], max: 1, estate: c.world.estateA });
    // and the pass is in the gateways' desired state
    const docs = await desiredState(c.deps).deltaFor('gw-a', 'passes', 0);
    const items = docs.flatMap((d) => (d.doc as unknown as { upserts: { id: string }[] }).upserts);
    expect(items).toContainEqual(expect.objectContaining({ kind: 'pass', id: visit.id, maxUses: 1 }));
  });

  it('an unknown, expired or cancelled link is a 404 that says nothing of the visit', async () => {
    const unknown = await c.call(null, { method: 'GET', url: `/v/${randomBytes(32).toString('base64url')}` });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.body).not.toContain('<svg');
    await c.deps.prisma.visitorPass.update({
      where: { id: visit.id },
      data: { shareExpiresAt: new Date(Date.now() - 1_000) },
    });
    const expired = await c.call(null, { method: 'GET', url: path });
    expect(expired.statusCode).toBe(404);
    expect(expired.body).toBe(unknown.body); // the same page: no telling an expired link from a made-up one
    expect(expired.body).not.toContain('Zhao');
    await c.deps.prisma.visitorPass.update({
      where: { id: visit.id },
      data: { shareExpiresAt: new Date(Date.now() + HOUR) },
    });
    expect((await c.call(null, { method: 'GET', url: path })).statusCode).toBe(200);
    const cancel = await c.call(c.tokens.resident, { method: 'POST', url: `/api/visitors/${visit.id}/cancel` });
    expect(cancel.json().status).toBe('cancelled');
    const gone = await c.call(null, { method: 'GET', url: path });
    expect(gone.statusCode).toBe(404);
    expect(gone.body).toBe(unknown.body);
    const revoked = await desiredState(c.deps).deltaFor('gw-a', 'revocations', 0);
    expect(revoked.flatMap((d) => (d.doc as unknown as { upserts: unknown[] }).upserts)).toContainEqual(
      expect.objectContaining({ kind: 'pass', id: visit.id, reason: 'cancelled' }),
    );
  });
});

describe("staff: today's expected visitors and who came", () => {
  it('counts granted and refused QR decisions naming the pass, with the first arrival', async () => {
    const came = await registered({ maxUses: 2 });
    const awaited = await registered();
    for (const v of [came, awaited]) expect((await decide(c.tokens.staff, v.id)).statusCode).toBe(200);
    const rejected = await registered();
    expect((await decide(c.tokens.staff, rejected.id, 'reject')).statusCode).toBe(200);
    const t0 = new Date(Date.now() - 30 * 60_000);
    const at = (min: number) => new Date(t0.getTime() + min * 60_000);
    const qr = { doorId: gate, method: 'qr', credentialId: came.id };
    await insertEvent(c, 101, { ...qr, granted: false, ts: at(0) }); // before the first grant: refused
    await insertEvent(c, 102, { ...qr, granted: true, ts: at(1) });
    await insertEvent(c, 103, { ...qr, granted: true, ts: at(5), doorId: lobby });
    await insertEvent(c, 104, { ...qr, granted: true, ts: at(6), method: 'face' }); // not a pass use
    const res = await c.call(c.tokens.staff, { method: 'GET', url: `/api/estates/${c.world.estateA}/visitors` });
    expect(res.statusCode, res.body).toBe(200);
    const list = res.json<{ id: string; uses: number; refused: number; arrivedAt: string | null }[]>();
    expect(list.find((v) => v.id === came.id)).toMatchObject({ uses: 2, refused: 1, arrivedAt: at(1).toISOString() });
    expect(list.find((v) => v.id === awaited.id)).toMatchObject({ uses: 0, refused: 0, arrivedAt: null });
    expect(list.some((v) => v.id === rejected.id)).toBe(false); // rejected and cancelled visits are not expected
    expect(res.body).not.toContain('13812345678'); // the phone only masked
    const tomorrow = new Date(Date.now() + 2 * 86_400_000).toISOString().slice(0, 10);
    const later = await c.call(c.tokens.staff, {
      method: 'GET',
      url: `/api/estates/${c.world.estateA}/visitors?date=${tomorrow}`,
    });
    expect(later.json()).toEqual([]);
  });

  it('residents may not list them (403); staff of another estate get 404', async () => {
    const url = `/api/estates/${c.world.estateA}/visitors`;
    expect((await c.call(c.tokens.resident, { method: 'GET', url })).statusCode).toBe(403);
    expect((await c.call(c.tokens.staffB, { method: 'GET', url })).statusCode).toBe(404);
  });
});
