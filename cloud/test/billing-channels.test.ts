// Payment channels (issue 7): each provider's signed asynchronous notification built here exactly as the provider
// sends it, with keys the test generates, and pushed through POST /api/billing/notify/:channel. Bad input — forged
// signature, replay, amount or currency mismatch, unknown order — is refused and logged; nothing is credited twice.
import { execFileSync } from 'node:child_process';
import {
  createCipheriv,
  createHash,
  createSign,
  createVerify,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  X509Certificate,
} from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signContent } from '../src/modules/billing/channels/alipay.js';
import { unionpayDigest } from '../src/modules/billing/channels/unionpay.js';
import { fingerprint, type TestCloud, testCloud } from './helpers/cloud.js';

const rsa = () => generateKeyPairSync('rsa', { modulusLength: 2048 });
const pem = (k: KeyObject) => k.export({ type: k.type === 'private' ? 'pkcs8' : 'spki', format: 'pem' }).toString();
const merchant = rsa();
const platform = rsa();
const forger = rsa();
const alipayApp = rsa();
const alipayServer = rsa();
const API_V3_KEY = 'abcdefghijklmnopqrstuvwxyz012345';
const SERIAL = '5157F09EFDC096DE15EBE81A47057A7232F1B8E1';
const WX = { appid: 'wx8888888888888888', mchid: '1900000109' };
const ALIPAY_APP = '2021000000000001';
const MER_ID = '777290058110048';

let dir: string;
let up: { key: string; root: string; middle: string; leaf: string; rogueLeaf: string; rogueKey: string };
let c: TestCloud;
let householdId: string;

function openssl(...args: string[]) {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}
/** A UnionPay-like PKI: root → middle → signing certificate whose CN names 中国银联股份有限公司; and a rogue self-made one. */
function unionpayPki() {
  writeFileSync(join(dir, 'ca.ext'), 'basicConstraints=critical,CA:TRUE\nkeyUsage=keyCertSign,cRLSign\n');
  openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'root.key',
    '-out',
    'root.pem',
    '-days',
    '30',
    '-subj',
    '/CN=Test UnionPay Root',
  );
  openssl(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'mid.key',
    '-out',
    'mid.csr',
    '-subj',
    '/CN=Test UnionPay Middle',
  );
  openssl(
    'x509',
    '-req',
    '-in',
    'mid.csr',
    '-CA',
    'root.pem',
    '-CAkey',
    'root.key',
    '-CAcreateserial',
    '-out',
    'mid.pem',
    '-days',
    '30',
    '-extfile',
    'ca.ext',
  );
  const subj = '/CN=041@8310000000000001@中国银联股份有限公司@00000001';
  openssl('req', '-utf8', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', subj);
  openssl(
    'x509',
    '-req',
    '-in',
    'leaf.csr',
    '-CA',
    'mid.pem',
    '-CAkey',
    'mid.key',
    '-CAcreateserial',
    '-out',
    'leaf.pem',
    '-days',
    '30',
  );
  openssl(
    'req',
    '-utf8',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'rogue.key',
    '-out',
    'rogue.pem',
    '-days',
    '30',
    '-subj',
    subj,
  );
  const r = (f: string) => readFileSync(join(dir, f), 'utf8');
  return {
    key: r('leaf.key'),
    root: r('root.pem'),
    middle: r('mid.pem'),
    leaf: r('leaf.pem'),
    rogueLeaf: r('rogue.pem'),
    rogueKey: r('rogue.key'),
  };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'estate-pay-'));
  up = unionpayPki();
  writeFileSync(
    join(dir, 'payments.json'),
    JSON.stringify({
      notifyBaseUrl: 'https://estate.example.com',
      wechat: {
        appId: WX.appid,
        mchId: WX.mchid,
        merchantSerialNo: 'MERCHANTSERIAL',
        merchantPrivateKey: pem(merchant.privateKey),
        apiV3Key: API_V3_KEY,
        platformPublicKeys: { [SERIAL]: pem(platform.publicKey) },
      },
      alipay: {
        appId: ALIPAY_APP,
        privateKey: pem(alipayApp.privateKey),
        alipayPublicKey: pem(alipayServer.publicKey),
      },
      unionpay: {
        merId: MER_ID,
        certId: '69629715588',
        privateKey: pem(merchant.privateKey),
        rootCert: 'root.pem',
        middleCert: 'mid.pem',
      },
    }),
  );
  c = await testCloud({ ESTATE_CLOUD_DATA_DIR: dir });
  householdId = c.world.own.householdId;
  const f = await c.call(c.tokens.staff, {
    method: 'POST',
    url: `/api/billing/estates/${c.world.estateA}/fee-items`,
    payload: { code: 'PROP', name: '物业费', kind: 'property', cycle: 'monthly', rateCentiFen: 23_500 },
  });
  expect(f.statusCode).toBe(201);
  await c.call(c.tokens.staff, {
    method: 'POST',
    url: `/api/billing/estates/${c.world.estateA}/runs`,
    payload: { period: '2025-03' },
  });
});
afterAll(async () => {
  await c?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function anOrder(channel: string, amountFen = 10_000) {
  const res = await c.call(c.tokens.resident, {
    method: 'POST',
    url: '/api/billing/orders',
    payload: { channel, amountFen },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json<{
    id: string;
    outTradeNo: string;
    amountFen: number;
    request: { url: string; headers: Record<string, string>; body?: string; form?: Record<string, string> };
  }>();
}

// — WeChat Pay v3 —
function wechatNotification(
  o: { outTradeNo: string; total: number; currency?: string; txn?: string; state?: string },
  opts: { key?: KeyObject; timestamp?: number; tamper?: (body: string) => string } = {},
) {
  const tx = {
    ...WX,
    out_trade_no: o.outTradeNo,
    transaction_id: o.txn ?? `42000${randomBytes(8).toString('hex')}`,
    trade_type: 'NATIVE',
    trade_state: o.state ?? 'SUCCESS',
    trade_state_desc: '支付成功',
    bank_type: 'OTHERS',
    success_time: '2025-03-20T10:00:00+08:00',
    payer: { openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o' },
    amount: { total: o.total, payer_total: o.total, currency: o.currency ?? 'CNY', payer_currency: 'CNY' },
  };
  const nonce = randomBytes(6).toString('hex');
  const aad = 'transaction';
  const cipher = createCipheriv('aes-256-gcm', Buffer.from(API_V3_KEY), Buffer.from(nonce));
  cipher.setAAD(Buffer.from(aad));
  const ciphertext = Buffer.concat([cipher.update(JSON.stringify(tx)), cipher.final(), cipher.getAuthTag()]).toString(
    'base64',
  );
  let body = JSON.stringify({
    id: randomBytes(16).toString('hex'),
    create_time: '2025-03-20T10:00:01+08:00',
    resource_type: 'encrypt-resource',
    event_type: o.state && o.state !== 'SUCCESS' ? 'TRANSACTION.CLOSED' : 'TRANSACTION.SUCCESS',
    summary: '支付成功',
    resource: { original_type: 'transaction', algorithm: 'AEAD_AES_256_GCM', ciphertext, associated_data: aad, nonce },
  });
  const timestamp = String(opts.timestamp ?? Math.floor(Date.now() / 1000));
  const headerNonce = randomBytes(16).toString('hex');
  const signature = createSign('RSA-SHA256')
    .update(`${timestamp}\n${headerNonce}\n${body}\n`)
    .sign(opts.key ?? platform.privateKey, 'base64');
  if (opts.tamper) body = opts.tamper(body);
  return {
    headers: {
      'content-type': 'application/json',
      'wechatpay-timestamp': timestamp,
      'wechatpay-nonce': headerNonce,
      'wechatpay-signature': signature,
      'wechatpay-serial': SERIAL,
    },
    body,
  };
}
const notify = (channel: string, n: { headers: Record<string, string>; body: string }) =>
  c.app.inject({ method: 'POST', url: `/api/billing/notify/${channel}`, headers: n.headers, payload: n.body });
const credited = async (outTradeNo: string) => {
  const order = await c.deps.prisma.paymentOrder.findUniqueOrThrow({ where: { outTradeNo } });
  return c.deps.prisma.payment.count({ where: { orderId: order.id } });
};
const rejectedFor = (reason: string) =>
  c.deps.prisma.paymentNotification.count({ where: { outcome: 'rejected', reason } });

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
function alipayNotification(
  o: { outTradeNo: string; total: string; status?: string; tradeNo?: string },
  key = alipayServer.privateKey,
) {
  const params: Record<string, string> = {
    gmt_create: '2025-03-20 10:00:00',
    charset: 'utf-8',
    seller_email: 'estate@example.com',
    subject: '物业缴费',
    buyer_id: '2088102122524333',
    invoice_amount: o.total,
    notify_id: randomBytes(12).toString('hex'),
    fund_bill_list: `[{"amount":"${o.total}","fundChannel":"ALIPAYACCOUNT"}]`,
    notify_type: 'trade_status_sync',
    trade_status: o.status ?? 'TRADE_SUCCESS',
    receipt_amount: o.total,
    app_id: ALIPAY_APP,
    buyer_pay_amount: o.total,
    seller_id: '2088102119685838',
    gmt_payment: '2025-03-20 10:00:05',
    notify_time: '2025-03-20 10:00:06',
    version: '1.0',
    out_trade_no: o.outTradeNo,
    total_amount: o.total,
    trade_no: o.tradeNo ?? `2025032022001${randomBytes(6).toString('hex')}`,
    auth_app_id: ALIPAY_APP,
    point_amount: '0.00',
  };
  const sign = createSign('RSA-SHA256')
    .update(signContent(params, ['sign', 'sign_type']), 'utf8')
    .sign(key, 'base64');
  const body = new URLSearchParams({ ...params, sign_type: 'RSA2', sign }).toString();
  return { headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' }, body };
}

describe('Alipay (RSA2)', () => {
  it('signs the request over the sorted parameters with the app key', async () => {
    const o = await anOrder('alipay', 12_345);
    const form = o.request.form ?? {};
    expect(form.method).toBe('alipay.trade.precreate');
    expect(JSON.parse(form.biz_content ?? '')).toMatchObject({ out_trade_no: o.outTradeNo, total_amount: '123.45' });
    const ok = createVerify('RSA-SHA256')
      .update(signContent(form, ['sign']), 'utf8')
      .verify(alipayApp.publicKey, form.sign ?? '', 'base64');
    expect(ok).toBe(true);
  });

  it('credits TRADE_SUCCESS once; TRADE_FINISHED for the same trade (before or after) does not credit again', async () => {
    const o = await anOrder('alipay', 12_345);
    const tradeNo = '2025032022001400001';
    const finished = await notify(
      'alipay',
      alipayNotification({ outTradeNo: o.outTradeNo, total: '123.45', status: 'TRADE_FINISHED', tradeNo }),
    );
    expect(finished.body).toBe('success');
    const success = await notify('alipay', alipayNotification({ outTradeNo: o.outTradeNo, total: '123.45', tradeNo }));
    expect(success.body).toBe('success');
    expect(await credited(o.outTradeNo)).toBe(1);
  });

  it('refuses a forged signature and a changed amount', async () => {
    const o = await anOrder('alipay', 5_000);
    const forged = await notify(
      'alipay',
      alipayNotification({ outTradeNo: o.outTradeNo, total: '50.00' }, forger.privateKey),
    );
    expect(forged.body).toBe('failure');
    const n = alipayNotification({ outTradeNo: o.outTradeNo, total: '50.00' });
    const changed = await notify('alipay', {
      ...n,
      body: n.body.replace('total_amount=50.00', 'total_amount=5000.00'),
    });
    expect(changed.body).toBe('failure');
    const mismatch = await notify('alipay', alipayNotification({ outTradeNo: o.outTradeNo, total: '0.01' }));
    expect(mismatch.body).toBe('failure');
    expect(await credited(o.outTradeNo)).toBe(0);
  });
});

// — UnionPay ACP 5.1.0 —
function unionpayNotification(
  o: { orderId: string; txnAmt: string; currencyCode?: string },
  signer = { cert: up.leaf, key: up.key },
) {
  const params: Record<string, string> = {
    accessType: '0',
    bizType: '000201',
    currencyCode: o.currencyCode ?? '156',
    encoding: 'UTF-8',
    merId: MER_ID,
    orderId: o.orderId,
    queryId: `7520032010${randomBytes(5).toString('hex')}`,
    respCode: '00',
    respMsg: 'success',
    settleAmt: o.txnAmt,
    settleCurrencyCode: '156',
    settleDate: '0320',
    signMethod: '01',
    signPubKeyCert: signer.cert,
    traceNo: '123456',
    traceTime: '0320100005',
    txnAmt: o.txnAmt,
    txnSubType: '01',
    txnTime: '20250320100000',
    txnType: '01',
    version: '5.1.0',
  };
  const signature = createSign('RSA-SHA256').update(unionpayDigest(params), 'utf8').sign(signer.key, 'base64');
  return {
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ ...params, signature }).toString(),
  };
}

describe('UnionPay (ACP 5.1.0, SHA-256 + RSA, certificate chain)', () => {
  it('signs the request as sha256-hex then SHA256withRSA', async () => {
    const o = await anOrder('unionpay', 8_800);
    const form = o.request.form ?? {};
    expect(form).toMatchObject({
      txnAmt: '8800',
      currencyCode: '156',
      orderId: o.outTradeNo,
      signMethod: '01',
      version: '5.1.0',
    });
    const digest = createHash('sha256')
      .update(
        Object.keys(form)
          .filter((k) => k !== 'signature')
          .sort()
          .map((k) => `${k}=${form[k]}`)
          .join('&'),
      )
      .digest('hex');
    expect(
      createVerify('RSA-SHA256')
        .update(digest)
        .verify(merchant.publicKey, form.signature ?? '', 'base64'),
    ).toBe(true);
  });

  it('credits a notification signed by a certificate chaining to the root; refuses a self-made certificate', async () => {
    expect(new X509Certificate(up.leaf).subject).toContain('中国银联股份有限公司');
    const o = await anOrder('unionpay', 8_800);
    const rogue = await notify(
      'unionpay',
      unionpayNotification({ orderId: o.outTradeNo, txnAmt: '8800' }, { cert: up.rogueLeaf, key: up.rogueKey }),
    );
    expect(rogue.statusCode).toBe(400);
    const wrongCurrency = await notify(
      'unionpay',
      unionpayNotification({ orderId: o.outTradeNo, txnAmt: '8800', currencyCode: '840' }),
    );
    expect(wrongCurrency.statusCode).toBe(400);
    const good = unionpayNotification({ orderId: o.outTradeNo, txnAmt: '8800' });
    expect((await notify('unionpay', good)).statusCode).toBe(200);
    expect((await notify('unionpay', good)).statusCode).toBe(200);
    expect(await credited(o.outTradeNo)).toBe(1);
    expect(await rejectedFor('signing certificate not issued by UnionPay')).toBe(1);
  });
});

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
