// `estate-gateway self-test`: every part of an installed gateway, checked while its agent runs — free disk, the
// local broker, each paired device answering, a relay test pulse per door, a face seen by each camera, the clock
// against the cloud, and the cloud link. A library returning structured rows; the CLI only prints them.
import { statfs } from 'node:fs/promises';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { FileDeviceDirectory } from '../broker/device-directory.js';
import { FileInternalUsers, SELF_TEST_USER } from '../broker/internal-users.js';
import { CloudError, type Fetch, signedCall } from './cloud-client.js';
import { type Identity, IdentityError, loadIdentity } from './identity.js';
import {
  cameraCheck,
  deviceFilters,
  type FaceCounter,
  presenceCheck,
  relayCheck,
  Watcher,
} from './self-test-devices.js';
import type { CheckResult, Progress } from './self-test-types.js';

export type { FaceCounter } from './self-test-devices.js';
export type { CheckResult, Progress } from './self-test-types.js';

export interface SelfTestOptions {
  dataDir: string;
  /** The gateway's own broker; default mqtt://127.0.0.1:1883. */
  brokerUrl?: string;
  /** Made only when a camera is paired (loading the models takes a moment). */
  faces?: () => Promise<FaceCounter & { close?(): Promise<void> }>;
  /** Time for retained presence to arrive after subscribing; default 1 s. */
  settleMs?: number;
  pulseMs?: number;
  pulseTimeoutMs?: number;
  frameTimeoutMs?: number;
  /** Default 512 MiB. */
  minFreeBytes?: number;
  /** Default 2 s (the HTTP Date header has whole seconds). */
  maxClockOffsetMs?: number;
  onProgress?: (p: Progress) => void;
  fetch?: Fetch;
}

export interface SelfTestReport {
  ok: boolean;
  results: CheckResult[];
}

type Row = Omit<CheckResult, 'ms'>;
const MiB = 1024 * 1024;

export async function selfTest(o: SelfTestOptions): Promise<SelfTestReport> {
  const results: CheckResult[] = [];
  const run = async (check: string, fn: () => Promise<Row>) => {
    o.onProgress?.({ state: 'running', check });
    const started = performance.now();
    let row: Row;
    try {
      row = await fn();
    } catch (e) {
      row = { check, ok: false, detail: (e as Error).message, fix: 'see the detail; retry once it is fixed' };
    }
    const result = { ...row, ms: Math.round(performance.now() - started) };
    results.push(result);
    o.onProgress?.({ state: 'done', result });
    return result;
  };

  await run('disk', () => diskCheck(o.dataDir, o.minFreeBytes ?? 512 * MiB));
  await localChecks(o, run);
  let identity: Identity | undefined;
  try {
    identity = loadIdentity(o.dataDir);
  } catch (e) {
    const fix =
      e instanceof IdentityError && e.code === 'missing'
        ? 'estate-gateway provision --claim CODE --cloud URL'
        : 'provision again with --force';
    for (const check of ['clock', 'cloud link'])
      await run(check, async () => ({ check, ok: false, detail: (e as Error).message, fix }));
  }
  if (identity) {
    const id = identity;
    await run('clock', () => clockCheck(id.cloudUrl, o.maxClockOffsetMs ?? 2_000, o.fetch));
    await run('cloud link', () => cloudLinkCheck(id, o.fetch));
  }
  return { ok: results.every((r) => r.ok), results };
}

async function diskCheck(dataDir: string, minFree: number): Promise<Row> {
  const s = await statfs(dataDir);
  const free = s.bavail * s.bsize;
  const pct = Math.round((s.bavail / s.blocks) * 100);
  const detail = `${Math.round(free / MiB)} MiB free (${pct} %) under ${dataDir}`;
  return free >= minFree
    ? { check: 'disk', ok: true, detail }
    : {
        check: 'disk',
        ok: false,
        detail,
        fix: `free space: at least ${Math.round(minFree / MiB)} MiB is needed for the event log`,
      };
}

async function localChecks(o: SelfTestOptions, run: (check: string, fn: () => Promise<Row>) => Promise<CheckResult>) {
  const devices = new FileDeviceDirectory(join(o.dataDir, 'devices.json')).list().filter((d) => !d.disabled);
  const internal = new FileInternalUsers(o.dataDir);
  const url = o.brokerUrl ?? 'mqtt://127.0.0.1:1883';
  let client: MqttClient | undefined;
  const broker = await run('broker', async () => {
    const password = await internal.issue(SELF_TEST_USER, 10 * 60_000);
    client = await mqtt.connectAsync(url, {
      clientId: SELF_TEST_USER,
      username: SELF_TEST_USER,
      password,
      protocolVersion: 4,
      reconnectPeriod: 0,
      connectTimeout: 5_000,
    });
    return { check: 'broker', ok: true, detail: `connected to ${url}; ${devices.length} device(s) registered` };
  });
  if (!broker.ok) {
    broker.fix = 'start the gateway agent (estate-gateway run), or give its address with --broker';
    for (const d of devices) {
      await run(`device ${d.id}`, async () => ({
        check: `device ${d.id}`,
        ok: false,
        detail: 'not checked: broker unreachable',
        fix: 'fix the broker first',
      }));
    }
    internal.revoke(SELF_TEST_USER);
    return;
  }
  const c = client as MqttClient;
  let faces: Awaited<ReturnType<NonNullable<SelfTestOptions['faces']>>> | undefined;
  try {
    const w = new Watcher(c);
    await w.subscribe(deviceFilters());
    await new Promise((r) => setTimeout(r, o.settleMs ?? 1_000)); // retained presence and state arrive
    const answering = new Set<string>();
    for (const d of devices) {
      const r = await run(`device ${d.id}`, async () => presenceCheck(w, d));
      if (r.ok) answering.add(d.id);
    }
    for (const d of devices.filter((x) => x.kind === 'door' && answering.has(x.id))) {
      await run(`relay ${d.id}`, () => relayCheck(c, w, d, o.pulseMs ?? 500, o.pulseTimeoutMs ?? 5_000));
    }
    const cameras = devices.filter((x) => x.kind === 'camera' && answering.has(x.id));
    if (cameras.length > 0 && o.faces) faces = await o.faces().catch(() => undefined);
    for (const d of cameras) {
      await run(`camera ${d.id}`, () => cameraCheck(c, w, d, faces, o.frameTimeoutMs ?? 10_000));
    }
  } finally {
    await faces?.close?.();
    await c.endAsync();
    internal.revoke(SELF_TEST_USER);
  }
}

/** Offset of our clock from the cloud's, from the Date header of GET /health, halfway through the round trip. */
async function clockCheck(cloudUrl: string, maxOffsetMs: number, fetchImpl: Fetch = fetch): Promise<Row> {
  const t0 = Date.now();
  let date: string | null;
  try {
    const res = await fetchImpl(`${cloudUrl}/health`, { signal: AbortSignal.timeout(10_000) });
    date = res.headers.get('date');
  } catch {
    return {
      check: 'clock',
      ok: false,
      detail: `cannot reach ${cloudUrl}`,
      fix: 'check the uplink network, DNS and firewall',
    };
  }
  const t1 = Date.now();
  const cloud = date ? Date.parse(date) : Number.NaN;
  if (Number.isNaN(cloud))
    return {
      check: 'clock',
      ok: false,
      detail: 'the cloud sent no Date header',
      fix: 'check for a proxy stripping headers',
    };
  // the header has whole seconds: the cloud's true time lies in [cloud, cloud + 1000)
  const offset = Math.round(cloud + 500 - (t0 + t1) / 2);
  const detail = `${offset >= 0 ? 'behind' : 'ahead of'} the cloud by ${Math.abs(offset)} ms (±${Math.round((t1 - t0) / 2) + 500} ms)`;
  return Math.abs(offset) <= maxOffsetMs
    ? { check: 'clock', ok: true, detail }
    : {
        check: 'clock',
        ok: false,
        detail,
        fix: 'enable time sync (NTP, e.g. timedatectl set-ntp true); commands and passes expire by the clock',
      };
}

/**
 * Does the cloud see this gateway's link? Asked over a signed request (which also proves the key is still accepted);
 * when the cloud sees it offline, the credentials are tried directly — never while the agent's own uplink is
 * connected, since a second connection with the same client id would take its session over.
 */
async function cloudLinkCheck(identity: Identity, fetchImpl?: Fetch): Promise<Row> {
  const check = 'cloud link';
  let self: { online: boolean; lastSeenAt: string | null };
  try {
    self = (
      await signedCall<typeof self>(identity, 'GET', `/api/gateways/${identity.gatewayId}/self`, undefined, fetchImpl)
    ).body;
  } catch (e) {
    const refused = e instanceof CloudError && e.status === 401;
    return {
      check,
      ok: false,
      detail: refused ? `the cloud refused this gateway: ${e.message}` : (e as Error).message,
      fix: refused
        ? 'the gateway was retired or re-provisioned: provision it again with a new claim code'
        : 'check the uplink network, DNS and firewall',
    };
  }
  if (self.online) return { check, ok: true, detail: `the cloud sees ${identity.gatewayId} online` };
  try {
    const c = await mqtt.connectAsync(identity.mqtt.url, {
      clientId: identity.mqtt.username,
      username: identity.mqtt.username,
      password: identity.mqtt.password,
      protocolVersion: 4,
      reconnectPeriod: 0,
      connectTimeout: 5_000,
    });
    await c.endAsync();
    return { check, ok: true, detail: `${identity.mqtt.url} accepts the gateway's credentials` };
  } catch (e) {
    const code = (e as { code?: number | string }).code;
    const refused = code === 4 || code === 5;
    return {
      check,
      ok: false,
      detail: refused
        ? `${identity.mqtt.url} refused the gateway's credentials`
        : `cannot reach ${identity.mqtt.url} (${(e as Error).message})`,
      fix: refused
        ? 'the uplink secret is no longer valid: provision again with a new claim code'
        : 'open the MQTT port to the cloud in the firewall; check DNS',
    };
  }
}
