// Shared by the payment-channel tests (issue 7): keys the test generates, a UnionPay certificate chain made with
// openssl, a cloud configured with every channel, and each provider's signed asynchronous notification built exactly
// as the provider sends it. State (the cloud, the PKI) is per test file: each file calls setupChannels().
import { execFileSync } from 'node:child_process';
import { createCipheriv, createSign, generateKeyPairSync, type KeyObject, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { signContent } from '../src/modules/billing/channels/alipay.js';
import { unionpayDigest } from '../src/modules/billing/channels/unionpay.js';
import { type TestCloud, testCloud } from './helpers/cloud.js';

const rsa = () => generateKeyPairSync('rsa', { modulusLength: 2048 });
const pem = (k: KeyObject) => k.export({ type: k.type === 'private' ? 'pkcs8' : 'spki', format: 'pem' }).toString();
export const merchant = rsa();
export const platform = rsa();
export const forger = rsa();
export const alipayApp = rsa();
export const alipayServer = rsa();
const API_V3_KEY = 'abcdefghijklmnopqrstuvwxyz012345';
const SERIAL = '5157F09EFDC096DE15EBE81A47057A7232F1B8E1';
export const WX = { appid: 'wx8888888888888888', mchid: '1900000109' };
export const ALIPAY_APP = '2021000000000001';
export const MER_ID = '777290058110048';

let dir: string;
export let up: { key: string; root: string; middle: string; leaf: string; rogueLeaf: string; rogueKey: string };
export let c: TestCloud;
export let householdId: string;

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

/** The cloud with every channel configured from keys made here, a fee item and an issued bill run. */
export async function setupChannels(): Promise<void> {
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
}

export async function teardownChannels(): Promise<void> {
  await c?.close();
  rmSync(dir, { recursive: true, force: true });
}

export async function anOrder(channel: string, amountFen = 10_000) {
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
export function wechatNotification(
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
export const notify = (channel: string, n: { headers: Record<string, string>; body: string }) =>
  c.app.inject({ method: 'POST', url: `/api/billing/notify/${channel}`, headers: n.headers, payload: n.body });
export const credited = async (outTradeNo: string) => {
  const order = await c.deps.prisma.paymentOrder.findUniqueOrThrow({ where: { outTradeNo } });
  return c.deps.prisma.payment.count({ where: { orderId: order.id } });
};
export const rejectedFor = (reason: string) =>
  c.deps.prisma.paymentNotification.count({ where: { outcome: 'rejected', reason } });

export function alipayNotification(
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

export function unionpayNotification(
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
