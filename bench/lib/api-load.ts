/**
 * The HTTP load of the API bench: autocannon at full speed (saturation), or requests started at a steady
 * rate (latency at a fixed rate). `runLoad` runs in whichever thread calls it; `startLoad` puts it in this
 * thread ('inline'), a worker thread ('worker') or a child process ('child'), so the load generator need
 * not share the server's event loop.
 */
import { fork } from 'node:child_process';
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import autocannon from 'autocannon';
import { type LatencySummary, summarise } from './stats.js';

export type Placement = 'inline' | 'worker' | 'child';
export const PLACEMENTS = ['child', 'worker', 'inline'] as const satisfies readonly Placement[];

export type Pacer = 'steady' | 'autocannon';

export interface LoadSpec {
  /** http://host:port */
  origin: string;
  /** Paths (with query) asked in turn, round robin over all connections. */
  paths: readonly string[];
  headers: Record<string, string>;
  seconds: number;
  connections: number;
  /**
   * Omitted: saturation, every connection asks again as soon as it has its answer (autocannon).
   * Given: this many requests per second, started on schedule by `pacer`.
   */
  rate?: { perSecond: number; pacer: Pacer };
  /**
   * Steady pacer only: instead of GETs of `paths` for `seconds`, these POSTs, each sent once in this order at
   * `rate` (the payment-notification bench: every request carries its own signed body).
   */
  posts?: readonly Post[];
}

/** One POST of a load: its path, its own headers (added to the spec's) and its body, sent as given. */
export interface Post {
  path: string;
  headers: Record<string, string>;
  body: string;
}

export interface LoadResult {
  /** Answers with a 2xx status. */
  ok: number;
  /** Answers by status code, when any was not 2xx. */
  other: Record<string, number>;
  /** Connection errors and timeouts. */
  errors: number;
  /** Wall time from the first request to the end, s. */
  seconds: number;
  /** Latencies of the 2xx answers; for the steady pacer from each request's scheduled start. */
  latency: LatencySummary | undefined;
  /** Event-loop utilisation of the load generator's thread (1 = it was the bottleneck). */
  loaderElu: number;
  /** CPU time of the process the load ran in, ms: the load generator's own only when it ran in a child process. */
  processCpuMs: number;
}

const TIMEOUT_S = 10;

export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  if (spec.paths.length === 0 && !spec.posts?.length) throw new Error('no paths to ask');
  if (spec.posts && spec.rate?.pacer !== 'steady') throw new Error('posts are sent by the steady pacer only');
  const elu = performance.eventLoopUtilization();
  const cpu = process.cpuUsage();
  const r = spec.rate?.pacer === 'steady' ? await steady(spec, spec.rate.perSecond) : await cannon(spec);
  const used = process.cpuUsage(cpu);
  return {
    ...r,
    loaderElu: Math.round(performance.eventLoopUtilization(elu).utilization * 100) / 100,
    processCpuMs: (used.user + used.system) / 1000,
  };
}

type Measured = Omit<LoadResult, 'loaderElu' | 'processCpuMs'>;

function tally(): {
  latencies: number[];
  other: Record<string, number>;
  record: (status: number, ms: number) => void;
  ok: () => number;
} {
  const latencies: number[] = [];
  const other: Record<string, number> = {};
  return {
    latencies,
    other,
    record: (status, ms) => {
      if (status >= 200 && status < 300) latencies.push(ms);
      else other[status] = (other[status] ?? 0) + 1;
    },
    ok: () => latencies.length,
  };
}

/** autocannon: `connections` keep-alive connections, each asking again when answered (or paced by overallRate). */
function cannon(spec: LoadSpec): Promise<Measured> {
  let next = 0;
  const t = tally();
  let errors = 0;
  let started = 0;
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: spec.origin,
        connections: spec.connections,
        duration: spec.seconds,
        timeout: TIMEOUT_S,
        headers: spec.headers,
        ...(spec.rate ? { overallRate: spec.rate.perSecond } : {}),
        requests: [
          {
            setupRequest: (request) => {
              request.path = spec.paths[next++ % spec.paths.length] as string;
              return request;
            },
          },
        ],
      },
      (err: unknown) => {
        if (err) reject(err instanceof Error ? err : new Error(String(err)));
        else {
          const seconds = (performance.now() - started) / 1000;
          resolve({ ok: t.ok(), other: t.other, errors, seconds, latency: summary(t.latencies) });
        }
      },
    );
    instance.on('start', () => {
      started = performance.now();
    });
    instance.on('response', (_client, status, _bytes, ms) => t.record(status, ms));
    instance.on('reqError', () => {
      errors++;
    });
  });
}

/**
 * Requests started on a fixed schedule (request i at start + i / rate), whether or not earlier ones have been
 * answered (open loop, up to `connections` keep-alive sockets, then queued), each timed from its scheduled
 * start: a slow answer delays the ones behind it and that delay is counted, not hidden (no coordinated
 * omission).
 */
function steady(spec: LoadSpec, perSecond: number): Promise<Measured> {
  const origin = new URL(spec.origin);
  const agent = new http.Agent({ keepAlive: true, maxSockets: spec.connections, maxFreeSockets: spec.connections });
  const posts = spec.posts;
  const total = posts ? posts.length : Math.max(1, Math.round(perSecond * spec.seconds));
  const intervalMs = 1000 / perSecond;
  const t = tally();
  let errors = 0;
  let issued = 0;
  let settled = 0;
  const start = performance.now();
  return new Promise((resolve) => {
    const finish = () => {
      agent.destroy();
      resolve({
        ok: t.ok(),
        other: t.other,
        errors,
        seconds: (performance.now() - start) / 1000,
        latency: summary(t.latencies),
      });
    };
    const settle = () => {
      if (++settled === total) finish();
    };
    const fire = (scheduled: number) => {
      const post = posts?.[issued];
      const path = post ? post.path : (spec.paths[issued % spec.paths.length] as string);
      const req = http.request(
        {
          agent,
          hostname: origin.hostname,
          port: origin.port,
          path,
          method: post ? 'POST' : 'GET',
          headers: post ? { ...spec.headers, ...post.headers } : spec.headers,
          timeout: TIMEOUT_S * 1000,
        },
        (res) => {
          res.resume();
          res.on('end', () => {
            t.record(res.statusCode ?? 0, performance.now() - scheduled);
            settle();
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', () => {
        errors++;
        settle();
      });
      req.end(post?.body);
    };
    const tick = () => {
      const now = performance.now();
      while (issued < total && start + issued * intervalMs <= now) {
        fire(start + issued * intervalMs);
        issued++;
      }
      if (issued < total) setTimeout(tick, Math.max(0, start + issued * intervalMs - performance.now()));
    };
    tick();
  });
}

const summary = (ms: number[]) => (ms.length > 0 ? summarise(ms) : undefined);

/** The entry a worker thread or child process runs (api-load-entry.ts). */
const ENTRY = new URL('./api-load-entry.js', import.meta.url);

type Answer = { result: LoadResult } | { error: string };

/** Runs `spec` in this thread, a worker thread or a child process, and returns what it measured. */
export function startLoad(spec: LoadSpec, where: Placement): Promise<LoadResult> {
  if (where === 'inline') return runLoad(spec);
  return new Promise((resolve, reject) => {
    let done = false;
    const settle = (a: Answer) => {
      done = true;
      if ('result' in a) resolve(a.result);
      else reject(new Error(`load ${where}: ${a.error}`));
    };
    const exited = (code: number | null) => {
      if (!done) reject(new Error(`load ${where} exited (${code}) without a result`));
    };
    if (where === 'worker') {
      const worker = new Worker(ENTRY, { workerData: spec });
      worker.once('message', (a: Answer) => {
        settle(a);
        void worker.terminate();
      });
      worker.once('error', reject);
      worker.once('exit', exited);
      return;
    }
    const child = fork(fileURLToPath(ENTRY), [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], execArgv: [] });
    child.once('message', (a: Answer) => settle(a));
    child.once('error', reject);
    child.once('exit', exited);
    child.send({ spec });
  });
}
