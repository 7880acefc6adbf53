// The demo estate for `npm start --no-cloud` (or when the cloud fails to start): the doors of
// firmware-stubs/fleets/demo-estate.yaml, one resident group, and one resident with a PIN and a face template,
// applied to the gateway directly, trusting a key made on the spot. With the cloud, demo-access.ts sets the same
// estate up through the access API.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { encodeEmbedding, type Gateway, pinHash } from '@estate/edge';
import type { FacePipeline } from '@estate/models';
import { photosByPerson } from '@estate/models';
import { exportRawPublicKey } from '@estate/protocols';

export const DEMO_RESIDENT = { id: 'p-franck', name: 'Franck (demo resident)', pin: '482916', label: 'franck' };

const door = (id: string, deviceId: string, readers: string[], fail: 'fail_secure' | 'fail_safe') => ({
  kind: 'door' as const,
  id,
  name: id,
  deviceId,
  mode: fail,
  pulseMs: 3_000,
  heldOpenS: 60,
  fireRelease: true,
  antiPassback: 'off' as const,
  direction: 'both' as const,
  readers,
});

const ACCESS = [
  door('b1-main', 'door-b1-main', ['cam-b1-main', 'ble-b1-main', 'reader-b1-main'], 'fail_secure'),
  door('b1-fire-exit', 'door-b1-fire-exit', [], 'fail_safe'),
  {
    kind: 'group' as const,
    id: 'residents-b1',
    doors: ['b1-main'],
    schedule: { windows: [], holidays: [], holidayWindows: [] },
  },
  { kind: 'member' as const, id: DEMO_RESIDENT.id, groups: ['residents-b1'] },
];

const pinOf = (pinKey: string) => ({
  kind: 'pin' as const,
  id: DEMO_RESIDENT.id,
  hash: pinHash(pinKey, DEMO_RESIDENT.pin),
});

/** The resident's template from two of their test photos (only the embedding is kept). */
async function demoTemplate(pipeline: FacePipeline) {
  const photos = (photosByPerson().get(DEMO_RESIDENT.label) ?? []).slice(0, 2).map((p) => readFileSync(p.path));
  const enrolment = await pipeline.enrol(photos);
  if (!enrolment.ok) throw new Error(`demo enrolment failed: ${enrolment.message}`);
  const template = {
    kind: 'template' as const,
    id: 't-franck-1',
    personId: DEMO_RESIDENT.id,
    model: pipeline.models.embedder,
    dim: enrolment.embedding.length,
    embedding: encodeEmbedding(enrolment.embedding),
  };
  return {
    template,
    note: `enrolled ${DEMO_RESIDENT.name} from ${enrolment.used} photos (template only; photos not kept)`,
  };
}

/** --no-cloud: seeds a fresh gateway directly; a gateway that already has a configuration is left as it is. */
export async function seedDemoEstate(gw: Gateway, pipeline: FacePipeline): Promise<string[]> {
  if (gw.parts.store.version('config') > 0) return ['demo estate already configured (delete .estate/ to start over)'];
  const pinKey = randomBytes(32).toString('base64url');
  const cloudKey = generateKeyPairSync('ed25519');
  const ok = (r: ReturnType<Gateway['apply']>) => {
    if (!r.ok) throw new Error(`demo seed refused: ${r.reason}`);
  };
  const empty = { fromVersion: 0, toVersion: 1, deletes: [] };
  ok(
    gw.apply({
      ...empty,
      section: 'config',
      upserts: [
        {
          kind: 'config',
          id: 'config',
          config: {
            estateId: 'demo',
            timezone: 'Asia/Shanghai',
            faceMatchThreshold: pipeline.matchThreshold,
            pinKey,
            pinMaxAttempts: 5,
            pinLockoutS: 300,
            telemetryIntervalS: 60,
            trustedKeys: [
              {
                keyId: 'demo-cloud',
                alg: 'Ed25519',
                publicKey: exportRawPublicKey(cloudKey.publicKey).toString('base64url'),
                purposes: ['ble_key', 'pass', 'command', 'desired'],
              },
            ],
          },
        },
      ],
    }),
  );
  ok(gw.apply({ ...empty, section: 'access', upserts: ACCESS }));
  ok(gw.apply({ ...empty, section: 'credentials', upserts: [pinOf(pinKey)] }));
  const { template, note } = await demoTemplate(pipeline);
  ok(gw.apply({ ...empty, section: 'gallery', upserts: [template] }));
  return [note];
}
