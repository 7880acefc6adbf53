// Bad input at the gateway: replayed BLE answers, a gateway clock 5 minutes off, broken camera frames.
import { generateKeyPairSync, sign } from 'node:crypto';
import { FacePipeline } from '@estate/models';
import type { BleResult, ReaderFeedback } from '@estate/protocols';
import { bleChallengeSigningInput, decodeAs, encode, exportRawPublicKey, signToken, topicFor } from '@estate/protocols';
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { aCloudSigner, aGateway, anEstate, aPass, ESTATE } from './helpers/estate.js';

const cloud = aCloudSigner();
const opened: string[] = [];
let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
  opened.length = 0;
});

/** A gateway with the test estate and a raw MQTT client standing in for the devices. */
async function setup(now?: () => number, pipeline?: FacePipeline) {
  const ctx = await aGateway({ ...(now ? { now } : {}), ...(pipeline ? { faces: { analyser: pipeline } } : {}) });
  anEstate(ctx.gw, cloud);
  const wire = await mqtt.connectAsync(ctx.local.url, { protocolVersion: 4, clientId: 'wire' });
  await wire.subscribeAsync(['estate/v1/dev/+/+/cmd', 'estate/v1/dev/ble/+/#', 'estate/v1/dev/reader/+/feedback']);
  // every message, kept in order: waiting with once() would miss messages that arrive in the same tick
  const inbox: [string, Buffer][] = [];
  let read = 0;
  wire.on('message', (topic, payload) => {
    if (topic.endsWith('/cmd')) opened.push(topic);
    inbox.push([topic, payload]);
  });
  cleanup.push(async () => {
    await wire.endAsync();
    await ctx.gw.stop();
    await ctx.local.close();
  });
  const next = async <T>(suffix: string, name: 'bleChallenge' | 'bleResult' | 'readerFeedback'): Promise<T> => {
    for (;;) {
      const m = inbox[read];
      if (!m) {
        await new Promise((r) => setTimeout(r, 5));
        continue;
      }
      read++;
      if (!m[0].endsWith(suffix)) continue;
      const d = decodeAs(name, m[1]);
      if (!d.ok) throw d.error;
      return d.value as T;
    }
  };
  return { ...ctx, wire, next };
}

const settle = () => new Promise((r) => setTimeout(r, 150));

describe('gateway bad input', () => {
  it('refuses a recorded BLE answer replayed for the same session', async () => {
    const { wire, next } = await setup();
    const phone = generateKeyPairSync('ed25519');
    const credential = signToken(
      {
        typ: 'ble',
        kid: cloud.keyId,
        id: 'k-1',
        sub: 'p-alice',
        estate: ESTATE,
        alg: 'Ed25519',
        pk: exportRawPublicKey(phone.publicKey).toString('base64url'),
        nbf: Date.now() - 1_000,
        exp: Date.now() + 60_000,
      },
      cloud,
    );
    const hello = topicFor('bleHello', { deviceId: 'ble-b1' });
    const challenged = next<{ session: string; nonce: string; expiresAt: number }>('/challenge', 'bleChallenge');
    await wire.publishAsync(hello, encode('bleHello', { session: 's-1', ts: Date.now(), credential, rssi: -50 }));
    const c = await challenged;
    const signature = sign(null, bleChallengeSigningInput(c), phone.privateKey).toString('base64url');
    const response = encode('bleResponse', { session: 's-1', ts: Date.now(), signature });
    const first = next<BleResult>('/result', 'bleResult');
    await wire.publishAsync(topicFor('bleResponse', { deviceId: 'ble-b1' }), response);
    expect((await first).granted).toBe(true);
    const replay = next<BleResult>('/result', 'bleResult');
    await wire.publishAsync(topicFor('bleResponse', { deviceId: 'ble-b1' }), response);
    expect(await replay).toMatchObject({ granted: false, reason: 'no_challenge' });
    await settle();
    expect(opened.length).toBe(1);
  });

  for (const [label, offset, expected] of [
    ['5 minutes fast: a pass that ended 1 minute ago by real time', 5 * 60_000, 'expired'],
    ['5 minutes slow: a pass that starts in 1 minute by real time', -5 * 60_000, 'not_yet_valid'],
  ] as const) {
    it(`judges passes by its own clock when that clock is ${label}, and says so`, async () => {
      const { wire, next } = await setup(() => Date.now() + offset);
      const real = Date.now();
      const pass =
        expected === 'expired'
          ? aPass(cloud, real, { id: 'v-skew-1', nbf: real - 3_600_000, exp: real + 60_000 })
          : aPass(cloud, real, { id: 'v-skew-2', nbf: real - 60_000, exp: real + 3_600_000 });
      const fb = next<ReaderFeedback>('/feedback', 'readerFeedback');
      await wire.publishAsync(
        topicFor('readerInput', { deviceId: 'reader-b1' }),
        encode('readerInput', { seq: 1, ts: real, method: 'qr', value: pass }),
      );
      // fast by 5 min: real exp+1 min is 4 min in the gateway's past → expired;
      // slow by 5 min: real nbf−1 min is 4 min in the gateway's future → not yet valid
      expect(await fb).toMatchObject({ granted: false, reason: expected });
      await settle();
      expect(opened).toEqual([]);
    });
  }

  it('drops zero-byte, truncated and non-image camera frames at the contract, opening nothing', async () => {
    const pipeline = await FacePipeline.create();
    cleanup.push(() => pipeline.close());
    const { wire, invalid, gw } = await setup(undefined, pipeline);
    const topic = topicFor('cameraFrame', { deviceId: 'cam-b1' });
    const frame = encode('cameraFrame', {
      seq: 1,
      ts: Date.now(),
      kind: 'frame',
      format: 'jpeg',
      width: 2,
      height: 2,
      data: Uint8Array.from([0xff, 0xd8, 0xff, 0xd9]),
    });
    await wire.publishAsync(topic, Buffer.alloc(0));
    await wire.publishAsync(topic, frame.subarray(0, 20));
    const gif = Buffer.from(frame);
    gif.write('GI', 26);
    await wire.publishAsync(topic, gif);
    await settle();
    // the contract refuses them before the face pipeline sees them (its own refusals — corrupt JPEG,
    // 8K — are in face-e2e.test.ts)
    expect(opened).toEqual([]);
    expect(invalid.map((i) => i.replace(/^[^:]+: /, ''))).toEqual([
      'empty payload',
      'frame shorter than its 26-byte header',
      '/data: data is not a JPEG (no SOI marker)',
    ]);
    expect(gw.parts.faces?.stats.frames).toBe(0);
  });
});
