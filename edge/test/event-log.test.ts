import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventLog } from '@estate/edge';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';

const anEvent = (over: Partial<{ granted: boolean; ts: number }> = {}) => ({
  ts: over.ts ?? 1_000,
  priority: 'high' as const,
  type: 'access_decision' as const,
  doorId: 'b1-main',
  deviceId: 'cam-1',
  method: 'face' as const,
  granted: over.granted ?? true,
  reason: 'granted',
  latencyMs: 31,
});

const TSC = new URL('../../node_modules/typescript/bin/tsc', import.meta.url).pathname;
const tempFile = () => join(mkdtempSync(join(tmpdir(), 'estate-log-')), 'events.db');

describe('durable event log', () => {
  beforeAll(() => {
    // the kill -9 child runs the compiled log
    execFileSync(process.execPath, [TSC, '-b', new URL('../', import.meta.url).pathname]);
  });

  it('numbers events 1, 2, 3 … and keeps them across a reopen', () => {
    const file = tempFile();
    const log = new EventLog(file);
    expect(log.append(anEvent()).seq).toBe(1);
    expect(log.append(anEvent({ granted: false })).seq).toBe(2);
    log.close();
    const again = new EventLog(file);
    expect(again.read(0).map((e) => e.seq)).toEqual([1, 2]);
    expect(again.append(anEvent()).seq).toBe(3);
    again.close();
  });

  it('never reuses a sequence number after the cloud acknowledged and the rows were deleted', () => {
    const file = tempFile();
    const log = new EventLog(file);
    for (let i = 0; i < 5; i++) log.append(anEvent());
    log.ack(5);
    expect(log.backlog().events).toBe(0);
    log.close();
    const again = new EventLog(file);
    expect(again.append(anEvent()).seq).toBe(6);
    expect(again.ackedSeq).toBe(5);
    again.close();
  });

  it('keeps appending when a row sits above its counter (a second process wrote to the same folder)', () => {
    const file = tempFile();
    const log = new EventLog(file);
    for (let i = 0; i < 3; i++) log.append(anEvent());
    log.close();
    // another writer's rows 4 and 5, with the counter left at 3
    const other = new EventLog(file);
    other.append(anEvent());
    other.append(anEvent());
    other.close();
    const db = new Database(file);
    db.prepare("UPDATE meta SET value = 3 WHERE key = 'last_seq'").run();
    db.close();
    const again = new EventLog(file);
    expect(again.append(anEvent()).seq).toBe(6); // before: UNIQUE constraint failed, every decision refused
    again.close();
  });

  it('reports the backlog: count, bytes and oldest event', () => {
    const log = new EventLog(':memory:');
    log.append(anEvent({ ts: 500 }));
    log.append(anEvent({ ts: 900 }));
    const b = log.backlog();
    expect(b.events).toBe(2);
    expect(b.bytes).toBeGreaterThan(100);
    expect(b.oldestTs).toBe(500);
    log.ack(1);
    expect(log.backlog().events).toBe(1);
    log.close();
  });

  it('loses no committed event when the process is killed with SIGKILL mid-write', async () => {
    const file = tempFile();
    const child = spawn(process.execPath, [new URL('./fixtures/log-writer.mjs', import.meta.url).pathname, file], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let reported = 0;
    let buffer = '';
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (chunk: Buffer) => {
        buffer += chunk.toString();
        const lines = buffer.split('\n');
        buffer = lines.pop() ?? '';
        for (const l of lines) reported = Math.max(reported, Number(l));
        if (reported >= 300) {
          child.kill('SIGKILL');
          resolve();
        }
      });
    });
    await new Promise((resolve) => child.once('exit', resolve));
    const log = new EventLog(file);
    const seqs = log.read(0, 1_000_000).map((e) => e.seq);
    // every seq the child reported as committed is there, gap-free, exactly once
    expect(seqs.length).toBeGreaterThanOrEqual(reported);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
    expect(log.append(anEvent()).seq).toBe(seqs.length + 1);
    log.close();
  });
});
