// The gateway as its own process, for the fault harness (SIGKILL needs a process to kill): the local broker on a
// fixed port, the Gateway on a data folder prepared by the test, and the cloud link (uplink, telemetry, budget,
// health), authenticated to the cloud broker by gateway id + secret. Runs the compiled edge (dist/). Prints
// `ready <port>` once up, then `seq <lastSeq> <ackedSeq>` every 100 ms.
// argv: dataDir localPort cloudUrl gatewayId secret budgetBytes clockOffsetMs
import { CloudLink, Gateway, startLocalBroker } from '../../dist/index.js';

const [dataDir, port, cloudUrl, gatewayId, secret, budget, offset] = process.argv.slice(2);
const skew = Number(offset ?? 0);
const now = () => Date.now() + skew; // a jumped clock: the box's RTC after a bad NTP step

const local = await startLocalBroker({ port: Number(port) });
if (Number(port) !== 0 && local.port !== Number(port)) throw new Error(`port ${port} taken`);
const gw = new Gateway({ broker: local.broker, dataDir, now });
await gw.start();
const link = new CloudLink({
  url: cloudUrl,
  gatewayId,
  username: gatewayId,
  password: secret,
  parts: gw.parts,
  dataDir,
  budgetBytes: Number(budget),
  reconnectMs: 100,
  ackTimeoutMs: 2_000,
  healthIntervalMs: 1_000,
  now,
  warn: (m) => process.stderr.write(`${m}\n`),
});
await link.start();
process.stdout.write(`ready ${local.port}\n`);
setInterval(() => {
  const { log } = gw.parts;
  process.stdout.write(`seq ${log.lastSeq} ${log.ackedSeq}\n`);
}, 100);
process.on('SIGTERM', async () => {
  await link.stop();
  await gw.stop();
  await local.close();
  process.exit(0);
});
