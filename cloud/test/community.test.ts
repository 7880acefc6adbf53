// Notices, events, messages, the FAQ assistant and notification delivery (issue 8 §5–9) through the API on a
// real database; bad input refused with a code and nothing changed.
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChannelAdapters, OutgoingMessage } from '../src/modules/notifications/channels.js';
import { backoffMs, drainNotifications } from '../src/modules/notifications/worker.js';
import { PASSWORD, type TestCloud, testCloud } from './helpers/cloud.js';
import { repairsFingerprint } from './repairs-helpers.js';

let c: TestCloud;
let neighbour: string; // a resident of the other household in estate A
beforeAll(async () => {
  c = await testCloud();
  await c.deps.prisma.account.create({
    data: {
      login: 't.resident.a2',
      role: 'resident',
      estateId: c.world.estateA,
      personId: c.world.otherHousehold.personId,
      passwordHash: await c.deps.passwords.hash(PASSWORD),
    },
  });
  neighbour = (await c.login('t.resident.a2')).accessToken;
});
afterAll(() => c?.close());

async function refused(token: string, options: InjectOptions, status: number, code: string) {
  const before = await repairsFingerprint(c);
  const res = await c.call(token, options);
  expect(res.statusCode, res.body).toBe(status);
  expect(res.json().error.code).toBe(code);
  expect(await repairsFingerprint(c)).toEqual(before);
}
const post = (token: string, url: string, payload: Record<string, unknown> = {}) =>
  c.call(token, { method: 'POST', url, payload });
const ownUnit = () =>
  c.deps.prisma.household.findUniqueOrThrow({ where: { id: c.world.own.householdId }, include: { unit: true } });

describe('notices', () => {
  it('are targeted: the unit-level notice reaches that unit only; scheduled and expired ones stay hidden', async () => {
    const h = await ownUnit();
    const hour = 3600_000;
    const notices = [
      { title: '全小区', body: '周六消防演练', kind: 'general', target: { kind: 'estate' } },
      { title: '本单元', body: '水表更换', kind: 'maintenance', target: { kind: 'unit', id: h.unitId } },
      { title: '本楼', body: '电梯保养', kind: 'maintenance', target: { kind: 'building', id: h.unit.buildingId } },
      {
        title: '明天',
        body: '计划停水',
        kind: 'water_outage',
        target: { kind: 'estate' },
        publishAt: new Date(Date.now() + 24 * hour).toISOString(),
      },
      {
        title: '已过期',
        body: '昨天停电',
        kind: 'power_outage',
        target: { kind: 'estate' },
        publishAt: new Date(Date.now() - 48 * hour).toISOString(),
        expiresAt: new Date(Date.now() - 24 * hour).toISOString(),
      },
    ];
    for (const n of notices) expect((await post(c.tokens.staff, '/api/notices', n)).statusCode).toBe(201);
    const mine = (await c.call(c.tokens.resident, { method: 'GET', url: '/api/notices' })).json<{ title: string }[]>();
    expect(mine.map((n) => n.title).sort()).toEqual(['全小区', '本单元', '本楼'].sort());
    const theirs = (await c.call(neighbour, { method: 'GET', url: '/api/notices' })).json<{ title: string }[]>();
    expect(theirs.map((n) => n.title)).not.toContain('本单元');
    const all = (await c.call(c.tokens.staff, { method: 'GET', url: '/api/notices' })).json<unknown[]>();
    expect(all).toHaveLength(5);
  });

  it('reading leaves one receipt per account; staff see who read it', async () => {
    const [n] = (await c.call(c.tokens.resident, { method: 'GET', url: '/api/notices' })).json<{ id: string }[]>();
    const id = n?.id as string;
    expect((await post(c.tokens.resident, `/api/notices/${id}/read`)).json()).toMatchObject({ read: true });
    await post(c.tokens.resident, `/api/notices/${id}/read`);
    const r = await c.call(c.tokens.staff, { method: 'GET', url: `/api/notices/${id}/receipts` });
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toMatchObject({ read: 1 });
    expect(r.json<{ audience: number }>().audience).toBeGreaterThanOrEqual(1);
    await refused(c.tokens.resident, { method: 'GET', url: `/api/notices/${id}/receipts` }, 403, 'FORBIDDEN');
  });

  it('a planned-maintenance order produces its outage notice for the building, once', async () => {
    const h = await ownUnit();
    const startsAt = new Date(Date.now() + 2 * 86_400_000);
    const endsAt = new Date(startsAt.getTime() + 4 * 3600_000);
    const o = await post(c.tokens.staff, '/api/repairs', {
      category: 'plumbing',
      description: '二次供水水箱清洗',
      place: { kind: 'common', buildingId: h.unit.buildingId, area: '地下泵房' },
      planned: { startsAt: startsAt.toISOString(), endsAt: endsAt.toISOString() },
    });
    expect(o.statusCode, o.body).toBe(201);
    const id = o.json<{ id: string }>().id;
    const n = await post(c.tokens.staff, `/api/repairs/${id}/outage-notice`);
    expect(n.statusCode, n.body).toBe(201);
    expect(n.json()).toMatchObject({
      kind: 'water_outage',
      title: '停水通知',
      target: { kind: 'building', id: h.unit.buildingId },
      repairOrderId: id,
    });
    expect(n.json<{ body: string }>().body).toContain('二次供水水箱清洗');
    await refused(c.tokens.staff, { method: 'POST', url: `/api/repairs/${id}/outage-notice` }, 409, 'CONFLICT');
  });
});

describe('community events', () => {
  let eventId: string;
  it('fills to capacity, then the waiting list, then refuses; a cancellation promotes the first waiting', async () => {
    const now = Date.now();
    const e = await post(c.tokens.staff, '/api/events', {
      title: '中秋游园会',
      description: '猜灯谜、做月饼',
      location: '中心花园',
      startsAt: new Date(now + 7 * 86_400_000).toISOString(),
      endsAt: new Date(now + 7 * 86_400_000 + 3 * 3600_000).toISOString(),
      capacity: 1,
      waitlistCapacity: 1,
      signupOpensAt: new Date(now - 3600_000).toISOString(),
      signupClosesAt: new Date(now + 6 * 86_400_000).toISOString(),
    });
    expect(e.statusCode, e.body).toBe(201);
    eventId = e.json<{ id: string }>().id;
    expect((await post(c.tokens.resident, `/api/events/${eventId}/signup`)).json()).toMatchObject({
      status: 'confirmed',
    });
    expect((await post(neighbour, `/api/events/${eventId}/signup`)).json()).toMatchObject({
      status: 'waitlisted',
      position: 1,
    });
    await refused(c.tokens.resident, { method: 'POST', url: `/api/events/${eventId}/signup` }, 409, 'CONFLICT');
    // A third household: past capacity and waiting list → EVENT_FULL.
    const third = await c.deps.prisma.person.findFirstOrThrow({
      where: {
        estateId: c.world.estateA,
        account: null,
        householdId: { notIn: [c.world.own.householdId, c.world.otherHousehold.householdId] },
      },
    });
    await c.deps.prisma.account.create({
      data: {
        login: 't.resident.a3',
        role: 'resident',
        estateId: c.world.estateA,
        personId: third.id,
        passwordHash: await c.deps.passwords.hash(PASSWORD),
      },
    });
    const thirdToken = (await c.login('t.resident.a3')).accessToken;
    await refused(thirdToken, { method: 'POST', url: `/api/events/${eventId}/signup` }, 409, 'EVENT_FULL');

    const cancelled = await post(c.tokens.resident, `/api/events/${eventId}/signup/cancel`);
    expect(cancelled.statusCode, cancelled.body).toBe(200);
    expect(cancelled.json()).toMatchObject({ confirmed: 1, waitlisted: 0, mine: null });
    expect((await c.call(neighbour, { method: 'GET', url: `/api/events/${eventId}` })).json()).toMatchObject({
      mine: 'confirmed',
    });
    const promoted = await c.deps.prisma.outboxEvent.findMany({ where: { aggregateId: eventId } });
    expect(promoted.map((p) => (p.payload as { kind: string }).kind)).toContain('event.promoted');
  });

  it('attendance is recorded by staff for confirmed sign-ups', async () => {
    const res = await post(c.tokens.staff, `/api/events/${eventId}/attendance`, {
      personId: c.world.otherHousehold.personId,
      attended: true,
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ status: 'confirmed', attended: true });
    await refused(
      neighbour,
      {
        method: 'POST',
        url: `/api/events/${eventId}/attendance`,
        payload: { personId: c.world.otherHousehold.personId, attended: false },
      },
      403,
      'FORBIDDEN',
    );
  });

  it('sign-up outside its window is refused', async () => {
    const now = Date.now();
    const e = await post(c.tokens.staff, '/api/events', {
      title: '已截止',
      description: 'x',
      location: 'y',
      startsAt: new Date(now + 86_400_000).toISOString(),
      endsAt: new Date(now + 90_000_000).toISOString(),
      capacity: 10,
      signupOpensAt: new Date(now - 7 * 86_400_000).toISOString(),
      signupClosesAt: new Date(now - 86_400_000).toISOString(),
    });
    await refused(
      c.tokens.resident,
      { method: 'POST', url: `/api/events/${e.json<{ id: string }>().id}/signup` },
      409,
      'SIGNUP_CLOSED',
    );
  });

  it('comments: residents write, staff hide with a reason, a resident may not moderate', async () => {
    const res = await post(c.tokens.resident, `/api/events/${eventId}/comments`, { body: '可以带小朋友吗？' });
    expect(res.statusCode, res.body).toBe(201);
    const spam = await post(neighbour, `/api/events/${eventId}/comments`, { body: '低价出售二手车 加微信' });
    const spamId = spam.json<{ id: string }>().id;
    await refused(
      c.tokens.resident,
      { method: 'POST', url: `/api/comments/${spamId}/hide`, payload: { reason: '我不喜欢' } },
      403,
      'FORBIDDEN',
    );
    const hidden = await post(c.tokens.staff, `/api/comments/${spamId}/hide`, { reason: '广告' });
    expect(hidden.statusCode, hidden.body).toBe(200);
    const seen = (await c.call(c.tokens.resident, { method: 'GET', url: `/api/events/${eventId}/comments` })).json<
      { id: string; body: string | null; hidden: { reason: string } | null }[]
    >();
    expect(seen.find((x) => x.id === spamId)).toMatchObject({ body: null, hidden: { reason: '广告' } });
    expect(await c.deps.prisma.auditEntry.count({ where: { entityId: spamId, action: 'comment.hide' } })).toBe(1);
  });
});

describe('FAQ assistant', () => {
  beforeAll(async () => {
    const entries = [
      {
        question: '家里漏水怎么办？',
        answer: '请先关闭总阀门，再在App提交报修，维修师傅30分钟内响应。',
        keywords: '渗水 水管 爆管',
        repairCategory: 'plumbing',
      },
      { question: '物业费怎么交？', answer: '在App“缴费”页面用微信或支付宝缴纳。', keywords: '缴费 物业费 账单' },
      {
        question: '访客怎么进小区？',
        answer: '在App生成访客二维码发给访客，门口扫码进入。',
        keywords: '访客 二维码 来访',
      },
      { question: '快递放在哪里？', answer: '快递柜在南门岗亭旁。', keywords: '快递 包裹 驿站' },
    ];
    for (const e of entries) expect((await post(c.tokens.staff, '/api/faq', e)).statusCode).toBe(201);
  });

  it('“我家漏水怎么办?” finds the leak entry with high confidence and offers a plumbing repair', async () => {
    const res = await post(c.tokens.resident, '/api/faq/ask', { question: '我家漏水怎么办?' });
    expect(res.statusCode, res.body).toBe(200);
    const a = res.json<{ answer: string; confidence: number; offerRepair: { category: string } | null }>();
    expect(a.answer).toContain('关闭总阀门');
    expect(a.confidence).toBeGreaterThanOrEqual(0.6);
    expect(a.offerRepair).toMatchObject({ category: 'plumbing', url: '/api/repairs' });
  });

  it('other wordings find the right entry; a non-fault question gets no repair offer', async () => {
    const a = (await post(c.tokens.resident, '/api/faq/ask', { question: '朋友来访怎么进门' })).json<{
      answer: string;
      offerRepair: unknown;
    }>();
    expect(a.answer).toContain('访客二维码');
    expect(a.offerRepair).toBeNull();
    const b = (await post(c.tokens.resident, '/api/faq/ask', { question: '物业费在哪里缴费' })).json<{
      answer: string;
    }>();
    expect(b.answer).toContain('缴费');
  });

  it('an unknown question answers nothing with low confidence; a fault still gets the offer', async () => {
    const a = (await post(c.tokens.resident, '/api/faq/ask', { question: '客厅的灯不亮了' })).json<{
      answer: string | null;
      confidence: number;
      offerRepair: { category: string } | null;
    }>();
    expect(a.answer).toBeNull();
    expect(a.confidence).toBeLessThan(0.35);
    expect(a.offerRepair?.category).toBe('electrical');
  });

  it('a resident cannot edit the FAQ', async () => {
    await refused(
      c.tokens.resident,
      { method: 'POST', url: '/api/faq', payload: { question: 'x', answer: 'y' } },
      403,
      'FORBIDDEN',
    );
  });
});

describe('notification delivery from the outbox', () => {
  it('fans out, retries with backoff after a failure, and never sends a delivery twice', async () => {
    const sent: OutgoingMessage[] = [];
    let failuresLeft = 1;
    const flaky = {
      send: async (m: OutgoingMessage) => {
        if (failuresLeft-- > 0) throw new Error('gateway timeout');
        sent.push(m);
      },
    };
    const adapters: ChannelAdapters = { sms: flaky, email: flaky, push: flaky, log: flaky };
    const t0 = new Date();
    const first = await drainNotifications(c.deps, adapters, t0);
    expect(first.fannedOut).toBeGreaterThan(0);
    expect(first.retried).toBe(1);
    const pending = await c.deps.prisma.notificationDelivery.findFirstOrThrow({ where: { status: 'pending' } });
    expect(pending.nextAttemptAt.getTime()).toBe(t0.getTime() + backoffMs(1));
    // Before the backoff is over nothing is retried; after it, it goes.
    expect((await drainNotifications(c.deps, adapters, new Date(t0.getTime() + 1000))).sent).toBe(0);
    expect((await drainNotifications(c.deps, adapters, new Date(t0.getTime() + backoffMs(1)))).sent).toBe(1);
    const again = await drainNotifications(c.deps, adapters, new Date(t0.getTime() + 3600_000));
    expect(again).toEqual({ fannedOut: 0, sent: 0, retried: 0, failed: 0 });
    const keys = sent.map((m) => m.idempotencyKey);
    expect(new Set(keys).size).toBe(keys.length);
    expect(await c.deps.prisma.notificationDelivery.count({ where: { status: { not: 'sent' } } })).toBe(0);
    expect(
      await c.deps.prisma.outboxEvent.count({ where: { topic: 'notification.requested', processedAt: null } }),
    ).toBe(0);
  });
});
