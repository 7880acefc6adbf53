/**
 * A stand-in for WeChat Pay in the payment bench: keys generated for the run, the cloud's payments.json naming
 * them, and notifications built and signed exactly as WeChat Pay API v3 sends them (the resource encrypted with
 * AEAD_AES_256_GCM under the APIv3 key, the body signed SHA256withRSA by the platform key over
 * "timestamp\nnonce\nbody\n"), so the cloud verifies each one fully.
 */
import { createCipheriv, createSign, generateKeyPairSync, type KeyObject, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Post } from './api-load.js';

const SERIAL = 'BENCH5157F09EFDC096DE15EBE81A4705';
const WX = { appid: 'wx8888888888888888', mchid: '1900000109' };

export interface WechatPlatform {
  /** Writes the cloud's payments.json for these keys into its data folder. */
  configure(dataDir: string): void;
  /** The notification of a successful payment of `amountFen` for the order, as WeChat would POST it. */
  notification(o: { outTradeNo: string; amountFen: number; txn: string }): Post;
}

const pem = (k: KeyObject) => k.export({ type: k.type === 'private' ? 'pkcs8' : 'spki', format: 'pem' }).toString();

export function wechatPlatform(): WechatPlatform {
  const merchant = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const platform = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const apiV3Key = randomBytes(16).toString('hex');
  return {
    configure(dataDir) {
      const spec = {
        notifyBaseUrl: 'https://estate.example.com',
        wechat: {
          appId: WX.appid,
          mchId: WX.mchid,
          merchantSerialNo: 'BENCHMERCHANT',
          merchantPrivateKey: pem(merchant.privateKey),
          apiV3Key,
          platformPublicKeys: { [SERIAL]: pem(platform.publicKey) },
        },
      };
      writeFileSync(join(dataDir, 'payments.json'), JSON.stringify(spec), { mode: 0o600 });
    },
    notification({ outTradeNo, amountFen, txn }) {
      const now = new Date();
      const successTime = `${new Date(now.getTime() + 8 * 3_600_000).toISOString().slice(0, 19)}+08:00`;
      const tx = {
        ...WX,
        out_trade_no: outTradeNo,
        transaction_id: txn,
        trade_type: 'NATIVE',
        trade_state: 'SUCCESS',
        trade_state_desc: '支付成功',
        bank_type: 'OTHERS',
        success_time: successTime,
        payer: { openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o' },
        amount: { total: amountFen, payer_total: amountFen, currency: 'CNY', payer_currency: 'CNY' },
      };
      const nonce = randomBytes(6).toString('hex');
      const cipher = createCipheriv('aes-256-gcm', Buffer.from(apiV3Key), Buffer.from(nonce));
      cipher.setAAD(Buffer.from('transaction'));
      const sealed = Buffer.concat([cipher.update(JSON.stringify(tx)), cipher.final(), cipher.getAuthTag()]);
      const body = JSON.stringify({
        id: randomBytes(16).toString('hex'),
        create_time: successTime,
        resource_type: 'encrypt-resource',
        event_type: 'TRANSACTION.SUCCESS',
        summary: '支付成功',
        resource: {
          original_type: 'transaction',
          algorithm: 'AEAD_AES_256_GCM',
          ciphertext: sealed.toString('base64'),
          associated_data: 'transaction',
          nonce,
        },
      });
      const timestamp = String(Math.floor(now.getTime() / 1000));
      const headerNonce = randomBytes(16).toString('hex');
      const signature = createSign('RSA-SHA256')
        .update(`${timestamp}\n${headerNonce}\n${body}\n`)
        .sign(platform.privateKey, 'base64');
      return {
        path: '/api/billing/notify/wechat',
        headers: {
          'content-type': 'application/json',
          'wechatpay-timestamp': timestamp,
          'wechatpay-nonce': headerNonce,
          'wechatpay-signature': signature,
          'wechatpay-serial': SERIAL,
        },
        body,
      };
    },
  };
}
