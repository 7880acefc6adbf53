// The self-test's checks that go through the local broker: each paired device answering (retained presence), a
// relay test pulse on each door, and a camera frame with a face in it. They use one MQTT connection as the broker's
// internal self-test user (broker/internal-users.ts), which may watch every device but only pulse and snapshot.
import { randomBytes } from 'node:crypto';
import { type DoorState, decodeAs, decodeFrame, encode, filterFor, topicFor } from '@estate/protocols';
import type { MqttClient } from 'mqtt';
import type { DeviceRecord } from '../broker/device-directory.js';
import type { CheckResult } from './self-test-types.js';

export interface FaceCounter {
  analyse(jpeg: Uint8Array): Promise<{ faces: number }>;
}

type Listener = (topic: string, payload: Buffer) => void;

/** Messages by topic for the checks: retained state first, then what arrives while a check waits. */
export class Watcher {
  readonly latest = new Map<string, Buffer>();
  readonly #listeners = new Set<Listener>();
  constructor(private readonly client: MqttClient) {
    client.on('message', (topic, payload) => {
      this.latest.set(topic, payload);
      for (const l of this.#listeners) l(topic, payload);
    });
  }
  async subscribe(filters: string[]): Promise<void> {
    await this.client.subscribeAsync(filters, { qos: 1 });
  }
  /** Calls `fn` on each message until it returns true or `ms` pass; resolves whether it did. */
  until(fn: (topic: string, payload: Buffer) => boolean | Promise<boolean>, ms: number) {
    return new Promise<boolean>((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        this.#listeners.delete(listener);
        resolve(ok);
      };
      // a check that throws on one message waits for the next (its own code records what went wrong)
      const listener: Listener = (t, p) =>
        void Promise.resolve()
          .then(() => fn(t, p))
          .then(
            (ok) => ok && done(true),
            () => undefined,
          );
      const timer = setTimeout(() => done(false), ms);
      this.#listeners.add(listener);
    });
  }
}

const cmdId = () => `selftest-${randomBytes(6).toString('hex')}`;

export function presenceCheck(w: Watcher, d: DeviceRecord): Omit<CheckResult, 'ms'> {
  const check = `device ${d.id}`;
  const raw = w.latest.get(topicFor('devicePresence', { kind: d.kind, deviceId: d.id }));
  const presence = raw && decodeAs('devicePresence', raw);
  if (!presence?.ok) {
    return {
      check,
      ok: false,
      detail: `${d.kind} has never connected to this gateway`,
      fix: `power it, check its network, and enter username ${d.id} with the password shown at pairing`,
    };
  }
  if (!presence.value.online) {
    return {
      check,
      ok: false,
      detail: `${d.kind} offline since ${new Date(presence.value.ts).toISOString()}`,
      fix: 'check its power and network cable or Wi-Fi; it reconnects by itself',
    };
  }
  return { check, ok: true, detail: `${d.kind} online${presence.value.fw ? ` (fw ${presence.value.fw})` : ''}` };
}

/** A test pulse: the controller must acknowledge it, unlock, lock again, and leave its door contact closed. */
export async function relayCheck(
  client: MqttClient,
  w: Watcher,
  door: DeviceRecord,
  pulseMs: number,
  timeoutMs: number,
): Promise<Omit<CheckResult, 'ms'>> {
  const check = `relay ${door.id}`;
  const id = cmdId();
  const seen = { ack: '', unlocked: false, locked: false, contactMoved: false };
  const params = { deviceId: door.id };
  const ackTopic = topicFor('doorAck', params);
  const eventTopic = topicFor('doorEvent', params);
  const finished = w.until((topic, payload) => {
    if (topic === ackTopic) {
      const ack = decodeAs('doorAck', payload);
      if (ack.ok && ack.value.cmdId === id)
        seen.ack = ack.value.result + (ack.value.reason ? ` (${ack.value.reason})` : '');
    } else if (topic === eventTopic) {
      const e = decodeAs('doorEvent', payload);
      if (e.ok && e.value.type === 'relay_unlocked') seen.unlocked = true;
      if (e.ok && e.value.type === 'relay_locked' && seen.unlocked) seen.locked = true;
      if (e.ok && e.value.type === 'opened' && seen.unlocked) seen.contactMoved = true;
    }
    return (seen.ack !== '' && seen.ack !== 'done') || (seen.ack === 'done' && seen.locked);
  }, timeoutMs);
  const now = Date.now();
  await client.publishAsync(
    topicFor('doorCommand', params),
    encode('doorCommand', { cmdId: id, issuedAt: now, expiresAt: now + timeoutMs, action: 'test_pulse', pulseMs }),
    { qos: 1 },
  );
  await finished;
  if (!seen.ack) {
    return {
      check,
      ok: false,
      detail: 'no answer to the test pulse',
      fix: 'the controller is offline or hung: power-cycle it',
    };
  }
  if (seen.ack !== 'done') {
    return {
      check,
      ok: false,
      detail: `controller ${seen.ack} the test pulse`,
      fix: 'clear the condition it names (e.g. fire alarm input) and retry',
    };
  }
  if (!seen.unlocked || !seen.locked) {
    return {
      check,
      ok: false,
      detail: `relay did not ${seen.unlocked ? 'lock again' : 'unlock'} within ${timeoutMs} ms`,
      fix: 'check the lock relay wiring and the lock power supply',
    };
  }
  const stateRaw = w.latest.get(topicFor('doorState', params));
  const state = stateRaw ? decodeAs('doorState', stateRaw) : undefined;
  const contact: DoorState['contact'] | undefined = state?.ok ? state.value.contact : undefined;
  if (contact !== 'closed') {
    return {
      check,
      ok: false,
      detail: `relay pulsed, but the door contact reads ${contact ?? 'nothing'} with the door locked`,
      fix: 'close the door; if it is closed, check the door contact (reed switch) wiring',
    };
  }
  return {
    check,
    ok: true,
    detail: `relay unlocked and locked again; door contact ${seen.contactMoved ? 'opened during the pulse and is closed' : 'closed'}`,
  };
}

/** Frames from the camera until one shows a face, or the time is up. */
export async function cameraCheck(
  client: MqttClient,
  w: Watcher,
  camera: DeviceRecord,
  faces: FaceCounter | undefined,
  timeoutMs: number,
): Promise<Omit<CheckResult, 'ms'>> {
  const check = `camera ${camera.id}`;
  if (!faces) {
    return {
      check,
      ok: false,
      detail: 'face models not available',
      fix: 'fetch the face models (npm run fetch -w @estate/models) and retry',
    };
  }
  const frameTopic = topicFor('cameraFrame', { deviceId: camera.id });
  let frames = 0;
  let busy = false;
  let failure: string | undefined;
  const found = w.until(async (topic, payload) => {
    if (topic !== frameTopic || busy) return false; // one analysis at a time; frames in between are skipped
    const frame = decodeFrame(payload);
    if (!frame.ok) return false;
    frames++;
    busy = true;
    try {
      return (await faces.analyse(frame.value.data)).faces > 0;
    } catch (e) {
      failure = (e as Error).message;
      return false;
    } finally {
      busy = false;
    }
  }, timeoutMs);
  // a camera that is not streaming still answers a snapshot
  const now = Date.now();
  await client.publishAsync(
    topicFor('cameraCommand', { deviceId: camera.id }),
    encode('cameraCommand', { cmdId: cmdId(), issuedAt: now, expiresAt: now + 5_000, action: 'snapshot' }),
    { qos: 1 },
  );
  if (await found)
    return { check, ok: true, detail: `face detected (after ${frames} frame${frames === 1 ? '' : 's'})` };
  if (frames === 0) {
    return {
      check,
      ok: false,
      detail: `no frame within ${timeoutMs / 1000} s`,
      fix: 'check the camera is streaming and its network bandwidth',
    };
  }
  if (failure)
    return { check, ok: false, detail: `face analysis failed: ${failure}`, fix: 'check the face models install' };
  return {
    check,
    ok: false,
    detail: `${frames} frame(s), no face detected`,
    fix: 'stand in front of the camera; check its aim, focus, lighting and mounting height',
  };
}

/** The filters the device checks need, as one subscription. */
export const deviceFilters = () => [
  filterFor('devicePresence'),
  filterFor('doorState'),
  filterFor('doorEvent'),
  filterFor('doorAck'),
  filterFor('cameraFrame'),
];
