// Payment channels (issue 7): Alipay (RSA2) and UnionPay (ACP 5.1.0, certificate chain) notifications built as each
// provider sends them and pushed through POST /api/billing/notify/:channel; forged, self-certified and changed ones
// are refused; nothing is credited twice.
import { createHash, createVerify, X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signContent } from '../src/modules/billing/channels/alipay.js';
import {
  alipayApp,
  alipayNotification,
  anOrder,
  credited,
  forger,
  merchant,
  notify,
  rejectedFor,
  setupChannels,
  teardownChannels,
  unionpayNotification,
  up,
} from './billing-channels-fixture.js';

beforeAll(setupChannels);
afterAll(teardownChannels);

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
