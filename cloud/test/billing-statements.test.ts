// Providers' statements (对账单) as the providers write them: the WeChat Pay trade bill (交易账单: backtick before
// every field, BOM, CRLF, a summary block) and the Alipay business statement (业务明细: '#' title and totals lines,
// tab-padded cells, negative refunds). Each parser is checked on such text, then reconciliation runs through the API
// against payments credited by verified notifications. Malformed statements are refused with a coded error and
// change nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAlipayStatement } from '../src/modules/billing/channels/alipay.js';
import { NotifyRejected } from '../src/modules/billing/channels/types.js';
import { parseWechatBill } from '../src/modules/billing/channels/wechat.js';
import {
  alipayNotification,
  anOrder,
  c,
  notify,
  setupChannels,
  teardownChannels,
  WX,
  wechatNotification,
} from './billing-channels-fixture.js';
import { ALI_HEAD, type AliLine, aliLine, aliStatement, tick, wxBill, yuan } from './billing-statements-fixture.js';

/** The parser's refusal message; fails the test if it accepts the text or throws anything but NotifyRejected. */
function refusal(parse: (text: string) => unknown, text: string): string {
  try {
    parse(text);
  } catch (err) {
    expect(err).toBeInstanceOf(NotifyRejected);
    return (err as Error).message;
  }
  throw new Error('the statement was accepted');
}

const T1 = '4200002360202503201150650781';
const T2 = '4200002360202503201150650782';
describe('WeChat Pay trade bill', () => {
  it('reads payments at 订单金额 and refunds at 申请退款金额, in exact fen, through BOM, CRLF and commas in fields', () => {
    const bill = wxBill([
      { txn: T1, out: 'P1', fen: 1_999, coupon: 200 },
      { txn: T2, out: 'P2', fen: 29, body: '物业费,车位费', attach: '{"bill":"B-1","n":2}' },
      { txn: '4200002360202503201150650783', out: 'P3', fen: 123_456_789 },
      { txn: T1, out: 'P1', fen: 113, coupon: 50, refundNo: 'R1' },
    ]);
    expect(parseWechatBill(bill)).toEqual([
      { type: 'payment', channelTxnId: T1, outTradeNo: 'P1', refundNo: null, amountFen: 1_999 },
      { type: 'payment', channelTxnId: T2, outTradeNo: 'P2', refundNo: null, amountFen: 29 },
      {
        type: 'payment',
        channelTxnId: '4200002360202503201150650783',
        outTradeNo: 'P3',
        refundNo: null,
        amountFen: 123_456_789,
      },
      { type: 'refund', channelTxnId: T1, outTradeNo: 'P1', refundNo: 'R1', amountFen: 113 },
    ]);
    expect(parseWechatBill(wxBill([{ txn: T1, out: 'P1', fen: 7 }], { eol: '\n' }))[0]?.amountFen).toBe(7);
  });

  it('reads a SUCCESS bill, which has neither refund columns nor refund totals', () => {
    const bill = [
      '交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,商品名称,商户数据包,手续费,费率,订单金额,费率备注',
      tick([
        ...['2025-03-20 10:00:00', WX.appid, WX.mchid, '0', '', T1, 'P1', 'oUpF8u', 'NATIVE', 'SUCCESS', 'OTHERS'],
        ...['CNY', '1.13', '0.00', '物业缴费', '', '0.01000', '0.60%', '1.13', ''],
      ]),
      '总交易单数,应结订单总金额,手续费总金额,订单总金额',
      tick(['1', '1.13', '0.01000', '1.13']),
    ].join('\r\n');
    expect(parseWechatBill(bill)).toEqual([
      { type: 'payment', channelTxnId: T1, outTradeNo: 'P1', refundNo: null, amountFen: 113 },
    ]);
  });

  it('refuses what is not a whole, well-formed trade bill, naming the fault', () => {
    const good = wxBill([{ txn: T1, out: 'P1', fen: 1_230 }]);
    const cases: [string, RegExp][] = [
      ['', /statement is empty/],
      ['\r\n  \r\n', /statement is empty/],
      [aliStatement([{ txn: T1, out: 'P1', fen: 1 }]), /not a WeChat Pay trade bill/],
      ['channel_txn_id,out_trade_no,type,amount_fen,refund_no\nX,P1,payment,100', /not a WeChat Pay trade bill/],
      [good.replace(',商户订单号,', ',商户单号,'), /trade bill has no column 商户订单号/],
      [good.replace(/,`\r\n总交易单数/, '\r\n总交易单数'), /line 2: 26 fields where the header has 27/],
      [good.replaceAll('`12.30', '`12.3O'), /line 2: 订单金额 "12\.3O" is not an amount in yuan/],
      [good.replaceAll('`12.30', '`12.300'), /line 2: 订单金额 "12\.300" is not an amount in yuan with at most two/],
      [good.replace('`SUCCESS', '`REVOKED'), /line 2: 交易状态 REVOKED is neither SUCCESS nor REFUND/],
      [good.slice(0, good.indexOf('总交易单数')), /no summary .*truncated/],
      [wxBill([{ txn: T1, out: 'P1', fen: 1_230 }], { count: 2 }), /summary counts 2 trades .* lists 1/],
      [wxBill([{ txn: T1, out: 'P1', fen: 1_230 }], { orderTotal: 1_231 }), /订单总金额 12\.31 is not the total/],
      [good.replaceAll('`', ''), /line 2: fields must start with a backtick/],
      [good.replace(T1, ''), /line 2: 微信订单号 is empty/],
      [good.replace('物业缴费', '\uFFFD\uFFFD'), /undecodable characters/],
    ];
    for (const [text, message] of cases) expect(refusal(parseWechatBill, text)).toMatch(message);
  });
});

const A1 = '2025032022001458860515315453';
const A2 = '2025032022001458860515315454';
describe('Alipay business statement', () => {
  it('reads 交易 and 退款 lines at 订单金额（元）: tab padding, a quoted subject, negative refunds', () => {
    const lines: AliLine[] = [
      { txn: A1, out: 'P1', fen: 1_999, discount: 100 },
      { txn: A2, out: 'P2', fen: 29, subject: '"物业费,车位费"' },
      { txn: A1, out: 'P1', fen: 113, refundNo: 'R1' },
    ];
    const want = [
      { type: 'payment', channelTxnId: A1, outTradeNo: 'P1', refundNo: null, amountFen: 1_999 },
      { type: 'payment', channelTxnId: A2, outTradeNo: 'P2', refundNo: null, amountFen: 29 },
      { type: 'refund', channelTxnId: A1, outTradeNo: 'P1', refundNo: 'R1', amountFen: 113 },
    ];
    expect(parseAlipayStatement(aliStatement(lines))).toEqual(want);
    expect(parseAlipayStatement(`\uFEFF${aliStatement(lines, { eol: '\r\n' })}`)).toEqual(want);
  });

  it('refuses what is not a whole, well-formed business statement, naming the fault', () => {
    const good = aliStatement([{ txn: A1, out: 'P1', fen: 1_230 }]);
    const line = aliLine({ txn: A1, out: 'P1', fen: 1_230 });
    // "支付宝交易号" in GBK, read as UTF-8: what arrives when the file's charset was not decoded.
    const gbk = Buffer.concat([Buffer.from('d6a7b8b6b1a6bdbbd2d7bac5', 'hex'), Buffer.from(ALI_HEAD.slice(6))]);
    const cases: [string, RegExp][] = [
      ['', /statement is empty/],
      ['#支付宝业务明细查询\n#账号：[20881234567890120156]\n', /not an Alipay business statement/],
      [wxBill([{ txn: T1, out: 'P1', fen: 1 }]), /not an Alipay business statement/],
      [good.replace(',退款批次号/请求号,', ',退款批次号,'), /has no column 退款批次号\/请求号/],
      [good.replace('物业缴费 1-101', '物业费,车位费'), /line 6: 26 cells where the header has 25/],
      [good.replace(',12.30,', ',abc,'), /line 6: 订单金额（元） "abc" is not an amount in yuan/],
      [
        good.replace(',12.30,', ',12.305,'),
        /line 6: 订单金额（元） "12\.305" is not an amount in yuan with at most two/,
      ],
      [good.replace(',12.30,', ',-12.30,'), /line 6: a 交易 with a negative 订单金额/],
      [
        aliStatement([{ txn: A1, out: 'P1', fen: 5, refundNo: 'R1' }]).replace(',-0.05,', ',0.05,'),
        /a 退款 with a positive/,
      ],
      [good.replace('交易\t', '转账\t'), /line 6: 业务类型 转账 is neither 交易 nor 退款/],
      [good.slice(0, good.lastIndexOf('\n', good.indexOf('业务明细列表结束'))), /no end marker .*truncated/],
      [aliStatement([{ txn: A1, out: 'P1', fen: 1_230 }], { trades: 2 }), /交易合计 counts 2, the statement lists 1/],
      [`${good}${line}\n`, /text after the end marker/],
      [`#支付宝业务明细查询\n${gbk.toString('utf8')}\n${line}\n`, /undecodable characters .*GBK/],
    ];
    for (const [text, message] of cases) expect(refusal(parseAlipayStatement, text)).toMatch(message);
  });
});

describe('reconciliation through the API', () => {
  beforeAll(setupChannels);
  afterAll(teardownChannels);

  /** Beijing calendar date of an instant, as the reconciliation's from/to are read. */
  const beijingDate = (at: Date) => new Date(at.getTime() + 8 * 3_600_000).toISOString().slice(0, 10);
  const tomorrow = () => beijingDate(new Date(Date.now() + 86_400_000));
  /** An order of the resident's, credited by the provider's verified notification (paid 2025-03-20, Beijing). */
  async function paid(channel: 'wechat' | 'alipay', fen: number, txn: string) {
    const o = await anOrder(channel, fen);
    const n =
      channel === 'wechat'
        ? wechatNotification({ outTradeNo: o.outTradeNo, total: fen, txn })
        : alipayNotification({ outTradeNo: o.outTradeNo, total: yuan(fen), tradeNo: txn });
    expect((await notify(channel, n)).statusCode).toBe(200);
    const p = await c.deps.prisma.payment.findUniqueOrThrow({
      where: { channel_channelTxnId: { channel, channelTxnId: txn } },
    });
    return { txn, out: o.outTradeNo, paymentId: p.id };
  }
  async function refunded(paymentId: string, amountFen: number) {
    const res = await c.call(c.tokens.staff, {
      method: 'POST',
      url: `/api/billing/payments/${paymentId}/refunds`,
      payload: { amountFen, reason: '多收退还' },
    });
    expect(res.statusCode, res.body).toBe(201);
    return c.deps.prisma.refund.findUniqueOrThrow({ where: { outRefundNo: res.json().outRefundNo } });
  }
  const reconcile = (channel: string, statement: string, from: string, to: string) =>
    c.call(c.tokens.staff, {
      method: 'POST',
      url: '/api/billing/reconciliations',
      payload: { channel, statement, from, to },
    });
  const byKind = (ms: { kind: string }[]) => [...ms].sort((a, b) => a.kind.localeCompare(b.kind));

  it('WeChat: names the amount that differs, the payment unknown here and ours missing; matches the refund', async () => {
    const a = await paid('wechat', 1_999, '4200000001202503200000000001');
    const b = await paid('wechat', 29, '4200000001202503200000000002');
    const m = await paid('wechat', 113, '4200000001202503200000000003');
    const d = await paid('wechat', 10_000, '4200000001202503200000000004');
    const r = await refunded(d.paymentId, 2_550);
    const bill = wxBill([
      { txn: a.txn, out: a.out, fen: 1_999, coupon: 200 },
      { txn: b.txn, out: b.out, fen: 30 },
      { txn: '4200000001202503209999999999', out: 'P-NOT-OURS', fen: 4_200 },
      { txn: d.txn, out: d.out, fen: 10_000 },
      { txn: d.txn, out: d.out, fen: 2_550, refundNo: r.outRefundNo },
    ]);
    const res = await reconcile('wechat', bill, '2025-03-20', tomorrow());
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ channel: 'wechat', statementLines: 5, matched: 3 });
    expect(byKind(res.json().mismatches)).toEqual([
      { kind: 'amount_differs', channelTxnId: b.txn, outTradeNo: b.out, ours: 29, theirs: 30 },
      {
        kind: 'missing_here',
        channelTxnId: '4200000001202503209999999999',
        outTradeNo: 'P-NOT-OURS',
        ours: null,
        theirs: 4_200,
      },
      { kind: 'missing_in_statement', channelTxnId: m.txn, outTradeNo: m.out, ours: 113, theirs: null },
    ]);
    // The refund's own day: its bill holds the refund but not the payment, made days before.
    const day = beijingDate(r.createdAt);
    const refundDay = wxBill([{ txn: d.txn, out: d.out, fen: 2_550, refundNo: r.outRefundNo }]);
    const alone = await reconcile('wechat', refundDay, day, day);
    expect(alone.json()).toMatchObject({ statementLines: 1, matched: 1, mismatches: [] });
  });

  it('Alipay: the same, plus a refund unknown here and one of ours the statement lacks', async () => {
    const a = await paid('alipay', 1_999, '2025032022001400000000000001');
    const b = await paid('alipay', 29, '2025032022001400000000000002');
    const m = await paid('alipay', 113, '2025032022001400000000000003');
    const d = await paid('alipay', 10_000, '2025032022001400000000000004');
    const r1 = await refunded(d.paymentId, 2_550);
    const r2 = await refunded(d.paymentId, 1_000);
    const statement = aliStatement([
      { txn: a.txn, out: a.out, fen: 1_999, discount: 100 },
      { txn: b.txn, out: b.out, fen: 28 },
      { txn: '2025032022001499999999999999', out: 'P-NOT-OURS', fen: 4_200 },
      { txn: d.txn, out: d.out, fen: 10_000 },
      { txn: d.txn, out: d.out, fen: 2_550, refundNo: r1.outRefundNo },
      { txn: d.txn, out: d.out, fen: 700, refundNo: 'RNOTOURS0001' },
    ]);
    const res = await reconcile('alipay', statement, '2025-03-20', tomorrow());
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ channel: 'alipay', statementLines: 6, matched: 3 });
    expect(byKind(res.json().mismatches)).toEqual([
      { kind: 'amount_differs', channelTxnId: b.txn, outTradeNo: b.out, ours: 29, theirs: 28 },
      {
        kind: 'missing_here',
        channelTxnId: '2025032022001499999999999999',
        outTradeNo: 'P-NOT-OURS',
        ours: null,
        theirs: 4_200,
      },
      { kind: 'missing_in_statement', channelTxnId: m.txn, outTradeNo: m.out, ours: 113, theirs: null },
      {
        kind: 'refund_missing_here',
        channelTxnId: d.txn,
        outTradeNo: d.out,
        refundNo: 'RNOTOURS0001',
        ours: null,
        theirs: 700,
      },
      {
        kind: 'refund_missing_in_statement',
        channelTxnId: d.txn,
        outTradeNo: d.out,
        refundNo: r2.outRefundNo,
        ours: 1_000,
        theirs: null,
      },
    ]);
  });

  it('refuses a malformed statement with a coded 400 naming the line, and changes nothing', async () => {
    const prisma = c.deps.prisma;
    const state = async () => [
      await prisma.payment.count(),
      await prisma.refund.count(),
      await prisma.auditEntry.count(),
      (await prisma.payment.aggregate({ _sum: { refundedFen: true } }))._sum.refundedFen,
    ];
    const before = await state();
    const wx = wxBill([{ txn: '4200000001202503200000000001', out: 'P1', fen: 1_999 }]).replaceAll('`19.99', '`19.990');
    const ali = aliStatement([{ txn: A1, out: 'P1', fen: 1_230 }]).replace('交易\t', '转账\t');
    for (const [channel, statement, message] of [
      [
        'wechat',
        wx,
        /^wechat statement: line 2: 订单金额 "19\.990" is not an amount in yuan with at most two decimals$/,
      ],
      ['alipay', ali, /^alipay statement: line 6: 业务类型 转账 is neither 交易 nor 退款$/],
      ['wechat', ali, /^wechat statement: not a WeChat Pay trade bill/],
      ['alipay', '\uFEFF\r\n', /^alipay statement: statement is empty$/],
    ] as const) {
      const res = await reconcile(channel, statement, '2025-03-20', tomorrow());
      expect(res.statusCode, res.body).toBe(400);
      const { error } = res.json();
      expect(error).toMatchObject({ code: 'VALIDATION', field: '/body/statement' });
      expect(error.message).toMatch(message);
    }
    expect(await state()).toEqual(before);
  });
});
