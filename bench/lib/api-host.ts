import { readdirSync, readFileSync } from 'node:fs';

/**
 * Where the machine's CPU went during a phase, in cores (CPU seconds per second): this process (the server,
 * and the load generator too when it is a worker thread or inline), the load generator's child process,
 * PostgreSQL's processes, the kernel's interrupt work (mostly loopback TCP, in no process's account), and
 * everything else — other people's work on a shared machine, which a figure measured on it should be read
 * against. Linux only (/proc); elsewhere nothing is reported.
 */
export interface CpuShares {
  cpu_server: number;
  cpu_loader?: number;
  cpu_pg: number;
  cpu_irq: number;
  cpu_other: number;
}

const TICKS_PER_S = 100;

interface Snapshot {
  at: number;
  /** Busy ticks of all CPUs together, and how many of them were interrupt work (irq + softirq). */
  busy: number;
  irq: number;
  /** Ticks (user + system) of each live process, and whether it is PostgreSQL. */
  procs: Map<number, { ticks: number; postgres: boolean }>;
}

function stat(pid: string): { ticks: number; postgres: boolean } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = text.lastIndexOf(')');
    const comm = text.slice(text.indexOf('(') + 1, close);
    // fields after the command: state ppid … utime (14th field of the line) stime (15th)
    const f = text.slice(close + 2).split(' ');
    return { ticks: Number(f[11]) + Number(f[12]), postgres: comm === 'postgres' };
  } catch {
    return undefined;
  }
}

function snapshot(): Snapshot | undefined {
  try {
    const cpu = (readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal …: busy is everything but idle and iowait
    const busy = cpu.reduce((s, x) => s + x, 0) - (cpu[3] ?? 0) - (cpu[4] ?? 0);
    const irq = (cpu[5] ?? 0) + (cpu[6] ?? 0);
    const procs = new Map<number, { ticks: number; postgres: boolean }>();
    for (const pid of readdirSync('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      const s = stat(pid);
      if (s) procs.set(Number(pid), { ticks: s.ticks, postgres: s.postgres });
    }
    return { at: performance.now(), busy, irq, procs };
  } catch {
    return undefined;
  }
}

const cores = (ticks: number, seconds: number) => Math.round((ticks / TICKS_PER_S / seconds) * 100) / 100;

/**
 * Starts a CPU account; call the returned function at the end of the phase with the load generator's own
 * CPU time (ms) when it ran in a child process, which has usually exited by then.
 */
export function cpuAccount(): (loaderCpuMs: number | undefined) => CpuShares | undefined {
  const from = snapshot();
  return (loaderCpuMs) => {
    const to = snapshot();
    if (!from || !to) return undefined;
    const seconds = (to.at - from.at) / 1000;
    if (seconds <= 0) return undefined;
    let pg = 0;
    let self = 0;
    for (const [pid, p] of to.procs) {
      const delta = p.ticks - (from.procs.get(pid)?.ticks ?? 0);
      if (pid === process.pid) self = delta;
      else if (p.postgres) pg += delta;
    }
    const loader = loaderCpuMs === undefined ? 0 : (loaderCpuMs / 1000) * TICKS_PER_S;
    const irq = to.irq - from.irq;
    const other = Math.max(0, to.busy - from.busy - self - pg - loader - irq);
    return {
      cpu_server: cores(self, seconds),
      ...(loaderCpuMs !== undefined ? { cpu_loader: cores(loader, seconds) } : {}),
      cpu_pg: cores(pg, seconds),
      cpu_irq: cores(irq, seconds),
      cpu_other: cores(other, seconds),
    };
  };
}
