import { createPrivateKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { BleReader } from '../ble.js';
import { Camera } from '../camera.js';
import { Charger } from '../charger.js';
import type { Device } from '../device.js';
import { Door } from '../door.js';
import { Reader } from '../reader.js';
import { ClimateSensor, EnergyMeter, LeakSensor } from '../sensors.js';

interface Poke {
  usage: string;
  run(args: string[]): Promise<unknown>;
}

const onOff = (arg: string | undefined): boolean => {
  if (arg === 'on' || arg === 'off') return arg === 'on';
  throw new Error('say on or off');
};
const need = (arg: string | undefined, what: string): string => {
  if (!arg) throw new Error(`missing ${what}`);
  return arg;
};

/** What a person at the terminal can make the device do, as a hardware tester would with the real box. */
export function pokesFor(d: Device): Record<string, Poke> {
  if (d instanceof Door) {
    return {
      open: { usage: 'open — walk through (after an unlock)', run: () => d.walkThrough() },
      force: { usage: 'force — push the locked door open', run: () => d.forceOpen() },
      prop: { usage: 'prop — open and leave open (held_open later)', run: () => d.holdOpen() },
      close: { usage: 'close — close the door', run: () => d.close() },
      exit: { usage: 'exit — press the exit button', run: () => d.pressExit() },
      fire: { usage: 'fire on|off — fire-alarm input', run: ([a]) => d.fireAlarm(onOff(a)) },
      tamper: { usage: 'tamper on|off — tamper switch', run: ([a]) => d.tamper(onOff(a)) },
      state: { usage: 'state — print the door state', run: async () => JSON.stringify(d.state) },
    };
  }
  if (d instanceof Charger) {
    return {
      plug: { usage: 'plug — plug a car in', run: () => d.plug() },
      unplug: { usage: 'unplug — drive away', run: () => d.unplug() },
      start: { usage: 'start [sessionId] — start at the charger', run: ([id]) => d.startLocal(id) },
      stop: { usage: 'stop — stop at the charger', run: () => d.stopLocal() },
      fault: { usage: 'fault CODE — raise a fault', run: ([c]) => d.injectFault(need(c, 'fault code')) },
      clear: { usage: 'clear — clear the fault', run: () => d.clearFault() },
      state: { usage: 'state — print the charger state', run: async () => JSON.stringify(d.state) },
    };
  }
  if (d instanceof Reader) {
    return {
      qr: { usage: 'qr TOKEN — scan a QR code', run: async ([t]) => JSON.stringify(await d.scanQr(need(t, 'token'))) },
      pin: { usage: 'pin DIGITS — enter a PIN', run: async ([p]) => JSON.stringify(await d.enterPin(need(p, 'PIN'))) },
    };
  }
  if (d instanceof BleReader) {
    return {
      present: {
        usage: 'present CREDENTIAL KEY.pem — a phone presents its key',
        run: async ([credential, file]) => {
          const privateKey = createPrivateKey(await readFile(need(file, 'private key file')));
          return JSON.stringify(await d.present({ credential: need(credential, 'credential'), privateKey }));
        },
      },
    };
  }
  if (d instanceof Camera) {
    return {
      jpeg: {
        usage: 'jpeg FILE — publish one JPEG now',
        run: async ([f]) => JSON.stringify(await d.publishJpeg(await readFile(need(f, 'file')))),
      },
    };
  }
  if (d instanceof LeakSensor || d instanceof ClimateSensor || d instanceof EnergyMeter) {
    const report = { usage: 'report — publish a reading now', run: () => d.report() };
    if (!(d instanceof LeakSensor)) return { report };
    return {
      leak: { usage: 'leak on|off — water at the probe', run: ([a]) => d.leak(onOff(a)) },
      battery: { usage: 'battery PCT — set the battery level', run: ([p]) => d.setBattery(Number(need(p, 'percent'))) },
      report,
    };
  }
  return {};
}

/** Reads commands from stdin, one per line; `quit` calls `onQuit`. */
export function attachStdin(device: Device, onQuit: () => void): () => void {
  const pokes = pokesFor(device);
  const say = (line: string) => process.stderr.write(`${line}\n`);
  const help = () => say(['commands:', ...Object.values(pokes).map((p) => `  ${p.usage}`), '  quit'].join('\n'));
  const rl = createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    const [word, ...args] = line.trim().split(/\s+/);
    if (!word) return;
    if (word === 'quit') return onQuit();
    const poke = pokes[word];
    if (!poke) return help();
    poke.run(args).then(
      (out) => typeof out === 'string' && say(out),
      (e: unknown) => say(`${word}: ${(e as Error).message}`),
    );
  });
  return () => rl.close();
}
