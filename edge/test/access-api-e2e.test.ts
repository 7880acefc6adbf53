// Issue 6's flows end to end through the API against a running gateway: cloud API → desired state → sync → the
// provisioned gateway → simulated keypad/QR reader and door → the decision back in the cloud. The installer pairs
// the door controller and reader by their label codes; staff map a door; the resident sets a PIN and pre-registers
// a visitor; staff approve; the visitor's single-use QR pass opens the door once; staff see who came. The resident
// consents to face access and enrols with photos in the cloud; walking up to the camera opens the gate; withdrawing
// the consent removes the template from the gateway and the gate stays shut. A phone key issued to the resident
// opens the gate at the BLE reader, is refused while suspended, works again when resumed, and is refused for good
// once revoked.

import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { BleReader } from '@estate/firmware-stubs';
import { FacePipeline, photosByPerson } from '@estate/models';
import { encode, exportRawPublicKey, formatPairingCode, topicFor } from '@estate/protocols';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tokenAad } from '../../cloud/src/modules/access/visitors.js';
import { aLinkedSystem, type Caller, type LinkedSystem } from './helpers/linked-system.js';
import { until } from './helpers/sync-world.js';

const HOUR = 3_600_000;
let sys: LinkedSystem;
let resident: Caller;
let personId: string;
let doorId: string;
let pipeline: FacePipeline;
let camera: mqtt.MqttClient | undefined;
let ble: BleReader | undefined;
const people = photosByPerson();
const photo = (label: string, i: number) => readFileSync((people.get(label) ?? [])[i]?.path ?? 'missing');

const ok = async (r: Promise<{ status: number; body: Record<string, unknown> }>, status: number) => {
  const res = await r;
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  return res.body;
};

beforeAll(async () => {
  pipeline = await FacePipeline.create();
  sys = await aLinkedSystem({ faces: pipeline });
  resident = await sys.as('resident');
  const login = sys.cloud.logins.find((l) => l.role === 'resident')?.login ?? '';
  personId = (await sys.cloud.deps.prisma.account.findUniqueOrThrow({ where: { login } })).personId ?? '';
  const gw = `/api/gateways/${sys.gatewayId}/devices`;
  await ok(sys.staff.call('POST', gw, { pairingCode: formatPairingCode('door', 'door-b1'), doorId: 'gate-1' }), 201);
  await ok(
    sys.staff.call('POST', gw, { pairingCode: formatPairingCode('reader', 'reader-b1'), doorId: 'gate-1' }),
    201,
  );
  await ok(sys.staff.call('POST', gw, { pairingCode: formatPairingCode('camera', 'cam-b1'), doorId: 'gate-1' }), 201);
  await ok(sys.staff.call('POST', gw, { pairingCode: formatPairingCode('ble', 'ble-b1'), doorId: 'gate-1' }), 201);
  camera = await mqtt.connectAsync(sys.local.url, { protocolVersion: 4, clientId: 'cam-b1' });
  ble = new BleReader({ id: 'ble-b1', broker: { url: sys.local.url } });
  await ble.start();
  const door = await ok(
    sys.staff.call('POST', `/api/estates/${sys.estateId}/doors`, {
      name: 'North gate',
      gatewayId: sys.gatewayId,
      deviceId: 'door-b1',
      readers: ['reader-b1', 'cam-b1', 'ble-b1'],
      pulseMs: 500,
    }),
    201,
  );
  doorId = String(door.id);
}, 240_000);
afterAll(async () => {
  await camera?.endAsync();
  await ble?.stop();
  await sys?.close();
  await pipeline?.close();
});

let frameSeq = 1;
/** The camera at the gate sends these frames; resolves when the gateway has decided on each. */
async function walkUp(...frames: Buffer[]) {
  const faces = sys.gw.parts.faces;
  if (!faces) throw new Error('the gateway has no face service');
  for (const data of frames) {
    const before = faces.stats.frames;
    const frame = { seq: frameSeq++, ts: Date.now(), kind: 'frame' as const, format: 'jpeg' as const };
    await camera?.publishAsync(
      topicFor('cameraFrame', { deviceId: 'cam-b1' }),
      encode('cameraFrame', { ...frame, width: 640, height: 480, data }),
    );
    await until(() => faces.stats.frames > before && faces.pending === 0);
  }
}

const decisions = (method: string) =>
  sys.cloud.deps.prisma.gatewayEvent.findMany({
    where: { gatewayId: sys.gatewayId, type: 'access_decision', method },
    orderBy: { seq: 'asc' },
  });

describe('access management through the API, against the running gateway', { timeout: 90_000 }, () => {
  it('a resident sets a PIN; it opens the common gate; the decision is in their history', async () => {
    await ok(resident.call('PUT', `/api/persons/${personId}/pin`, { pin: '582914' }), 200);
    await until(() => sys.gw.parts.model.doors.has(doorId), 30_000);
    await until(async () => (await sys.reader.enterPin('582914')).granted, 30_000);
    await until(() => sys.doorCommands.includes('unlock'));
    await until(async () => (await decisions('pin')).some((d) => d.granted), 30_000);
    const history = await ok(resident.call('GET', `/api/persons/${personId}/access-events`), 200);
    expect(JSON.stringify(history)).toContain(doorId);
  });

  it('a visitor pre-registered by the resident and approved by staff gets in once with the QR pass', async () => {
    const visit = await ok(
      resident.call('POST', `/api/persons/${personId}/visitors`, {
        name: '王女士',
        phone: '13812345678',
        purpose: '拜访',
        validFrom: new Date(Date.now() - HOUR).toISOString(),
        validTo: new Date(Date.now() + HOUR).toISOString(),
        doors: [doorId],
        maxUses: 1,
      }),
      201,
    );
    const id = String(visit.id);
    const approved = await ok(sys.staff.call('POST', `/api/visitors/${id}/approve`, {}), 200);
    expect(approved.shareUrl).toMatch(/\/v\//);
    const row = await sys.cloud.deps.prisma.visitorPass.findUniqueOrThrow({ where: { id } });
    const token = sys.cloud.deps.keyRing.open(row.tokenEnc ?? '', tokenAad(id)); // what the share page's QR holds
    await until(async () => (await sys.reader.scanQr(token)).granted, 30_000);
    expect(await sys.reader.scanQr(token)).toMatchObject({ granted: false, reason: 'pass_used_up' });
    // staff see who came: the gateway's decision naming the pass reached the cloud
    await until(async () => {
      const today = await sys.staff.call('GET', `/api/estates/${sys.estateId}/visitors`);
      const v = (today.body as unknown as { id: string; arrivedAt: string | null; uses: number }[]).find(
        (x) => x.id === id,
      );
      return v?.arrivedAt !== null && v?.uses === 1;
    }, 30_000);
  });

  it('a resident enrolled in the cloud (with consent) walks through; withdrawing consent shuts the gate to their face', async () => {
    const photos = [photo('franck', 0), photo('franck', 1)].map((b) => b.toString('base64'));
    const refused = await resident.call('POST', `/api/persons/${personId}/face`, { photos });
    expect(refused.status).toBe(409); // no face_access consent yet
    const consent = await ok(
      resident.call('POST', `/api/persons/${personId}/consents`, { purpose: 'face_access' }),
      201,
    );
    const enrolled = await ok(resident.call('POST', `/api/persons/${personId}/face`, { photos }), 201);
    expect(enrolled).toMatchObject({ enrolled: true });
    await until(() => sys.gw.parts.gallery.size > 0, 30_000);
    const faceGrants = async () => (await decisions('face')).filter((d) => d.granted && d.personId === personId);
    await walkUp(photo('franck', 2), photo('franck', 3));
    await until(async () => (await faceGrants()).length > 0, 30_000);
    const [grant] = await faceGrants();
    expect((grant?.body as { score?: number } | undefined)?.score).toBeGreaterThan(0.5); // the score is kept, never an image
    await ok(resident.call('POST', `/api/consents/${String(consent.id)}/withdraw`), 200);
    await until(() => sys.gw.parts.gallery.size === 0, 10_000);
    await new Promise((r) => setTimeout(r, 600)); // past the previous grant's pulse
    const before = (await faceGrants()).length;
    const unlocks = sys.doorCommands.length;
    await walkUp(photo('franck', 2), photo('franck', 3));
    // the gateway's own log forgets what the cloud acknowledged, so judge by the door and the cloud's record
    await new Promise((r) => setTimeout(r, 300));
    expect(sys.doorCommands.length).toBe(unlocks);
    expect((await faceGrants()).length).toBe(before);
  });

  it('staff unlock the gate by its door id; a resident may not', async () => {
    expect((await resident.call('POST', `/api/access/doors/${doorId}/commands`, { action: 'unlock' })).status).toBe(
      403,
    );
    const before = sys.doorCommands.length;
    const sent = await ok(sys.staff.call('POST', `/api/access/doors/${doorId}/commands`, { action: 'unlock' }), 202);
    expect(sent).toMatchObject({ gatewayId: sys.gatewayId, doorId, action: 'unlock' });
    await until(() => sys.doorCommands.length > before);
  });

  it('a visitor cancelled by the resident is refused at the gate', async () => {
    const visit = await ok(
      resident.call('POST', `/api/persons/${personId}/visitors`, {
        name: '李先生',
        phone: '13912345678',
        purpose: '送货',
        validFrom: new Date(Date.now() - HOUR).toISOString(),
        validTo: new Date(Date.now() + HOUR).toISOString(),
        doors: [doorId],
        maxUses: 5,
      }),
      201,
    );
    const id = String(visit.id);
    await ok(sys.staff.call('POST', `/api/visitors/${id}/approve`, {}), 200);
    const row = await sys.cloud.deps.prisma.visitorPass.findUniqueOrThrow({ where: { id } });
    const token = sys.cloud.deps.keyRing.open(row.tokenEnc ?? '', tokenAad(id));
    await until(async () => (await sys.reader.scanQr(token)).granted, 30_000); // valid until cancelled
    await ok(resident.call('POST', `/api/visitors/${id}/cancel`), 200);
    // the revocation reaches the gateway within seconds
    await until(async () => (await sys.reader.scanQr(token)).granted === false, 10_000);
    expect(await sys.reader.scanQr(token)).toMatchObject({ granted: false, reason: 'pass_revoked' });
  });

  it('a phone key opens the gate; suspended it is refused, resumed it works, revoked it is refused for good', async () => {
    const phoneKey = generateKeyPairSync('ed25519');
    const key = await ok(
      resident.call('POST', `/api/persons/${personId}/ble-keys`, {
        phoneName: 'test phone',
        alg: 'Ed25519',
        publicKey: exportRawPublicKey(phoneKey.publicKey).toString('base64url'),
      }),
      201,
    );
    const phone = { credential: String(key.credential), privateKey: phoneKey.privateKey };
    const present = async () => {
      const r = await ble?.present(phone);
      if (!r) throw new Error('no BLE reader');
      return r;
    };
    await until(async () => (await present()).granted, 30_000);
    const path = `/api/ble-keys/${String(key.id)}`;
    await ok(resident.call('POST', `${path}/suspend`), 200);
    await until(async () => (await present()).reason === 'key_revoked', 10_000);
    await ok(resident.call('POST', `${path}/resume`), 200);
    await until(async () => (await present()).granted, 10_000);
    await ok(sys.staff.call('POST', `${path}/revoke`), 200);
    await until(async () => (await present()).reason === 'key_revoked', 10_000);
    // revoked is final: resuming is refused and changes nothing at the gate
    expect((await resident.call('POST', `${path}/resume`)).status).toBe(409);
    await new Promise((r) => setTimeout(r, 300));
    expect(await present()).toMatchObject({ granted: false, reason: 'key_revoked' });
    const refusals = await sys.cloud.deps.prisma.gatewayEvent.count({
      where: { gatewayId: sys.gatewayId, type: 'access_decision', method: 'ble', granted: false },
    });
    expect(refusals).toBeGreaterThan(0);
  });
});
