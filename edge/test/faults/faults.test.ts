// Network-cut and crash tests in the style of the edge runtimes' connectivity suites (Azure IoT Edge, Greengrass):
// a gateway process with simulated devices deciding doors while its uplink is cut, the cloud (its broker and its
// ingest) restarts, the gateway is SIGKILLed mid-write, its clock jumps and its disk budget runs out — against the
// real cloud broker and ingest, on PGlite or on PostgreSQL when DATABASE_URL is set. Afterwards, read from the
// cloud's database: no access event lost or stored twice, seqs gap-free, and no door opened except for a grant
// that is stored. Short form in `npm test`; ESTATE_FAULTS=long runs more and longer faults (edge/README.md).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../helpers/cloud.js';
import { aCloudSigner } from '../helpers/estate.js';
import { aFaultCloud, type FaultCloud } from './cloud.js';
import { aDataDir, buildEdge, type ChildGateway, startChild, startTraffic, type Traffic } from './harness.js';

const LONG = process.env.ESTATE_FAULTS === 'long';
const ROUNDS = LONG ? 6 : 1;
const SHORT_OUTAGE_MS = LONG ? 3_000 : 600;
const LONG_OUTAGE_MS = LONG ? 30_000 : 2_500;
const BUDGET = 64 * 1024 * 1024;
const TINY_BUDGET = 1_500; // exhausted by a handful of decisions: they must all still be recorded and delivered

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('fault harness: uplink cuts, cloud restarts, SIGKILL, clock jumps, disk budget', () => {
  const signer = aCloudSigner();
  let cloud: FaultCloud;
  let child: ChildGateway;
  let traffic: Traffic;
  let dataDir: string;
  const stderr: string[] = [];

  beforeAll(async () => {
    [, cloud, dataDir] = await Promise.all([buildEdge(), aFaultCloud(), aDataDir(signer)]);
  }, 180_000); // the edge build and PGlite's migrations take most of a minute on a loaded 2-core machine

  afterAll(async () => {
    await traffic?.stop();
    await child?.stop();
    await cloud?.close();
  });

  const restart = async (over: { budgetBytes?: number; clockOffsetMs?: number } = {}) => {
    child = await startChild({
      dataDir,
      port: child?.port ?? 0,
      cloudUrl: cloud.url,
      gatewayId: cloud.gateway.id,
      secret: cloud.gateway.secret,
      budgetBytes: over.budgetBytes ?? BUDGET,
      clockOffsetMs: over.clockOffsetMs ?? 0,
      stderr,
    });
  };

  it(
    'loses, duplicates and reorders no access event and opens no door through any of it',
    async () => {
      await restart();
      traffic = await startTraffic(child.port, signer);
      await until(() => child.ackedSeq > 5, 10_000, 'first events acked');
      for (let round = 0; round < ROUNDS; round++) {
        // uplink socket cuts, short and repeated
        for (let i = 0; i < 3; i++) {
          cloud.cut();
          await sleep(300);
        }
        // the cloud broker and the ingest go away (listener closed, sockets dropped) and a new broker and a new
        // ingest on the same database come back: short, then long
        await cloud.restart(SHORT_OUTAGE_MS);
        await sleep(300);
        await cloud.restart(LONG_OUTAGE_MS);
        // SIGKILL mid-traffic (the reader keeps scanning: writes are in progress), back with the clock 20 min ahead
        await child.kill();
        await restart({ clockOffsetMs: 20 * 60_000 });
        await sleep(600);
        // offline with a budget that undroppable events exhaust (the outage lasts until they have), killed again
        // mid-write, clock jumped back
        await cloud.down();
        await child.kill();
        await restart({ budgetBytes: TINY_BUDGET, clockOffsetMs: -10 * 60_000 });
        const exhausted = () => stderr.join('').split('DISK BUDGET EXHAUSTED').length > round + 1;
        await Promise.all([sleep(LONG_OUTAGE_MS), until(exhausted, 20_000, 'the disk budget exhausted')]);
        await cloud.up();
        await sleep(400);
        await child.kill();
        await restart();
      }
      await sleep(500);
      await traffic.stop();
      // Drained and quiet: a scan in flight when the traffic stopped, or a door closing after its unlock, still
      // appends an event after the first moment acked == last, so wait until the log has stopped growing too.
      let quietSince = Date.now();
      let seen = -1;
      await until(
        () => {
          if (child.lastSeq !== seen) [seen, quietSince] = [child.lastSeq, Date.now()];
          return child.lastSeq > 0 && child.ackedSeq === child.lastSeq && Date.now() - quietSince > 1_500;
        },
        30_000,
        'the backlog drained and the log quiet',
      );
      const last = child.lastSeq;

      // the watermark ack comes after the store: everything up to `last` is in gateway_events now
      const stored = await cloud.stored();
      // nothing lost, gap-free per gateway (order recoverable by seq), nothing stored twice
      expect(stored.map((r) => r.seq)).toEqual(Array.from({ length: last }, (_, i) => i + 1));
      expect(stored.length).toBe(last);
      const events = stored.map((r) => r.event);
      expect(events.every((e, i) => e.seq === i + 1)).toBe(true);
      const decisions = events.filter((e) => e.type === 'access_decision');
      const grants = decisions.filter((e) => e.granted);
      // a one-use pass is granted at most once, crashes notwithstanding
      const grantIds = grants.map((g) => g.credentialId);
      expect(new Set(grantIds).size).toBe(grantIds.length);
      // only passes signed by the estate's key ever open
      expect(grants.every((g) => g.credentialId?.startsWith('v-'))).toBe(true);
      // every grant the reader was told about is in the cloud
      for (const id of traffic.grantedFeedback) expect(grantIds).toContain(id);
      // no door opened except for a stored grant: one unlock command at most per grant
      const unlocks = traffic.doorCommands.filter((c) => c === 'unlock').length;
      expect(traffic.doorCommands.every((c) => c === 'unlock')).toBe(true);
      expect(unlocks).toBeLessThanOrEqual(grants.length);
      // the tiny budget was exhausted and said so, and nothing was dropped for it
      expect(stderr.join('')).toMatch(/DISK BUDGET EXHAUSTED/);
      expect(events.some((e) => e.type === 'alarm' && e.alarm === 'disk_near_full')).toBe(true);
      // it did work: the traffic went on throughout, a good share of it decided
      expect(traffic.scans).toBeGreaterThan(30);
      expect(decisions.length).toBeGreaterThan(20);
      const st = cloud.stats();
      expect(st.connects).toBeGreaterThanOrEqual(7 * ROUNDS);
      expect(st.restarts).toBe(3 * ROUNDS);
      // each event newly stored once over every ingest instance; resends after cuts and restarts were deduplicated
      expect(st.stored).toBe(last);
      process.stderr.write(
        `faults (${process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite'}): ${traffic.scans} scans (${traffic.timeouts} unanswered), ${last} events (${decisions.length} decisions, ${grants.length} grants, ${unlocks} unlocks), ${st.duplicates} redelivered events deduplicated, ${st.failures} ingest failures, ${st.connects} gateway connects, ${st.restarts} cloud restarts\n`,
      );
    },
    LONG ? 900_000 : 60_000,
  );
});
