import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Delta, Gateway, type LocalBroker, pinHash, startLocalBroker } from '@estate/edge';
import { BleReader, Door, type Phone, Reader } from '@estate/firmware-stubs';
import { exportRawPublicKey, type Signer, signToken } from '@estate/protocols';

export const ESTATE = 'bench-estate';
const GROUP = 'g-residents';
const DAY_MS = 86_400_000;

/** One door: its controller, a keypad/QR reader and a BLE reader, all simulated devices on MQTT. */
export interface BenchDoor {
  doorId: string;
  door: Door;
  reader: Reader;
  ble: BleReader;
}

/** A resident allowed through every door, with a PIN and a phone holding a BLE key. */
export interface BenchMember {
  personId: string;
  pin: string;
  phone: Phone;
}

export interface BenchEstateOptions {
  doors: number;
  members: number;
  /**
   * Diagnostic: turn Nagle's algorithm off (TCP_NODELAY) on the broker's side of
   * every device connection ('broker'), or on both sides ('all'). Neither the
   * gateway broker nor MQTT.js does this today; the stubs' MQTT client is
   * private, so 'all' reaches into it — to measure what the change would give,
   * not for anything else. Default 'off': the system as it runs.
   */
  nodelay?: 'off' | 'broker' | 'all';
}

/** Distinct 6-digit PINs: 7919 is prime and does not divide 900 000, so i ↦ pin is one-to-one below 900 000. */
export const pinOf = (i: number): string => String(100_000 + ((i * 7_919 + 4_821) % 900_000));

/**
 * A simulated estate for benchmarks, built the way a running system is: the
 * gateway's embedded broker on a TCP port, the gateway agent on it with its own
 * data folder (SQLite WAL, fsync on commit), and firmware stubs connected over
 * real MQTT — all in this one process, as `npm start` runs them. Desired state is
 * applied as the cloud would sync it: a trusted cloud key, doors, one access
 * group holding every door and every member, and a PIN per member.
 */
export class BenchEstate {
  private constructor(
    /** Messages the gateway refused as invalid (topic: reason); a bench expects none. */
    readonly invalid: readonly string[],
    readonly local: LocalBroker,
    readonly gateway: Gateway,
    readonly dataDir: string,
    readonly cloud: Signer,
    readonly doors: readonly BenchDoor[],
    readonly members: readonly BenchMember[],
  ) {}

  static async start(o: BenchEstateOptions): Promise<BenchEstate> {
    const dataDir = mkdtempSync(join(tmpdir(), 'estate-bench-'));
    const invalid: string[] = [];
    let local: LocalBroker | undefined;
    let gateway: Gateway | undefined;
    const started: (Door | Reader | BleReader)[] = [];
    try {
      local = await startLocalBroker({ port: 0 });
      if (o.nodelay === 'broker' || o.nodelay === 'all') {
        local.broker.on('client', (c) => noDelay(c.conn as Partial<Socket>, `broker side of ${c.id}`));
      }
      gateway = new Gateway({ broker: local.broker, dataDir, onInvalid: (t, r) => invalid.push(`${t}: ${r}`) });
      await gateway.start();

      const keys = generateKeyPairSync('ed25519');
      const cloud: Signer & { publicKey: KeyObject } = { keyId: 'cloud-bench', alg: 'Ed25519', ...keys };
      const doorIds = Array.from({ length: o.doors }, (_, i) => `b${i + 1}-main`);
      const members = Array.from({ length: o.members }, (_, i) => aMember(cloud, i));
      configure(gateway, cloud, doorIds, members);

      const broker = { url: local.url };
      const doors = doorIds.map((doorId, i) => ({
        doorId,
        door: new Door({ id: `door-b${i + 1}`, broker }),
        reader: new Reader({ id: `reader-b${i + 1}`, broker }),
        ble: new BleReader({ id: `ble-b${i + 1}`, broker }),
      }));
      for (const d of doors) started.push(d.door, d.reader, d.ble);
      await Promise.all(started.map((s) => s.start()));
      if (o.nodelay === 'all') {
        for (const device of started) {
          const client = Reflect.get(device, 'client') as { stream?: Partial<Socket> } | undefined;
          noDelay(client?.stream, device.source);
        }
      }
      return new BenchEstate(invalid, local, gateway, dataDir, cloud, doors, members);
    } catch (e) {
      await Promise.allSettled(started.map((s) => s.stop()));
      await gateway?.stop();
      await local?.close();
      rmSync(dataDir, { recursive: true, force: true });
      throw e;
    }
  }

  /** A visitor pass for every door, valid for a day, with the largest use count the contract allows. */
  pass(id: string, now = Date.now()): string {
    return signToken(
      {
        typ: 'pass',
        kid: this.cloud.keyId,
        id,
        estate: ESTATE,
        doors: this.doors.map((d) => d.doorId),
        nbf: now - 60_000,
        exp: now + DAY_MS,
        max: 1_000,
      },
      this.cloud,
    );
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.doors.flatMap((d) => [d.door.stop(), d.reader.stop(), d.ble.stop()]));
    await this.gateway.stop();
    await this.local.close();
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

function noDelay(socket: Partial<Socket> | undefined, what: string): void {
  if (typeof socket?.setNoDelay !== 'function') throw new Error(`--nodelay: cannot reach the TCP socket (${what})`);
  socket.setNoDelay(true);
}

function aMember(cloud: Signer, i: number): BenchMember {
  const personId = `p-r${i + 1}`;
  const phone = generateKeyPairSync('ed25519');
  const now = Date.now();
  const credential = signToken(
    {
      typ: 'ble',
      kid: cloud.keyId,
      id: `k-r${i + 1}`,
      sub: personId,
      estate: ESTATE,
      alg: 'Ed25519',
      pk: exportRawPublicKey(phone.publicKey).toString('base64url'),
      nbf: now - 60_000,
      exp: now + DAY_MS,
    },
    cloud,
  );
  return { personId, pin: pinOf(i), phone: { credential, privateKey: phone.privateKey } };
}

function configure(
  gw: Gateway,
  cloud: Signer & { publicKey: KeyObject },
  doorIds: readonly string[],
  members: readonly BenchMember[],
): void {
  const pinKey = Buffer.alloc(32, 7).toString('base64url');
  const apply = (delta: Delta) => {
    const r = gw.apply(delta);
    if (!r.ok) throw new Error(`bench estate: the gateway refused the ${delta.section} delta (${r.reason})`);
  };
  apply(
    fullDelta('config', [
      {
        kind: 'config',
        id: 'config',
        config: {
          estateId: ESTATE,
          timezone: 'Asia/Shanghai',
          faceMatchThreshold: 0.5,
          pinKey,
          // only correct PINs are entered, so the keypad never counts a failure
          pinMaxAttempts: 3,
          pinLockoutS: 300,
          telemetryIntervalS: 60,
          trustedKeys: [
            {
              keyId: cloud.keyId,
              alg: 'Ed25519',
              publicKey: exportRawPublicKey(cloud.publicKey).toString('base64url'),
              purposes: ['ble_key', 'pass', 'command', 'desired'],
            },
          ],
        },
      },
    ]),
  );
  apply(
    fullDelta('access', [
      ...doorIds.map((id, i) => ({
        kind: 'door',
        id,
        name: `Building ${i + 1} main door`,
        deviceId: `door-b${i + 1}`,
        mode: 'fail_secure',
        // the shortest pulse the contract allows
        pulseMs: 500,
        heldOpenS: 30,
        fireRelease: false,
        antiPassback: 'off',
        direction: 'both',
        readers: [`reader-b${i + 1}`, `ble-b${i + 1}`],
      })),
      { kind: 'group', id: GROUP, doors: [...doorIds], schedule: { windows: [], holidays: [], holidayWindows: [] } },
      ...members.map((m) => ({ kind: 'member', id: m.personId, groups: [GROUP] })),
    ]),
  );
  apply(
    fullDelta(
      'credentials',
      members.map((m) => ({ kind: 'pin', id: m.personId, hash: pinHash(pinKey, m.pin) })),
    ),
  );
}

/** A whole section at version 1, as the cloud would send it to a fresh gateway. */
export const fullDelta = (section: Delta['section'], upserts: Delta['upserts']): Delta => ({
  section,
  fromVersion: 0,
  toVersion: 1,
  deletes: [],
  upserts,
});
