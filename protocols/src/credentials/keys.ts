import { createPrivateKey, createPublicKey, type KeyObject, sign, verify } from 'node:crypto';

export type Alg = 'Ed25519' | 'ES256';
export type KeyPurpose = 'desired' | 'command' | 'ble_key' | 'pass';

/** A cloud public key a gateway trusts, for some purposes, until `notAfter` (rotation overlap). */
export interface TrustedKey {
  keyId: string;
  alg: Alg;
  publicKey: KeyObject;
  purposes: readonly KeyPurpose[];
  notAfter?: number | undefined;
}

/** A private key that signs credentials and documents in the cloud. */
export interface Signer {
  keyId: string;
  alg: Alg;
  privateKey: KeyObject;
}

/** Raw public key bytes as the wire carries them: 32 bytes (Ed25519) or 65 bytes uncompressed point (P-256). */
export function exportRawPublicKey(key: KeyObject): Buffer {
  const jwk = key.export({ format: 'jwk' });
  const x = Buffer.from(jwk.x ?? '', 'base64url');
  if (jwk.kty === 'OKP') return x;
  return Buffer.concat([Buffer.from([4]), x, Buffer.from(jwk.y ?? '', 'base64url')]);
}

/** Inverse of exportRawPublicKey. Throws on bytes that are not a key of `alg`. */
export function importRawPublicKey(alg: Alg, raw: Uint8Array): KeyObject {
  if (alg === 'Ed25519') {
    if (raw.byteLength !== 32) throw new Error('an Ed25519 public key is 32 bytes');
    return createPublicKey({
      key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(raw).toString('base64url') },
      format: 'jwk',
    });
  }
  if (raw.byteLength !== 65 || raw[0] !== 4) throw new Error('a P-256 public key is a 65-byte uncompressed point');
  const b = Buffer.from(raw);
  return createPublicKey({
    key: {
      kty: 'EC',
      crv: 'P-256',
      x: b.subarray(1, 33).toString('base64url'),
      y: b.subarray(33).toString('base64url'),
    },
    format: 'jwk',
  });
}

export function privateKeyFromPem(pem: string): KeyObject {
  return createPrivateKey(pem);
}

// ES256 signatures are raw r||s (64 bytes, as JOSE), not DER, so both algorithms give fixed-size signatures.
export function signBytes(alg: Alg, key: KeyObject, data: Uint8Array): Buffer {
  return alg === 'Ed25519' ? sign(null, data, key) : sign('sha256', data, { key, dsaEncoding: 'ieee-p1363' });
}

/** false for a wrong signature, a wrong-type key or malformed signature bytes: never throws. */
export function verifyBytes(alg: Alg, key: KeyObject, data: Uint8Array, signature: Uint8Array): boolean {
  try {
    if (key.asymmetricKeyType !== (alg === 'Ed25519' ? 'ed25519' : 'ec')) return false;
    return alg === 'Ed25519'
      ? verify(null, data, key, signature)
      : verify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, signature);
  } catch {
    return false;
  }
}

/** The keys a gateway trusts, looked up by id and purpose at a given time. */
export class KeyRing {
  readonly #keys = new Map<string, TrustedKey>();

  constructor(keys: Iterable<TrustedKey> = []) {
    for (const k of keys) this.#keys.set(k.keyId, k);
  }

  get size(): number {
    return this.#keys.size;
  }

  /** The key, or why it cannot be used: unknown, not for this purpose, or past its rotation overlap. */
  find(
    keyId: string,
    purpose: KeyPurpose,
    now: number,
  ): TrustedKey | 'unknown_key' | 'key_not_for_purpose' | 'key_retired' {
    const k = this.#keys.get(keyId);
    if (!k) return 'unknown_key';
    if (!k.purposes.includes(purpose)) return 'key_not_for_purpose';
    if (k.notAfter !== undefined && now > k.notAfter) return 'key_retired';
    return k;
  }
}
