import { parseArgs } from 'node:util';
import { DEVICE_KINDS, type DeviceKind } from '@estate/protocols';
import { attachStdin } from './cli/stdin.js';
import { Fleet, loadFleet } from './fleet/fleet.js';
import {
  COMMON_FIELDS,
  DEFAULT_BROKER,
  type Field,
  FleetError,
  type FleetSpec,
  KIND_FIELDS,
  parseBroker,
  parseDevice,
} from './fleet/spec.js';
import { stderrLogger } from './log.js';

type Flags = Record<string, string | boolean | undefined>;

const kebab = (key: string) => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

const BROKER_FLAGS = {
  broker: { type: 'string', help: `broker URL (env ESTATE_BROKER, default ${DEFAULT_BROKER})` },
  username: { type: 'string', help: 'MQTT username (env ESTATE_SIM_USERNAME)' },
  password: { type: 'string', help: 'MQTT password (env ESTATE_SIM_PASSWORD, which keeps it out of ps)' },
  ca: { type: 'string', help: 'CA certificate file (PEM), for mqtts://' },
  cert: { type: 'string', help: 'client certificate file (PEM)' },
  key: { type: 'string', help: 'client private key file (PEM)' },
  insecure: { type: 'boolean', help: 'do not verify the broker certificate (test brokers only)' },
  verbose: { type: 'boolean', help: 'debug logs' },
  help: { type: 'boolean', help: 'this help' },
} as const;

const USAGE = `usage:
  estate-sim <kind> --id ID [--broker URL] [--username U --password P] [--ca F --cert F --key F] [kind options]
  estate-sim fleet --file FLEET.yaml [--broker URL] [--scenario | --no-scenario]
  estate-sim <kind|fleet> --help
kinds: ${DEVICE_KINDS.join(', ')}`;

/** The device's own options (id, pulseMs, …) as --kebab-case string flags. */
function deviceFields(kind: DeviceKind): Record<string, Field> {
  const { username: _u, password: _p, ...common } = COMMON_FIELDS;
  return { ...common, ...KIND_FIELDS[kind] };
}

function help(command: string): string {
  const line = (flag: string, text: string) => `  --${flag.padEnd(22)} ${text}`;
  const brokerLines = Object.entries(BROKER_FLAGS).map(([f, o]) => line(f, o.help));
  if (command === 'fleet') {
    return [
      'estate-sim fleet --file FLEET.yaml — run every device of an estate description (YAML or JSON)',
      line('file', 'fleet description, e.g. fleets/demo-estate.yaml'),
      line('scenario', 'turn the living-estate scenario on, whatever the file says'),
      line('no-scenario', 'turn it off'),
      ...brokerLines,
    ].join('\n');
  }
  const fields = Object.entries(deviceFields(command as DeviceKind)).map(([k, f]) => line(kebab(k), f.help));
  return [
    `estate-sim ${command} --id ID [options] — one simulated ${command}; type commands on stdin (help lists them)`,
    ...fields,
    line('no-stdin', 'ignore stdin'),
    ...brokerLines,
  ].join('\n');
}

/** A CLI string as the field's type, so the fleet validation (and its messages) apply unchanged. */
function coerce(field: Field, value: string): unknown {
  switch (field.type) {
    case 'number':
      return value.trim() === '' ? Number.NaN : Number(value);
    case 'boolean':
      return value === 'true' ? true : value === 'false' ? false : value;
    case 'list':
      return value.split(',').map((s) => s.trim());
    default:
      return value;
  }
}

function brokerFrom(flags: Flags): Record<string, unknown> {
  const env = process.env;
  const pick = (v: unknown, fallback?: string) => (typeof v === 'string' ? v : fallback);
  const raw = {
    url: pick(flags.broker, env.ESTATE_BROKER),
    username: pick(flags.username, env.ESTATE_SIM_USERNAME),
    password: pick(flags.password, env.ESTATE_SIM_PASSWORD),
    ca: pick(flags.ca),
    cert: pick(flags.cert),
    key: pick(flags.key),
    rejectUnauthorized: flags.insecure ? false : undefined,
  };
  return Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined));
}

async function run(fleet: Fleet, stdin: boolean, signal?: AbortSignal): Promise<number> {
  await fleet.start();
  const [only] = fleet.devices.values();
  return new Promise<number>((resolve) => {
    let detach = () => {};
    const quit = () => {
      process.off('SIGINT', quit);
      process.off('SIGTERM', quit);
      signal?.removeEventListener('abort', quit);
      detach();
      fleet.stop().then(
        () => resolve(0),
        () => resolve(1),
      );
    };
    process.on('SIGINT', quit);
    process.on('SIGTERM', quit);
    signal?.addEventListener('abort', quit, { once: true });
    if (stdin && only && fleet.devices.size === 1) detach = attachStdin(only, quit);
  });
}

/**
 * Runs the CLI; resolves with the exit code once stopped by SIGINT/SIGTERM, `quit`
 * on stdin or `signal`. Usage errors print a message naming the flag.
 */
export async function main(argv: string[], signal?: AbortSignal): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h') {
    (command ? process.stdout : process.stderr).write(`${USAGE}\n`);
    return command ? 0 : 2;
  }
  const isKind = (DEVICE_KINDS as readonly string[]).includes(command);
  if (command !== 'fleet' && !isKind) {
    process.stderr.write(`estate-sim: unknown command '${command}'\n${USAGE}\n`);
    return 2;
  }
  const fields = isKind ? deviceFields(command as DeviceKind) : {};
  const options: Record<string, { type: 'string' | 'boolean' }> = {
    ...Object.fromEntries(Object.entries(BROKER_FLAGS).map(([f, o]) => [f, { type: o.type }])),
    ...Object.fromEntries(Object.keys(fields).map((k) => [kebab(k), { type: 'string' }])),
    ...(isKind
      ? { 'no-stdin': { type: 'boolean' } }
      : { file: { type: 'string' }, scenario: { type: 'boolean' }, 'no-scenario': { type: 'boolean' } }),
  };
  let fleet: Fleet;
  let flags: Flags;
  try {
    flags = parseArgs({ args: rest, options, strict: true, allowPositionals: false }).values;
    if (flags.help) {
      process.stdout.write(`${help(command)}\n`);
      return 0;
    }
    const logger = stderrLogger(flags.verbose ? 'debug' : 'info');
    const broker = brokerFrom(flags);
    if (command === 'fleet') {
      if (typeof flags.file !== 'string') throw new FleetError('file', 'is required');
      const spec = await loadFleet(flags.file);
      const scenario = flags.scenario ? true : flags['no-scenario'] ? false : undefined;
      fleet = new Fleet(spec, { logger, scenario, broker: parseBroker({ url: spec.broker.url, ...broker }, '', '.') });
    } else {
      const raw = Object.fromEntries(
        Object.entries(fields).flatMap(([k, f]) => {
          const v = flags[kebab(k)];
          return typeof v === 'string' ? [[k, coerce(f, v)]] : [];
        }),
      );
      const device = parseDevice({ kind: command, ...raw }, '', process.cwd());
      const spec: FleetSpec = {
        estate: 'cli',
        broker: parseBroker({ url: DEFAULT_BROKER, ...broker }, '', process.cwd()),
        devices: [device],
      };
      fleet = new Fleet(spec, { logger });
    }
  } catch (e) {
    const message =
      e instanceof FleetError && !e.file && e.key ? `--${kebab(e.key)}: ${e.problem}` : (e as Error).message;
    process.stderr.write(`estate-sim ${command}: ${message}\n`);
    return 2;
  }
  try {
    return await run(fleet, !flags['no-stdin'], signal);
  } catch (e) {
    process.stderr.write(`estate-sim ${command}: ${(e as Error).message}\n`);
    return 1;
  }
}
