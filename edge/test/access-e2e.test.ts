// End to end over real MQTT: firmware stubs ↔ embedded broker ↔ gateway agent.
import { generateKeyPairSync } from 'node:crypto';
import type { Gateway, LocalBroker } from '@estate/edge';
import { BleReader, Door, Reader } from '@estate/firmware-stubs';
import { exportRawPublicKey, signToken } from '@estate/protocols';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aCloudSigner, aGateway, anEstate, aPass, ESTATE } from './helpers/estate.js';

describe('access decided locally, over MQTT with the device stubs', () => {
  const cloud = aCloudSigner();
  let local: LocalBroker;
  let gw: Gateway;
  let door: Door;
  let reader: Reader;
  let ble: BleReader;
  const unlocks: string[] = [];

  beforeAll(async () => {
    ({ local, gw } = await aGateway());
    anEstate(gw, cloud);
    const broker = { url: local.url };
    door = new Door({ id: 'door-b1', broker, pulseMs: 3_000 });
    reader = new Reader({ id: 'reader-b1', broker });
    ble = new BleReader({ id: 'ble-b1', broker });
    door.on('received', (w) => {
      if (w.name === 'doorCommand') unlocks.push(w.message.action);
    });
    await Promise.all([door.start(), reader.start(), ble.start()]);
  });

  afterAll(async () => {
    await Promise.all([door.stop(), reader.stop(), ble.stop()]);
    await gw.stop();
    await local.close();
  });

  const lastDecision = () => {
    const events = gw.parts.log.read(0, 100_000);
    return events.filter((e) => e.type === 'access_decision').at(-1);
  };
  const settle = () => new Promise((r) => setTimeout(r, 100));

  it('opens for a resident PIN, logging the grant before the relay command', async () => {
    const before = unlocks.length;
    const fb = await reader.enterPin('482916');
    expect(fb).toMatchObject({ granted: true, reason: 'granted' });
    await settle();
    expect(unlocks.slice(before)).toEqual(['unlock']);
    expect(door.state.relay).toBe('unlocked');
    expect(lastDecision()).toMatchObject({ method: 'pin', granted: true, personId: 'p-alice', doorId: 'b1-main' });
  });

  it('locks a keypad out after repeated wrong PINs, even for the right one afterwards', async () => {
    const before = unlocks.length;
    expect((await reader.enterPin('000000')).reason).toBe('pin_unknown');
    expect((await reader.enterPin('111111')).reason).toBe('pin_unknown');
    expect((await reader.enterPin('222222')).reason).toBe('pin_locked_out');
    expect((await reader.enterPin('482916')).reason).toBe('pin_locked_out');
    await settle();
    expect(unlocks.length).toBe(before);
  });

  it('lets a visitor pass in at most max times, and refuses forged, expired and other-door passes', async () => {
    const now = Date.now();
    const pass = aPass(cloud, now, { id: 'v-twice', max: 2 });
    expect((await reader.scanQr(pass)).granted).toBe(true);
    expect((await reader.scanQr(pass)).granted).toBe(true);
    expect((await reader.scanQr(pass)).reason).toBe('pass_used_up');
    expect((await reader.scanQr(aPass(aCloudSigner(), now, { id: 'v-forged' }))).reason).toBe('bad_signature');
    expect(
      (await reader.scanQr(aPass(cloud, now, { id: 'v-old', nbf: now - 7_200_000, exp: now - 3_600_000 }))).reason,
    ).toBe('expired');
    expect((await reader.scanQr(aPass(cloud, now, { id: 'v-gate', doors: ['gate-east'] }))).reason).toBe(
      'door_not_on_pass',
    );
    expect((await reader.scanQr('not.a-token')).reason).toBe('malformed');
  });

  it('applies a revocation at once', async () => {
    const now = Date.now();
    const pass = aPass(cloud, now, { id: 'v-cancel', max: 5 });
    expect((await reader.scanQr(pass)).granted).toBe(true);
    const r = gw.apply({
      section: 'revocations',
      fromVersion: 0,
      toVersion: 1,
      deletes: [],
      upserts: [{ kind: 'pass', id: 'v-cancel', revokedAt: now, reason: 'cancelled' }],
    });
    expect(r.ok).toBe(true);
    expect((await reader.scanQr(pass)).reason).toBe('pass_revoked');
  });

  it('opens for a phone key proven by challenge-response, and refuses a stranger and a revoked key', async () => {
    const phone = generateKeyPairSync('ed25519');
    const key = (id: string, sub: string) =>
      signToken(
        {
          typ: 'ble',
          kid: cloud.keyId,
          id,
          sub,
          estate: ESTATE,
          alg: 'Ed25519',
          pk: exportRawPublicKey(phone.publicKey).toString('base64url'),
          nbf: Date.now() - 1_000,
          exp: Date.now() + 86_400_000,
        },
        cloud,
      );
    expect(await ble.present({ credential: key('k-alice', 'p-alice'), privateKey: phone.privateKey })).toMatchObject({
      granted: true,
    });
    expect((await ble.present({ credential: key('k-bob', 'p-bob'), privateKey: phone.privateKey })).reason).toBe(
      'not_permitted',
    );
    const thief = generateKeyPairSync('ed25519');
    expect((await ble.present({ credential: key('k-alice', 'p-alice'), privateKey: thief.privateKey })).reason).toBe(
      'bad_response',
    );
    gw.apply({
      section: 'revocations',
      fromVersion: 1,
      toVersion: 2,
      deletes: [],
      upserts: [{ kind: 'ble_key', id: 'k-alice', revokedAt: Date.now(), reason: 'phone_lost' }],
    });
    expect((await ble.present({ credential: key('k-alice', 'p-alice'), privateKey: phone.privateKey })).reason).toBe(
      'key_revoked',
    );
  });

  it('opens for the exit button even in lockdown, and refuses credentials in lockdown', async () => {
    gw.parts.policy.setLockdown('*', true);
    try {
      expect((await reader.enterPin('482916')).reason).toMatch(/lockdown|pin_locked_out/);
      const before = unlocks.length;
      await door.pressExit();
      await settle();
      expect(unlocks.slice(before)).toEqual(['unlock']);
      expect(lastDecision()).toMatchObject({ method: 'exit_button', granted: true, reason: 'egress' });
    } finally {
      gw.parts.policy.setLockdown('*', false);
    }
  });

  it('records every decision with a gap-free sequence number', () => {
    const seqs = gw.parts.log.read(0, 100_000).map((e) => e.seq);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
    expect(seqs.length).toBeGreaterThan(15);
  });
});
