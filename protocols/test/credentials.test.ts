import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import {
  type Alg,
  bleChallengeSigningInput,
  examples,
  exportRawPublicKey,
  type GatewayCommand,
  KeyRing,
  type PassClaims,
  type Signer,
  signDocument,
  signToken,
  verifyBleKey,
  verifyBleResponse,
  verifyDocument,
  verifyPass,
} from '@estate/protocols';
import { describe, expect, it } from 'vitest';

const NOW = 1_764_086_400_000;

function aSigner(keyId: string, alg: Alg = 'Ed25519'): Signer & { publicKey: KeyObject } {
  const { privateKey, publicKey } =
    alg === 'Ed25519' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { keyId, alg, privateKey, publicKey };
}

const cloud = aSigner('cloud-1');
const cloudP256 = aSigner('cloud-p256', 'ES256');
const stranger = aSigner('cloud-1'); // same key id, different key: a forger
const ring = new KeyRing([
  { keyId: 'cloud-1', alg: 'Ed25519', publicKey: cloud.publicKey, purposes: ['ble_key', 'pass', 'command'] },
  { keyId: 'cloud-p256', alg: 'ES256', publicKey: cloudP256.publicKey, purposes: ['pass'] },
  { keyId: 'cloud-0', alg: 'Ed25519', publicKey: cloud.publicKey, purposes: ['pass'], notAfter: NOW - 1 },
]);

const aPass = (over: Partial<PassClaims> = {}): PassClaims => ({
  typ: 'pass',
  kid: 'cloud-1',
  id: 'v-1',
  estate: 'sunrise',
  doors: ['gate-east'],
  nbf: NOW - 60_000,
  exp: NOW + 3_600_000,
  max: 2,
  ...over,
});

describe('visitor QR pass', () => {
  it('verifies offline and fits a QR code', () => {
    const token = signToken(aPass(), cloud);
    expect(token.length).toBeLessThan(400);
    const v = verifyPass(token, { ring, now: NOW });
    expect(v.ok && v.claims.doors).toEqual(['gate-east']);
  });

  it('verifies with a P-256 (ES256) key too', () => {
    const v = verifyPass(signToken(aPass({ kid: 'cloud-p256' }), cloudP256), { ring, now: NOW });
    expect(v.ok).toBe(true);
  });

  const reasonOf = (token: string, now = NOW) => {
    const v = verifyPass(token, { ring, now });
    return v.ok ? 'ok' : v.reason;
  };

  it('refuses forged, tampered, expired, early, retired-key and garbage tokens with a reason', () => {
    const token = signToken(aPass(), cloud);
    const [body, sig] = token.split('.') as [string, string];
    const widened = Buffer.from(JSON.stringify(aPass({ doors: ['gate-east', 'b1-main'] }))).toString('base64url');
    expect(reasonOf(signToken(aPass(), stranger))).toBe('bad_signature');
    expect(reasonOf(`${widened}.${sig}`)).toBe('bad_signature');
    expect(reasonOf(token, NOW + 3_600_000 + 31_000)).toBe('expired');
    expect(reasonOf(token, NOW - 60_000 - 31_000)).toBe('not_yet_valid');
    expect(reasonOf(signToken(aPass({ kid: 'cloud-0' }), { ...cloud, keyId: 'cloud-0' }))).toBe('key_retired');
    expect(reasonOf(signToken(aPass({ kid: 'nobody' }), { ...cloud, keyId: 'nobody' }))).toBe('unknown_key');
    for (const junk of ['', '.', 'a.b.c', `${body}.`, 'x'.repeat(3000), '{"typ":"pass"}', `${body}.${sig}!`]) {
      expect(reasonOf(junk), junk.slice(0, 20)).toBe('malformed');
    }
  });

  it('does not accept a BLE key as a pass, nor a pass-only key for BLE keys', () => {
    const ble = signToken(
      {
        typ: 'ble',
        kid: 'cloud-p256',
        id: 'k-1',
        sub: 'p-1',
        estate: 'sunrise',
        alg: 'Ed25519',
        pk: 'AA',
        nbf: 0,
        exp: NOW * 2,
      },
      cloudP256,
    );
    expect(reasonOf(ble)).toBe('malformed');
    const v = verifyBleKey(ble, { ring, now: NOW });
    expect(!v.ok && v.reason).toBe('key_not_for_purpose');
  });
});

describe('BLE phone key with challenge-response', () => {
  const phone = generateKeyPairSync('ed25519');
  const credential = signToken(
    {
      typ: 'ble',
      kid: 'cloud-1',
      id: 'k-7',
      sub: 'p-1024',
      estate: 'sunrise',
      alg: 'Ed25519',
      pk: exportRawPublicKey(phone.publicKey).toString('base64url'),
      nbf: NOW - 1,
      exp: NOW + 86_400_000,
    },
    cloud,
  );
  const challenge = { session: 's-1', nonce: 'n'.repeat(43), expiresAt: NOW + 3_000 };

  it('accepts the phone that holds the key', () => {
    const v = verifyBleKey(credential, { ring, now: NOW });
    if (!v.ok) throw new Error(v.reason);
    const sig = sign(null, bleChallengeSigningInput(challenge), phone.privateKey).toString('base64url');
    expect(verifyBleResponse(v.claims, challenge, sig)).toBe(true);
  });

  it('refuses a recorded response replayed against a new challenge, and a response from another phone', () => {
    const v = verifyBleKey(credential, { ring, now: NOW });
    if (!v.ok) throw new Error(v.reason);
    const recorded = sign(null, bleChallengeSigningInput(challenge), phone.privateKey).toString('base64url');
    expect(verifyBleResponse(v.claims, { ...challenge, nonce: 'm'.repeat(43) }, recorded)).toBe(false);
    const other = generateKeyPairSync('ed25519');
    const wrong = sign(null, bleChallengeSigningInput(challenge), other.privateKey).toString('base64url');
    expect(verifyBleResponse(v.claims, challenge, wrong)).toBe(false);
    expect(verifyBleResponse({ alg: 'Ed25519', pk: 'short' }, challenge, recorded)).toBe(false);
    expect(verifyBleResponse(v.claims, challenge, '')).toBe(false);
  });
});

describe('signed documents', () => {
  const unsigned = (({ signature: _s, ...rest }) => rest)(examples.gatewayCommand);

  it('verifies whatever the key order on the wire', () => {
    const doc = signDocument<GatewayCommand>(unsigned, cloud);
    const reordered = JSON.parse(JSON.stringify(Object.fromEntries(Object.entries(doc).reverse())));
    expect(verifyDocument(reordered, ring, 'command', NOW)).toEqual({ ok: true });
  });

  it('refuses a changed field, a forged signature and a key not trusted for commands', () => {
    const doc = signDocument<GatewayCommand>(unsigned, cloud);
    const changed: GatewayCommand = { ...doc, doorId: 'b2-main' };
    expect(verifyDocument(changed, ring, 'command', NOW)).toMatchObject({
      reason: 'bad_signature',
    });
    expect(verifyDocument(signDocument<GatewayCommand>(unsigned, stranger), ring, 'command', NOW)).toMatchObject({
      reason: 'bad_signature',
    });
    expect(verifyDocument(signDocument<GatewayCommand>(unsigned, cloudP256), ring, 'command', NOW)).toMatchObject({
      reason: 'key_not_for_purpose',
    });
  });
});
