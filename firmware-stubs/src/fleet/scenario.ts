import { generateKeyPairSync } from 'node:crypto';
import { BleReader, type Phone } from '../ble.js';
import { Charger } from '../charger.js';
import { type Clock, systemClock } from '../clock.js';
import type { Device } from '../device.js';
import { Door } from '../door.js';
import { type Logger, silentLogger } from '../log.js';
import { Reader } from '../reader.js';
import { LeakSensor } from '../sensors.js';

export interface ScenarioRunOptions {
  everyMs: number;
  clock?: Clock | undefined;
  logger?: Logger | undefined;
  random?: (() => number) | undefined;
}

/** Devices a person or a car acts on; the rest report on their own. */
const ACTORS = [Door, Reader, BleReader, Charger, LeakSensor];

interface Action {
  what: string;
  run: () => Promise<unknown>;
}

/**
 * Makes a demo fleet look lived-in: every period one device does something a
 * person or a car would do. Sensors, cameras and meters need no help, they
 * report on their own. Nothing here waits on the gateway: unanswered inputs
 * simply time out.
 */
export class Scenario {
  private readonly clock: Clock;
  private readonly log: (message: string) => void;
  private readonly random: () => number;
  /** A phone whose key no gateway knows: it exercises the BLE exchange and is denied. */
  private readonly phone: Phone = {
    credential: 'demo.phone',
    privateKey: generateKeyPairSync('ed25519').privateKey,
  };
  private cancel: (() => void) | undefined;

  constructor(
    private readonly devices: Device[],
    private readonly options: ScenarioRunOptions,
  ) {
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    const logger = options.logger ?? silentLogger;
    this.log = (message) => logger({ level: 'info', source: 'scenario', message });
  }

  start(): void {
    this.cancel ??= this.clock.every(this.options.everyMs, () => this.tick());
  }

  stop(): void {
    this.cancel?.();
    this.cancel = undefined;
  }

  private tick(): void {
    const actionable = this.devices.filter((d) => d.online && ACTORS.some((kind) => d instanceof kind));
    const device = actionable[Math.floor(this.random() * actionable.length)];
    const action = device && this.actionFor(device);
    if (!device || !action) return;
    this.log(`${device.source}: ${action.what}`);
    action.run().catch((e: unknown) => {
      const message = (e as Error).message;
      this.log(message.startsWith(device.source) ? message : `${device.source}: ${message}`);
    });
  }

  private chance(p: number): boolean {
    return this.random() < p;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.clock.after(ms, resolve));
  }

  private actionFor(d: Device): Action | undefined {
    if (d instanceof Door) return { what: 'someone at the door', run: () => this.door(d) };
    if (d instanceof Reader) {
      return this.chance(0.5)
        ? { what: 'visitor scans a QR pass', run: () => d.scanQr('demo.visitor.pass', 3_000) }
        : { what: 'resident enters a PIN', run: () => d.enterPin('1234', 3_000) };
    }
    if (d instanceof BleReader) {
      return { what: 'phone presents its key', run: () => d.present(this.phone, { timeoutMs: 3_000 }) };
    }
    if (d instanceof Charger) return { what: `next step from ${d.state.status}`, run: () => this.charger(d) };
    if (d instanceof LeakSensor) {
      return { what: 'probe check', run: () => d.leak(d.leaking ? false : this.chance(0.2)) };
    }
    return undefined;
  }

  private async door(door: Door): Promise<void> {
    if (door.state.relay === 'unlocked' || door.state.contact === 'open') return;
    if (this.chance(0.15)) {
      this.log(`${door.source}: forced open`);
      await door.forceOpen();
      await this.sleep(4_000);
      await door.close();
      return;
    }
    // Someone leaves: the gateway may release the door for them.
    await door.pressExit();
    await this.sleep(1_500);
    const now = door.state;
    if (now.relay === 'unlocked') await door.walkThrough();
  }

  /** One step of a charging day: plug in, start, charge a while, stop, drive away. */
  private async charger(c: Charger): Promise<void> {
    switch (c.state.status) {
      case 'available':
        return c.plug();
      case 'preparing':
        // Nobody started it from the gateway: the driver badges at the charger.
        return c.startLocal();
      case 'charging':
      case 'suspended':
        if (this.chance(0.05)) return c.injectFault('ground_failure', 'scenario');
        return this.chance(0.3) ? c.stopLocal() : undefined;
      case 'finishing':
        return c.unplug();
      case 'faulted':
        return c.clearFault();
      default:
        return undefined;
    }
  }
}
