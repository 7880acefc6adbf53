// The demo channel: no provider, the cloud itself plays one. Its notifications are HMAC-SHA256 signed with a key
// only this process holds, so they pass through the same verify-then-credit path as a real provider's.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { parseGenericStatement } from './statement.js';
import {
  type Ack,
  type ChannelRequest,
  header,
  NotifyRejected,
  type NotifyRequest,
  type OrderForChannel,
  type PaymentChannel,
  type RefundForChannel,
  type VerifiedNotification,
} from './types.js';

export interface SandboxChannel extends PaymentChannel {
  /** What the sandbox "provider" would send once the resident confirms: headers and body of the notification. */
  notification(p: {
    outTradeNo: string;
    amountFen: number;
    currency?: string;
    txnId?: string;
    at?: Date;
  }): NotifyRequest;
}

export function sandboxChannel(key: Buffer = randomBytes(32)): SandboxChannel {
  const sign = (body: string) => createHmac('sha256', key).update(body).digest('base64');
  const request = (url: string, payload: object): ChannelRequest => ({
    method: 'POST',
    url,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(payload),
  });
  return {
    name: 'sandbox',
    buildPayment(o: OrderForChannel) {
      return request(`sandbox:pay/${o.outTradeNo}`, { out_trade_no: o.outTradeNo, amount_fen: o.amountFen });
    },
    buildRefund(r: RefundForChannel) {
      return request(`sandbox:refund/${r.outRefundNo}`, { txn_id: r.channelTxnId, refund_fen: r.refundFen });
    },
    notification({ outTradeNo, amountFen, currency = 'CNY', txnId, at = new Date() }) {
      const body = JSON.stringify({
        out_trade_no: outTradeNo,
        txn_id: txnId ?? `SBX${randomBytes(10).toString('hex')}`,
        amount_fen: amountFen,
        currency,
        status: 'SUCCESS',
        paid_at: at.toISOString(),
      });
      return { headers: { 'x-sandbox-signature': sign(body) }, body };
    },
    verifyNotification(req: NotifyRequest, now: Date): VerifiedNotification {
      const given = Buffer.from(header(req, 'x-sandbox-signature'));
      const expected = Buffer.from(sign(req.body));
      if (given.length !== expected.length || !timingSafeEqual(given, expected))
        throw new NotifyRejected('bad signature');
      const n = JSON.parse(req.body) as Record<string, unknown>;
      if (typeof n.out_trade_no !== 'string' || typeof n.txn_id !== 'string' || !Number.isSafeInteger(n.amount_fen)) {
        throw new NotifyRejected('incomplete notification');
      }
      return {
        outTradeNo: n.out_trade_no,
        channelTxnId: n.txn_id,
        amountFen: n.amount_fen as number,
        currency: typeof n.currency === 'string' ? n.currency : '',
        succeeded: n.status === 'SUCCESS',
        state: String(n.status),
        paidAt: typeof n.paid_at === 'string' ? new Date(n.paid_at) : now,
      };
    },
    ack(ok: boolean): Ack {
      return { status: ok ? 200 : 400, contentType: 'application/json', body: JSON.stringify({ ok }) };
    },
    parseStatement: parseGenericStatement,
  };
}
