// What the cloud's access API issues, run by real gateways: the desired state the cloud computed (config with the
// estate's PIN key, doors, groups, PIN hashes, passes) applied through Gateway.apply on two gateways of one estate,
// then a keypad and a QR reader (firmware stubs) on each. Proves that a PIN set through the API opens the door on
// every gateway of the estate, and that a single-use visitor pass approved in the cloud opens once, then is refused.
// Only this test imports the cloud; the gateway code never does.

import type { Gateway, LocalBroker } from '@estate/edge';
import { Door, Reader } from '@estate/firmware-stubs';
import type { Section } from '@estate/protocols';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tokenAad } from '../../cloud/src/modules/access/visitors.js';
import { desiredState } from '../../cloud/src/sync/index.js';
import { pairedGateway } from '../../cloud/test/access-helpers.js';
import { type TestCloud, testCloud } from '../../cloud/test/helpers/cloud.js';
import { aGateway } from './helpers/estate.js';

interface Box {
  id: string;
  gw: Gateway;
  local: LocalBroker;
  door: Door;
  reader: Reader;
}

let c: TestCloud;
const boxes: Box[] = [];
let passToken: string;
const HOUR = 3_600_000;

/** The cloud's desired state for one gateway, from version 0, applied as the gateway's sync client applies it. */
async function applyFromCloud(box: Box) {
  const ds = desiredState(c.deps);
  await ds.setConfig(box.id);
  const sections: Section[] = ['config', 'access', 'credentials', 'passes', 'revocations'];
  for (const section of sections) {
    for (const { doc } of await ds.deltaFor(box.id, section, 0)) {
      const d = doc as unknown as {
        toVersion: number;
        fromVersion?: number;
        config?: unknown;
        upserts?: { kind: string; id: string }[];
        deletes?: { kind: string; id: string }[];
      };
      const r = box.gw.apply({
        section,
        fromVersion: d.fromVersion ?? 0,
        toVersion: d.toVersion,
        upserts: section === 'config' ? [{ kind: 'config', id: 'config', config: d.config }] : (d.upserts ?? []),
        deletes: d.deletes ?? [],
      });
      expect(r, `${box.id} ${section}`).toMatchObject({ ok: true });
    }
  }
}

beforeAll(async () => {
  c = await testCloud();
  await pairedGateway(c); // gw-a with door controllers door-ctl-1/2, gate-ctl and camera cam-1, in estate A
  const { prisma } = c.deps;
  await prisma.gateway.create({
    data: { id: 'gw-a2', estateId: c.world.estateA, name: 'back gate', status: 'active' },
  });
  await prisma.gatewayDevice.createMany({
    data: [
      { gatewayId: 'gw-a', deviceId: 'reader-1', kind: 'reader' },
      { gatewayId: 'gw-a2', deviceId: 'back-ctl', kind: 'door' },
      { gatewayId: 'gw-a2', deviceId: 'reader-9', kind: 'reader' },
    ],
  });
  const staff = (method: 'POST' | 'PUT', url: string, payload: object) =>
    c.call(c.tokens.staff, { method, url, payload });
  const doors: string[] = [];
  for (const [gatewayId, deviceId, readers] of [
    ['gw-a', 'gate-ctl', ['reader-1']],
    ['gw-a2', 'back-ctl', ['reader-9']],
  ] as const) {
    const r = await staff('POST', `/api/estates/${c.world.estateA}/doors`, {
      name: `gate ${deviceId}`,
      gatewayId,
      deviceId,
      readers,
    });
    expect(r.statusCode, r.body).toBe(201);
    doors.push(r.json<{ id: string }>().id);
  }
  const pin = await c.call(c.tokens.resident, {
    method: 'PUT',
    url: `/api/persons/${c.world.own.personId}/pin`,
    payload: { pin: '582914' },
  });
  expect(pin.statusCode, pin.body).toBe(200);
  const visit = await c.call(c.tokens.resident, {
    method: 'POST',
    url: `/api/persons/${c.world.own.personId}/visitors`,
    payload: {
      name: 'Guest',
      phone: '13812345678',
      purpose: 'parcel',
      validFrom: new Date(Date.now() - HOUR).toISOString(),
      validTo: new Date(Date.now() + HOUR).toISOString(),
      doors: [doors[0]],
      maxUses: 1,
    },
  });
  expect(visit.statusCode, visit.body).toBe(201);
  const id = visit.json<{ id: string }>().id;
  expect((await staff('POST', `/api/visitors/${id}/approve`, {})).statusCode).toBe(200);
  const row = await prisma.visitorPass.findUniqueOrThrow({ where: { id } });
  passToken = c.deps.keyRing.open(row.tokenEnc ?? '', tokenAad(id)); // what the share page shows as a QR

  for (const [id, doorDevice, readerId] of [
    ['gw-a', 'gate-ctl', 'reader-1'],
    ['gw-a2', 'back-ctl', 'reader-9'],
  ] as const) {
    const { local, gw } = await aGateway();
    const door = new Door({ id: doorDevice, broker: { url: local.url }, pulseMs: 3_000 });
    const reader = new Reader({ id: readerId, broker: { url: local.url } });
    await Promise.all([door.start(), reader.start()]);
    const box = { id, gw, local, door, reader };
    boxes.push(box);
    await applyFromCloud(box);
  }
}, 240_000);

afterAll(async () => {
  for (const b of boxes) {
    await Promise.all([b.door.stop(), b.reader.stop()]);
    await b.gw.stop();
    await b.local.close();
  }
  await c?.close();
});

describe('cloud-issued credentials at real gateways', () => {
  it('a PIN set through the API opens the door on both gateways of the estate; a wrong one does not', async () => {
    for (const b of boxes) {
      expect(await b.reader.enterPin('582914'), b.id).toMatchObject({ granted: true, reason: 'granted' });
      expect((await b.reader.enterPin('582915')).granted).toBe(false);
      const decision = b.gw.parts.log
        .read(0, 1_000)
        .filter((e) => e.type === 'access_decision' && e.granted)
        .at(-1);
      expect(decision).toMatchObject({ method: 'pin', personId: c.world.own.personId });
    }
  });

  it('a single-use pass approved in the cloud opens once, then is refused as used up', async () => {
    const [gate] = boxes;
    if (!gate) throw new Error('no gateway');
    expect(await gate.reader.scanQr(passToken)).toMatchObject({ granted: true });
    expect(await gate.reader.scanQr(passToken)).toMatchObject({ granted: false, reason: 'pass_used_up' });
  });

  it('the pass names only its own door: the other gateway refuses it', async () => {
    const back = boxes[1];
    if (!back) throw new Error('no second gateway');
    expect(await back.reader.scanQr(passToken)).toMatchObject({ granted: false, reason: 'door_not_on_pass' });
  });
});
