// Statements (对账单) written as the providers write them, for billing-statements.test.ts: the WeChat Pay trade bill
// (交易账单, bill_type=ALL: a backtick before every field, BOM, CRLF, a summary block) and the Alipay business
// statement (业务明细: '#' title and totals lines, tab-padded cells, negative refunds). Amounts are built with integers.
import { WX } from './billing-channels-fixture.js';

/** Fen as the providers print yuan, built with integers only. */
export const yuan = (fen: number) =>
  `${fen < 0 ? '-' : ''}${Math.floor(Math.abs(fen) / 100)}.${String(Math.abs(fen) % 100).padStart(2, '0')}`;
export const tick = (cells: readonly (string | number)[]) => cells.map((x) => `\`${x}`).join(',');

// — WeChat Pay trade bill, bill_type=ALL —
export const WX_HEAD =
  '交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注';
const WX_SUM_HEAD = '总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额';
/** A payment of `fen` (SUCCESS), or with `refundNo` a refund of `fen` (REFUND); `coupon` is merchant-funded. */
export interface WxLine {
  txn: string;
  out: string;
  fen: number;
  coupon?: number;
  refundNo?: string;
  body?: string;
  attach?: string;
}
export function wxLine(l: WxLine): string {
  const r = l.refundNo !== undefined;
  const net = yuan(l.fen - (l.coupon ?? 0));
  return tick([
    '2025-03-20 10:00:00',
    WX.appid,
    WX.mchid,
    '0',
    '',
    l.txn,
    l.out,
    'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o',
    'NATIVE',
    r ? 'REFUND' : 'SUCCESS',
    'OTHERS',
    'CNY',
    r ? '0.00' : net,
    r ? '0.00' : yuan(l.coupon ?? 0),
    r ? `5030${l.txn.slice(4)}` : '0',
    l.refundNo ?? '0',
    r ? net : '0.00',
    '0.00',
    r ? 'ORIGINAL' : '',
    r ? 'SUCCESS' : '',
    l.body ?? '物业缴费 1-101',
    l.attach ?? '',
    r ? '-0.06000' : '0.12000',
    '0.60%',
    r ? '0.00' : yuan(l.fen),
    r ? yuan(l.fen) : '0.00',
    '',
  ]);
}
export function wxBill(lines: WxLine[], o: { count?: number; orderTotal?: number; eol?: string } = {}): string {
  const sum = (refunds: boolean, f: (l: WxLine) => number) =>
    lines.filter((l) => (l.refundNo !== undefined) === refunds).reduce((s, l) => s + f(l), 0);
  const net = (l: WxLine) => l.fen - (l.coupon ?? 0);
  const totals = tick([
    o.count ?? lines.length,
    yuan(sum(false, net)),
    yuan(sum(true, net)),
    '0.00',
    '0.36000',
    yuan(o.orderTotal ?? sum(false, (l) => l.fen)),
    yuan(sum(true, (l) => l.fen)),
  ]);
  return `\uFEFF${[WX_HEAD, ...lines.map(wxLine), WX_SUM_HEAD, totals, ''].join(o.eol ?? '\r\n')}`;
}

// — Alipay business statement (业务明细) —
export const ALI_HEAD =
  '支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,对方账户,订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,商家优惠（元）,券核销金额（元）,券名称,商家红包消费金额（元）,卡消费金额（元）,退款批次号/请求号,服务费（元）,分润（元）,备注';
/** A 交易 of `fen`, or with `refundNo` a 退款 of `fen`; `discount` is merchant-funded (商家优惠). */
export interface AliLine {
  txn: string;
  out: string;
  fen: number;
  discount?: number;
  refundNo?: string;
  subject?: string;
}
export function aliLine(l: AliLine): string {
  const sign = l.refundNo === undefined ? 1 : -1;
  const d = l.discount ?? 0;
  return [
    `${l.txn}\t`,
    `${l.out}\t`,
    `${sign > 0 ? '交易' : '退款'}\t`,
    l.subject ?? '物业缴费 1-101',
    '2025-03-20 10:00:00',
    sign > 0 ? '2025-03-20 10:00:05' : '2025-03-20 16:30:00',
    '\t',
    '\t',
    '\t',
    '\t',
    '**明(138******01)\t',
    yuan(sign * l.fen),
    yuan(sign * (l.fen - d)),
    '0.00',
    '0.00',
    '0.00',
    yuan(sign * d),
    '0.00',
    '',
    '0.00\t',
    '0.00',
    `${l.refundNo ?? ''}\t`,
    '0.00',
    '0.00',
    '',
  ].join(',');
}
export function aliStatement(lines: AliLine[], o: { trades?: number; eol?: string } = {}): string {
  const refunds = lines.filter((l) => l.refundNo !== undefined).length;
  return [
    '#支付宝业务明细查询',
    '#账号：[20881234567890120156]',
    '#起始日期：[2025年03月20日 00:00:00]   终止日期：[2025年03月21日 00:00:00]',
    '#-----------------------------------------业务明细列表----------------------------------------',
    ALI_HEAD,
    ...lines.map(aliLine),
    '#-----------------------------------------业务明细列表结束------------------------------------',
    `#交易合计：${o.trades ?? lines.length - refunds}笔，商家实收共0.00元，商家优惠共0.00元`,
    `#退款合计：${refunds}笔，商家实收退款共-0.00元，商家优惠退款共0.00元`,
    '#导出时间：[2025年03月21日 05:46:49]',
    '',
  ].join(o.eol ?? '\n');
}
