// The desired state `npm start` gives its gateway until the cloud sends one (gateway ↔ cloud issue):
// the doors of firmware-stubs/fleets/demo-estate.yaml, one resident group, and one enrolled resident.
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

/** Seeds a fresh gateway; a gateway that already has a configuration is left as it is. */
export async function seedDemoEstate(gw: Gateway, pipeline: FacePipeline): Promise<string[]> {
  if (gw.parts.store.version('config') > 0) return ['demo estate already configured (delete .estate/ to start over)'];
  const notes: string[] = [];
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
  ok(
    gw.apply({
      ...empty,
      section: 'access',
      upserts: [
        door('b1-main', 'door-b1-main', ['cam-b1-main', 'ble-b1-main', 'reader-b1-main'], 'fail_secure'),
        door('b1-fire-exit', 'door-b1-fire-exit', [], 'fail_safe'),
        {
          kind: 'group',
          id: 'residents-b1',
          doors: ['b1-main'],
          schedule: { windows: [], holidays: [], holidayWindows: [] },
        },
        { kind: 'member', id: DEMO_RESIDENT.id, groups: ['residents-b1'] },
      ],
    }),
  );
  ok(
    gw.apply({
      ...empty,
      section: 'credentials',
      upserts: [{ kind: 'pin', id: DEMO_RESIDENT.id, hash: pinHash(pinKey, DEMO_RESIDENT.pin) }],
    }),
  );
  const photos = (photosByPerson().get(DEMO_RESIDENT.label) ?? []).slice(0, 2).map((p) => readFileSync(p.path));
  const enrolment = await pipeline.enrol(photos);
  if (!enrolment.ok) throw new Error(`demo enrolment failed: ${enrolment.message}`);
  ok(
    gw.apply({
      ...empty,
      section: 'gallery',
      upserts: [
        {
          kind: 'template',
          id: 't-franck-1',
          personId: DEMO_RESIDENT.id,
          model: pipeline.models.embedder,
          dim: enrolment.embedding.length,
          embedding: encodeEmbedding(enrolment.embedding),
        },
      ],
    }),
  );
  notes.push(`enrolled ${DEMO_RESIDENT.name} from ${enrolment.used} photos (template only; photos not kept)`);
  return notes;
}
