import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * AES-256-GCM for personal data at rest on the gateway (face templates).
 * The key lives in its own file, mode 0600, created on first start; the
 * database alone (a copied SD card image) reveals no template.
 */
export class Sealer {
  constructor(private readonly key: Buffer) {
    if (key.byteLength !== 32) throw new Error('the gateway data key must be 32 bytes');
  }

  static fromKeyFile(file: string): Sealer {
    if (!existsSync(file)) {
      mkdirSync(dirname(file), { recursive: true });
      // wx: never overwrite a key that appeared meanwhile — that would orphan everything sealed with it
      writeFileSync(file, randomBytes(32).toString('base64'), { mode: 0o600, flag: 'wx' });
    }
    return new Sealer(Buffer.from(readFileSync(file, 'utf8').trim(), 'base64'));
  }

  /** base64(iv ‖ tag ‖ ciphertext); `aad` binds the ciphertext to its row so rows cannot be swapped. */
  seal(plaintext: string, aad: string): string {
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.key, iv).setAAD(Buffer.from(aad));
    const ct = Buffer.concat([c.update(plaintext, 'utf8'), c.final()]);
    return Buffer.concat([iv, c.getAuthTag(), ct]).toString('base64');
  }

  /** Throws if the data was altered, sealed under another key, or moved to another row. */
  open(sealed: string, aad: string): string {
    const b = Buffer.from(sealed, 'base64');
    const d = createDecipheriv('aes-256-gcm', this.key, b.subarray(0, 12)).setAAD(Buffer.from(aad));
    d.setAuthTag(b.subarray(12, 28));
    return Buffer.concat([d.update(b.subarray(28)), d.final()]).toString('utf8');
  }
}
