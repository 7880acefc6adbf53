// WeChat Pay API v3 (微信支付 APIv3): requests signed WECHATPAY2-SHA256-RSA2048 with the merchant key; notifications
// verified against the platform key named by Wechatpay-Serial over "timestamp\nnonce\nbody\n" (SHA256withRSA), then
// the resource decrypted with AEAD_AES_256_GCM under the APIv3 key. https://pay.weixin.qq.com/doc/v3/merchant/4012365342
import { createDecipheriv, createSign, createVerify, type KeyObject, randomBytes } from 'node:crypto';
import {
  type Ack,
  type ChannelRequest,
  header,
  NotifyRejected,
  type NotifyRequest,
  type OrderForChannel,
  type PaymentChannel,
  type RefundForChannel,
  type StatementLine,
  type VerifiedNotification,
} from './types.js';

export interface WechatConfig {
  appId: string;
  mchId: string;
  /** Serial number of the merchant API certificate (商户API证书序列号). */
  merchantSerialNo: string;
  merchantPrivateKey: KeyObject;
  /** APIv3 key: 32 ASCII characters. */
  apiV3Key: string;
  /** Platform certificate serial (or 微信支付公钥ID) → public key. */
  platformKeys: Record<string, KeyObject>;
  baseUrl?: string;
}

/** WeChat's guidance: refuse notifications whose timestamp is more than five minutes off (replay). */
const MAX_SKEW_S = 300;

export function wechatChannel(cfg: WechatConfig): PaymentChannel {
  const base = cfg.baseUrl ?? 'https://api.mch.weixin.qq.com';
  if (Buffer.byteLength(cfg.apiV3Key) !== 32) throw new Error('wechat apiV3Key must be 32 bytes');

  function signed(method: 'POST' | 'GET', path: string, body: string, now: Date): ChannelRequest {
    const timestamp = String(Math.floor(now.getTime() / 1000));
    const nonce = randomBytes(16).toString('hex').toUpperCase();
    const message = `${method}\n${path}\n${timestamp}\n${nonce}\n${body}\n`;
    const signature = createSign('RSA-SHA256').update(message).sign(cfg.merchantPrivateKey, 'base64');
    return {
      method,
      url: base + path,
      headers: {
        authorization: `WECHATPAY2-SHA256-RSA2048 mchid="${cfg.mchId}",nonce_str="${nonce}",signature="${signature}",timestamp="${timestamp}",serial_no="${cfg.merchantSerialNo}"`,
        accept: 'application/json',
        'content-type': 'application/json',
      },
      body,
    };
  }

  return {
    name: 'wechat',
    buildPayment(o: OrderForChannel, now: Date) {
      const body = JSON.stringify({
        appid: cfg.appId,
        mchid: cfg.mchId,
        description: o.description.slice(0, 127),
        out_trade_no: o.outTradeNo,
        time_expire: rfc3339(o.expiresAt),
        notify_url: o.notifyUrl,
        amount: { total: o.amountFen, currency: o.currency },
      });
      return signed('POST', '/v3/pay/transactions/native', body, now);
    },
    buildRefund(r: RefundForChannel, now: Date) {
      const body = JSON.stringify({
        transaction_id: r.channelTxnId,
        out_refund_no: r.outRefundNo,
        reason: r.reason.slice(0, 80),
        notify_url: r.notifyUrl,
        amount: { refund: r.refundFen, total: r.totalFen, currency: 'CNY' },
      });
      return signed('POST', '/v3/refund/domestic/refunds', body, now);
    },
    verifyNotification(req: NotifyRequest, now: Date): VerifiedNotification {
      const timestamp = header(req, 'Wechatpay-Timestamp');
      const nonce = header(req, 'Wechatpay-Nonce');
      const signature = header(req, 'Wechatpay-Signature');
      const serial = header(req, 'Wechatpay-Serial');
      const key = cfg.platformKeys[serial];
      if (!key) throw new NotifyRejected('unknown platform certificate serial');
      if (!/^\d{1,12}$/.test(timestamp)) throw new NotifyRejected('bad timestamp');
      if (Math.abs(now.getTime() / 1000 - Number(timestamp)) > MAX_SKEW_S) throw new NotifyRejected('stale timestamp');
      const ok = createVerify('RSA-SHA256')
        .update(`${timestamp}\n${nonce}\n${req.body}\n`)
        .verify(key, signature, 'base64');
      if (!ok) throw new NotifyRejected('bad signature');
      const n = parseJson(req.body) as {
        event_type?: string;
        resource?: { algorithm?: string; ciphertext?: string; associated_data?: string; nonce?: string };
      };
      const res = n.resource;
      if (res?.algorithm !== 'AEAD_AES_256_GCM' || !res.ciphertext || !res.nonce) {
        throw new NotifyRejected('unexpected resource');
      }
      const tx = parseJson(decrypt(cfg.apiV3Key, res.nonce, res.associated_data ?? '', res.ciphertext)) as {
        mchid?: string;
        appid?: string;
        out_trade_no?: string;
        transaction_id?: string;
        trade_state?: string;
        success_time?: string;
        amount?: { total?: number; currency?: string };
      };
      if (tx.mchid !== cfg.mchId || tx.appid !== cfg.appId) throw new NotifyRejected('merchant mismatch');
      if (!tx.out_trade_no || !tx.transaction_id || !Number.isSafeInteger(tx.amount?.total)) {
        throw new NotifyRejected('incomplete transaction');
      }
      return {
        outTradeNo: tx.out_trade_no,
        channelTxnId: tx.transaction_id,
        amountFen: tx.amount?.total ?? 0,
        currency: tx.amount?.currency ?? '',
        succeeded: n.event_type === 'TRANSACTION.SUCCESS' && tx.trade_state === 'SUCCESS',
        state: tx.trade_state ?? 'UNKNOWN',
        paidAt: tx.success_time && !Number.isNaN(Date.parse(tx.success_time)) ? new Date(tx.success_time) : now,
      };
    },
    ack(ok: boolean): Ack {
      // 200/204 with no body acknowledges; anything else makes WeChat retry.
      return ok
        ? { status: 200, contentType: 'application/json', body: '' }
        : { status: 400, contentType: 'application/json', body: JSON.stringify({ code: 'FAIL', message: '失败' }) };
    },
    parseStatement: parseWechatBill,
  };
}

export function decrypt(apiV3Key: string, nonce: string, associatedData: string, ciphertextB64: string): string {
  const data = Buffer.from(ciphertextB64, 'base64');
  if (data.length < 17) throw new NotifyRejected('resource too short');
  try {
    const decipher = createDecipheriv('aes-256-gcm', Buffer.from(apiV3Key), Buffer.from(nonce));
    decipher.setAAD(Buffer.from(associatedData));
    decipher.setAuthTag(data.subarray(data.length - 16));
    return Buffer.concat([decipher.update(data.subarray(0, data.length - 16)), decipher.final()]).toString('utf8');
  } catch {
    throw new NotifyRejected('resource does not decrypt');
  }
}

function parseJson(text: string): unknown {
  try {
    const v = JSON.parse(text) as unknown;
    if (typeof v === 'object' && v !== null) return v;
  } catch {
    // fall through
  }
  throw new NotifyRejected('body is not a JSON object');
}

/** 2024-06-01T10:00:00+08:00 — WeChat wants an offset, not "Z". */
function rfc3339(at: Date): string {
  return `${new Date(at.getTime() + 8 * 3_600_000).toISOString().slice(0, 19)}+08:00`;
}

/**
 * The trade bill (交易账单, bill_type=ALL): CSV whose fields start with a backtick, one header line, then trades,
 * then a summary block starting "总交易单数". Amounts in yuan. Refund rows have 交易状态 REFUND.
 */
export function parseWechatBill(text: string): StatementLine[] {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const head = lines[0]?.split(',') ?? [];
  const col = (name: string) => {
    const i = head.indexOf(name);
    if (i < 0) throw new NotifyRejected(`statement has no column ${name}`);
    return i;
  };
  const [txn, trade, state, total, refundNo, refund] = [
    col('微信订单号'),
    col('商户订单号'),
    col('交易状态'),
    col('应结订单金额'),
    col('商户退款单号'),
    col('退款金额'),
  ];
  const out: StatementLine[] = [];
  for (const line of lines.slice(1)) {
    if (!line.trim()) continue;
    if (line.startsWith('总交易单数')) break;
    const f = line.split(',').map((x) => x.replace(/^`/, '').trim());
    const yuanToFen = (s: string | undefined) => {
      if (!s || !/^\d+(\.\d{1,2})?$/.test(s)) throw new NotifyRejected(`statement amount malformed: ${s ?? ''}`);
      const [i = '0', d = ''] = s.split('.');
      return Number(i) * 100 + Number(d.padEnd(2, '0'));
    };
    const isRefund = f[state] === 'REFUND';
    out.push({
      type: isRefund ? 'refund' : 'payment',
      channelTxnId: f[txn] ?? '',
      outTradeNo: f[trade] ?? '',
      refundNo: isRefund ? (f[refundNo] ?? null) : null,
      amountFen: yuanToFen(isRefund ? f[refund] : f[total]),
    });
  }
  return out;
}
