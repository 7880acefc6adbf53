import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Gallery, Gateway, startLocalBroker } from '@estate/edge';
import { photosByPerson } from '@estate/models';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { main } from '../src/cli.js';

describe('estate-gateway CLI', () => {
  let data: string;
  let out: string[];
  let err: string[];

  beforeEach(() => {
    data = mkdtempSync(join(tmpdir(), 'estate-cli-'));
    out = [];
    err = [];
    vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
    vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
  });
  afterEach(() => vi.restoreAllMocks());

  it('registers a device, shows its secret once, and keeps the file private', async () => {
    expect(await main(['device', 'add', '--id', 'door-1', '--kind', 'door', '--data', data])).toBe(0);
    expect(out[0]).toMatch(/password \(shown once\): \S{20,}/);
    expect(statSync(join(data, 'devices.json')).mode & 0o777).toBe(0o600);
    out.length = 0;
    expect(await main(['device', 'list', '--data', data])).toBe(0);
    expect(out[0]).toMatch(/door-1\s+door\s+enabled/);
    expect(out.join()).not.toMatch(/scrypt|password/);
  });

  it('explains bad usage with exit code 2', async () => {
    expect(await main(['device', 'add', '--id', 'door-1', '--kind', 'toaster', '--data', data])).toBe(2);
    expect(err[0]).toMatch(/unknown kind 'toaster'/);
    expect(await main(['frobnicate'])).toBe(2);
    expect(await main(['enrol', '--data', data])).toBe(2);
    expect(await main(['--bogus'])).toBe(2);
  });

  it('enrols a person from photos into the sealed gallery, keeping no photo', async () => {
    const franck = photosByPerson().get('franck') ?? [];
    const code = await main([
      'enrol',
      '--person',
      'p-franck',
      '--data',
      data,
      franck[0]?.path ?? '',
      franck[1]?.path ?? '',
    ]);
    expect(err).toEqual([]);
    expect(code).toBe(0);
    expect(out[0]).toMatch(/enrolled p-franck as template t-p-franck-local from 2 photo/);
    const local = await startLocalBroker({ port: 0 });
    const gw = new Gateway({ broker: local.broker, dataDir: data });
    await gw.start();
    try {
      expect(gw.parts.gallery).toBeInstanceOf(Gallery);
      expect(gw.parts.gallery.size).toBe(1);
      // sealed at rest: the stored row is not the base64 embedding
      const row = gw.parts.db.prepare("SELECT body FROM section_items WHERE section = 'gallery'").get() as {
        body: string;
      };
      expect(row.body).not.toContain('embedding');
    } finally {
      await gw.stop();
      await local.close();
    }
  }, 30_000);

  it('refuses a photo without a face, with the reason', async () => {
    const bad = join(data, 'not-a-photo.jpg');
    (await import('node:fs')).writeFileSync(bad, 'hello');
    expect(await main(['enrol', '--person', 'p-x', '--data', data, bad])).toBe(1);
    expect(err[0]).toMatch(/enrolment refused/);
  }, 30_000);
});
