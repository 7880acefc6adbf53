// `npm start`: the whole system on embedded defaults, in one terminal.
// Today: the gateway (embedded broker + agent with face, PIN, QR and BLE access) and a simulated estate,
// with the live message flow, every message checked against the wire contract. The cloud joins later.
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { formatMessage, formatRejection, Gateway, startLocalBroker, summarise, WireMonitor } from '@estate/edge';
import { loadFleet, startFleet } from '@estate/firmware-stubs';
import { FacePipeline } from '@estate/models';
import pc from 'picocolors';
import { DEMO_RESIDENT, seedDemoEstate } from './demo-estate.js';

const HELP = `npm start [-- options]

  --fleet FILE   estate description (default firmware-stubs/fleets/demo-estate.yaml)
  --port N       preferred MQTT port (default $ESTATE_MQTT_PORT or 1883; a free one if taken)
  --all          print every message, including camera frames and meter readings
  --data DIR     gateway data folder (default .estate/gateway; delete it to start over)
  --help`;

const { values: args } = parseArgs({
  options: {
    fleet: {
      type: 'string',
      default: new URL('../../firmware-stubs/fleets/demo-estate.yaml', import.meta.url).pathname,
    },
    port: { type: 'string', default: process.env.ESTATE_MQTT_PORT ?? '1883' },
    all: { type: 'boolean', default: false },
    data: { type: 'string', default: fileURLToPath(new URL('../../.estate/gateway', import.meta.url)) },
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

const local = await startLocalBroker({ port });
const monitor = new WireMonitor(local.broker);
let quietSince = 0;
monitor.on('message', (d) => {
  if (!args.all && summarise(d)[1] === 'quiet') quietSince++;
  else console.log(formatMessage(d));
});
monitor.on('rejected', (r) => console.log(formatRejection(r)));
monitor.start();

const pipeline = await FacePipeline.create();
const gateway = new Gateway({ broker: local.broker, dataDir: args.data, faces: { analyser: pipeline } });
await gateway.start();
const seedNotes = await seedDemoEstate(gateway, pipeline);
const faces = gateway.parts.faces;
if (faces) {
  faces.onDecision = (d) => {
    const who = d.personId === DEMO_RESIDENT.id ? DEMO_RESIDENT.name : (d.personId ?? 'unknown face');
    const score = d.score === undefined ? '' : ` score ${d.score.toFixed(2)}`;
    const text = d.granted
      ? pc.green(`FACE ${who}${score} → door opens`)
      : pc.yellow(`FACE ${who}${score} → stays shut (${d.reason})`);
    console.log(`${pc.dim(new Date().toISOString().slice(11, 23))}  ${d.cameraId.padEnd(18)}  ${text}`);
  };
}

const spec = await loadFleet(args.fleet).catch((e: Error) => {
  console.error(pc.red(e.message));
  return undefined;
});
if (!spec) {
  await local.close();
  process.exit(1);
}

console.log(`
${pc.bold('Estate')} — simulated estate ${pc.bold(spec.estate)} (${spec.devices.length} devices)
  gateway MQTT broker  ${pc.cyan(local.url)}${port !== local.port ? pc.yellow(`  (port ${port} was taken)`) : ''}
  gateway data         ${args.data}
  face models          ${Object.values(pipeline.models).join(', ')}
  ${seedNotes.join('\n  ')}
  the camera at b1-main cycles through test photos: ${DEMO_RESIDENT.name} is let in, strangers are not
  keypad reader-b1-main: ${DEMO_RESIDENT.name}'s PIN is ${DEMO_RESIDENT.pin} (npx estate-sim reader --broker ${local.url} --id reader-b1-main)
  add a device         npx estate-sim door --broker ${local.url} --id door-x
  fleet file           ${args.fleet}
  Ctrl-C to stop. Alarms ${pc.bold(pc.red('red'))}, grants ${pc.green('green')}, commands ${pc.cyan('cyan')}.
`);

const fleet = await startFleet(spec, { broker: { url: local.url }, scenario: true });

const stats = setInterval(() => {
  const { valid, rejected } = monitor.counts;
  const quiet = args.all ? '' : `, ${quietSince} frames/readings not shown`;
  console.log(pc.dim(`— ${valid} valid messages, ${rejected} rejected so far${quiet}`));
  quietSince = 0;
}, 10_000);

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  console.log(pc.dim(`\n${signal}: stopping the estate…`));
  clearInterval(stats);
  await fleet.stop();
  await gateway.stop();
  await pipeline.close();
  monitor.stop();
  await local.close();
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
