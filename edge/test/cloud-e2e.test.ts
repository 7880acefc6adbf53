// The whole gateway ↔ cloud path as an installer sets it up and a resident uses it: the running cloud (its API,
// embedded broker, ingest and sync publisher) creates a gateway and a claim code; the box provisions itself with
// the code; the cloud's desired state reaches the gateway; a PIN at a simulated reader opens a simulated door and
// the decision arrives in the cloud's event store; staff unlock a door remotely; a revocation is enforced within
// 5 s. Only this test imports @estate/cloud; the gateway code never does.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { desiredState } from '@estate/cloud';
import { pinHash, rotateCredentials } from '@estate/edge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aLinkedSystem, type LinkedSystem } from './helpers/linked-system.js';
import { anEstateFromTheCloud, until } from './helpers/sync-world.js';

let sys: LinkedSystem;
beforeAll(async () => {
  sys = await aLinkedSystem();
  // staff's doors, group and resident with a PIN, as the access module puts them
  await anEstateFromTheCloud({ desired: desiredState(sys.cloud.deps) }, pinHash, sys.gatewayId);
}, 240_000);
afterAll(async () => {
  await sys?.close();
});

/** A CONNECT as the gateway with this password, once: 'connected' or the broker's refusal. */
async function loginAsTheGateway(password: string): Promise<string> {
  const mqtt = (await import('mqtt')).default;
  const c = mqtt.connect(sys.cloud.mqtt.url, {
    clientId: sys.gatewayId,
    username: sys.gatewayId,
    password,
    protocolVersion: 4,
    reconnectPeriod: 0,
  });
  const outcome = await new Promise<string>((resolve) => {
    c.once('connect', () => resolve('connected'));
    c.once('error', (e) => resolve(e.message));
  });
  c.end(true);
  return outcome;
}

const gatewayRow = () => sys.cloud.deps.prisma.gateway.findUniqueOrThrow({ where: { id: sys.gatewayId } });

// generous: it waits on a real cloud, broker and database, and CI runs two such suites side by side
describe('gateway ↔ cloud, end to end', { timeout: 60_000 }, () => {
  it('the provisioned gateway comes online and runs the version the cloud asked for', async () => {
    await until(async () => (await gatewayRow()).online, 30_000);
    const desiredRow = () =>
      sys.cloud.deps.prisma.gatewayDesired.findUniqueOrThrow({ where: { gatewayId: sys.gatewayId } });
    await until(async () => {
      const r = await desiredRow();
      return r.appliedVersion === r.version;
    }, 30_000);
    expect((await desiredRow()).drift).toEqual([]);
    expect((await gatewayRow()).status).toBe('active');
  });

  it('a PIN opens the door, and the decision is stored once in the cloud', async () => {
    await until(() => sys.gw.parts.model.doors.has('b1-main'), 30_000);
    expect(await sys.reader.enterPin('482916')).toMatchObject({ granted: true });
    await until(() => sys.doorCommands.includes('unlock'));
    const stored = () =>
      sys.cloud.deps.prisma.gatewayEvent.findMany({
        where: { gatewayId: sys.gatewayId, type: 'access_decision', method: 'pin' },
      });
    await until(async () => (await stored()).length > 0, 30_000);
    const rows = await stored();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ granted: true, personId: 'p-alice', doorId: 'b1-main' });
    // everything the gateway logged is acknowledged, so its backlog empties
    await until(() => sys.gw.parts.log.backlog().events === 0, 30_000);
  });

  it('staff unlock a door remotely: signed, acknowledged, audited', async () => {
    const before = sys.doorCommands.length;
    const sent = await sys.staff.call('POST', `/api/gateways/${sys.gatewayId}/commands`, {
      action: 'unlock',
      doorId: 'b1-main',
    });
    expect(sent.status, JSON.stringify(sent.body)).toBe(202);
    await until(() => sys.doorCommands.length > before);
    const cmdId = String(sent.body.cmdId);
    await until(async () => {
      const r = await sys.staff.call('GET', `/api/gateways/${sys.gatewayId}/commands/${cmdId}`);
      return JSON.stringify(r.body).includes('done');
    }, 15_000);
    const audited = await sys.cloud.deps.prisma.auditEntry.findMany({
      where: { entityId: sys.gatewayId, action: 'gateway.command' },
    });
    expect(audited.map((a) => (a.after as { cmdId: string }).cmdId)).toContain(cmdId);
  });

  it('an estate-wide lockdown refuses credentials until staff release it; residents may not order one', async () => {
    const refused = await (await sys.as('resident')).call('POST', `/api/estates/${sys.estateId}/commands`, {
      action: 'lockdown',
    });
    expect(refused.status).toBe(403);
    const sent = await sys.staff.call('POST', `/api/estates/${sys.estateId}/commands`, {
      action: 'lockdown',
      durationS: 600,
    });
    expect(sent.status, JSON.stringify(sent.body)).toBe(202);
    expect(sent.body).toHaveLength(1); // one command per gateway of the estate
    await until(async () => (await sys.reader.enterPin('482916')).reason === 'lockdown');
    await sys.staff.call('POST', `/api/estates/${sys.estateId}/commands`, { action: 'release' });
    await until(async () => (await sys.reader.enterPin('482916')).granted);
  });

  it('a revoked resident is refused at the door within 5 s', async () => {
    await until(() => sys.doorCommands.length > 0);
    const t0 = Date.now();
    await desiredState(sys.cloud.deps).put(sys.gatewayId, 'revocations', {
      upserts: [{ kind: 'person', id: 'p-alice', revokedAt: Date.now(), reason: 'moved_out' }],
    });
    await until(async () => (await sys.reader.enterPin('482916')).granted === false, 5_000);
    expect(Date.now() - t0).toBeLessThan(5_000);
  });

  it('a gateway with a forged secret is not let onto the cloud broker', async () => {
    expect(await loginAsTheGateway('not-the-secret')).not.toBe('connected');
    expect((await gatewayRow()).online).toBe(true); // the real gateway stays connected
  });

  it('a rotated secret: the old one is refused, the running agent takes the new one up and carries on', async () => {
    const old = sys.identity.mqtt.password;
    const fresh = await rotateCredentials({ dataDir: sys.dataDir });
    expect(fresh.mqtt.password).not.toBe(old);
    const audit = await sys.cloud.deps.prisma.auditEntry.findFirst({
      where: { action: 'gateway.credentials', entityId: sys.gatewayId },
    });
    expect(audit).not.toBeNull();
    expect(JSON.stringify([audit?.before, audit?.after])).not.toContain(fresh.mqtt.password);
    // the agent's link is cut: its next CONNECT (old secret) is refused, it rereads identity.json and gets in
    const link = sys.conn.link.uplink;
    link.client?.stream.destroy();
    await until(() => !link.stats.connected, 5_000);
    await until(() => link.stats.connected, 15_000);
    const before = await sys.cloud.deps.prisma.gatewayEvent.count({ where: { gatewayId: sys.gatewayId } });
    await sys.reader.enterPin('000000'); // any decision: it must reach the cloud over the new login
    await until(
      async () => (await sys.cloud.deps.prisma.gatewayEvent.count({ where: { gatewayId: sys.gatewayId } })) > before,
      10_000,
    );
    expect(await loginAsTheGateway(old)).toMatch(/Not authorized|Bad username or password/);
  });

  it('when the broker has lost its account, the agent asks for a new secret itself and gets back in', async () => {
    // the embedded cloud broker checks the secret's hash in the gateways table: forget it, as a rebuilt broker would
    await sys.cloud.deps.prisma.gateway.update({ where: { id: sys.gatewayId }, data: { secretHash: 'lost' } });
    const before = JSON.parse(readFileSync(join(sys.dataDir, 'identity.json'), 'utf8')).mqtt.password;
    const link = sys.conn.link.uplink;
    link.client?.stream.destroy();
    await until(() => !link.stats.connected, 5_000);
    await until(() => link.stats.connected, 20_000); // three refusals (1 s apart), the signed request, a reconnect
    const after = JSON.parse(readFileSync(join(sys.dataDir, 'identity.json'), 'utf8')).mqtt.password;
    expect(after).not.toBe(before);
    const audits = await sys.cloud.deps.prisma.auditEntry.count({
      where: { action: 'gateway.credentials', entityId: sys.gatewayId },
    });
    expect(audits).toBeGreaterThanOrEqual(1);
  });
});
