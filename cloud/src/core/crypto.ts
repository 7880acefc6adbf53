// Field and file encryption (AES-256-GCM) under a key ring, and an HMAC blind index for exact lookups.
// Ciphertext records the id of the key that sealed it, so keys can rotate: the first key of the ring seals,
// every key in the ring opens (`keyIdOf` finds what an old key still holds, for a re-encryption job).
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';

const VERSION = 'v1';

export interface DataKey {
  id: string;
  key: Buffer;
}

export class KeyRing {
  readonly #keys: Map<string, Buffer>;
  readonly #current: DataKey;

  constructor(keys: DataKey[]) {
    const first = keys[0];
    if (!first) throw new Error('key ring is empty');
    for (const k of keys) {
      if (k.key.length !== 32) throw new Error(`data key ${k.id} is not 32 bytes`);
      if (!/^[A-Za-z0-9_-]{1,32}$/.test(k.id)) throw new Error(`data key id '${k.id}' is not [A-Za-z0-9_-]{1,32}`);
    }
    this.#keys = new Map(keys.map((k) => [k.id, k.key]));
    this.#current = first;
  }

  /** `id:base64,id:base64` — the first key is the one that seals. */
  static parse(spec: string): KeyRing {
    return new KeyRing(
      spec.split(',').map((part) => {
        const [id, b64] = part.trim().split(':');
        if (!id || !b64) throw new Error('data keys must look like id:base64[,id:base64...]');
        return { id, key: Buffer.from(b64, 'base64') };
      }),
    );
  }

  get currentKeyId(): string {
    return this.#current.id;
  }

  sealBytes(plain: Buffer, aad = ''): Buffer {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#current.key, iv);
    cipher.setAAD(Buffer.from(aad));
    const body = Buffer.concat([cipher.update(plain), cipher.final()]);
    const header = Buffer.from(`${VERSION}:${this.#current.id}:`);
    return Buffer.concat([Buffer.from([header.length]), header, iv, cipher.getAuthTag(), body]);
  }

  openBytes(sealed: Buffer, aad = ''): Buffer {
    const headerLength = sealed[0] ?? 0;
    const [version, keyId] = sealed
      .subarray(1, 1 + headerLength)
      .toString()
      .split(':');
    const key = keyId ? this.#keys.get(keyId) : undefined;
    if (version !== VERSION || !key) throw new Error(`cannot open ciphertext sealed with key '${keyId}'`);
    const at = 1 + headerLength;
    const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(at, at + 12));
    decipher.setAAD(Buffer.from(aad));
    decipher.setAuthTag(sealed.subarray(at + 12, at + 28));
    return Buffer.concat([decipher.update(sealed.subarray(at + 28)), decipher.final()]);
  }

  /** Text fields travel as base64 of the sealed bytes; `aad` binds a value to its row and column. */
  seal(plain: string, aad: string): string {
    return this.sealBytes(Buffer.from(plain, 'utf8'), aad).toString('base64');
  }

  open(sealed: string, aad: string): string {
    return this.openBytes(Buffer.from(sealed, 'base64'), aad).toString('utf8');
  }

  keyIdOf(sealed: string | Buffer): string | undefined {
    const bytes = typeof sealed === 'string' ? Buffer.from(sealed, 'base64') : sealed;
    return bytes
      .subarray(1, 1 + (bytes[0] ?? 0))
      .toString()
      .split(':')[1];
  }
}

/** Deterministic keyed hash: equal inputs give equal outputs, but the table alone reveals nothing. */
export function blindIndex(key: Buffer, value: string): string {
  return createHmac('sha256', key).update(value).digest('base64url');
}

export function randomKey(): string {
  return randomBytes(32).toString('base64');
}
