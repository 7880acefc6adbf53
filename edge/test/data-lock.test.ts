// One agent per data folder: a second gateway — in this process or another — is refused before it opens anything
// (two would hand out the same event numbers and both drive the doors), and a SIGKILLed agent leaves no stale lock:
// the next one starts at once.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DataFolderInUse, Gateway, startLocalBroker } from '@estate/edge';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { main } from '../src/cli.js';
import { DataFolderLock } from '../src/state/data-lock.js';

const BIN = fileURLToPath(new URL('../bin/estate-gateway.js', import.meta.url));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
});

/** `estate-gateway run` in a child process, once it says its broker is up; its stderr so far. */
async function anAgent(dataDir: string) {
  const child = spawn(process.execPath, [BIN, 'run', '--data', dataDir, '--port', '0', '--no-faces'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const stderr: string[] = [];
  child.stderr?.on('data', (b: Buffer) => stderr.push(b.toString()));
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.includes('estate-gateway: broker')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`the agent exited (${code}) before it was up: ${out}`)));
  });
  return { child, stderr };
}

describe('the data-folder lock', () => {
  it('refuses a second Gateway on the same folder and leaves the first one working', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'estate-lock-'));
    const local = await startLocalBroker({ port: 0 });
    const first = new Gateway({ broker: local.broker, dataDir });
    const second = new Gateway({ broker: local.broker, dataDir });
    try {
      await first.start();
      const refused = await second.start().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(refused).toBeInstanceOf(DataFolderInUse);
      expect((refused as Error).message).toMatch(new RegExp(`in use by another gateway \\(pid ${process.pid} on `));
      // the first still owns its log
      const { seq } = first.parts.log.append({
        ts: Date.now(),
        priority: 'normal',
        type: 'alarm',
        alarm: 'tamper',
        state: 'raised',
      });
      expect(seq).toBeGreaterThan(0);
      await first.stop();
      await second.start(); // free once the first has stopped
      expect(second.parts.log.lastSeq).toBe(seq);
    } finally {
      await second.stop();
      await first.stop();
      await local.close();
    }
  });

  it('refuses `estate-gateway run` on a folder a running agent holds; after kill -9 the folder is free at once', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'estate-lock-cli-'));
    const { child } = await anAgent(dataDir);

    const err: string[] = [];
    vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
    try {
      expect(await main(['run', '--data', dataDir, '--port', '0', '--no-faces'])).toBe(1);
    } finally {
      vi.restoreAllMocks();
    }
    expect(err.join('\n')).toMatch(new RegExp(`in use by another gateway \\(pid ${child.pid} on .*stop the other one`));

    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    DataFolderLock.acquire(dataDir).release();
  });

  it('keeps the doors running when the cloud set-up fails (an unreadable identity.json)', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'estate-no-cloud-'));
    writeFileSync(join(dataDir, 'identity.json'), '{"half": ', { mode: 0o600 });
    const { child, stderr } = await anAgent(dataDir);
    await new Promise((r) => setTimeout(r, 300));
    expect(child.exitCode).toBeNull(); // still running
    expect(stderr.join('')).toMatch(/no cloud link .*; the doors run locally/);
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  });
});
