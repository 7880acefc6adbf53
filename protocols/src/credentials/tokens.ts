import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { Base64Url, Enum, Id, Millis, Obj } from '../common.js';
import type { BleChallenge } from '../devices/ble.js';
import { bleChallengeSigningInput } from '../devices/ble.js';
import { validate } from '../validate.js';
import {
  type Alg,
  importRawPublicKey,
  type KeyPurpose,
  type KeyRing,
  type Signer,
  signBytes,
  verifyBytes,
} from './keys.js';

/*
 * Credentials the cloud issues and a gateway verifies offline:
 *   <base64url(JSON claims)>.<base64url(signature over the first part's ASCII)>
 * Compact enough for a QR code (~300 chars for a pass), no header to trust:
 * the algorithm comes from the gateway's key ring, looked up by `kid`, never
 * from the token (the JWT "alg: none" class of bug cannot happen).
 */

export const BleKeyClaims = Obj(
  {
    typ: Type.Literal('ble'),
    kid: Id('id of the cloud key that signed this'),
    id: Id('BLE key id (for revocation)'),
    sub: Id('person id'),
    estate: Id('estate id'),
    alg: Enum(['Ed25519', 'ES256'], "algorithm of the phone's key"),
    pk: Base64Url(88, "phone's public key, raw bytes"),
    nbf: Millis('not valid before'),
    exp: Millis('not valid after'),
  },
  'a phone key: the phone proves possession of `pk` by signing a gateway nonce',
);
export type BleKeyClaims = Static<typeof BleKeyClaims>;

export const PassClaims = Obj(
  {
    typ: Type.Literal('pass'),
    kid: Id('id of the cloud key that signed this'),
    id: Id('visitor pass id (for use counts and revocation)'),
    estate: Id('estate id'),
    doors: Type.Array(Id('door id'), { minItems: 1, maxItems: 64 }),
    nbf: Millis('window start'),
    exp: Millis('window end'),
    max: Type.Integer({ minimum: 1, maximum: 1_000, description: 'maximum number of uses' }),
  },
  'a visitor QR pass',
);
export type PassClaims = Static<typeof PassClaims>;

export type CredentialReason =
  | 'malformed'
  | 'unknown_key'
  | 'key_not_for_purpose'
  | 'key_retired'
  | 'bad_signature'
  | 'expired'
  | 'not_yet_valid';

export type Verified<T> = { ok: true; claims: T } | { ok: false; reason: CredentialReason; detail: string };

const MAX_TOKEN = 2048;
const TOKEN = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

export function signToken(claims: BleKeyClaims | PassClaims, signer: Signer): string {
  if (claims.kid !== signer.keyId) throw new Error(`claims.kid ${claims.kid} is not the signer's key ${signer.keyId}`);
  const body = Buffer.from(JSON.stringify(claims)).toString('base64url');
  return `${body}.${signBytes(signer.alg, signer.privateKey, Buffer.from(body, 'ascii')).toString('base64url')}`;
}

export interface VerifyOptions {
  ring: KeyRing;
  now: number;
  /** Tolerated clock difference for nbf/exp, ms (default 30 s). */
  leewayMs?: number;
}

function verifyToken<S extends TSchema>(
  token: string,
  schema: S,
  purpose: KeyPurpose,
  o: VerifyOptions,
): Verified<Static<S>> {
  const bad = (reason: CredentialReason, detail: string) => ({ ok: false as const, reason, detail });
  if (typeof token !== 'string' || token.length > MAX_TOKEN || !TOKEN.test(token))
    return bad('malformed', 'not a token');
  const [body = '', sig = ''] = token.split('.');
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
  } catch {
    return bad('malformed', 'claims are not JSON');
  }
  const v = validate(schema, json);
  if (!v.ok) return bad('malformed', v.error.message);
  const claims = v.value as Static<S> & { kid: string; nbf: number; exp: number };
  const key = o.ring.find(claims.kid, purpose, o.now);
  if (typeof key === 'string') return bad(key, `signing key ${claims.kid}`);
  if (!verifyBytes(key.alg, key.publicKey, Buffer.from(body, 'ascii'), Buffer.from(sig, 'base64url'))) {
    return bad('bad_signature', 'signature does not match');
  }
  const leeway = o.leewayMs ?? 30_000;
  if (o.now < claims.nbf - leeway) return bad('not_yet_valid', `valid from ${new Date(claims.nbf).toISOString()}`);
  if (o.now > claims.exp + leeway) return bad('expired', `expired ${new Date(claims.exp).toISOString()}`);
  return { ok: true, claims };
}

export const verifyBleKey = (token: string, o: VerifyOptions): Verified<BleKeyClaims> =>
  verifyToken(token, BleKeyClaims, 'ble_key', o);

export const verifyPass = (token: string, o: VerifyOptions): Verified<PassClaims> =>
  verifyToken(token, PassClaims, 'pass', o);

/** Did the phone holding this key sign this challenge? Never throws. */
export function verifyBleResponse(
  key: Pick<BleKeyClaims, 'alg' | 'pk'>,
  challenge: Pick<BleChallenge, 'session' | 'nonce' | 'expiresAt'>,
  signatureB64: string,
): boolean {
  try {
    const pk = importRawPublicKey(key.alg as Alg, Buffer.from(key.pk, 'base64url'));
    return verifyBytes(key.alg as Alg, pk, bleChallengeSigningInput(challenge), Buffer.from(signatureB64, 'base64url'));
  } catch {
    return false;
  }
}
