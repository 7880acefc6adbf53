// Desired state in the cloud: versions and tombstones give a delta from any version, big sections are chunked
// within the wire limits, the manifest is signed and hashes agree with what a gateway computes; remote commands are
// refused to residents, technicians and other estates' staff, and an issued one is signed, audited and recorded.
import { createHash } from 'node:crypto';
import { decodeAs, encode, importRawPublicKey, KeyRing, routes, topicFor, verifyDocument } from '@estate/protocols';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attachSyncLink, desiredState, syncHandlers } from '../src/sync/index.js';
import { type TestCloud, testCloud } from './helpers/cloud.js';
import { aTemplate } from './helpers/templates.js';

let cloud: TestCloud;
const GW = 'gw-cloud-test';
const sent: { topic: string; payload: Buffer }[] = [];
beforeAll(async () => {
  cloud = await testCloud();
  await cloud.deps.prisma.gateway.create({
    data: { id: GW, estateId: cloud.world.estateA, name: 'gate', status: 'active' },
  });
  attachSyncLink(cloud.deps, {
    connected: true,
    publish: async (topic, payload) => void sent.push({ topic, payload }),
  });
}, 180_000);
afterAll(async () => {
  await cloud?.close();
});

const template = aTemplate;

describe('desired state', () => {
  it('chunks a 2,500-face gallery within the route limits, signed, and hashes like the gateway', async () => {
    const ds = desiredState(cloud.deps);
    const put = await ds.put(GW, 'gallery', { upserts: Array.from({ length: 2_500 }, (_, i) => template(i)) });
    expect(put.changed).toBe(true);
    const docs = await ds.deltaFor(GW, 'gallery', 0);
    expect(docs.map((d) => (d.doc as unknown as { upserts: unknown[] }).upserts.length)).toEqual([1_000, 1_000, 500]);
    const ring = new KeyRing(
      (await cloud.deps.signing.trusted()).map((k) => ({
        ...k,
        publicKey: importRawPublicKey(k.alg, Buffer.from(k.publicKey, 'base64url')),
      })),
    );
    for (const d of docs) {
      const bytes = encode('gallerySync', d.doc as never);
      expect(bytes.byteLength).toBeLessThanOrEqual(routes.gallerySync.maxBytes);
      const back = decodeAs('gallerySync', bytes);
      expect(back.ok && verifyDocument(back.value, ring, 'desired', Date.now())).toEqual({ ok: true });
    }
    const m = await ds.manifest(GW);
    expect(verifyDocument(m, ring, 'desired', Date.now())).toEqual({ ok: true });
    expect(m.sections.gallery).toMatchObject({ version: put.changed ? put.version : -1, items: 2_500 });
    // the gateway's definition, computed independently here over the items as the delta carries them
    const canon = (v: unknown): string =>
      Array.isArray(v)
        ? `[${v.map(canon).join(',')}]`
        : v && typeof v === 'object'
          ? `{${Object.keys(v)
              .sort()
              .map((k) => `${JSON.stringify(k)}:${canon((v as Record<string, unknown>)[k])}`)
              .join(',')}}`
          : JSON.stringify(v);
    const items = docs.flatMap((d) => (d.doc as unknown as { upserts: { kind: string; id: string }[] }).upserts);
    items.sort((a, b) => (a.kind + a.id < b.kind + b.id ? -1 : 1));
    const h = createHash('sha256');
    for (const i of items) h.update(`${i.kind}\n${i.id}\n${createHash('sha256').update(canon(i)).digest('hex')}\n`);
    expect(m.sections.gallery.sha256).toBe(h.digest('hex'));
  });

  it('a delta from version N carries only what changed after N, deletes as tombstones; a no-op changes nothing', async () => {
    const ds = desiredState(cloud.deps);
    const n = (await ds.manifest(GW)).sections.gallery.version;
    sent.length = 0;
    // t-3 is unchanged: neither in the delta the put pushes nor in the one read from the database
    const upserts = [template(3), template(9_000)];
    const del = await ds.put(GW, 'gallery', { deletes: [{ kind: 'template', id: 't-7' }], upserts });
    const [delta] = await ds.deltaFor(GW, 'gallery', n);
    expect(delta?.doc).toMatchObject({ fromVersion: n, upserts: [{ id: 't-9000' }], deletes: [{ id: 't-7' }] });
    // the put sends from the items in hand what deltaFor rebuilds from the database, then the manifest
    const pushed = sent.map((m) => JSON.parse(m.payload.toString()) as { upserts?: unknown[] });
    const topics = [topicFor('gallerySync', { gatewayId: GW }), topicFor('desiredState', { gatewayId: GW })];
    expect(sent.map((m) => m.topic)).toEqual(topics);
    expect(pushed[0]).toEqual(JSON.parse(JSON.stringify(delta?.doc)));
    expect(await ds.put(GW, 'gallery', { upserts: [template(9_000)] })).toEqual({ gatewayId: GW, changed: false });
    expect((await ds.manifest(GW)).version).toBe(del.changed ? del.version : -1);
    await expect(ds.put(GW, 'gallery', { upserts: [{ kind: 'template', id: 'BAD ID' }] })).rejects.toThrow();
  });

  it('config: whole, with the estate timezone, trusted keys and a PIN key made once and kept sealed', async () => {
    const ds = desiredState(cloud.deps);
    await ds.setConfig(GW, { faceMatchThreshold: 0.6 });
    await ds.setConfig(GW, { pinMaxAttempts: 4 });
    const [doc] = await ds.deltaFor(GW, 'config', 0);
    if (!doc) throw new Error('no config document');
    const config = (doc.doc as unknown as { config: Record<string, unknown> }).config;
    expect(config).toMatchObject({ faceMatchThreshold: 0.6, pinMaxAttempts: 4, estateId: cloud.world.estateA });
    // the PIN key is the estate's (access module, access_settings), the same on every gateway of the estate
    const row = await cloud.deps.prisma.accessSettings.findUniqueOrThrow({ where: { estateId: cloud.world.estateA } });
    expect(row.pinKeySealed).not.toContain(config.pinKey as string);
    const stored = await cloud.deps.prisma.desiredItem.findFirstOrThrow({
      where: { gatewayId: GW, section: 'config' },
    });
    expect(JSON.stringify(stored.body)).not.toContain(config.pinKey as string);
  });
});

describe('remote commands API', () => {
  const post = (token: string, body: object) =>
    cloud.call(token, { method: 'POST', url: `/api/gateways/${GW}/commands`, payload: body });

  it('refuses residents, technicians, installers (403) and staff of another estate (404)', async () => {
    for (const who of ['resident', 'technician', 'installer'] as const) {
      expect((await post(cloud.tokens[who], { action: 'unlock', doorId: 'b1-main' })).statusCode).toBe(403);
    }
    expect((await post(cloud.tokens.staffB, { action: 'unlock', doorId: 'b1-main' })).statusCode).toBe(404);
    expect(await cloud.deps.prisma.gatewayCommand.count()).toBe(0);
  });

  it('staff: signed, expiring in seconds, audited, published on the cmd topic; the ack shows in GET', async () => {
    sent.length = 0;
    const res = await post(cloud.tokens.staff, { action: 'unlock', doorId: 'b1-main' });
    expect(res.statusCode).toBe(202);
    const view = res.json<{ cmdId: string; issuedAt: string; expiresAt: string; status: string }>();
    expect(Date.parse(view.expiresAt) - Date.parse(view.issuedAt)).toBe(10_000);
    expect(sent.map((s) => s.topic)).toEqual([`estate/v1/gw/${GW}/cmd`]);
    const cmd = decodeAs('gatewayCommand', sent[0]?.payload ?? Buffer.alloc(0));
    expect(cmd.ok && cmd.value).toMatchObject({ cmdId: view.cmdId, action: 'unlock', issuer: { role: 'staff' } });
    const audit = await cloud.deps.prisma.auditEntry.findFirst({ where: { action: 'gateway.command' } });
    expect(audit?.entityId).toBe(GW);
    await syncHandlers(cloud.deps).commandAck(GW, { cmdId: view.cmdId, ts: Date.now(), result: 'done' });
    const got = await cloud.call(cloud.tokens.staff, {
      method: 'GET',
      url: `/api/gateways/${GW}/commands/${view.cmdId}`,
    });
    expect(got.json()).toMatchObject({ status: 'done', action: 'unlock' });
    expect((await post(cloud.tokens.staff, { action: 'unlock' })).statusCode).toBe(400);
  });
});
