// startCloud as `npm start` uses it: embedded database in a data folder, migrations, demo data on first start,
// a free port when the preferred one is taken, one login per role that works.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startCloud } from '../src/index.js';
import { testEnv } from './helpers/cloud.js';
import { testDatabase } from './helpers/db.js';

const dataDir = mkdtempSync(join(tmpdir(), 'estate-start-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe('startCloud', () => {
  it('starts on a taken port by picking a free one, seeds demo data and prints working logins', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const taken = (blocker.address() as { port: number }).port;
    const db = await testDatabase();
    const env = testEnv(dataDir, db.url, { ESTATE_CLOUD_PORT: String(taken) });
    const cloud = await startCloud({ env, seed: { estates: 2, households: 10 }, logger: false });
    try {
      expect(cloud.port).not.toBe(taken);
      expect(cloud.docsUrl).toBe(`${cloud.url}/docs`);
      expect(cloud.logins.map((l) => l.role).sort()).toEqual(['admin', 'installer', 'resident', 'staff', 'technician']);
      const health = await fetch(`${cloud.url}/ready`);
      expect(await health.json()).toEqual({ status: 'ready' });
      for (const l of cloud.logins) {
        const res = await fetch(`${cloud.url}/api/auth/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ login: l.login, password: l.password }),
        });
        expect(res.status, l.role).toBe(200);
      }
    } finally {
      await cloud.close();
      blocker.close();
    }
    // A second start on the same data keeps the data and remembers the demo logins.
    const again = await startCloud({ env: { ...env, ESTATE_CLOUD_PORT: '0' }, logger: false });
    try {
      expect(again.logins).toHaveLength(5);
      expect(await again.deps.prisma.estate.count()).toBe(2);
    } finally {
      await again.close();
      await db.drop();
    }
    // two starts, each seeding and opening the gateway link (broker, ingest, sync): more than the default budget
  }, 60_000);
});
