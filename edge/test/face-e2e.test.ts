// Face access end to end: real models, real photos, camera and door stubs over real MQTT.
import { readFileSync } from 'node:fs';
import { encodeEmbedding, type Gateway, type LocalBroker } from '@estate/edge';
import { Camera, Door } from '@estate/firmware-stubs';
import { FacePipeline, photosByPerson } from '@estate/models';
import { encode, topicFor } from '@estate/protocols';
import mqtt from 'mqtt';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aCloudSigner, aGateway, anEstate } from './helpers/estate.js';

const people = photosByPerson();
const photo = (label: string, i: number) => readFileSync((people.get(label) ?? [])[i]?.path ?? 'missing');

describe('walk-through face access', () => {
  let pipeline: FacePipeline;
  let local: LocalBroker;
  let gw: Gateway;
  let camera: Camera;
  let door: Door;
  let raw: mqtt.MqttClient;
  let seq = 1;
  const commands: string[] = [];

  beforeAll(async () => {
    pipeline = await FacePipeline.create();
    ({ local, gw } = await aGateway({ faces: { analyser: pipeline, quietMs: 0 } }));
    anEstate(gw, aCloudSigner());
    const enrolment = await pipeline.enrol([photo('franck', 0), photo('franck', 1)]);
    if (!enrolment.ok) throw new Error(enrolment.message);
    const applied = gw.apply({
      section: 'gallery',
      fromVersion: 0,
      toVersion: 1,
      deletes: [],
      upserts: [
        {
          kind: 'template',
          id: 't-alice-1',
          personId: 'p-alice',
          model: 'faceplugin-embed',
          dim: enrolment.embedding.length,
          embedding: encodeEmbedding(enrolment.embedding),
        },
      ],
    });
    expect(applied.ok).toBe(true);
    camera = new Camera({ id: 'cam-b1', broker: { url: local.url }, streaming: false });
    door = new Door({ id: 'door-b1', broker: { url: local.url } });
    door.on('received', (w) => {
      if (w.name === 'doorCommand') commands.push(w.message.action);
    });
    await Promise.all([camera.start(), door.start()]);
    raw = await mqtt.connectAsync(local.url, { protocolVersion: 4, clientId: 'cam-b1-wire' });
  }, 60_000);

  afterAll(async () => {
    await Promise.all([camera.stop(), door.stop(), raw.endAsync()]);
    await gw.stop();
    await local.close();
    await pipeline.close();
  });

  /** Publishes frames one by one and waits until the face service has decided on each. */
  async function show(...frames: Buffer[]) {
    const faces = gw.parts.faces;
    if (!faces) throw new Error('no face service');
    for (const f of frames) {
      const before = faces.stats.frames;
      // straight onto the wire: the stub itself refuses to send a JPEG it cannot parse
      await raw.publishAsync(
        topicFor('cameraFrame', { deviceId: 'cam-b1' }),
        encode('cameraFrame', {
          seq: seq++,
          ts: Date.now(),
          kind: 'frame',
          format: 'jpeg',
          width: 640,
          height: 480,
          data: f,
        }),
      );
      await until(() => faces.stats.frames > before && faces.pending === 0);
    }
    await new Promise((r) => setTimeout(r, 100)); // a relay command still crossing the broker
  }
  const until = async (cond: () => boolean) => {
    const end = Date.now() + 10_000;
    while (!cond()) {
      if (Date.now() > end) throw new Error('face service did not settle');
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  const decisions = () => gw.parts.log.read(0, 100_000).filter((e) => e.type === 'access_decision');
  const last = () => decisions().at(-1);

  it('opens for an enrolled resident walking up (two live frames), with the score in the log', async () => {
    await show(photo('franck', 2), photo('franck', 3));
    await until(() => commands.length > 0);
    expect(commands).toEqual(['unlock']);
    expect(last()).toMatchObject({ method: 'face', granted: true, personId: 'p-alice' });
    const score = (last() as { score?: number }).score ?? 0;
    expect(score).toBeGreaterThan(0.5);
  });

  it('stays shut for a stranger', async () => {
    await show(photo('cage', 0), photo('cage', 1));
    expect(commands).toEqual(['unlock']);
    expect(last()).toMatchObject({ method: 'face', granted: false, reason: 'no_match' });
  });

  it('does not accept the same still photo held up in every frame', async () => {
    await new Promise((r) => setTimeout(r, 600)); // past the previous grant's pulse
    const still = photo('franck', 4);
    await show(still, still, still);
    expect(commands).toEqual(['unlock']);
    expect(last()).toMatchObject({ granted: false, reason: 'presentation_attack', personId: 'p-alice' });
  });

  it('denies corrupt and oversized frames with a reason and keeps running', async () => {
    const corrupt = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(2_000, 0x42)]);
    const eightK = await sharp({ create: { width: 7680, height: 4320, channels: 3, background: '#000' } })
      .jpeg({ quality: 10 })
      .toBuffer();
    await show(corrupt, eightK);
    const reasons = decisions()
      .slice(-2)
      .map((e) => (e as { reason: string }).reason);
    expect(reasons).toEqual(['image_invalid', 'image_too_large']);
    expect(commands).toEqual(['unlock']);
  });

  it('forgets a withdrawn template at once: the resident is a stranger again', async () => {
    gw.apply({
      section: 'gallery',
      fromVersion: 1,
      toVersion: 2,
      upserts: [],
      deletes: [{ kind: 'template', id: 't-alice-1' }],
    });
    expect(gw.parts.gallery.size).toBe(0);
    await show(photo('franck', 5), photo('franck', 6));
    expect(last()).toMatchObject({ granted: false, reason: 'no_match' });
    expect(commands).toEqual(['unlock']);
  });
});
