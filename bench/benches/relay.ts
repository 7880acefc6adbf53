import { performance } from 'node:perf_hooks';
import { matchTopic } from '@estate/protocols';
import { type Bench, defineBench } from '../lib/bench.js';
import { type BenchDoor, BenchEstate } from '../lib/estate.js';
import { emit, progress, sleep } from '../lib/io.js';
import { Marks } from '../lib/marks.js';
import type { OptionSpecs, OptionValues } from '../lib/options.js';
import { RssSampler } from '../lib/rss.js';
import { summarise } from '../lib/stats.js';

type Method = 'qr' | 'pin' | 'ble';

const OPTIONS = {
  n: { kind: 'int', default: 500, min: 1, max: 1_000_000, help: 'measured decisions' },
  warmup: { kind: 'int', default: 50, min: 0, max: 100_000, help: 'decisions first, not measured' },
  doors: {
    kind: 'int',
    default: 1,
    min: 1,
    max: 64,
    help: 'doors, used in turn (each with its controller, reader and BLE reader)',
  },
  members: { kind: 'int', default: 100, min: 1, max: 4_000, help: 'residents (own PIN and phone key), used in turn' },
  gap: {
    kind: 'int',
    default: 100,
    min: 0,
    max: 60_000,
    help: 'pause between decisions, ms (0 = back to back; see BENCHMARKS.md)',
  },
  breakdown: { kind: 'flag', help: 'also print one line per stage (where the time goes)' },
  nodelay: {
    kind: 'choice',
    default: 'off',
    choices: ['off', 'broker', 'all'] as const,
    help: 'diagnostic: TCP_NODELAY on the broker side of device links, or on both sides',
  },
} satisfies OptionSpecs;

type Options = OptionValues<typeof OPTIONS>;

/** How long one decision may take before the bench gives up on it: far beyond any target. */
const DECISION_TIMEOUT_MS = 5_000;
/** The issue asks for at least this many decisions per figure. */
const MIN_DECISIONS = 300;

const WHAT: Record<Method, { name: string; summary: string; input: 'readerInput' | 'bleHello' }> = {
  qr: {
    name: 'qr_to_relay',
    summary: 'visitor QR pass: reader stub publishes the scan -> door stub receives the unlock command',
    input: 'readerInput',
  },
  pin: {
    name: 'pin_to_relay',
    summary: 'resident PIN: keypad stub publishes the PIN -> door stub receives the unlock command',
    input: 'readerInput',
  },
  ble: {
    name: 'ble_to_relay',
    summary:
      'phone BLE key: BLE reader stub publishes hello (then challenge, signed response) -> door stub receives the unlock command',
    input: 'bleHello',
  },
};

/** Watches one door's devices: when the credential left the stub, and when the door got its unlock command. */
class DoorProbe {
  sentAt = Number.NaN;
  unexpected = 0;
  #waiter: ((at: number) => void) | undefined;

  constructor(
    readonly d: BenchDoor,
    input: 'readerInput' | 'bleHello',
    marks: Marks | undefined,
  ) {
    const onSent = (name: string) => {
      if (name !== input) return;
      this.sentAt = performance.now();
      marks?.mark('sent', this.sentAt);
    };
    d.reader.on('published', (w) => onSent(w.name));
    d.ble.on('published', (w) => onSent(w.name));
    d.door.on('received', (w) => {
      if (w.name !== 'doorCommand' || w.message.action !== 'unlock') return;
      const at = performance.now();
      marks?.mark('door', at);
      const waiter = this.#waiter;
      this.#waiter = undefined;
      if (waiter) waiter(at);
      else this.unexpected++;
    });
  }

  /** Resolves with the time the door stub received the next unlock command. */
  nextUnlock(): { at: Promise<number>; cancel: () => void } {
    let timer: NodeJS.Timeout | undefined;
    const at = new Promise<number>((resolve, reject) => {
      timer = setTimeout(() => {
        this.#waiter = undefined;
        reject(new Error(`door ${this.d.doorId} received no unlock command within ${DECISION_TIMEOUT_MS} ms`));
      }, DECISION_TIMEOUT_MS);
      this.#waiter = (t) => {
        clearTimeout(timer);
        resolve(t);
      };
    });
    return {
      at,
      cancel: () => {
        clearTimeout(timer);
        this.#waiter = undefined;
      },
    };
  }
}

/**
 * Points inside the gateway, for --breakdown: the broker accepting the device's
 * packet, the decision's log commit (start and end), and the gateway handing a
 * challenge or relay command to the broker. Wrappers only; nothing else changes.
 */
function instrument(estate: BenchEstate, marks: Marks): void {
  const broker = estate.local.broker;
  const nameOf = (topic: string) => {
    const m = matchTopic(topic);
    return m.ok ? m.value.name : undefined;
  };
  const authorize = broker.authorizePublish;
  broker.authorizePublish = (client, packet, callback) => {
    const name = nameOf(packet.topic);
    if (name === 'readerInput' || name === 'bleHello' || name === 'bleResponse') marks.mark(`broker:${name}`);
    authorize.call(broker, client, packet, callback);
  };
  const publish = broker.publish;
  const wrapped = (packet: { topic: string }, ...rest: unknown[]) => {
    // broker.publish(packet, callback) is an in-process publish (the gateway); clients go through (packet, client, done)
    if (typeof rest[0] === 'function') {
      const name = nameOf(packet.topic);
      if (name === 'doorCommand' || name === 'bleChallenge') marks.mark(`gateway:${name}`);
    }
    return Reflect.apply(publish, broker, [packet, ...rest]) as unknown;
  };
  broker.publish = wrapped as typeof broker.publish;
  const log = estate.gateway.parts.log;
  const append = log.append.bind(log);
  log.append = ((event: Parameters<typeof append>[0]) => {
    if (event.type !== 'access_decision') return append(event);
    marks.mark('log_start');
    const r = append(event);
    marks.mark('log_end');
    return r;
  }) as typeof log.append;
}

async function run(method: Method, o: Options): Promise<void> {
  const { name, input } = WHAT[method];
  if (o.n < MIN_DECISIONS) progress(`${name}: note: --n ${o.n} is below the ${MIN_DECISIONS} decisions a figure needs`);
  const rss = new RssSampler().start();
  const total = o.warmup + o.n;
  progress(`${name}: starting broker, gateway and ${o.doors * 3} device stubs (${o.members} residents)…`);
  const estate = await BenchEstate.start({ doors: o.doors, members: o.members, nodelay: o.nodelay });
  const marks = o.breakdown ? new Marks() : undefined;
  const samples: number[] = [];
  try {
    if (marks) instrument(estate, marks);
    const probes = estate.doors.map((d) => new DoorProbe(d, input, marks));
    // Signed ahead, outside the timed part: a distinct pass per decision, so no use count is ever near its limit.
    const passes = method === 'qr' ? Array.from({ length: total }, (_, i) => estate.pass(`v-bench-${i}`)) : [];
    const every = Math.max(1, Math.round(total / 10));
    for (let i = 0; i < total; i++) {
      const probe = probes[i % probes.length] as DoorProbe;
      const member = estate.members[i % estate.members.length];
      if (!member) throw new Error('no members');
      probe.sentAt = Number.NaN;
      marks?.begin();
      const unlock = probe.nextUnlock();
      let answer: { granted: boolean; reason: string };
      try {
        if (method === 'qr') answer = await probe.d.reader.scanQr(passes[i] as string, DECISION_TIMEOUT_MS);
        else if (method === 'pin') answer = await probe.d.reader.enterPin(member.pin, DECISION_TIMEOUT_MS);
        else answer = await probe.d.ble.present(member.phone, { timeoutMs: DECISION_TIMEOUT_MS });
      } catch (e) {
        unlock.cancel();
        throw e;
      }
      if (!answer.granted) {
        unlock.cancel();
        throw new Error(`decision ${i + 1} was denied (${answer.reason}); the bench estate should grant every one`);
      }
      const doorAt = await unlock.at;
      const measured = i >= o.warmup;
      marks?.end(measured);
      if (measured) samples.push(doorAt - probe.sentAt);
      if ((i + 1) % every === 0) progress(`${name}: ${i + 1}/${total} decisions (${o.warmup} warm-up)`);
      if (o.gap > 0) await sleep(o.gap);
    }
    if (estate.invalid.length > 0) throw new Error(`the gateway refused messages: ${estate.invalid.join('; ')}`);
    const unexpected = probes.reduce((s, p) => s + p.unexpected, 0);
    if (unexpected > 0) throw new Error(`${unexpected} unlock command(s) arrived that no decision asked for`);
    if (samples.some((s) => !Number.isFinite(s))) throw new Error('a decision had no send time (stub event missing)');
  } finally {
    await estate.close();
    rss.stop();
  }
  const extra = {
    ...(o.doors !== 1 ? { doors: o.doors } : {}),
    ...(o.gap !== OPTIONS.gap.default ? { gap_ms: o.gap } : {}),
    ...(o.nodelay !== 'off' ? { nodelay: o.nodelay } : {}),
  };
  emit({ bench: name, ...extra, ...summarise(samples), rss_mb: rss.peakMb() });
  for (const { stage, summary } of marks?.stages() ?? []) emit({ bench: name, ...extra, stage, ...summary });
}

export const relayBenches: Bench[] = (['qr', 'ble', 'pin'] as const).map((method) =>
  defineBench({ name: WHAT[method].name, summary: WHAT[method].summary, options: OPTIONS, run: (o) => run(method, o) }),
);
