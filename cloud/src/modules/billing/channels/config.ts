// Payment channel credentials come from `<data dir>/payments.json` (mode 600, like dev-secrets.json), validated once
// at start: an unknown key or a key that does not parse stops the cloud with a message naming it. PEM values are
// given inline or as a path relative to the data folder. Without the file only the sandbox exists (not in production).
import { createPrivateKey, createPublicKey, type KeyObject, X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { type Static, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { CloudConfig } from '../../../config.js';
import { alipayChannel } from './alipay.js';
import { type SandboxChannel, sandboxChannel } from './sandbox.js';
import type { ChannelName, PaymentChannel } from './types.js';
import { unionpayChannel } from './unionpay.js';
import { wechatChannel } from './wechat.js';

const S = Type.String({ minLength: 1 });
const strict = { additionalProperties: false } as const;
const PaymentsFile = Type.Object(
  {
    notifyBaseUrl: Type.String({ pattern: '^https?://' }),
    sandbox: Type.Optional(Type.Boolean()),
    wechat: Type.Optional(
      Type.Object(
        {
          appId: S,
          mchId: S,
          merchantSerialNo: S,
          merchantPrivateKey: S,
          apiV3Key: Type.String({ minLength: 32, maxLength: 32 }),
          platformPublicKeys: Type.Record(Type.String(), S),
          baseUrl: Type.Optional(S),
        },
        strict,
      ),
    ),
    alipay: Type.Optional(
      Type.Object(
        { appId: S, privateKey: S, alipayPublicKey: S, sellerId: Type.Optional(S), gateway: Type.Optional(S) },
        strict,
      ),
    ),
    unionpay: Type.Optional(
      Type.Object(
        {
          merId: S,
          certId: S,
          privateKey: S,
          rootCert: S,
          middleCert: S,
          signerName: Type.Optional(S),
          gateway: Type.Optional(S),
        },
        strict,
      ),
    ),
  },
  strict,
);
export type PaymentsFile = Static<typeof PaymentsFile>;

export interface Channels {
  byName: Map<ChannelName, PaymentChannel>;
  sandbox: SandboxChannel | undefined;
  notifyBaseUrl: string;
}

export class PaymentsConfigError extends Error {}

export function loadChannels(config: Pick<CloudConfig, 'dataDir' | 'env' | 'host' | 'port'>): Channels {
  const file = join(config.dataDir, 'payments.json');
  let spec: PaymentsFile = { notifyBaseUrl: `http://${config.host}:${config.port}` };
  if (existsSync(file)) {
    const raw = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    const problem = Value.Errors(PaymentsFile, raw).First();
    if (problem) throw new PaymentsConfigError(`payments.json ${problem.path}: ${problem.message}`);
    spec = raw as PaymentsFile;
  }
  return channelsFrom(spec, config.dataDir, spec.sandbox ?? config.env !== 'production');
}

export function channelsFrom(spec: PaymentsFile, dir: string, withSandbox: boolean): Channels {
  const pem = (key: string, v: string) => {
    try {
      return v.startsWith('-----BEGIN') ? v : readFileSync(isAbsolute(v) ? v : join(dir, v), 'utf8');
    } catch {
      throw new PaymentsConfigError(`payments.json ${key}: cannot read ${v}`);
    }
  };
  const parse = <T>(key: string, v: string, f: (text: string) => T): T => {
    try {
      return f(pem(key, v));
    } catch (err) {
      if (err instanceof PaymentsConfigError) throw err;
      throw new PaymentsConfigError(`payments.json ${key}: not a valid key or certificate`);
    }
  };
  const priv = (key: string, v: string): KeyObject => parse(key, v, createPrivateKey);
  const pub = (key: string, v: string): KeyObject => parse(key, v, createPublicKey);
  const cert = (key: string, v: string) => parse(key, v, (t) => new X509Certificate(t));
  const byName = new Map<ChannelName, PaymentChannel>();
  const w = spec.wechat;
  if (w) {
    byName.set(
      'wechat',
      wechatChannel({
        appId: w.appId,
        mchId: w.mchId,
        merchantSerialNo: w.merchantSerialNo,
        merchantPrivateKey: priv('/wechat/merchantPrivateKey', w.merchantPrivateKey),
        apiV3Key: w.apiV3Key,
        platformKeys: Object.fromEntries(
          Object.entries(w.platformPublicKeys).map(([serial, v]) => [
            serial,
            pub(`/wechat/platformPublicKeys/${serial}`, v),
          ]),
        ),
        ...(w.baseUrl ? { baseUrl: w.baseUrl } : {}),
      }),
    );
  }
  const a = spec.alipay;
  if (a) {
    byName.set(
      'alipay',
      alipayChannel({
        appId: a.appId,
        privateKey: priv('/alipay/privateKey', a.privateKey),
        alipayPublicKey: pub('/alipay/alipayPublicKey', a.alipayPublicKey),
        ...(a.sellerId ? { sellerId: a.sellerId } : {}),
        ...(a.gateway ? { gateway: a.gateway } : {}),
      }),
    );
  }
  const u = spec.unionpay;
  if (u) {
    byName.set(
      'unionpay',
      unionpayChannel({
        merId: u.merId,
        certId: u.certId,
        privateKey: priv('/unionpay/privateKey', u.privateKey),
        rootCert: cert('/unionpay/rootCert', u.rootCert),
        middleCert: cert('/unionpay/middleCert', u.middleCert),
        ...(u.signerName ? { signerName: u.signerName } : {}),
        ...(u.gateway ? { gateway: u.gateway } : {}),
      }),
    );
  }
  const sandbox = withSandbox ? sandboxChannel() : undefined;
  if (sandbox) byName.set('sandbox', sandbox);
  return { byName, sandbox, notifyBaseUrl: spec.notifyBaseUrl.replace(/\/$/, '') };
}
