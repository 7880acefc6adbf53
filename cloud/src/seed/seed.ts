// Writes generated demo data (seed/generator.ts) and one demo login per role. Demo passwords are random per
// database and kept in the data folder, never fixed in the code.
import { randomBytes } from 'node:crypto';
import type { Role } from '../core/authz.js';
import type { CloudDeps } from '../core/deps.js';
import { sealPerson } from '../core/personal-data.js';
import { seedBilling } from '../modules/billing/seed.js';
import { type GenOptions, generateDemo } from './generator.js';

export interface DemoLogin {
  role: Role;
  login: string;
  password: string;
  estate: string | null;
}

export interface SeedResult {
  estates: { id: string; code: string; name: string }[];
  households: number;
  persons: number;
  logins: DemoLogin[];
}

export const DEMO_DEFAULTS: GenOptions = { estates: 12, households: 8_000, seed: 20_240_601 };

type SeedDeps = Pick<CloudDeps, 'prisma' | 'keyRing' | 'blindIndexKey' | 'passwords'>;

export async function isEmpty(deps: Pick<CloudDeps, 'prisma'>): Promise<boolean> {
  return (await deps.prisma.estate.count()) === 0;
}

/** `billing`: demo bills, payments and overdue households in the first estate; on by default for the full demo. */
export async function seedDemo(
  deps: SeedDeps,
  options: Partial<GenOptions> & { billing?: boolean } = {},
): Promise<SeedResult> {
  const { prisma } = deps;
  const { billing: _billing, ...gen } = options;
  const estates = generateDemo({ ...DEMO_DEFAULTS, ...gen });
  let persons = 0;
  let households = 0;
  for (const e of estates) {
    await prisma.$transaction(
      async (tx) => {
        await tx.estate.create({ data: { id: e.id, code: e.code, name: e.name, city: e.city } });
        await tx.building.createMany({ data: e.buildings.map((b) => ({ ...b, estateId: e.id })) });
        await tx.unit.createMany({
          data: e.units.map(({ buildingIndex, ...u }) => ({
            ...u,
            estateId: e.id,
            buildingId: e.buildings[buildingIndex]?.id ?? '',
          })),
        });
        await tx.household.createMany({
          data: e.households.map((h) => ({
            id: h.id,
            estateId: e.id,
            unitId: e.units[h.unitIndex]?.id ?? '',
            movedInAt: h.movedInAt,
          })),
        });
        await tx.person.createMany({
          data: e.households.flatMap((h) =>
            h.persons.map((p) => ({
              id: p.id,
              estateId: e.id,
              householdId: h.id,
              name: p.name,
              relation: p.relation,
              gender: p.gender,
              ...sealPerson(deps, p.id, { phone: p.phone, idNumber: p.idNumber }),
            })),
          ),
        });
        await tx.vehicle.createMany({
          data: e.households.flatMap((h) => h.vehicles.map((v) => ({ ...v, estateId: e.id, householdId: h.id }))),
        });
      },
      { timeout: 120_000 },
    );
    households += e.households.length;
    persons += e.households.reduce((n, h) => n + h.persons.length, 0);
  }
  const logins = await createDemoLogins(deps, estates[0]);
  const first = estates[0];
  if (first && (options.billing ?? options.estates === undefined)) {
    await seedBilling(prisma, first.id, first.households[0]?.id);
  }
  return { estates: estates.map(({ id, code, name }) => ({ id, code, name })), households, persons, logins };
}

async function createDemoLogins(deps: SeedDeps, first: ReturnType<typeof generateDemo>[number] | undefined) {
  if (!first) return [];
  const owner = first.households[0]?.persons[0];
  const wanted: { role: Role; login: string; estateId: string | null; personId: string | null }[] = [
    { role: 'admin', login: 'admin', estateId: null, personId: null },
    { role: 'staff', login: `staff.${first.code.toLowerCase()}`, estateId: first.id, personId: null },
    { role: 'technician', login: `tech.${first.code.toLowerCase()}`, estateId: first.id, personId: null },
    { role: 'installer', login: `installer.${first.code.toLowerCase()}`, estateId: first.id, personId: null },
  ];
  if (owner)
    wanted.push({
      role: 'resident',
      login: `resident.${first.code.toLowerCase()}`,
      estateId: first.id,
      personId: owner.id,
    });
  const logins: DemoLogin[] = [];
  for (const w of wanted) {
    const password = randomBytes(9).toString('base64url');
    await deps.prisma.account.create({
      data: {
        login: w.login,
        role: w.role,
        estateId: w.estateId,
        personId: w.personId,
        passwordHash: await deps.passwords.hash(password),
      },
    });
    logins.push({ role: w.role, login: w.login, password, estate: w.estateId ? first.code : null });
  }
  return logins;
}
