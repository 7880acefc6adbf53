// The cloud's signing keys: documents signed in the cloud verify on a gateway that trusts what `trusted()` lists,
// a rotation keeps the old key trusted through the overlap only, and two instances sign with the same key.
import { importRawPublicKey, KeyRing, signDocument, verifyDocument } from '@estate/protocols';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signingKeys } from '../src/core/signing.js';
import { type TestCloud, testCloud } from './helpers/cloud.js';

let cloud: TestCloud;
beforeAll(async () => {
  cloud = await testCloud();
});
afterAll(async () => {
  await cloud?.close();
});

async function gatewayRing(now: Date) {
  const trusted = await cloud.deps.signing.trusted(now);
  return new KeyRing(
    trusted.map((k) => ({ ...k, publicKey: importRawPublicKey(k.alg, Buffer.from(k.publicKey, 'base64url')) })),
  );
}

describe('signing keys', () => {
  it('sign in the cloud, verify with the trusted keys, for their purpose only', async () => {
    const signer = await cloud.deps.signing.signer('desired');
    const doc = signDocument<{ v: number; signature: { keyId: string; alg: 'Ed25519' | 'ES256'; sig: string } }>(
      { v: 1 },
      signer,
    );
    const now = new Date();
    const ring = await gatewayRing(now);
    expect(verifyDocument(doc, ring, 'desired', now.getTime())).toEqual({ ok: true });
    expect(verifyDocument(doc, ring, 'command', now.getTime())).toMatchObject({ ok: false });
    expect(verifyDocument({ ...doc, v: 2 } as typeof doc, ring, 'desired', now.getTime())).toMatchObject({
      ok: false,
      reason: 'bad_signature',
    });
  });

  it('is the same key for another instance on the same database, and stored sealed', async () => {
    const other = signingKeys(cloud.deps.prisma, cloud.deps.config.keyRing);
    expect((await other.signer('desired')).keyId).toBe((await cloud.deps.signing.signer('desired')).keyId);
    const row = await cloud.deps.prisma.signingKey.findFirstOrThrow({ where: { purpose: 'desired' } });
    expect(row.privateKeySealed).not.toContain('PRIVATE KEY');
  });

  it('rotation: the old key verifies until the overlap ends, the new one signs', async () => {
    const t0 = new Date();
    const before = await cloud.deps.signing.signer('pass');
    const old = signDocument<{ n: string; signature: { keyId: string; alg: 'Ed25519' | 'ES256'; sig: string } }>(
      { n: 'a' },
      before,
    );
    const newId = await cloud.deps.signing.rotate('pass', 60_000, t0);
    expect(newId).not.toBe(before.keyId);
    expect((await cloud.deps.signing.signer('pass')).keyId).toBe(newId);
    const during = new Date(t0.getTime() + 30_000);
    expect(verifyDocument(old, await gatewayRing(during), 'pass', during.getTime())).toEqual({ ok: true });
    const after = new Date(t0.getTime() + 61_000);
    expect(verifyDocument(old, await gatewayRing(after), 'pass', after.getTime())).toMatchObject({ ok: false });
  });
});
