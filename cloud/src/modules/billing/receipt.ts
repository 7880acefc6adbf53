// A printable receipt (收据) for one payment as a self-contained HTML page: no scripts, no external resources, every
// value escaped. "Print → Save as PDF" in any browser gives the PDF.
import { yuan } from './money.js';

const esc = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

export interface ReceiptData {
  estateName: string;
  unitNumber: string;
  paymentId: string;
  channel: string;
  channelTxnId: string;
  paidAt: Date;
  amountFen: number;
  refundedFen: number;
  lines: { billNumber: string; period: string; amountFen: number }[];
  creditFen: number;
}

const CHANNEL_NAMES: Record<string, string> = {
  wechat: '微信支付',
  alipay: '支付宝',
  unionpay: '银联',
  sandbox: '演示支付',
};

export function receiptHtml(r: ReceiptData): string {
  const rows = r.lines
    .map(
      (l) => `<tr><td>${esc(l.billNumber)}</td><td>${esc(l.period)}</td><td class="n">¥${yuan(l.amountFen)}</td></tr>`,
    )
    .join('');
  const paidAt = r.paidAt.toLocaleString('zh-CN', { timeZone: 'Asia/Shanghai', hour12: false });
  return `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>收据 ${esc(r.paymentId)}</title>
<style>body{font-family:system-ui,"PingFang SC","Microsoft YaHei",sans-serif;max-width:640px;margin:2em auto;color:#222}
h1{font-size:1.4em;text-align:center}table{width:100%;border-collapse:collapse}td,th{border-bottom:1px solid #ccc;padding:.4em;text-align:left}
.n{text-align:right}dl{display:grid;grid-template-columns:8em 1fr;gap:.3em}</style></head>
<body><h1>${esc(r.estateName)} 缴费收据</h1>
<dl><dt>房号</dt><dd>${esc(r.unitNumber)}</dd><dt>支付方式</dt><dd>${esc(CHANNEL_NAMES[r.channel] ?? r.channel)}</dd>
<dt>交易号</dt><dd>${esc(r.channelTxnId)}</dd><dt>支付时间</dt><dd>${esc(paidAt)}</dd>
<dt>金额</dt><dd>¥${yuan(r.amountFen)}</dd>${r.refundedFen > 0 ? `<dt>已退款</dt><dd>¥${yuan(r.refundedFen)}</dd>` : ''}</dl>
<table><thead><tr><th>账单</th><th>账期</th><th class="n">本次冲抵</th></tr></thead><tbody>${rows}</tbody></table>
${r.creditFen > 0 ? `<p>预存余额 ¥${yuan(r.creditFen)}</p>` : ''}
<p><small>收据编号 ${esc(r.paymentId)}</small></p></body></html>`;
}
