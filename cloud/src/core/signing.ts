// The cloud's signing keys, one active per purpose (desired state, gateway commands, BLE keys, visitor passes),
// kept in the database with the private half sealed by the data key ring, so every cloud instance signs alike.
// A key is made on first use; rotate() makes a new active key and keeps the old one trusted until the overlap
// ends, so credentials signed before the rotation keep working on gateways while they are re-issued.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import {
  type Alg,
  exportRawPublicKey,
  type GatewayConfig,
  type KeyPurpose,
  privateKeyFromPem,
  type Signer,
} from '@estate/protocols';
import type { PrismaClient } from '../generated/prisma/client.js';
import type { KeyRing } from './crypto.js';

export type TrustedKeyWire = GatewayConfig['trustedKeys'][number];

export interface SigningKeys {
  /** The active key of a purpose, made on first use. */
  signer(purpose: KeyPurpose): Promise<Signer>;
  /** Every key a gateway should trust now: the active ones and the retiring ones still inside their overlap. */
  trusted(now?: Date): Promise<TrustedKeyWire[]>;
  /** A new active key for `purpose`; the previous one stays trusted for `overlapMs`. Returns the new key id. */
  rotate(purpose: KeyPurpose, overlapMs: number, now?: Date): Promise<string>;
}

const AAD = 'signing-key';

export function signingKeys(prisma: PrismaClient, ring: KeyRing, alg: Alg = 'Ed25519'): SigningKeys {
  const cache = new Map<string, Signer>(); // key id → unsealed signer; keys never change once made

  const unseal = (row: { keyId: string; alg: string; privateKeySealed: string }): Signer => {
    let s = cache.get(row.keyId);
    if (!s) {
      const pem = ring.open(row.privateKeySealed, `${AAD}:${row.keyId}`);
      s = { keyId: row.keyId, alg: row.alg as Alg, privateKey: privateKeyFromPem(pem) };
      cache.set(row.keyId, s);
    }
    return s;
  };

  const create = async (purpose: KeyPurpose) => {
    const keyId = `${purpose.replace('_', '')}-${randomBytes(6).toString('hex')}`;
    const { privateKey, publicKey } =
      alg === 'Ed25519' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    return {
      keyId,
      purpose,
      alg,
      publicKey: exportRawPublicKey(publicKey).toString('base64url'),
      privateKeySealed: ring.seal(pem, `${AAD}:${keyId}`),
    };
  };

  return {
    async signer(purpose) {
      const row = await prisma.signingKey.findFirst({ where: { purpose, active: true } });
      if (row) return unseal(row);
      // two instances may race to make the first key: the unique index lets one win, the other reads it
      try {
        await prisma.signingKey.create({ data: await create(purpose) });
      } catch {}
      const made = await prisma.signingKey.findFirstOrThrow({ where: { purpose, active: true } });
      return unseal(made);
    },

    async trusted(now = new Date()) {
      const rows = await prisma.signingKey.findMany({
        where: { OR: [{ active: true }, { notAfter: { gt: now } }] },
        orderBy: { createdAt: 'asc' },
      });
      // several purposes may share one key id space, but each row is one key with one purpose
      return rows.map((r) => ({
        keyId: r.keyId,
        alg: r.alg as Alg,
        publicKey: r.publicKey,
        purposes: [r.purpose as KeyPurpose],
        ...(r.notAfter && !r.active ? { notAfter: r.notAfter.getTime() } : {}),
      }));
    },

    async rotate(purpose, overlapMs, now = new Date()) {
      const next = await create(purpose);
      await prisma.$transaction([
        prisma.signingKey.updateMany({
          where: { purpose, active: true },
          data: { active: false, notAfter: new Date(now.getTime() + overlapMs) },
        }),
        prisma.signingKey.create({ data: next }),
      ]);
      return next.keyId;
    },
  };
}
