// Billing (issue 7): fee items, idempotent bill runs with their basis, immutability and notes, sandbox payments,
// partial / over payment, refunds, overdue handling and figures — through the API on a real database.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestCloud, testCloud } from './helpers/cloud.js';

let c: TestCloud;
const P1 = '2025-02';
const P2 = '2025-03';
const items: Record<string, string> = {};

interface BillBody {
  id: string;
  number: string;
  householdId: string;
  totalFen: number;
  paidFen: number;
  outstandingFen: number;
  status: string;
  items: { kind: string; basisText: string; basis: Record<string, unknown>; amountFen: number }[];
}

const api = async (
  token: string,
  method: 'GET' | 'POST' | 'PUT' | 'PATCH',
  url: string,
  payload?: object,
  status = 200,
) => {
  const res = await c.call(token, { method, url, ...(payload ? { payload } : {}) });
  expect(res.statusCode, `${method} ${url}: ${res.body}`).toBe(status);
  return res.json();
};
const staff = (method: 'GET' | 'POST' | 'PUT' | 'PATCH', url: string, payload?: object, status = 200) =>
  api(c.tokens.staff, method, url, payload, status);

async function aFeeItem(body: object) {
  const f = await staff('POST', `/api/billing/estates/${c.world.estateA}/fee-items`, body, 201);
  items[f.code] = f.id;
  return f;
}
const billOf = async (householdId: string, period: string): Promise<BillBody> => {
  const page = await staff('GET', `/api/billing/bills?householdId=${householdId}&period=${period}`);
  const first = page.items.find((b: BillBody & { kind: string }) => b.kind === 'bill');
  return staff('GET', `/api/billing/bills/${first.id}`);
};

beforeAll(async () => {
  c = await testCloud();
  await aFeeItem({ code: 'PROP', name: '物业费', kind: 'property', cycle: 'monthly', rateCentiFen: 23_500 });
  await aFeeItem({ code: 'WATER', name: '水费', kind: 'water', cycle: 'monthly', rateCentiFen: 34_500 });
  await aFeeItem({ code: 'ELEC', name: '电费', kind: 'electricity', cycle: 'monthly', rateCentiFen: 4_883 });
  await aFeeItem({ code: 'ONCE', name: '装修垃圾清运费', kind: 'one_off', cycle: 'once', rateCentiFen: 0 });
  await aFeeItem({ code: 'EV', name: '充电费', kind: 'ev_charging', cycle: 'once', rateCentiFen: 0 });
  await staff('PUT', `/api/billing/estates/${c.world.estateA}/settings`, { dueDays: 10, lateFeeBpsPerDay: 5 });
});
afterAll(() => c?.close());

describe('bill runs', () => {
  it('issues one bill per household with each line’s basis, and a second run creates nothing', async () => {
    const own = c.world.own.householdId;
    await staff(
      'POST',
      `/api/billing/estates/${c.world.estateA}/readings`,
      {
        readings: [
          { householdId: own, meter: 'water', period: P1, readingMilli: 100_000 },
          { householdId: own, meter: 'water', period: P2, readingMilli: 112_500 },
          { householdId: own, meter: 'electricity', period: P1, readingMilli: 1_000_000 },
        ],
      },
      201,
    );
    await staff(
      'POST',
      `/api/billing/estates/${c.world.estateA}/readings/import`,
      {
        csv: `household_id,meter,period,reading\n${own},electricity,${P2},1123.4`,
      },
      201,
    );
    await staff(
      'POST',
      `/api/billing/households/${own}/charges`,
      {
        feeItemId: items.EV,
        description: '充电 2025-03-05 12.4 kWh',
        amountFen: 1_860,
        sourceRef: 'session-1',
      },
      201,
    );
    const outboxBefore = await c.deps.prisma.outboxEvent.count({ where: { topic: 'bill.issued' } });
    const first = await staff('POST', `/api/billing/estates/${c.world.estateA}/runs`, { period: P2 });
    const households = await c.deps.prisma.household.count({ where: { estateId: c.world.estateA, status: 'active' } });
    expect(first.billsCreated).toBe(households);
    const again = await staff('POST', `/api/billing/estates/${c.world.estateA}/runs`, { period: P2 });
    expect(again.billsCreated).toBe(0);
    expect(await c.deps.prisma.bill.count({ where: { estateId: c.world.estateA, period: P2, kind: 'bill' } })).toBe(
      households,
    );
    expect(await c.deps.prisma.outboxEvent.count({ where: { topic: 'bill.issued' } })).toBe(outboxBefore + households);

    const unit = await c.deps.prisma.household.findUniqueOrThrow({ where: { id: own }, include: { unit: true } });
    const bill = await billOf(own, P2);
    const prop = bill.items.find((i) => i.kind === 'property');
    const area = unit.unit.areaCentiSqm;
    expect(prop?.amountFen).toBe(Math.round((area * 23_500) / 10_000));
    expect(prop?.basisText).toContain(`${(area / 100).toFixed(2)} m² × ¥2.3500/m²·月`);
    expect(bill.items.find((i) => i.kind === 'water')).toMatchObject({
      amountFen: 4_313, // 12.5 m³ × ¥3.45 = ¥43.125 → ¥43.13
      basis: { previous: '100.000', current: '112.500', usage: '12.500' },
    });
    // 123.4 kWh × ¥0.4883 = ¥60.25622 → ¥60.26
    expect(bill.items.find((i) => i.kind === 'electricity')?.amountFen).toBe(6_026);
    expect(bill.items.find((i) => i.kind === 'ev_charging')?.amountFen).toBe(1_860);
    expect(bill.totalFen).toBe(bill.items.reduce((s, i) => s + i.amountFen, 0));
    expect(await c.deps.prisma.auditEntry.count({ where: { action: 'billing.run', outcome: 'allowed' } })).toBe(2);
  });

  it('prorates a household that moved in mid-month', async () => {
    const unit = await c.deps.prisma.unit.findFirstOrThrow({
      where: { estateId: c.world.estateA, households: { none: {} } },
    });
    const h = await staff(
      'POST',
      '/api/households',
      {
        unitId: unit.id,
        movedInAt: '2025-03-16T02:00:00.000Z',
        members: [{ name: '新住户', relation: 'owner' }],
      },
      201,
    );
    const run = await staff('POST', `/api/billing/estates/${c.world.estateA}/runs`, { period: P2 });
    expect(run.billsCreated).toBe(1);
    const bill = await billOf(h.id, P2);
    const prop = bill.items.find((i) => i.kind === 'property');
    expect(prop?.basis).toMatchObject({ daysBilled: 16, daysInCycle: 31 });
    expect(prop?.amountFen).toBe(Math.round((unit.areaCentiSqm * 23_500 * 16) / (10_000 * 31)));
  });

  it('applies a discount to a quarterly item billed for three months', async () => {
    const q = await aFeeItem({
      code: 'PARKQ',
      name: '车位管理费(季)',
      kind: 'parking',
      cycle: 'quarterly',
      rateCentiFen: 1_500_000,
    });
    await staff(
      'POST',
      `/api/billing/estates/${c.world.estateA}/discounts`,
      { name: '预缴季度 95 折', feeItemId: q.id, minMonths: 3, percentBps: 500 },
      201,
    );
    const withCar = await c.deps.prisma.vehicle.findFirst({
      where: { estateId: c.world.estateA, parkingSpace: { not: null } },
    });
    await staff('POST', `/api/billing/estates/${c.world.estateA}/runs`, { period: '2025-04' });
    if (!withCar) return;
    const bill = await billOf(withCar.householdId, '2025-04');
    const park = bill.items.find((i) => i.kind === 'parking');
    const disc = bill.items.find((i) => i.kind === 'discount');
    expect(park?.basis).toMatchObject({ months: 3 });
    expect(disc?.amountFen).toBe(-Math.round((park?.amountFen ?? 0) * 0.05));
  });

  it('keeps issued bills immutable: the database refuses edits, corrections are notes', async () => {
    const bill = await billOf(c.world.otherHousehold.householdId, P2);
    await expect(c.deps.driver.query('UPDATE bills SET total_fen = 1 WHERE id = $1', [bill.id])).rejects.toThrow(
      /immutable/,
    );
    await expect(c.deps.driver.query('DELETE FROM bill_items WHERE bill_id = $1', [bill.id])).rejects.toThrow(
      /immutable/,
    );
    const note = await staff(
      'POST',
      `/api/billing/bills/${bill.id}/credit-notes`,
      { amountFen: 100, reason: '面积更正' },
      201,
    );
    expect(note).toMatchObject({ kind: 'credit_note', totalFen: -100, correctsBillId: bill.id });
    expect((await billOf(c.world.otherHousehold.householdId, P2)).outstandingFen).toBe(bill.outstandingFen - 100);
    const debit = await staff(
      'POST',
      `/api/billing/bills/${bill.id}/debit-notes`,
      { amountFen: 250, reason: '补收' },
      201,
    );
    expect(debit).toMatchObject({ kind: 'debit_note', totalFen: 250, status: 'unpaid' });
  });

  it('refuses a bill run for a closed period, and logs the refusal', async () => {
    await staff('POST', `/api/billing/estates/${c.world.estateA}/periods/2025-01/close`);
    const before = await c.deps.prisma.bill.count();
    const res = await c.call(c.tokens.staff, {
      method: 'POST',
      url: `/api/billing/estates/${c.world.estateA}/runs`,
      payload: { period: '2025-01' },
    });
    expect(res.statusCode).toBe(409);
    expect(await c.deps.prisma.bill.count()).toBe(before);
    expect(await c.deps.prisma.auditEntry.count({ where: { action: 'billing.run', outcome: 'denied' } })).toBe(1);
  });
});

describe('paying', () => {
  it('a resident pays their own bill through the sandbox and gets a receipt', async () => {
    const bill = await billOf(c.world.own.householdId, P2);
    const order = await api(
      c.tokens.resident,
      'POST',
      '/api/billing/orders',
      { channel: 'sandbox', billIds: [bill.id] },
      201,
    );
    expect(order.amountFen).toBe(bill.outstandingFen);
    const paid = await api(c.tokens.resident, 'POST', `/api/billing/sandbox/orders/${order.id}/pay`);
    expect(paid.outcome).toBe('credited');
    expect((await billOf(c.world.own.householdId, P2)).status).toBe('paid');
    const receipt = await c.call(c.tokens.resident, {
      method: 'GET',
      url: `/api/billing/payments/${paid.payment.id}/receipt`,
    });
    expect(receipt.statusCode).toBe(200);
    expect(receipt.headers['content-type']).toContain('text/html');
    expect(receipt.body).toContain(bill.number);
    // Paying the same order twice credits nothing more.
    const again = await c.call(c.tokens.resident, {
      method: 'POST',
      url: `/api/billing/sandbox/orders/${order.id}/pay`,
    });
    expect(again.json().payment.id).toBe(paid.payment.id);
    expect(await c.deps.prisma.payment.count({ where: { orderId: order.id } })).toBe(1);
  });

  it('takes partial payments and keeps an overpayment as household credit for the next bill', async () => {
    const hid = c.world.otherHousehold.householdId;
    const bill = await billOf(hid, P2);
    const part = await staff(
      'POST',
      '/api/billing/orders',
      { channel: 'sandbox', householdId: hid, billIds: [bill.id], amountFen: 1_000 },
      201,
    );
    await staff('POST', `/api/billing/sandbox/orders/${part.id}/pay`);
    // The credit note of the immutability test already took 100 off this bill.
    expect(await billOf(hid, P2)).toMatchObject({
      status: 'partially_paid',
      outstandingFen: bill.outstandingFen - 1_000,
    });
    const st = await staff('GET', `/api/billing/households/${hid}/statement`);
    const over = await staff(
      'POST',
      '/api/billing/orders',
      { channel: 'sandbox', householdId: hid, amountFen: st.outstandingFen + 5_000 },
      201,
    );
    await staff('POST', `/api/billing/sandbox/orders/${over.id}/pay`);
    const after = await staff('GET', `/api/billing/households/${hid}/statement`);
    expect(after.outstandingFen).toBe(0);
    expect(after.creditFen).toBe(5_000);
    await staff('POST', `/api/billing/estates/${c.world.estateA}/runs`, { period: '2025-05' });
    const may = await billOf(hid, '2025-05');
    expect(may.paidFen).toBe(Math.min(5_000, may.totalFen));
  });

  it('refunds never more than was paid, reopening what the payment had paid', async () => {
    const hid = c.world.own.householdId;
    const payment = await c.deps.prisma.payment.findFirstOrThrow({ where: { householdId: hid } });
    const amount = Number(payment.amountFen);
    const before = await c.deps.prisma.bill.aggregate({ _sum: { paidFen: true }, where: { householdId: hid } });
    const tooMuch = await c.call(c.tokens.staff, {
      method: 'POST',
      url: `/api/billing/payments/${payment.id}/refunds`,
      payload: { amountFen: amount + 1, reason: '退款' },
    });
    expect(tooMuch.statusCode).toBe(400);
    expect(await c.deps.prisma.refund.count()).toBe(0);
    const r = await staff(
      'POST',
      `/api/billing/payments/${payment.id}/refunds`,
      { amountFen: 500, reason: '多收退还' },
      201,
    );
    expect(r).toMatchObject({ amountFen: 500, status: 'succeeded' });
    const after = await c.deps.prisma.bill.aggregate({ _sum: { paidFen: true }, where: { householdId: hid } });
    expect(Number(after._sum.paidFen) + 500).toBe(Number(before._sum.paidFen));
    const rest = await c.call(c.tokens.staff, {
      method: 'POST',
      url: `/api/billing/payments/${payment.id}/refunds`,
      payload: { amountFen: amount - 499, reason: '退款' },
    });
    expect(rest.statusCode).toBe(400);
  });

  it('reconciles a statement, listing every mismatch', async () => {
    const payments = await c.deps.prisma.payment.findMany({
      where: { channel: 'sandbox' },
      orderBy: { paidAt: 'asc' },
    });
    const [a, b, ...others] = payments;
    if (!a || !b) throw new Error('expected payments');
    const refund = await c.deps.prisma.refund.findFirstOrThrow();
    const statement = [
      'channel_txn_id,out_trade_no,type,amount_fen,refund_no',
      `${a.channelTxnId},x,payment,${a.amountFen}`,
      `${b.channelTxnId},x,payment,${Number(b.amountFen) + 1}`,
      'SBXUNKNOWN,y,payment,999',
      `${refund.outRefundNo.replace('R', 'X')},x,refund,500,NOPE`,
      `${a.channelTxnId},x,refund,${refund.amountFen},${refund.outRefundNo}`,
    ].join('\n');
    const today = new Date(Date.now() + 2 * 86_400_000).toISOString().slice(0, 10); // Beijing is ahead of UTC
    const res = await staff('POST', '/api/billing/reconciliations', {
      channel: 'sandbox',
      statement,
      from: '2025-01-01',
      to: today,
    });
    const kinds = res.mismatches.map((m: { kind: string }) => m.kind).sort();
    expect(kinds).toEqual(
      ['amount_differs', 'missing_here', 'refund_missing_here', ...others.map(() => 'missing_in_statement')].sort(),
    );
    expect(res.matched).toBe(2);
  });
});

describe('overdue', () => {
  it('charges late fees by the estate rule once, opens a follow-up after two unpaid months, records contacts', async () => {
    const hid = c.world.otherEstate.householdId; // estate B: never paid
    const staffB = c.tokens.staffB;
    await api(
      staffB,
      'POST',
      `/api/billing/estates/${c.world.estateB}/fee-items`,
      { code: 'PROP', name: '物业费', kind: 'property', cycle: 'monthly', rateCentiFen: 20_000 },
      201,
    );
    await api(staffB, 'POST', `/api/billing/estates/${c.world.estateB}/runs`, { period: P1 });
    await api(staffB, 'POST', `/api/billing/estates/${c.world.estateB}/runs`, { period: P2 });
    const asOf = '2025-04-20';
    const first = await api(staffB, 'POST', `/api/billing/estates/${c.world.estateB}/overdue-runs`, { asOf });
    expect(first.lateFees).toBeGreaterThan(0);
    expect(first.followUps).toBeGreaterThan(0);
    const again = await api(staffB, 'POST', `/api/billing/estates/${c.world.estateB}/overdue-runs`, { asOf });
    expect(again).toMatchObject({ lateFees: 0, followUps: 0, reminders: 0 });
    const feb = await api(staffB, 'GET', `/api/billing/bills?householdId=${hid}&period=${P1}`);
    const note = feb.items.find((b: { kind: string }) => b.kind === 'debit_note');
    const bill = feb.items.find((b: { kind: string }) => b.kind === 'bill');
    // due 2025-02-16 (15 days default), 63 days late at 5‱ per day
    expect(note.totalFen).toBe(Math.round((bill.totalFen * 5 * 63) / 10_000));
    const list = await api(staffB, 'GET', '/api/billing/follow-ups?status=open');
    const f = list.find((x: { householdId: string }) => x.householdId === hid);
    expect(f.periods).toEqual([P1, P2]);
    await api(
      staffB,
      'POST',
      `/api/billing/follow-ups/${f.id}/contacts`,
      { method: 'phone', outcome: 'promised', promisedOn: '2025-04-30', note: '月底缴清' },
      201,
    );
    const bad = await c.call(staffB, {
      method: 'POST',
      url: `/api/billing/follow-ups/${f.id}/contacts`,
      payload: { method: 'phone', outcome: 'promised' },
    });
    expect(bad.statusCode).toBe(400);
    // staff of estate A cannot see or touch it
    expect(
      (
        await c.call(c.tokens.staff, {
          method: 'POST',
          url: `/api/billing/follow-ups/${f.id}/contacts`,
          payload: { method: 'visit', outcome: 'reached' },
        })
      ).statusCode,
    ).toBe(404);
  });

  it('reports collection rate, overdue rate and aging per estate and building', async () => {
    const rows = await staff('GET', `/api/billing/figures?period=${P2}&asOf=2025-06-30`);
    expect(rows).toHaveLength(1);
    const [r] = rows;
    expect(r.estateId).toBe(c.world.estateA);
    expect(r.collectionRate).toBeGreaterThan(0);
    expect(r.collectionRate).toBeLessThanOrEqual(1);
    expect(r.overdueFen).toBeLessThan(r.billedFen);
    const byBuilding = await staff('GET', `/api/billing/figures?period=${P2}&asOf=2025-06-30&by=building`);
    expect(byBuilding.reduce((s: number, x: { billedFen: number }) => s + x.billedFen, 0)).toBe(r.billedFen);
    const b = await api(c.tokens.staffB, 'GET', `/api/billing/figures?period=${P1}&asOf=2025-06-30`);
    expect(b[0].aging.d90_plus + b[0].aging.d61_90 + b[0].aging.d31_60).toBeGreaterThan(0);
    expect(b[0].overdueRate).toBe(1);
  });
});
