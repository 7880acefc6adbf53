// A real cloud (real database, real plugins) for app.inject tests, with a small deterministic world:
// estate A with the resident's own household and another household, estate B with one more, and an account
// per role. Builders name what they make (aVehicle, aConsent) so tests read as the behaviour they prove.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { buildApp, type CloudDeps, loadConfig, openDeps } from '../../src/index.js';
import { seedDemo } from '../../src/seed/seed.js';
import { testDatabase } from './db.js';

export const PASSWORD = 'correct horse battery';

export interface World {
  estateA: string;
  estateB: string;
  /** The resident's own household and person. */
  own: { householdId: string; personId: string };
  otherHousehold: { householdId: string; personId: string };
  otherEstate: { householdId: string; personId: string };
  logins: Record<'admin' | 'staff' | 'staffB' | 'technician' | 'installer' | 'resident', string>;
}

export interface TestCloud {
  app: FastifyInstance;
  deps: CloudDeps;
  world: World;
  dataDir: string;
  login(login: string, password?: string): Promise<{ accessToken: string; refreshToken: string }>;
  tokens: Record<keyof World['logins'], string>;
  call(token: string | null, options: InjectOptions): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

export const testEnv = (dataDir: string, url: string | undefined, extra: Record<string, string> = {}) => ({
  NODE_ENV: 'test',
  ESTATE_CLOUD_DATA_DIR: dataDir,
  ESTATE_CLOUD_LOG_LEVEL: 'silent',
  ESTATE_CLOUD_ARGON2_MEMORY_KIB: '1024',
  ESTATE_CLOUD_RATE_LIMIT: '100000',
  ESTATE_CLOUD_LOGIN_RATE_LIMIT: '1000',
  ...(url ? { DATABASE_URL: url } : {}),
  ...extra,
});

export async function testCloud(extraEnv: Record<string, string> = {}): Promise<TestCloud> {
  const db = await testDatabase();
  const dataDir = mkdtempSync(join(tmpdir(), 'estate-cloud-test-'));
  const config = loadConfig(testEnv(dataDir, db.url, extraEnv));
  const { deps, db: opened } = await openDeps(config, { inMemory: true });
  await seedDemo(deps, { estates: 2, households: 6, seed: 7 });
  const world = await buildWorld(deps);
  const app = await buildApp(deps, { logger: false });
  await app.ready();

  const login = async (name: string, password = PASSWORD) => {
    const res = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { login: name, password } });
    if (res.statusCode !== 200) throw new Error(`login ${name}: ${res.statusCode} ${res.body}`);
    return res.json<{ accessToken: string; refreshToken: string }>();
  };
  const tokens = {} as Record<keyof World['logins'], string>;
  for (const [role, name] of Object.entries(world.logins)) {
    tokens[role as keyof World['logins']] = (await login(name)).accessToken;
  }
  return {
    app,
    deps,
    world,
    dataDir,
    login,
    tokens,
    call: (token, options) =>
      app.inject({
        ...options,
        headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...options.headers },
      }),
    close: async () => {
      await app.close();
      await opened.close();
      await db.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function buildWorld(deps: CloudDeps): Promise<World> {
  const { prisma, passwords } = deps;
  const [a, b] = await prisma.estate.findMany({ orderBy: { code: 'asc' } });
  if (!a || !b) throw new Error('seed made fewer than two estates');
  const householdsOf = (estateId: string) =>
    prisma.household.findMany({ where: { estateId }, include: { persons: true }, orderBy: { id: 'asc' } });
  const [h1, h2] = await householdsOf(a.id);
  const [h3] = await householdsOf(b.id);
  const pick = (h: Awaited<ReturnType<typeof householdsOf>>[number] | undefined) => {
    const p = h?.persons.find((x) => x.relation === 'owner');
    if (!h || !p) throw new Error('seed made too few households');
    return { householdId: h.id, personId: p.id };
  };
  const world: World = {
    estateA: a.id,
    estateB: b.id,
    own: pick(h1),
    otherHousehold: pick(h2),
    otherEstate: pick(h3),
    logins: {
      admin: 't.admin',
      staff: 't.staff.a',
      staffB: 't.staff.b',
      technician: 't.tech.a',
      installer: 't.installer.a',
      resident: 't.resident.a',
    },
  };
  const passwordHash = await passwords.hash(PASSWORD);
  const accounts = [
    { login: world.logins.admin, role: 'admin', estateId: null, personId: null },
    { login: world.logins.staff, role: 'staff', estateId: a.id, personId: null },
    { login: world.logins.staffB, role: 'staff', estateId: b.id, personId: null },
    { login: world.logins.technician, role: 'technician', estateId: a.id, personId: null },
    { login: world.logins.installer, role: 'installer', estateId: a.id, personId: null },
    { login: world.logins.resident, role: 'resident', estateId: a.id, personId: world.own.personId },
  ];
  await prisma.account.createMany({ data: accounts.map((x) => ({ ...x, passwordHash })) });
  return world;
}

/** Row counts of every business table: a refused request must leave them all as they were. */
export async function fingerprint(deps: CloudDeps): Promise<Record<string, number | string>> {
  const rows = await deps.driver.query<{ t: string; n: number; u: string | null }>(`
    SELECT 'persons' AS t, count(*)::int AS n, max(updated_at)::text AS u FROM persons
    UNION ALL SELECT 'households', count(*)::int, max(updated_at)::text FROM households
    UNION ALL SELECT 'vehicles', count(*)::int, NULL FROM vehicles
    UNION ALL SELECT 'renovations', count(*)::int, max(coalesce(decided_at, created_at))::text FROM renovations
    UNION ALL SELECT 'attachments', count(*)::int, NULL FROM attachments
    UNION ALL SELECT 'consents', count(*)::int, max(coalesce(withdrawn_at, granted_at))::text FROM consents
    UNION ALL SELECT 'accounts', count(*)::int, max(coalesce(disabled_at, created_at))::text FROM accounts
    UNION ALL SELECT 'estates', count(*)::int, NULL FROM estates
    UNION ALL SELECT 'units', count(*)::int, NULL FROM units
    UNION ALL SELECT 'outbox', count(*)::int, NULL FROM outbox_events
    UNION ALL SELECT 'access_doors', count(*)::int, NULL FROM access_doors
    UNION ALL SELECT 'access_groups', count(*)::int, NULL FROM access_groups
    UNION ALL SELECT 'access_members', count(*)::int, NULL FROM access_members
    UNION ALL SELECT 'face_templates', count(*)::int, NULL FROM face_templates
    UNION ALL SELECT 'ble_keys', count(*)::int, max(changed_at)::text FROM ble_keys
    UNION ALL SELECT 'access_pins', count(*)::int, max(set_at)::text FROM access_pins
    UNION ALL SELECT 'visitor_passes', count(*)::int, max(coalesce(decided_at, created_at))::text FROM visitor_passes
    UNION ALL SELECT 'access_desired_queue', count(*)::int, NULL FROM access_desired_queue`);
  return Object.fromEntries(
    rows.flatMap((r) => [
      [r.t, r.n],
      [`${r.t}.u`, r.u ?? ''],
    ]),
  );
}
