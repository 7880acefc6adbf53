import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Gateway, type GatewayOptions, type LocalBroker, pinHash, startLocalBroker } from '@estate/edge';
import { exportRawPublicKey, type PassClaims, type Signer, signToken } from '@estate/protocols';

export const ESTATE = 'sunrise';
export const PIN_KEY = Buffer.alloc(32, 7).toString('base64url');

/** The cloud's signing key, as a test holds it. */
export function aCloudSigner(keyId = 'cloud-1'): Signer & { publicKey: KeyObject } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { keyId, alg: 'Ed25519', privateKey, publicKey };
}

/**
 * A small estate: door b1-main (door controller door-b1, opened by reader-b1,
 * ble-b1 and cam-b1), alice in its group with a PIN, bob in no group.
 */
export function anEstate(
  gw: Gateway,
  signer: Signer & { publicKey: KeyObject },
  over: { antiPassback?: 'off' | 'hard' } = {},
) {
  const apply = (r: ReturnType<Gateway['apply']>) => {
    if (!r.ok) throw new Error(`delta refused: ${r.reason}`);
  };
  apply(
    gw.apply({
      section: 'config',
      fromVersion: 0,
      toVersion: 1,
      deletes: [],
      upserts: [
        {
          kind: 'config',
          id: 'config',
          config: {
            estateId: ESTATE,
            timezone: 'Asia/Shanghai',
            faceMatchThreshold: 0.5,
            pinKey: PIN_KEY,
            pinMaxAttempts: 3,
            pinLockoutS: 300,
            telemetryIntervalS: 60,
            trustedKeys: [
              {
                keyId: signer.keyId,
                alg: 'Ed25519',
                publicKey: exportRawPublicKey(signer.publicKey).toString('base64url'),
                purposes: ['ble_key', 'pass', 'command', 'desired'],
              },
            ],
          },
        },
      ],
    }),
  );
  apply(
    gw.apply({
      section: 'access',
      fromVersion: 0,
      toVersion: 1,
      deletes: [],
      upserts: [
        {
          kind: 'door',
          id: 'b1-main',
          name: 'Building 1 main door',
          deviceId: 'door-b1',
          mode: 'fail_secure',
          pulseMs: 500,
          heldOpenS: 30,
          fireRelease: true,
          antiPassback: over.antiPassback ?? 'off',
          direction: over.antiPassback === 'hard' ? 'in' : 'both',
          readers: ['reader-b1', 'ble-b1', 'cam-b1'],
        },
        { kind: 'group', id: 'g-b1', doors: ['b1-main'], schedule: { windows: [], holidays: [], holidayWindows: [] } },
        { kind: 'member', id: 'p-alice', groups: ['g-b1'] },
      ],
    }),
  );
  apply(
    gw.apply({
      section: 'credentials',
      fromVersion: 0,
      toVersion: 1,
      deletes: [],
      upserts: [{ kind: 'pin', id: 'p-alice', hash: pinHash(PIN_KEY, '482916') }],
    }),
  );
}

export function aPass(signer: Signer, now: number, over: Partial<PassClaims> = {}): string {
  return signToken(
    {
      typ: 'pass',
      kid: signer.keyId,
      id: 'v-1',
      estate: ESTATE,
      doors: ['b1-main'],
      nbf: now - 60_000,
      exp: now + 3_600_000,
      max: 2,
      ...over,
    },
    signer,
  );
}

/** A broker on a free port and a started gateway with its own data folder. */
export async function aGateway(
  extra: Partial<GatewayOptions> = {},
): Promise<{ local: LocalBroker; gw: Gateway; dataDir: string; invalid: string[] }> {
  const local = await startLocalBroker({ port: 0 });
  const dataDir = mkdtempSync(join(tmpdir(), 'estate-gw-'));
  const invalid: string[] = [];
  const gw = new Gateway({ broker: local.broker, dataDir, onInvalid: (t, r) => invalid.push(`${t}: ${r}`), ...extra });
  await gw.start();
  return { local, gw, dataDir, invalid };
}
