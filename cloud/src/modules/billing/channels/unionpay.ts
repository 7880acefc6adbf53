// UnionPay online gateway (银联全渠道, ACP 5.1.0, signMethod 01): the parameters except `signature`, sorted and joined
// as k=v&k=v, hashed SHA-256 to lowercase hex, and that hex string signed SHA256withRSA. A notification carries its
// signing certificate (signPubKeyCert); it is trusted only when it chains to the configured UnionPay root through
// the middle certificate, is within its validity, and names 中国银联股份有限公司 in its CN.
// https://open.unionpay.com/tjweb/acproduct/APIList?acpAPIId=275&apiservId=448 (消费 / 后台通知)
import { createHash, createSign, createVerify, type KeyObject, X509Certificate } from 'node:crypto';
import { parseGenericStatement } from './statement.js';
import {
  type Ack,
  beijing,
  type ChannelRequest,
  NotifyRejected,
  type NotifyRequest,
  type OrderForChannel,
  type PaymentChannel,
  type RefundForChannel,
  type VerifiedNotification,
} from './types.js';

export interface UnionpayConfig {
  merId: string;
  /** certId of the merchant signing certificate (its serial number in decimal). */
  certId: string;
  privateKey: KeyObject;
  rootCert: X509Certificate;
  middleCert: X509Certificate;
  /** The organisation in the signer's CN (production: 中国银联股份有限公司). */
  signerName?: string;
  gateway?: string;
}

const CURRENCY: Record<string, string> = { '156': 'CNY' };

export function unionpayDigest(params: Record<string, string>): string {
  const content = Object.keys(params)
    .filter((k) => k !== 'signature')
    .sort()
    .map((k) => `${k}=${params[k]}`)
    .join('&');
  return createHash('sha256').update(content, 'utf8').digest('hex');
}

const txnTime = (at: Date) => {
  const b = beijing(at);
  return (b.date + b.time).replace(/[-:]/g, '');
};

export function unionpayChannel(cfg: UnionpayConfig): PaymentChannel {
  const gateway = cfg.gateway ?? 'https://gateway.95516.com/gateway/api';
  const signerName = cfg.signerName ?? '中国银联股份有限公司';
  if (!cfg.middleCert.verify(cfg.rootCert.publicKey))
    throw new Error('unionpay middle certificate is not signed by the root');

  function signed(path: string, params: Record<string, string>): ChannelRequest {
    const form = { ...params, certId: cfg.certId, signMethod: '01' };
    const signature = createSign('RSA-SHA256').update(unionpayDigest(form), 'utf8').sign(cfg.privateKey, 'base64');
    return {
      method: 'POST',
      url: `${gateway}/${path}`,
      headers: { 'content-type': 'application/x-www-form-urlencoded;charset=UTF-8' },
      form: { ...form, signature },
    };
  }

  const common = { version: '5.1.0', encoding: 'UTF-8', accessType: '0', merId: cfg.merId, bizType: '000201' };

  function trustedSigner(pem: string, now: Date): X509Certificate {
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(pem);
    } catch {
      throw new NotifyRejected('signPubKeyCert is not a certificate');
    }
    if (!cert.verify(cfg.middleCert.publicKey)) throw new NotifyRejected('signing certificate not issued by UnionPay');
    if (now < new Date(cert.validFrom) || now > new Date(cert.validTo))
      throw new NotifyRejected('signing certificate expired');
    const cn = /(?:^|\n)CN=([^\n]*)/.exec(cert.subject)?.[1] ?? '';
    // CN=041@<id>@中国银联股份有限公司@<n>: the third part names the owner.
    if (cn.split('@')[2] !== signerName) throw new NotifyRejected('signing certificate is not UnionPay’s');
    return cert;
  }

  return {
    name: 'unionpay',
    buildPayment(o: OrderForChannel, now: Date) {
      return signed('frontTransReq.do', {
        ...common,
        txnType: '01',
        txnSubType: '01',
        channelType: '08',
        orderId: o.outTradeNo,
        txnTime: txnTime(now),
        payTimeout: txnTime(o.expiresAt),
        txnAmt: String(o.amountFen),
        currencyCode: '156',
        backUrl: o.notifyUrl,
        orderDesc: o.description.slice(0, 32),
      });
    },
    buildRefund(r: RefundForChannel, now: Date) {
      return signed('backTransReq.do', {
        ...common,
        txnType: '04',
        txnSubType: '00',
        channelType: '07',
        orderId: r.outRefundNo,
        origQryId: r.channelTxnId,
        txnTime: txnTime(now),
        txnAmt: String(r.refundFen),
        currencyCode: '156',
        backUrl: r.notifyUrl,
      });
    },
    verifyNotification(req: NotifyRequest, now: Date): VerifiedNotification {
      const params: Record<string, string> = {};
      for (const [k, v] of new URLSearchParams(req.body)) {
        if (k in params) throw new NotifyRejected(`duplicate parameter ${k}`);
        params[k] = v;
      }
      if (params.signMethod !== '01' || params.version !== '5.1.0')
        throw new NotifyRejected('unsupported signMethod/version');
      const { signature, signPubKeyCert } = params;
      if (!signature || !signPubKeyCert) throw new NotifyRejected('missing signature');
      const cert = trustedSigner(signPubKeyCert, now);
      const ok = createVerify('RSA-SHA256')
        .update(unionpayDigest(params), 'utf8')
        .verify(cert.publicKey, signature, 'base64');
      if (!ok) throw new NotifyRejected('bad signature');
      if (params.merId !== cfg.merId) throw new NotifyRejected('merId mismatch');
      const { orderId, queryId, txnAmt, currencyCode, respCode } = params;
      if (!orderId || !queryId || !txnAmt || !/^\d{1,12}$/.test(txnAmt) || !respCode) {
        throw new NotifyRejected('incomplete notification');
      }
      const t = params.txnTime ?? '';
      const paid = /^\d{14}$/.test(t)
        ? Date.parse(
            `${t.slice(0, 4)}-${t.slice(4, 6)}-${t.slice(6, 8)}T${t.slice(8, 10)}:${t.slice(10, 12)}:${t.slice(12)}+08:00`,
          )
        : Number.NaN;
      return {
        outTradeNo: orderId,
        channelTxnId: queryId,
        amountFen: Number(txnAmt),
        currency: CURRENCY[currencyCode ?? ''] ?? `ISO4217:${currencyCode ?? ''}`,
        succeeded: params.txnType === '01' && (respCode === '00' || respCode === 'A6'),
        state: respCode,
        paidAt: Number.isNaN(paid) ? now : new Date(paid),
      };
    },
    ack(ok: boolean): Ack {
      // UnionPay retries until it gets HTTP 200.
      return ok
        ? { status: 200, contentType: 'text/plain', body: 'ok' }
        : { status: 400, contentType: 'text/plain', body: 'fail' };
    },
    parseStatement: parseGenericStatement,
  };
}
