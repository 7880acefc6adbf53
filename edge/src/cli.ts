import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DEVICE_KINDS, type DeviceKind } from '@estate/protocols';
import { FileDeviceDirectory } from './broker/device-directory.js';
import { startGatewayBroker } from './broker/gateway-broker.js';
import { connectToCloud } from './cloud-connection.js';
import { enrolFromPhotos } from './enrol.js';
import { Gateway } from './gateway.js';
import { credentialsCommand, pairCommand, provisionCommand, selfTestCommand } from './provision/commands.js';
import { identityPath, loadIdentity } from './provision/identity.js';
import { DataFolderLock } from './state/data-lock.js';

const USAGE = `estate-gateway — the Estate gateway agent

  estate-gateway run    [--data DIR] [--host H] [--port N] [--tls-cert F --tls-key F [--tls-ca F]] [--no-faces]
                        (joins the cloud when provisioned: identity.json in the data folder)
  estate-gateway device add --id ID --kind KIND [--data DIR]     register a device; prints its secret once
  estate-gateway device list|disable|enable|remove [--id ID] [--data DIR]
  estate-gateway enrol --person ID PHOTO [PHOTO PHOTO] [--data DIR]   local enrolment (until the cloud syncs)

  installer:
  estate-gateway provision --claim CODE --cloud URL [--data DIR] [--force]
                        claim this box (CODE may be the QR payload estate-claim:CODE@URL, then --cloud is optional)
  estate-gateway pair --code PAIRINGCODE [--door DOOR | --parking SPACE] [--data DIR]
                        pair a device by its label code; prints its MQTT password once
  estate-gateway self-test [--data DIR] [--broker URL]   check every part; exit 0 only when all pass
  estate-gateway credentials --rotate [--data DIR]
                        a new MQTT secret from the cloud (signed with this box's key); the old one stops working

  --data DIR   gateway data folder (default $ESTATE_GATEWAY_DATA or ./gateway-data)
  kinds: ${DEVICE_KINDS.join(', ')}`;

class UsageError extends Error {}

/** Returns the process exit code: 0 ok, 1 failure, 2 usage. */
export async function main(argv: string[]): Promise<number> {
  try {
    const { values: o, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        data: { type: 'string', default: process.env.ESTATE_GATEWAY_DATA ?? 'gateway-data' },
        host: { type: 'string', default: '0.0.0.0' },
        port: { type: 'string' },
        id: { type: 'string' },
        kind: { type: 'string' },
        person: { type: 'string' },
        'tls-cert': { type: 'string' },
        'tls-key': { type: 'string' },
        'tls-ca': { type: 'string' },
        'no-faces': { type: 'boolean', default: false },
        claim: { type: 'string' },
        cloud: { type: 'string' },
        force: { type: 'boolean', default: false },
        code: { type: 'string' },
        door: { type: 'string' },
        parking: { type: 'string' },
        broker: { type: 'string' },
        rotate: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
    const [command, sub, ...rest] = positionals;
    if (o.help || !command) {
      console.log(USAGE);
      return command || o.help ? 0 : 2;
    }
    const need = (v: string | undefined, flag: string) => {
      if (!v) throw new UsageError(`${command}: ${flag} is required`);
      return v;
    };
    switch (command) {
      case 'device':
        return await device(sub, o.data, o.id, o.kind, need);
      case 'enrol': {
        const photos = [sub, ...rest].filter((p): p is string => !!p);
        if (photos.length < 1 || photos.length > 3) throw new UsageError('enrol: give 1 to 3 photos');
        const r = await enrolFromPhotos(
          o.data,
          need(o.person, '--person'),
          await Promise.all(photos.map((p) => readFile(p))),
        );
        console.log(
          `enrolled ${o.person} as template ${r.templateId} from ${r.used} photo(s) (agreement ${r.agreement.toFixed(2)}); photos not kept`,
        );
        return 0;
      }
      case 'provision':
        return await provisionCommand({
          claim: need(o.claim, '--claim'),
          cloud: o.cloud,
          data: o.data,
          force: o.force,
        });
      case 'pair':
        if (o.door && o.parking) throw new UsageError('pair: give --door or --parking, not both');
        return await pairCommand({
          code: need(o.code, '--code'),
          data: o.data,
          ...(o.door ? { door: o.door } : {}),
          ...(o.parking ? { parking: o.parking } : {}),
        });
      case 'self-test':
        return await selfTestCommand({ data: o.data, broker: o.broker });
      case 'credentials':
        if (!o.rotate) throw new UsageError('credentials: --rotate is the only action');
        return await credentialsCommand({ data: o.data });
      case 'run':
        return await run(o.data, o.host, o.port, o['no-faces'], o['tls-cert'], o['tls-key'], o['tls-ca']);
      default:
        throw new UsageError(`unknown command '${command}'`);
    }
  } catch (e) {
    console.error(`estate-gateway: ${(e as Error).message}`);
    if (e instanceof UsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      console.error('run `estate-gateway --help` for usage');
      return 2;
    }
    return 1;
  }
}

async function device(
  sub: string | undefined,
  data: string,
  id: string | undefined,
  kind: string | undefined,
  need: (v: string | undefined, flag: string) => string,
): Promise<number> {
  const dir = new FileDeviceDirectory(join(data, 'devices.json'));
  switch (sub) {
    case 'add': {
      const k = need(kind, '--kind');
      if (!(DEVICE_KINDS as readonly string[]).includes(k)) throw new UsageError(`--kind: unknown kind '${k}'`);
      const secret = await dir.addDevice(need(id, '--id'), k as DeviceKind);
      console.log(`device ${id} (${k}) added. MQTT username: ${id}  password (shown once): ${secret}`);
      return 0;
    }
    case 'list':
      for (const d of dir.list())
        console.log(`${d.id.padEnd(24)} ${d.kind.padEnd(8)} ${d.disabled ? 'disabled' : 'enabled'}`);
      return 0;
    case 'disable':
    case 'enable':
      dir.setDisabled(need(id, '--id'), sub === 'disable');
      console.log(`device ${id} ${sub}d`);
      return 0;
    case 'remove':
      if (!dir.remove(need(id, '--id'))) throw new Error(`no device '${id}'`);
      console.log(`device ${id} removed`);
      return 0;
    default:
      throw new UsageError(`device: expected add, list, disable, enable or remove, got '${sub ?? ''}'`);
  }
}

async function run(
  data: string,
  host: string,
  port: string | undefined,
  noFaces: boolean,
  cert?: string,
  key?: string,
  ca?: string,
): Promise<number> {
  if ((cert === undefined) !== (key === undefined)) throw new UsageError('run: --tls-cert and --tls-key go together');
  const p = port === undefined ? undefined : Number(port);
  if (p !== undefined && !(Number.isInteger(p) && p >= 0 && p <= 65_535))
    throw new UsageError(`--port: '${port}' is not a port`);
  // first of all: a second agent on this folder must not even open the broker's store in it
  const lock = DataFolderLock.acquire(data);
  const broker = await startGatewayBroker({
    dataDir: data,
    host,
    ...(p === undefined ? {} : { port: p }),
    ...(cert && key ? { tls: { cert, key, ...(ca ? { ca } : {}) } } : {}),
  });
  const pipeline = noFaces ? undefined : await (await import('@estate/models')).FacePipeline.create();
  const gw = new Gateway({
    broker: broker.broker,
    dataDir: data,
    lock,
    onInvalid: (topic, reason) => console.error(`rejected ${topic}: ${reason}`),
    ...(pipeline ? { faces: { analyser: pipeline } } : {}),
  });
  await gw.start();
  console.log(`estate-gateway: broker ${broker.url}, data ${data}, face access ${pipeline ? 'on' : 'off'}`);
  // provisioned: join the cloud; not provisioned — or a cloud set-up that fails (an unreadable identity.json) —
  // every door still works locally, there is just no cloud
  let cloud: Awaited<ReturnType<typeof connectToCloud>> | undefined;
  try {
    const identity = existsSync(identityPath(data)) ? loadIdentity(data) : undefined;
    cloud =
      identity &&
      (await connectToCloud({
        gateway: gw,
        identity,
        dataDir: data,
        warn: (m) => console.error(`estate-gateway: ${m}`),
      }));
    console.log(
      identity
        ? `estate-gateway: cloud link to ${identity.mqtt.url} as ${identity.gatewayId}`
        : 'estate-gateway: not provisioned (run `estate-gateway provision`); running without a cloud',
    );
  } catch (e) {
    console.error(`estate-gateway: no cloud link (${(e as Error).message}); the doors run locally`);
  }
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await cloud?.stop();
  await gw.stop();
  await pipeline?.close();
  await broker.close();
  lock.release();
  return 0;
}
