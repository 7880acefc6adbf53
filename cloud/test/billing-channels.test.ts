// Payment channels (issue 7): each provider's signed asynchronous notification built here exactly as the provider
// sends it, with keys the test generates, and pushed through POST /api/billing/notify/:channel. Bad input — forged
// signature, replay, amount or currency mismatch, unknown order — is refused and logged; nothing is credited twice.
// WeChat Pay v3 here; Alipay and UnionPay in billing-channels-alipay-unionpay.test.ts.
import { createVerify, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  anOrder,
  c,
  credited,
  forger,
  householdId,
  merchant,
  notify,
  rejectedFor,
  setupChannels,
  teardownChannels,
  WX,
  wechatNotification,
} from './billing-channels-fixture.js';
import { fingerprint } from './helpers/cloud.js';

beforeAll(setupChannels);
afterAll(teardownChannels);

describe('WeChat Pay v3', () => {
  it('signs the order request WECHATPAY2-SHA256-RSA2048 over method, path, timestamp, nonce and body', async () => {
    const o = await anOrder('wechat');
    const auth = o.request.headers.authorization ?? '';
    const m =
      /^WECHATPAY2-SHA256-RSA2048 mchid="(\d+)",nonce_str="(\w+)",signature="([^"]+)",timestamp="(\d+)",serial_no="(\w+)"$/.exec(
        auth,
      );
    expect(m?.[1]).toBe(WX.mchid);
    const message = `POST\n/v3/pay/transactions/native\n${m?.[4]}\n${m?.[2]}\n${o.request.body}\n`;
    expect(
      createVerify('RSA-SHA256')
        .update(message)
        .verify(merchant.publicKey, m?.[3] ?? '', 'base64'),
    ).toBe(true);
    expect(JSON.parse(o.request.body ?? '')).toMatchObject({
      out_trade_no: o.outTradeNo,
      amount: { total: 10_000, currency: 'CNY' },
    });
  });

  it('credits a verified notification once; a duplicate is acknowledged and credits nothing', async () => {
    const o = await anOrder('wechat');
    const n = wechatNotification({ outTradeNo: o.outTradeNo, total: o.amountFen });
    const res = await notify('wechat', n);
    expect(res.statusCode).toBe(200);
    const again = await notify('wechat', n);
    expect(again.statusCode).toBe(200);
    expect(await credited(o.outTradeNo)).toBe(1);
    const statement = await c.call(c.tokens.resident, {
      method: 'GET',
      url: `/api/billing/households/${householdId}/statement`,
    });
    expect(
      statement.json().payments.filter((p: { amountFen: number }) => p.amountFen === o.amountFen).length,
    ).toBeGreaterThan(0);
  });

  it('refuses a forged signature, a tampered body, a stale (replayed) timestamp, and logs each', async () => {
    const o = await anOrder('wechat');
    const before = await fingerprint(c.deps);
    const forged = await notify(
      'wechat',
      wechatNotification({ outTradeNo: o.outTradeNo, total: o.amountFen }, { key: forger.privateKey }),
    );
    expect(forged.statusCode).toBe(400);
    expect(forged.json()).toEqual({ code: 'FAIL', message: '失败' });
    const tampered = await notify(
      'wechat',
      wechatNotification(
        { outTradeNo: o.outTradeNo, total: o.amountFen },
        { tamper: (b) => b.replace('支付成功', '支付成功 ') },
      ),
    );
    expect(tampered.statusCode).toBe(400);
    const stale = await notify(
      'wechat',
      wechatNotification(
        { outTradeNo: o.outTradeNo, total: o.amountFen },
        { timestamp: Math.floor(Date.now() / 1000) - 3600 },
      ),
    );
    expect(stale.statusCode).toBe(400);
    expect(await credited(o.outTradeNo)).toBe(0);
    expect(await rejectedFor('bad signature')).toBeGreaterThanOrEqual(2);
    expect(await rejectedFor('stale timestamp')).toBe(1);
    expect(
      await c.deps.prisma.auditEntry.count({ where: { action: 'billing.notification', outcome: 'denied' } }),
    ).toBeGreaterThanOrEqual(3);
    const after = await fingerprint(c.deps);
    expect(after.outbox).toBe(before.outbox);
  });

  it('refuses an amount or currency that does not match the order, and an unknown order', async () => {
    const o = await anOrder('wechat');
    expect(
      (await notify('wechat', wechatNotification({ outTradeNo: o.outTradeNo, total: o.amountFen - 1 }))).statusCode,
    ).toBe(400);
    expect(
      (await notify('wechat', wechatNotification({ outTradeNo: o.outTradeNo, total: o.amountFen, currency: 'USD' })))
        .statusCode,
    ).toBe(400);
    expect((await notify('wechat', wechatNotification({ outTradeNo: 'P-NO-SUCH-ORDER', total: 100 }))).statusCode).toBe(
      400,
    );
    expect(await credited(o.outTradeNo)).toBe(0);
    expect(await rejectedFor('amount mismatch')).toBe(1);
    expect(await rejectedFor('currency mismatch')).toBe(1);
    expect(await rejectedFor('unknown order')).toBe(1);
  });

  it('a closed-state notification arriving after the success changes nothing', async () => {
    const o = await anOrder('wechat');
    const txn = `42000${randomBytes(8).toString('hex')}`;
    await notify('wechat', wechatNotification({ outTradeNo: o.outTradeNo, total: o.amountFen, txn }));
    const late = await notify(
      'wechat',
      wechatNotification({ outTradeNo: o.outTradeNo, total: o.amountFen, txn, state: 'CLOSED' }),
    );
    expect(late.statusCode).toBe(200);
    expect(await credited(o.outTradeNo)).toBe(1);
  });
});

// — Alipay —
describe('orders and refunds: bad input', () => {
  it('refuses zero and negative amounts and unknown channels', async () => {
    const before = await c.deps.prisma.paymentOrder.count();
    for (const amountFen of [0, -100, 1.5]) {
      const res = await c.call(c.tokens.resident, {
        method: 'POST',
        url: '/api/billing/orders',
        payload: { channel: 'sandbox', amountFen },
      });
      expect(res.statusCode).toBe(400);
    }
    const res = await c.call(c.tokens.resident, {
      method: 'POST',
      url: '/api/billing/orders',
      payload: { channel: 'paypal', amountFen: 100 },
    });
    expect(res.statusCode).toBe(400);
    const p = await c.deps.prisma.payment.findFirstOrThrow();
    for (const amountFen of [0, -1]) {
      const r = await c.call(c.tokens.staff, {
        method: 'POST',
        url: `/api/billing/payments/${p.id}/refunds`,
        payload: { amountFen, reason: 'x' },
      });
      expect(r.statusCode).toBe(400);
    }
    expect(await c.deps.prisma.paymentOrder.count()).toBe(before);
    expect(await c.deps.prisma.refund.count()).toBe(0);
  });

  it('a refund above what was paid is refused and logged; the WeChat refund request is signed', async () => {
    const p = await c.deps.prisma.payment.findFirstOrThrow({ where: { channel: 'wechat' } });
    const over = await c.call(c.tokens.staff, {
      method: 'POST',
      url: `/api/billing/payments/${p.id}/refunds`,
      payload: { amountFen: Number(p.amountFen) + 1, reason: '退款' },
    });
    expect(over.statusCode).toBe(400);
    expect(await c.deps.prisma.auditEntry.count({ where: { action: 'billing.refund', outcome: 'denied' } })).toBe(1);
    const ok = await c.call(c.tokens.staff, {
      method: 'POST',
      url: `/api/billing/payments/${p.id}/refunds`,
      payload: { amountFen: 100, reason: '退款' },
    });
    expect(ok.statusCode, ok.body).toBe(201);
    expect(ok.json().status).toBe('requested');
    expect(JSON.parse(ok.json().request.body)).toMatchObject({
      transaction_id: p.channelTxnId,
      amount: { refund: 100, total: Number(p.amountFen), currency: 'CNY' },
    });
  });
});

describe('authorisation', () => {
  it('residents see only their household; staff only their estate', async () => {
    const own = await c.call(c.tokens.resident, { method: 'GET', url: '/api/billing/bills' });
    expect(own.json().items.every((b: { householdId: string }) => b.householdId === householdId)).toBe(true);
    const other = await c.deps.prisma.bill.findFirstOrThrow({
      where: { householdId: c.world.otherHousehold.householdId },
    });
    expect((await c.call(c.tokens.resident, { method: 'GET', url: `/api/billing/bills/${other.id}` })).statusCode).toBe(
      404,
    );
    expect(
      (
        await c.call(c.tokens.resident, {
          method: 'GET',
          url: `/api/billing/households/${c.world.otherHousehold.householdId}/statement`,
        })
      ).statusCode,
    ).toBe(404);
    const order = await c.call(c.tokens.resident, {
      method: 'POST',
      url: '/api/billing/orders',
      payload: { channel: 'sandbox', householdId: c.world.otherHousehold.householdId, amountFen: 100 },
    });
    expect(order.statusCode).toBe(404);
    expect(
      (
        await c.call(c.tokens.resident, {
          method: 'POST',
          url: `/api/billing/estates/${c.world.estateA}/runs`,
          payload: { period: '2025-04' },
        })
      ).statusCode,
    ).toBe(403);
    expect((await c.call(c.tokens.technician, { method: 'GET', url: '/api/billing/bills' })).statusCode).toBe(403);
    expect((await c.call(c.tokens.staffB, { method: 'GET', url: `/api/billing/bills/${other.id}` })).statusCode).toBe(
      404,
    );
    expect(
      (
        await c.call(c.tokens.staffB, {
          method: 'POST',
          url: `/api/billing/estates/${c.world.estateA}/runs`,
          payload: { period: '2025-04' },
        })
      ).statusCode,
    ).toBe(404);
    expect(
      (
        await c.call(c.tokens.staffB, {
          method: 'GET',
          url: `/api/billing/figures?period=2025-03&estateId=${c.world.estateA}`,
        })
      ).statusCode,
    ).toBe(404);
    const payment = await c.deps.prisma.payment.findFirstOrThrow();
    expect(
      (await c.call(c.tokens.staffB, { method: 'GET', url: `/api/billing/payments/${payment.id}/receipt` })).statusCode,
    ).toBe(404);
  });
});
