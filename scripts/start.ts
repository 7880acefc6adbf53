// `npm start`: the whole system on embedded defaults, in one terminal — the cloud API (PGlite) with its MQTT
// broker, ingest and sync, the gateway (its MQTT broker and agent: face, PIN, QR and BLE access decided locally)
// joined to that cloud as a provisioned box, and a simulated estate, with the live message flow on the gateway
// broker, every message checked against the wire contract.
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type RunningCloud, startCloud } from '@estate/cloud';
import {
  DataFolderInUse,
  DataFolderLock,
  FileDeviceDirectory,
  formatMessage,
  formatRejection,
  Gateway,
  startGatewayBroker,
  summarise,
  WireMonitor,
} from '@estate/edge';
import { type FleetSpec, loadFleet, startFleet } from '@estate/firmware-stubs';
import { FacePipeline } from '@estate/models';
import pc from 'picocolors';
import { type CloudLinked, linkToCloud } from './cloud-link.js';
import { DEMO_RESIDENT, seedDemoEstate } from './demo-estate.js';

const HELP = `npm start [-- options]

  --fleet FILE   estate description (default firmware-stubs/fleets/demo-estate.yaml)
  --port N       preferred gateway MQTT port (default $ESTATE_MQTT_PORT or 1883; a free one if taken)
  --data DIR     data folder of the gateway and the cloud (default .estate; delete it to start over)
  --all          print every message, including camera frames and meter readings
  --no-cloud     gateway and devices only
  --help`;

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const { values: args } = parseArgs({
  options: {
    fleet: { type: 'string', default: here('../../firmware-stubs/fleets/demo-estate.yaml') },
    port: { type: 'string', default: process.env.ESTATE_MQTT_PORT ?? '1883' },
    data: { type: 'string', default: here('../../.estate') },
    all: { type: 'boolean', default: false },
    'no-cloud': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  console.log(HELP);
  process.exit(0);
}
const port = Number(args.port);
if (!Number.isInteger(port) || port < 0 || port > 65_535) {
  console.error(`--port / ESTATE_MQTT_PORT: '${args.port}' is not a port number`);
  process.exit(2);
}
const spec = await loadFleet(args.fleet).catch((e: Error) => {
  console.error(pc.red(e.message));
  process.exit(1);
});
const stamp = () => pc.dim(new Date().toISOString().slice(11, 23));

const gatewayData = `${args.data}/gateway`;
// One `npm start` per data folder: a second would open the same embedded databases (the cloud's PGlite included)
// and corrupt them. Taken before anything opens a file, held until the process ends.
const lock = (() => {
  try {
    return DataFolderLock.acquire(gatewayData);
  } catch (e) {
    if (!(e instanceof DataFolderInUse)) throw e;
    console.error(pc.red(`another npm start (${e.owner}) runs on ${args.data}: stop it first, or pass --data DIR`));
    process.exit(1);
  }
})();

// The cloud seeds 8,000 demo households on its first start; let it work while the gateway comes up.
if (!args['no-cloud']) console.log(pc.dim('cloud: starting (the first start seeds 12 estates, 8,000 households)…'));
const cloudStarting: Promise<RunningCloud | undefined> = args['no-cloud']
  ? Promise.resolve(undefined)
  : startCloud({ overrides: { ESTATE_CLOUD_DATA_DIR: `${args.data}/cloud` }, logger: false });

// The gateway broker admits only registered devices (devices.json in the gateway data folder).
const directory = new FileDeviceDirectory(`${gatewayData}/devices.json`);
const broker = await startGatewayBroker({ dataDir: gatewayData, port, freePortFallback: true, devices: directory });
const monitor = new WireMonitor(broker.broker);
let quiet = 0;
monitor.on('message', (d) => {
  if (!args.all && summarise(d)[1] === 'quiet') quiet++;
  else console.log(formatMessage(d));
});
monitor.on('rejected', (r) => console.log(formatRejection(r)));
monitor.start();

const pipeline = await FacePipeline.create();
const gateway = new Gateway({ broker: broker.broker, dataDir: gatewayData, lock, faces: { analyser: pipeline } });
await gateway.start();
// with a cloud the gateway's desired state comes from it (once linked, below); without one it is seeded here
const seedNotes = args['no-cloud'] ? await seedDemoEstate(gateway, pipeline) : [];
// the demo resident's person id: the local seed's, or the one the cloud enrolled (known once linked)
const residents = new Set([DEMO_RESIDENT.id]);
const faces = gateway.parts.faces;
if (faces) {
  faces.onDecision = (d) => {
    const who = d.personId && residents.has(d.personId) ? DEMO_RESIDENT.name : (d.personId ?? 'unknown face');
    const score = d.score === undefined ? '' : ` score ${d.score.toFixed(2)}`;
    const text = d.granted
      ? pc.green(`FACE ${who}${score} → door opens`)
      : pc.yellow(`FACE ${who}${score} → stays shut (${d.reason})`);
    console.log(`${stamp()}  ${d.cameraId.padEnd(18)}  ${text}`);
  };
}

// Give each simulated device a fresh secret (only its hash is stored).
const devices = await registerFleet(spec, directory);

console.log(`
${pc.bold('Estate')} — simulated estate ${pc.bold(spec.estate)} (${spec.devices.length} devices)
  gateway MQTT broker  ${pc.cyan(broker.url)}${port !== 0 && port !== broker.port ? pc.yellow(`  (port ${port} was taken)`) : ''}  (devices need credentials)
  gateway data         ${gatewayData}
  face models          ${Object.values(pipeline.models).join(', ')}
  ${seedNotes.join('\n  ')}
  the camera at b1-main cycles through test photos: ${DEMO_RESIDENT.name} is let in, strangers are not
  add a device         npx estate-gateway device add --data ${gatewayData} --id door-x --kind door
                       npx estate-sim door --broker ${broker.url} --id door-x --username door-x --password <secret>
  Ctrl-C to stop. Alarms ${pc.bold(pc.red('red'))}, grants ${pc.green('green')}, commands ${pc.cyan('cyan')}.
`);

const fleet = await startFleet(devices, { broker: { url: broker.url }, scenario: true });
const cloud = await cloudStarting.catch((e: Error) => {
  console.log(pc.red(`cloud: failed to start: ${e.message}`));
  return undefined;
});
let linked: CloudLinked | undefined;
if (cloud) {
  console.log(`\n${pc.bold('cloud API')}  ${pc.cyan(cloud.url)}   OpenAPI: ${pc.cyan(cloud.docsUrl)}`);
  for (const l of cloud.logins) console.log(`  ${l.role.padEnd(11)} ${l.login.padEnd(28)} ${l.password}`);
  console.log(pc.dim(`  (POST ${cloud.url}/api/auth/login with {"login","password"} for a token)`));
  linked = await linkToCloud(cloud, gateway, gatewayData, directory, (m) =>
    console.log(pc.yellow(`gateway: ${m}`)),
  ).catch((e: Error) => {
    console.log(pc.red(`gateway ↔ cloud: ${e.message}; the gateway keeps running on its own`));
    return undefined;
  });
  if (linked) {
    console.log(
      `${pc.bold('cloud broker')}  ${pc.cyan(cloud.mqtt.url)}  gateway ${pc.bold(linked.identity.gatewayId)}`,
    );
    for (const n of linked.notes) console.log(`  ${n}`);
    residents.add(linked.demo.residentPersonId);
    console.log(
      pc.dim(
        `  access decisions and alarms go up to the cloud (GET /api/telemetry/state, /api/estates/:id/access-events); remote unlock: POST /api/gateways/${linked.identity.gatewayId}/commands\n`,
      ),
    );
    const scenes = await linked.demo.scenes(broker.url).catch((e: Error) => [pc.red(`demo scenes: ${e.message}`)]);
    for (const line of scenes) console.log(`${stamp()}  ${pc.bold('DEMO')}  ${line}`);
  }
} else if (!args['no-cloud']) {
  seedNotes.push(...(await seedDemoEstate(gateway, pipeline)));
  for (const n of seedNotes) console.log(`  ${n}`);
}

const stats = setInterval(() => {
  const { valid, rejected } = monitor.counts;
  const hidden = args.all ? '' : `, ${quiet} frames/readings not shown`;
  console.log(pc.dim(`— ${valid} valid messages, ${rejected} rejected so far${hidden}`));
  quiet = 0;
}, 10_000);

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  console.log(pc.dim(`\n${signal}: stopping…`));
  clearInterval(stats);
  await fleet.stop();
  await linked?.connection.stop();
  await gateway.stop();
  await pipeline.close();
  monitor.stop();
  await broker.close();
  await cloud?.close();
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));

async function registerFleet(s: FleetSpec, dir: FileDeviceDirectory): Promise<FleetSpec> {
  const out: FleetSpec['devices'] = [];
  for (const d of s.devices) {
    dir.remove(d.id);
    out.push({ ...d, username: d.id, password: await dir.addDevice(d.id, d.kind) });
  }
  return { ...s, devices: out };
}
