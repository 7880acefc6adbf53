// Alipay open platform (支付宝开放平台), RSA2: a request's parameters except `sign`, empty values left out, sorted by
// key and joined as k=v&k=v, signed SHA256withRSA. An asynchronous notification (异步通知) is verified the same way
// over its parameters without `sign` and `sign_type`, with Alipay's public key; the answer is the text "success".
// https://opendocs.alipay.com/common/02mse7 , https://opendocs.alipay.com/open/270/105902
import { createSign, createVerify, type KeyObject } from 'node:crypto';
import { fenOf, yuan } from '../money.js';
import { columns, csvCells, statementLines, yuanToFen } from './statement.js';
import {
  type Ack,
  beijing,
  type ChannelRequest,
  NotifyRejected,
  type NotifyRequest,
  type OrderForChannel,
  type PaymentChannel,
  type RefundForChannel,
  type StatementLine,
  type VerifiedNotification,
} from './types.js';

export interface AlipayConfig {
  appId: string;
  privateKey: KeyObject;
  alipayPublicKey: KeyObject;
  /** seller_id (PID) the notifications must name, when set. */
  sellerId?: string;
  gateway?: string;
}

export function signContent(params: Record<string, string>, exclude: readonly string[]): string {
  return Object.keys(params)
    .filter((k) => !exclude.includes(k) && params[k] !== '' && params[k] !== undefined)
    .sort()
    .map((k) => `${k}=${params[k]}`)
    .join('&');
}

const ts = (at: Date) => {
  const b = beijing(at);
  return `${b.date} ${b.time}`;
};

export function alipayChannel(cfg: AlipayConfig): PaymentChannel {
  const gateway = cfg.gateway ?? 'https://openapi.alipay.com/gateway.do';

  function signed(method: string, biz: Record<string, unknown>, now: Date, notifyUrl?: string): ChannelRequest {
    const params: Record<string, string> = {
      app_id: cfg.appId,
      method,
      format: 'JSON',
      charset: 'utf-8',
      sign_type: 'RSA2',
      timestamp: ts(now),
      version: '1.0',
      ...(notifyUrl ? { notify_url: notifyUrl } : {}),
      biz_content: JSON.stringify(biz),
    };
    params.sign = createSign('RSA-SHA256')
      .update(signContent(params, ['sign']), 'utf8')
      .sign(cfg.privateKey, 'base64');
    return {
      method: 'POST',
      url: `${gateway}?charset=utf-8`,
      headers: { 'content-type': 'application/x-www-form-urlencoded;charset=utf-8' },
      form: params,
    };
  }

  return {
    name: 'alipay',
    buildPayment(o: OrderForChannel, now: Date) {
      // 当面付 precreate: Alipay answers with a QR code the resident scans.
      return signed(
        'alipay.trade.precreate',
        {
          out_trade_no: o.outTradeNo,
          total_amount: yuan(o.amountFen),
          subject: o.description.slice(0, 256),
          time_expire: ts(o.expiresAt),
        },
        now,
        o.notifyUrl,
      );
    },
    buildRefund(r: RefundForChannel, now: Date) {
      return signed(
        'alipay.trade.refund',
        {
          out_trade_no: r.outTradeNo,
          trade_no: r.channelTxnId,
          refund_amount: yuan(r.refundFen),
          out_request_no: r.outRefundNo,
          refund_reason: r.reason.slice(0, 256),
        },
        now,
      );
    },
    verifyNotification(req: NotifyRequest, now: Date): VerifiedNotification {
      const form = new URLSearchParams(req.body);
      const params: Record<string, string> = {};
      for (const [k, v] of form) {
        if (k in params) throw new NotifyRejected(`duplicate parameter ${k}`);
        params[k] = v;
      }
      const sign = params.sign;
      if (!sign) throw new NotifyRejected('missing sign');
      if (params.sign_type !== 'RSA2') throw new NotifyRejected('sign_type must be RSA2');
      const ok = createVerify('RSA-SHA256')
        .update(signContent(params, ['sign', 'sign_type']), 'utf8')
        .verify(cfg.alipayPublicKey, sign, 'base64');
      if (!ok) throw new NotifyRejected('bad signature');
      if (params.app_id !== cfg.appId) throw new NotifyRejected('app_id mismatch');
      if (cfg.sellerId && params.seller_id !== cfg.sellerId) throw new NotifyRejected('seller_id mismatch');
      const { out_trade_no: outTradeNo, trade_no: tradeNo, total_amount: total, trade_status: state } = params;
      if (!outTradeNo || !tradeNo || !total || !state) throw new NotifyRejected('incomplete notification');
      let amountFen: number;
      try {
        amountFen = fenOf(total);
      } catch {
        throw new NotifyRejected('total_amount malformed');
      }
      const paid = params.gmt_payment ? Date.parse(`${params.gmt_payment.replace(' ', 'T')}+08:00`) : Number.NaN;
      return {
        outTradeNo,
        channelTxnId: tradeNo,
        amountFen,
        // Domestic Alipay settles in CNY; cross-border notifications name their currency.
        currency: params.currency ?? 'CNY',
        // TRADE_FINISHED follows TRADE_SUCCESS when the refund window ends: the same money, notified again.
        succeeded: state === 'TRADE_SUCCESS' || state === 'TRADE_FINISHED',
        state,
        paidAt: Number.isNaN(paid) ? now : new Date(paid),
      };
    },
    ack(ok: boolean): Ack {
      return { status: 200, contentType: 'text/plain', body: ok ? 'success' : 'failure' };
    },
    parseStatement: parseAlipayStatement,
  };
}

/**
 * The business statement (业务明细 CSV in the zip of alipay.data.dataservice.bill.downloadurl.query, bill_type trade;
 * GBK on disk, so decoded by the caller): '#' title lines, the header 支付宝交易号,商户订单号,业务类型,…,订单金额（元）,
 * 商家实收（元）,…,退款批次号/请求号,…, one line per 交易 or 退款 (cells padded with a tab), the end marker
 * "#-----…业务明细列表结束-----", then '#' totals (#交易合计：N笔，… #退款合计：M笔，…) and the export time.
 * A 退款 line names the refunded trade's 支付宝交易号 and our out_request_no, with negative amounts. We compare
 * 订单金额（元）— total_amount, refund_amount — not 商家实收（元）, which leaves out merchant-funded discounts.
 */
export function parseAlipayStatement(text: string): StatementLine[] {
  const lines = statementLines(text);
  const at = lines.findIndex((l) => l.trim() && !l.startsWith('#'));
  const head = at < 0 ? [] : csvCells(lines[at] ?? '', `line ${at + 1}`).map((h) => h.trim());
  if (head[0] !== '支付宝交易号') {
    throw new NotifyRejected(
      'not an Alipay business statement (业务明细): its header must start 支付宝交易号,商户订单号,…',
    );
  }
  const col = columns(head, 'business statement');
  const [txn, trade, kind, amount, refundNo] = [
    col('支付宝交易号'),
    col('商户订单号'),
    col('业务类型'),
    col('订单金额（元）'),
    col('退款批次号/请求号'),
  ];
  const end = lines.findIndex((l, i) => i > at && l.startsWith('#') && l.includes('业务明细列表结束'));
  if (end < 0)
    throw new NotifyRejected('business statement has no end marker (业务明细列表结束): the file is truncated');
  const out: StatementLine[] = [];
  for (let i = at + 1; i < end; i++) {
    const line = lines[i] ?? '';
    if (!line.trim() || line.startsWith('#')) continue;
    const where = `line ${i + 1}`;
    const f = csvCells(line, where).map((x) => x.trim());
    if (f.length !== head.length)
      throw new NotifyRejected(`${where}: ${f.length} cells where the header has ${head.length}`);
    const channelTxnId = f[txn] ?? '';
    if (!channelTxnId) throw new NotifyRejected(`${where}: 支付宝交易号 is empty`);
    const fen = yuanToFen(f[amount], `${where}: 订单金额（元）`);
    const ids = { channelTxnId, outTradeNo: f[trade] ?? '' };
    if (f[kind] === '交易') {
      if (fen < 0) throw new NotifyRejected(`${where}: a 交易 with a negative 订单金额（元）`);
      out.push({ ...ids, type: 'payment', refundNo: null, amountFen: fen });
    } else if (f[kind] === '退款') {
      if (fen > 0) throw new NotifyRejected(`${where}: a 退款 with a positive 订单金额（元）`);
      out.push({ ...ids, type: 'refund', refundNo: f[refundNo] || null, amountFen: -fen });
    } else {
      throw new NotifyRejected(`${where}: 业务类型 ${f[kind] ?? ''} is neither 交易 nor 退款`);
    }
  }
  // The totals after the marker count each kind: a line lost from the middle of the file shows here.
  for (let i = end + 1; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (line.trim() && !line.startsWith('#')) throw new NotifyRejected(`line ${i + 1}: text after the end marker`);
    const m = /^#(交易|退款)合计[：:]\s*(\d+)笔/.exec(line);
    const listed = out.filter((l) => l.type === (m?.[1] === '交易' ? 'payment' : 'refund')).length;
    if (m && Number(m[2]) !== listed) {
      throw new NotifyRejected(`line ${i + 1}: ${m[1]}合计 counts ${m[2]}, the statement lists ${listed}`);
    }
  }
  return out;
}
