// Shared set-up of the access tests: a gateway with paired devices in estate A (the fleet and ingest work of issue
// 5 makes these for real; here rows are inserted as they would be), and readers of the desired-state queue that
// check every queued delta against the protocols schemas a gateway validates with.
import { generateKeyPairSync } from 'node:crypto';
import {
  AccessSync,
  CredentialSync,
  exportRawPublicKey,
  GallerySync,
  importRawPublicKey,
  KeyRing,
  PassSync,
  RevocationSync,
  validate,
} from '@estate/protocols';
import type { TSchema } from '@sinclair/typebox';
import { expect } from 'vitest';
import type { TestCloud } from './helpers/cloud.js';

const SCHEMAS: Record<string, TSchema> = {
  access: AccessSync,
  gallery: GallerySync,
  credentials: CredentialSync,
  passes: PassSync,
  revocations: RevocationSync,
};

export interface Queued {
  id: bigint;
  section: string;
  gatewayId: string | null;
  upserts: { kind: string; id: string; [k: string]: unknown }[];
  deletes: { kind: string; id: string }[];
}

/** Queued deltas after `since` (an id), each valid as the protocols delta of its section. */
export async function queuedSince(c: TestCloud, since = 0n): Promise<Queued[]> {
  const rows = await c.deps.prisma.accessDesiredQueue.findMany({
    where: { id: { gt: since } },
    orderBy: { id: 'asc' },
  });
  for (const r of rows) {
    const v = validate(SCHEMAS[r.section] as TSchema, {
      gatewayId: 'gw-a',
      section: r.section,
      fromVersion: 1,
      toVersion: 2,
      chunk: { index: 0, count: 1 },
      upserts: r.upserts,
      deletes: r.deletes,
      signature: { keyId: 'k1', alg: 'Ed25519', sig: 'AA' },
    });
    expect(v.ok, JSON.stringify(v)).toBe(true);
  }
  return rows as unknown as Queued[];
}

export async function lastQueued(c: TestCloud): Promise<bigint> {
  const r = await c.deps.prisma.accessDesiredQueue.findFirst({ orderBy: { id: 'desc' } });
  return r?.id ?? 0n;
}

export async function pairedGateway(c: TestCloud) {
  const { prisma } = c.deps;
  await prisma.gateway.create({
    data: { id: 'gw-a', estateId: c.world.estateA, name: 'A gate house', status: 'active' },
  });
  await prisma.gatewayDevice.createMany({
    data: [
      { gatewayId: 'gw-a', deviceId: 'door-ctl-1', kind: 'door' },
      { gatewayId: 'gw-a', deviceId: 'door-ctl-2', kind: 'door' },
      { gatewayId: 'gw-a', deviceId: 'gate-ctl', kind: 'door' },
      { gatewayId: 'gw-a', deviceId: 'cam-1', kind: 'camera' },
    ],
  });
  const own = await prisma.household.findUniqueOrThrow({
    where: { id: c.world.own.householdId },
    include: { unit: true },
  });
  const other = await prisma.building.create({ data: { estateId: c.world.estateA, name: 'Far tower', floors: 6 } });
  return { ownBuilding: own.unit.buildingId, otherBuilding: other.id };
}

export async function insertEvent(
  c: TestCloud,
  seq: number,
  e: { doorId: string; personId?: string; method: string; granted: boolean; credentialId?: string; ts?: Date },
) {
  const ts = e.ts ?? new Date();
  await c.deps.prisma.gatewayEvent.create({
    data: {
      gatewayId: 'gw-a',
      seq: BigInt(seq),
      estateId: c.world.estateA,
      type: 'access_decision',
      ts,
      doorId: e.doorId,
      deviceId: 'cam-1',
      personId: e.personId ?? null,
      method: e.method,
      granted: e.granted,
      body: {
        seq,
        ts: ts.getTime(),
        priority: 'normal',
        type: 'access_decision',
        doorId: e.doorId,
        deviceId: 'cam-1',
        method: e.method,
        granted: e.granted,
        reason: e.granted ? 'granted' : 'not_permitted',
        ...(e.personId ? { personId: e.personId } : {}),
        ...(e.credentialId ? { credentialId: e.credentialId } : {}),
        ...(e.method === 'face' ? { score: 0.81 } : {}),
        latencyMs: 40,
      },
    },
  });
}

export function phoneKey(): string {
  const { publicKey } = generateKeyPairSync('ed25519');
  return exportRawPublicKey(publicKey).toString('base64url');
}

/** The keys a gateway of this cloud trusts now, as a ring to verify credentials and documents with. */
export async function trustedRing(c: TestCloud): Promise<KeyRing> {
  return new KeyRing(
    (await c.deps.signing.trusted()).map((k) => ({
      ...k,
      publicKey: importRawPublicKey(k.alg, Buffer.from(k.publicKey, 'base64url')),
    })),
  );
}

export const AUTHZ_TARGETS = ['own', 'otherHousehold', 'otherEstate'] as const;
type AuthzTarget = (typeof AUTHZ_TARGETS)[number];
/** Wire ids of the authorisation fixture, per target of cloud/test/authz.test.ts. */
export const authzIds = (t: AuthzTarget) => ({
  gateway: t === 'otherEstate' ? 'gw-authz-b' : 'gw-authz-a',
  door: t === 'otherEstate' ? 'door-authz-b' : 'door-authz-a',
  key: `key-authz-${t.toLowerCase()}`,
  pass: `pass-authz-${t.toLowerCase()}`,
});

const fixtureMade = new WeakSet<object>();
/**
 * For the role matrix: a gateway and a common gate in each estate, and per target person one phone key and one
 * visit, made once; every call makes `device` a paired door controller on both gateways and puts the keys back to
 * active and the visits back to pending, so an allowed call can succeed each time.
 */
export async function authzFixture(c: TestCloud, device?: string): Promise<void> {
  const { prisma } = c.deps;
  if (!fixtureMade.has(c)) {
    fixtureMade.add(c);
    for (const [t, estateId] of [
      ['own', c.world.estateA],
      ['otherEstate', c.world.estateB],
    ] as const) {
      const ids = authzIds(t);
      await prisma.gateway.create({ data: { id: ids.gateway, estateId, name: 'gate', status: 'active' } });
      await prisma.gatewayDevice.create({ data: { gatewayId: ids.gateway, deviceId: 'gate-ctl', kind: 'door' } });
      await prisma.accessDoor.create({
        data: { id: ids.door, estateId, name: 'Common gate', gatewayId: ids.gateway, deviceId: 'gate-ctl' },
      });
    }
    for (const t of AUTHZ_TARGETS) {
      const ids = authzIds(t);
      const person = await prisma.person.findUniqueOrThrow({ where: { id: c.world[t].personId } });
      const common = { estateId: person.estateId, personId: person.id };
      await prisma.bleKey.create({
        data: {
          ...common,
          id: ids.key,
          phoneName: 'phone',
          phoneAlg: 'Ed25519',
          phoneKey: phoneKey(),
          signedBy: 'none',
          notBefore: new Date(),
          notAfter: new Date(Date.now() + 86_400_000),
        },
      });
      await prisma.visitorPass.create({
        data: {
          id: ids.pass,
          estateId: person.estateId,
          householdId: person.householdId,
          hostPersonId: person.id,
          visitorName: 'Guest',
          phoneEnc: 'sealed',
          phoneLast4: '5678',
          purpose: 'visit',
          validFrom: new Date(Date.now() - 3_600_000),
          validTo: new Date(Date.now() + 86_400_000),
          doors: [ids.door],
          maxUses: 1,
        },
      });
    }
  }
  const passes = AUTHZ_TARGETS.map((t) => authzIds(t).pass);
  await prisma.visitorPass.updateMany({
    where: { id: { in: passes } },
    data: { status: 'pending', decidedAt: null, decidedBy: null, tokenEnc: null, shareHash: null },
  });
  await prisma.bleKey.updateMany({
    where: { id: { in: AUTHZ_TARGETS.map((t) => authzIds(t).key) } },
    data: { status: 'active' },
  });
  if (device) {
    await prisma.gatewayDevice.createMany({
      data: ['gw-authz-a', 'gw-authz-b'].map((gatewayId) => ({ gatewayId, deviceId: device, kind: 'door' })),
      skipDuplicates: true,
    });
  }
}
