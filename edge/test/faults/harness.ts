// The fault harness's moving parts: the gateway child process, the simulated devices and their traffic.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Gateway, startLocalBroker } from '@estate/edge';
import { Door, Reader } from '@estate/firmware-stubs';
import { aCloudSigner, anEstate, aPass } from '../helpers/estate.js';

const TSC = new URL('../../../node_modules/typescript/bin/tsc', import.meta.url).pathname;
const CHILD = new URL('./gateway-child.mjs', import.meta.url).pathname;

/** The child runs the compiled edge. Asynchronous, so the cloud's migrations can run meanwhile. */
export const buildEdge = () =>
  new Promise<void>((resolve, reject) =>
    execFile(process.execPath, [TSC, '-b', new URL('../../', import.meta.url).pathname], (err, stdout) =>
      err ? reject(new Error(`edge build failed: ${stdout || err.message}`)) : resolve(),
    ),
  );

/** A data folder with the small estate of the edge tests already applied (the child opens it as-is). */
export async function aDataDir(signer: ReturnType<typeof aCloudSigner>): Promise<string> {
  const local = await startLocalBroker({ port: 0 });
  const dataDir = mkdtempSync(join(tmpdir(), 'estate-faults-'));
  const gw = new Gateway({ broker: local.broker, dataDir });
  await gw.start();
  anEstate(gw, signer);
  await gw.stop();
  await local.close();
  return dataDir;
}

export interface ChildGateway {
  port: number;
  lastSeq: number;
  ackedSeq: number;
  proc: ChildProcess;
  kill(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts the gateway process and resolves once its broker listens. */
export function startChild(args: {
  dataDir: string;
  port: number;
  cloudUrl: string;
  gatewayId: string;
  secret: string;
  budgetBytes: number;
  clockOffsetMs?: number;
  stderr?: string[];
}): Promise<ChildGateway> {
  const proc = spawn(
    process.execPath,
    [
      CHILD,
      args.dataDir,
      String(args.port),
      args.cloudUrl,
      args.gatewayId,
      args.secret,
      String(args.budgetBytes),
      String(args.clockOffsetMs ?? 0),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  proc.stderr?.on('data', (b: Buffer) => args.stderr?.push(b.toString()));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  return new Promise((resolve, reject) => {
    let buffer = '';
    const child: ChildGateway = {
      port: 0,
      lastSeq: 0,
      ackedSeq: 0,
      proc,
      kill: async () => {
        proc.kill('SIGKILL');
        await exited;
      },
      stop: async () => {
        proc.kill('SIGTERM');
        await exited;
      },
    };
    proc.once('exit', (code) => reject(new Error(`gateway child exited (${code}) before it was ready`)));
    proc.stdout?.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const l of lines) {
        const [what, a, b] = l.split(' ');
        if (what === 'ready') {
          child.port = Number(a);
          resolve(child);
        } else if (what === 'seq') {
          child.lastSeq = Number(a);
          child.ackedSeq = Number(b);
        }
      }
    });
  });
}

export interface Traffic {
  /** pass ids the reader was told were granted */
  grantedFeedback: Set<string>;
  /** door commands the simulated door received, in order */
  doorCommands: string[];
  scans: number;
  timeouts: number;
  stop(): Promise<void>;
}

/**
 * A door and a QR reader on the gateway's broker, scanning without pause: valid one-use passes, passes signed by
 * a stranger's key, and garbage. The devices reconnect by themselves when the gateway dies and comes back.
 */
export async function startTraffic(port: number, signer: ReturnType<typeof aCloudSigner>): Promise<Traffic> {
  const broker = { url: `mqtt://127.0.0.1:${port}` };
  const door = new Door({ id: 'door-b1', broker, pulseMs: 50 });
  const reader = new Reader({ id: 'reader-b1', broker, timeoutMs: 800 });
  const stranger = aCloudSigner('stranger');
  const t: Traffic = {
    grantedFeedback: new Set(),
    doorCommands: [],
    scans: 0,
    timeouts: 0,
    stop: async () => {
      running = false;
      await loop;
      await Promise.all([door.stop(), reader.stop()]);
    },
  };
  door.on('received', (w) => {
    if (w.name === 'doorCommand') t.doorCommands.push(w.message.action);
  });
  await Promise.all([door.start(), reader.start()]);
  let running = true;
  const scan = async (i: number) => {
    const kind = i % 3;
    // now at scan time from the test's clock; the gateway may run a jumped clock and refuse (fine: it must not open)
    const id = `${kind === 0 ? 'v' : 'x'}-${i}`;
    const token = kind === 2 ? 'not.a-token' : aPass(kind === 0 ? signer : stranger, Date.now(), { id, max: 1 });
    try {
      const fb = await reader.scanQr(token);
      if (fb.granted) t.grantedFeedback.add(id);
    } catch {
      t.timeouts++; // the gateway was down or restarting: no answer, and no door either
    }
    t.scans++;
  };
  const loop = (async () => {
    for (let i = 0; running; i++) await scan(i);
  })();
  return t;
}
