// One interface for every payment channel (WeChat Pay, Alipay, UnionPay, the demo sandbox): build the request the
// provider expects, and turn its signed asynchronous notification into a verified payment — or refuse it.

export type ChannelName = 'wechat' | 'alipay' | 'unionpay' | 'sandbox';
export const CHANNELS: readonly ChannelName[] = ['wechat', 'alipay', 'unionpay', 'sandbox'];

export interface OrderForChannel {
  outTradeNo: string;
  amountFen: number;
  currency: string;
  description: string;
  notifyUrl: string;
  expiresAt: Date;
}

export interface RefundForChannel {
  outTradeNo: string;
  channelTxnId: string;
  outRefundNo: string;
  refundFen: number;
  totalFen: number;
  reason: string;
  notifyUrl: string;
}

/** What to send to the provider; the caller (or an operator) performs the HTTP call. */
export interface ChannelRequest {
  method: 'POST' | 'GET';
  url: string;
  headers: Record<string, string>;
  /** JSON body (WeChat) or form fields (Alipay, UnionPay). */
  body?: string;
  form?: Record<string, string>;
}

export interface NotifyRequest {
  headers: Record<string, string | string[] | undefined>;
  /** The body exactly as received: signatures cover the bytes, not a re-serialisation. */
  body: string;
}

export interface VerifiedNotification {
  outTradeNo: string;
  channelTxnId: string;
  amountFen: number;
  currency: string;
  /** The provider says the money arrived (WeChat SUCCESS, Alipay TRADE_SUCCESS/FINISHED, UnionPay 00/A6). */
  succeeded: boolean;
  state: string;
  paidAt: Date;
}

export interface Ack {
  status: number;
  contentType: string;
  body: string;
}

/** One line of a provider's statement (对账单). */
export interface StatementLine {
  type: 'payment' | 'refund';
  channelTxnId: string;
  outTradeNo: string;
  refundNo: string | null;
  amountFen: number;
}

export interface PaymentChannel {
  readonly name: ChannelName;
  buildPayment(order: OrderForChannel, now: Date): ChannelRequest;
  buildRefund(refund: RefundForChannel, now: Date): ChannelRequest;
  /** Throws NotifyRejected unless the notification is authentic, fresh and well-formed. */
  verifyNotification(req: NotifyRequest, now: Date): VerifiedNotification;
  ack(ok: boolean): Ack;
  parseStatement(text: string): StatementLine[];
}

export class NotifyRejected extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'NotifyRejected';
  }
}

export function header(req: NotifyRequest, name: string): string {
  const v = req.headers[name.toLowerCase()];
  const s = Array.isArray(v) ? v[0] : v;
  if (!s) throw new NotifyRejected(`missing header ${name}`);
  return s;
}

/** Beijing time (UTC+8, no DST), as Alipay and UnionPay timestamps are written. */
export function beijing(at: Date): { date: string; time: string } {
  const s = new Date(at.getTime() + 8 * 3_600_000).toISOString();
  return { date: s.slice(0, 10), time: s.slice(11, 19) };
}
