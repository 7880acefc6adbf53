// WeChat Pay API v3 (微信支付 APIv3): requests signed WECHATPAY2-SHA256-RSA2048 with the merchant key; notifications
// verified against the platform key named by Wechatpay-Serial over "timestamp\nnonce\nbody\n" (SHA256withRSA), then
// the resource decrypted with AEAD_AES_256_GCM under the APIv3 key. https://pay.weixin.qq.com/doc/v3/merchant/4012365342
import { createDecipheriv, createSign, createVerify, type KeyObject, randomBytes } from 'node:crypto';
import { columns, statementLines, yuanToFen } from './statement.js';
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
 * Column names of the trade bill. The current format (商户平台 with 免充值优惠券) prints 订单金额 and 申请退款金额 —
 * what was ordered and what we asked back, the figures our records hold — next to 应结订单金额 and 退款金额, which
 * leave out merchant-funded coupons. The early format has only 总金额 and 退款金额, with no coupon split.
 */
const WX_FORMATS = [
  { order: '订单金额', refund: '申请退款金额', totals: { 订单总金额: 'order', 申请退款总金额: 'refund' } },
  { order: '总金额', refund: '退款金额', totals: {} },
] as const;

/** A detail or summary line of the bill: every field starts with a backtick, so ",`" separates them. */
function backtickFields(line: string, count: number, where: string): string[] {
  if (!line.startsWith('`')) throw new NotifyRejected(`${where}: fields must start with a backtick (\`)`);
  // Splitting on ",`" keeps a comma inside 商品名称 or 商户数据包 (attach) in its field.
  const f = line
    .slice(1)
    .split(',`')
    .map((x) => x.trim());
  if (f.length !== count) throw new NotifyRejected(`${where}: ${f.length} fields where the header has ${count}`);
  return f;
}

/**
 * The trade bill (交易账单) of GET /v3/bill/tradebill, bill_type ALL, SUCCESS or REFUND: a header line, detail lines
 * whose fields each start with a backtick, then a summary header (总交易单数,…) and one line of totals. Amounts in
 * yuan. A 交易状态 REFUND line is a refund of the payment named by its 微信订单号, with our 商户退款单号.
 * https://pay.weixin.qq.com/docs/merchant/products/bill-download/format-trade.html
 * The summary is checked against the lines: a truncated download or an edited line is refused, not half-reconciled.
 */
export function parseWechatBill(text: string): StatementLine[] {
  const lines = statementLines(text);
  const first = lines.findIndex((l) => l.trim());
  const head = (lines[first] ?? '').split(',').map((h) => h.trim());
  if (head[0] !== '交易时间' || !head.includes('微信订单号')) {
    throw new NotifyRejected(
      'not a WeChat Pay trade bill (交易账单): the first line must be its header 交易时间,公众账号ID,…',
    );
  }
  const fmt = head.includes('订单金额') ? WX_FORMATS[0] : WX_FORMATS[1];
  const col = columns(head, 'trade bill');
  const [txn, trade, state, order] = [col('微信订单号'), col('商户订单号'), col('交易状态'), col(fmt.order)];
  // A SUCCESS bill has no refund columns; only a refund line needs them.
  const refund = head.indexOf(fmt.refund);
  const sumAt = lines.findIndex((l, i) => i > first && l.startsWith('总交易单数'));
  if (sumAt < 0) throw new NotifyRejected('trade bill has no summary (总交易单数,…): the file is truncated');
  const out: StatementLine[] = [];
  const sums = { order: 0, refund: 0 };
  for (let i = first + 1; i < sumAt; i++) {
    const line = lines[i] ?? '';
    if (!line.trim()) continue;
    const at = `line ${i + 1}`;
    const f = backtickFields(line, head.length, at);
    const channelTxnId = f[txn] ?? '';
    if (!channelTxnId) throw new NotifyRejected(`${at}: 微信订单号 is empty`);
    const orderFen = yuanToFen(f[order], `${at}: ${fmt.order}`);
    // Column totals, as the summary prints them (a refund line carries 0.00 as its 订单金额, a payment 0.00 refunded).
    const refundFen = refund < 0 ? 0 : yuanToFen(f[refund], `${at}: ${fmt.refund}`);
    if (orderFen < 0 || refundFen < 0) throw new NotifyRejected(`${at}: a negative amount`);
    sums.order += orderFen;
    sums.refund += refundFen;
    const outTradeNo = f[trade] ?? '';
    if (f[state] === 'SUCCESS') {
      out.push({ type: 'payment', channelTxnId, outTradeNo, refundNo: null, amountFen: orderFen });
    } else if (f[state] === 'REFUND') {
      if (refund < 0) throw new NotifyRejected(`${at}: a refund in a bill without the column ${fmt.refund}`);
      out.push({
        type: 'refund',
        channelTxnId,
        outTradeNo,
        refundNo: f[col('商户退款单号')] || null,
        amountFen: refundFen,
      });
    } else {
      // REVOKED (a 付款码 payment revoked after success) cannot come from our Native orders: not guessed at.
      throw new NotifyRejected(`${at}: 交易状态 ${f[state] ?? ''} is neither SUCCESS nor REFUND`);
    }
  }
  const sumHead = (lines[sumAt] ?? '').split(',').map((h) => h.trim());
  const valAt = lines.findIndex((l, i) => i > sumAt && l.trim());
  if (valAt < 0) throw new NotifyRejected('trade bill summary has no totals line: the file is truncated');
  const totals = backtickFields(lines[valAt] ?? '', sumHead.length, `line ${valAt + 1}`);
  const extra = lines.findIndex((l, i) => i > valAt && l.trim());
  if (extra >= 0) throw new NotifyRejected(`line ${extra + 1}: text after the summary`);
  const count = totals[sumHead.indexOf('总交易单数')] ?? '';
  if (count !== String(out.length)) {
    throw new NotifyRejected(`summary counts ${count} trades (总交易单数), the bill lists ${out.length}`);
  }
  for (const [name, key] of Object.entries(fmt.totals)) {
    const i = sumHead.indexOf(name);
    if (i >= 0 && yuanToFen(totals[i], `line ${valAt + 1}: ${name}`) !== sums[key]) {
      throw new NotifyRejected(`summary ${name} ${totals[i]} is not the total of the bill's lines`);
    }
  }
  return out;
}
