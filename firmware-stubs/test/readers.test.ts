import { generateKeyPairSync, type KeyObject, randomBytes, verify } from 'node:crypto';
import { type BleChallenge, bleChallengeSigningInput, ProtocolError } from '@estate/protocols';
import { describe, expect, it } from 'vitest';
import { BleReader, type Phone, Reader } from '../src/index.js';
import { deviceSuite, ManualClock, Wire } from './helpers.js';

const suite = deviceSuite<BleReader | Reader>();
const { running } = suite;

const aPhone = (credential: string): Phone & { publicKey: KeyObject } => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { credential, privateKey, publicKey };
};

/**
 * The gateway's half of the BLE exchange, as the edge will do it: a fresh
 * nonce per hello, and the phone's Ed25519 signature checked with node crypto.
 */
async function aBleGateway(keys: Map<string, KeyObject>, opts: { silent?: boolean } = {}) {
  const gw = await Wire.connect(suite.b.url, 'estate/v1/dev/ble/+/+');
  const challenges = new Map<string, BleChallenge>();
  const credentials = new Map<string, string>();
  const verified: boolean[] = [];
  gw.client.on('message', (topic) => {
    const last = gw.seen.at(-1);
    if (!last || last.topic !== topic || opts.silent) return;
    const deviceId = topic.split('/')[4] ?? '';
    const d = last.decoded;
    const now = Date.now();
    if (d.name === 'bleHello') {
      if (!keys.has(d.message.credential)) {
        void gw.send(
          'bleResult',
          { deviceId },
          { session: d.message.session, ts: now, granted: false, reason: 'unknown_key' },
        );
        return;
      }
      const c = {
        session: d.message.session,
        nonce: randomBytes(32).toString('base64url'),
        issuedAt: now,
        expiresAt: now + 2_000,
      };
      challenges.set(c.session, c);
      credentials.set(c.session, d.message.credential);
      void gw.send('bleChallenge', { deviceId }, c);
    }
    if (d.name === 'bleResponse') {
      const c = challenges.get(d.message.session);
      const key = keys.get(credentials.get(d.message.session) ?? '');
      if (!c || !key) return;
      const ok = verify(null, bleChallengeSigningInput(c), key, Buffer.from(d.message.signature, 'base64url'));
      verified.push(ok);
      const result = { session: c.session, ts: Date.now(), granted: ok, reason: ok ? 'ok' : 'bad_signature' };
      void gw.send('bleResult', { deviceId }, result);
    }
  });
  return { gw, verified };
}

async function start<T extends BleReader | Reader>(device: T): Promise<T> {
  running.push(device);
  await device.start();
  return device;
}

describe('BLE reader', () => {
  it('runs hello → challenge → signed response → result, and the gateway verifies the signature', async () => {
    const alice = aPhone('alice.key.1');
    const { gw, verified } = await aBleGateway(new Map([[alice.credential, alice.publicKey]]));
    const reader = await start(new BleReader({ id: 'ble-1', broker: { url: suite.b.url } }));
    const result = await reader.present(alice);
    expect(result).toMatchObject({ granted: true, reason: 'ok' });
    expect(verified).toEqual([true]);
    const hello = suite.wire.all('bleHello', 'ble-1')[0];
    expect(hello).toMatchObject({ credential: 'alice.key.1', rssi: -60, session: result.session });
    await gw.close();
  });

  it('is denied when the phone signs with a key other than the one its credential binds', async () => {
    const alice = aPhone('alice.key.2');
    const { gw, verified } = await aBleGateway(new Map([[alice.credential, alice.publicKey]]));
    const reader = await start(new BleReader({ id: 'ble-2', broker: { url: suite.b.url } }));
    const thief = { credential: alice.credential, privateKey: aPhone('x').privateKey };
    expect(await reader.present(thief)).toMatchObject({ granted: false, reason: 'bad_signature' });
    expect(verified).toEqual([false]);
    await gw.close();
  });

  it('takes a result without a challenge when the gateway refuses the credential outright', async () => {
    const { gw } = await aBleGateway(new Map());
    const reader = await start(new BleReader({ id: 'ble-3', broker: { url: suite.b.url } }));
    expect(await reader.present(aPhone('nobody.key'))).toMatchObject({ granted: false, reason: 'unknown_key' });
    expect(suite.wire.all('bleResponse', 'ble-3')).toEqual([]);
    await gw.close();
  });

  it('rejects when no gateway answers in time', async () => {
    const clock = new ManualClock();
    const reader = await start(new BleReader({ id: 'ble-4', broker: { url: suite.b.url }, clock, timeoutMs: 4_000 }));
    const attempt = reader.present(aPhone('alice.key.3'));
    await suite.wire.waitFor('bleHello', () => true, 'ble-4');
    clock.advance(4_000);
    await expect(attempt).rejects.toThrow(/within 4000 ms/);
  });
});

describe('keypad / QR reader', () => {
  /** Grants PIN 1234 and any QR starting with "ok", echoing the input's seq. */
  async function aReaderGateway() {
    const gw = await Wire.connect(suite.b.url, 'estate/v1/dev/reader/+/input');
    gw.client.on('message', (topic) => {
      const d = gw.seen.at(-1)?.decoded;
      if (d?.name !== 'readerInput') return;
      const granted = d.message.method === 'pin' ? d.message.value === '1234' : d.message.value.startsWith('ok');
      const feedback = { seq: d.message.seq, ts: Date.now(), granted, reason: granted ? 'ok' : 'unknown' };
      void gw.send('readerFeedback', { deviceId: topic.split('/')[4] ?? '' }, feedback);
    });
    return gw;
  }

  it('publishes its capabilities and resolves each input with the feedback for its seq', async () => {
    const gw = await aReaderGateway();
    const reader = await start(new Reader({ id: 'reader-1', broker: { url: suite.b.url }, startSeq: 100 }));
    expect(await suite.wire.waitFor('readerState', () => true, 'reader-1')).toMatchObject({
      capabilities: ['qr', 'pin'],
    });
    const [pin, qr, wrong] = await Promise.all([
      reader.enterPin('1234'),
      reader.scanQr('ok.visitor.pass'),
      reader.enterPin('9999'),
    ]);
    expect(pin).toMatchObject({ seq: 100, granted: true });
    expect(qr).toMatchObject({ seq: 101, granted: true });
    expect(wrong).toMatchObject({ seq: 102, granted: false, reason: 'unknown' });
    expect(suite.wire.all('readerInput', 'reader-1').map((i) => i.seq)).toEqual([100, 101, 102]);
    await gw.close();
  });

  it('refuses to send an input the contract forbids, with the protocol error', async () => {
    const reader = await start(new Reader({ id: 'reader-2', broker: { url: suite.b.url } }));
    await expect(reader.enterPin('12')).rejects.toBeInstanceOf(ProtocolError);
    await expect(reader.scanQr('not a token!')).rejects.toThrow(/\/value/);
  });

  it('rejects when no feedback comes, and refuses a method it lacks', async () => {
    const clock = new ManualClock();
    const reader = await start(
      new Reader({ id: 'reader-3', broker: { url: suite.b.url }, clock, capabilities: ['pin'], timeoutMs: 2_000 }),
    );
    const attempt = reader.enterPin('1234');
    await suite.wire.waitFor('readerInput', () => true, 'reader-3');
    clock.advance(2_000);
    await expect(attempt).rejects.toThrow(/no reader feedback/);
    await expect(reader.scanQr('ok')).rejects.toThrow(/no qr capability/);
  });
});
