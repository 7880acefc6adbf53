// Remote commands end to end: issued and signed in the cloud, carried by a real broker, verified and executed by
// the gateway through its door service, acknowledged and recorded. An expired, a replayed and a forged command
// are refused with their reason, logged, and open nothing; a lockdown opens nothing and refuses remote unlocks.
import { generateKeyPairSync } from 'node:crypto';
import { issueCommand, readCommand } from '@estate/cloud';
import { pinHash } from '@estate/edge';
import { encode, type GatewayCommand, signDocument, topicFor } from '@estate/protocols';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anEstateFromTheCloud, aSyncWorld, GW, type SyncWorld, until } from './helpers/sync-world.js';

let w: SyncWorld;
beforeAll(async () => {
  w = await aSyncWorld();
  await anEstateFromTheCloud(w, pinHash);
  await until(() => w.gw.parts.model.doors.has('b1-main'));
}, 180_000);
afterAll(async () => {
  await w?.close();
});

const settle = () => new Promise((r) => setTimeout(r, 150));
const ackOf = async (cmdId: string) => {
  await until(async () => (await readCommand(w.deps, w.actor.principal, GW, cmdId)).ackedAt !== null);
  return readCommand(w.deps, w.actor.principal, GW, cmdId);
};
const events = () => w.gw.parts.log.read(0, 100_000);
const send = (cmd: GatewayCommand) =>
  w.publisher.publish(topicFor('gatewayCommand', { gatewayId: GW }), encode('gatewayCommand', cmd));
const aCommand = async (over: Partial<GatewayCommand> = {}, signer?: Parameters<typeof signDocument>[1]) => {
  const now = Date.now();
  return signDocument<GatewayCommand>(
    {
      cmdId: `t${Math.random().toString(36).slice(2, 12)}`,
      issuedAt: now,
      expiresAt: now + 10_000,
      issuer: { userId: w.actor.principal.accountId, role: 'staff' },
      action: 'unlock',
      doorId: 'b1-main',
      ...over,
    },
    signer ?? (await w.deps.signing.signer('command')),
  );
};

describe('remote commands, cloud → broker → gateway', () => {
  let unlockCmd: GatewayCommand | undefined;

  it('a remote unlock is signed, executed through the door service, logged as a remote decision and acked', async () => {
    const before = w.doorCommands.length;
    const issued = await issueCommand(w.deps, w.actor, GW, { action: 'unlock', doorId: 'b1-main' });
    expect(Date.parse(issued.expiresAt) - Date.parse(issued.issuedAt)).toBeLessThanOrEqual(10_000);
    const done = await ackOf(issued.cmdId);
    expect(done).toMatchObject({ status: 'done', issuerRole: 'staff', issuedBy: w.actor.principal.accountId });
    await settle();
    expect(w.doorCommands.slice(before)).toEqual(['unlock']);
    expect(events()).toContainEqual(
      expect.objectContaining({ type: 'access_decision', method: 'remote', granted: true, credentialId: issued.cmdId }),
    );
    expect(events()).toContainEqual(expect.objectContaining({ type: 'command_result', cmdId: issued.cmdId }));
    const audit = await w.deps.prisma.auditEntry.findFirst({ where: { action: 'gateway.command', entityId: GW } });
    expect(audit?.actorId).toBe(w.actor.principal.accountId);
    unlockCmd = await aCommand();
  });

  it('refuses an expired command, never running it late', async () => {
    const before = w.doorCommands.length;
    const old = Date.now() - 30_000;
    const cmd = await aCommand({ issuedAt: old, expiresAt: old + 10_000 });
    await send(cmd);
    await until(() => events().some((e) => e.type === 'command_result' && e.cmdId === cmd.cmdId));
    expect(events().find((e) => e.type === 'command_result' && e.cmdId === cmd.cmdId)).toMatchObject({
      result: 'refused',
      reason: 'expired',
    });
    await settle();
    expect(w.doorCommands.length).toBe(before);
  });

  it('runs a command once: the same signed command sent again is refused as replayed', async () => {
    const cmd = unlockCmd as GatewayCommand;
    await send(cmd);
    await until(() => events().some((e) => e.type === 'command_result' && e.cmdId === cmd.cmdId));
    await settle();
    const before = w.doorCommands.length;
    await send(cmd);
    await until(() => events().filter((e) => e.type === 'command_result' && e.cmdId === cmd.cmdId).length === 2);
    expect(
      events()
        .filter((e) => e.type === 'command_result' && e.cmdId === cmd.cmdId)
        .at(-1),
    ).toMatchObject({
      result: 'refused',
      reason: 'replayed',
    });
    await settle();
    expect(w.doorCommands.length).toBe(before);
  });

  it('refuses a forged command (a key the gateway does not trust, or a trusted key of another purpose)', async () => {
    const before = w.doorCommands.length;
    const refused = w.refusals.length;
    const stranger = generateKeyPairSync('ed25519');
    const keyId = (await w.deps.signing.signer('command')).keyId;
    await send(await aCommand({}, { keyId, alg: 'Ed25519', privateKey: stranger.privateKey }));
    await send(await aCommand({}, await w.deps.signing.signer('desired')));
    await until(() => w.refusals.length >= refused + 2);
    expect(w.refusals.slice(refused)).toEqual(['bad_signature', 'key_not_for_purpose']);
    await settle();
    expect(w.doorCommands.length).toBe(before);
  });

  it('a lockdown opens nothing and refuses a remote unlock until released; fire release still works', async () => {
    const before = w.doorCommands.length;
    const lock = await issueCommand(w.deps, w.actor, GW, { action: 'lockdown' });
    expect((await ackOf(lock.cmdId)).status).toBe('done');
    const unlock = await issueCommand(w.deps, w.actor, GW, { action: 'unlock', doorId: 'b1-main' });
    expect(await ackOf(unlock.cmdId)).toMatchObject({ status: 'refused', reason: 'lockdown' });
    expect(await w.reader.enterPin('482916')).toMatchObject({ granted: false, reason: 'lockdown' });
    await settle();
    expect(w.doorCommands.slice(before).filter((a) => a === 'unlock' || a === 'hold_open')).toEqual([]);
    await w.door.fireAlarm(true);
    await until(() => w.doorCommands.slice(before).includes('hold_open'));
    await w.door.fireAlarm(false);
    const release = await issueCommand(w.deps, w.actor, GW, { action: 'release' });
    expect((await ackOf(release.cmdId)).status).toBe('done');
    expect(w.gw.parts.policy.isLockedDown('b1-main')).toBe(false);
  });

  it('a timed lockdown of one door holds for its duration and then ends by itself', async () => {
    const lock = await issueCommand(w.deps, w.actor, GW, { action: 'lockdown', doorId: 'b1-main', durationS: 1 });
    expect((await ackOf(lock.cmdId)).status).toBe('done');
    expect(await w.reader.enterPin('482916')).toMatchObject({ granted: false, reason: 'lockdown' });
    await until(() => !w.gw.parts.policy.isLockedDown('b1-main'), 5_000);
    expect(await w.reader.enterPin('482916')).toMatchObject({ granted: true });
  });
});
