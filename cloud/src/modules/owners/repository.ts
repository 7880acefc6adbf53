// Queries of the owner registry that Prisma's query builder cannot express well: the search is one SQL
// statement so the planner can use the (estate, name, id) index for keyset order and the trigram index for
// "name contains". All user text reaches SQL only as bound parameters.

import { likeEscape } from '../../core/pagination.js';
import { Prisma, type PrismaClient } from '../../generated/prisma/client.js';

export interface SearchFilter {
  estateId?: string | undefined;
  name?: string | undefined;
  phoneBidx?: string | undefined;
  unit?: string | undefined;
  after?: { name: string; id: string } | undefined;
  limit: number;
}

export interface SearchRow {
  person_id: string;
  household_id: string;
  estate_id: string;
  name: string;
  relation: string;
  phone_last4: string | null;
  unit_number: string;
}

export function searchPersons(prisma: PrismaClient, f: SearchFilter): Promise<SearchRow[]> {
  return prisma.$queryRaw<SearchRow[]>(searchSql(f));
}

/** The search statement itself (tests EXPLAIN it). */
export function searchSql(f: SearchFilter): Prisma.Sql {
  const where: Prisma.Sql[] = [Prisma.sql`p.erased_at IS NULL`, Prisma.sql`h.status = 'active'`];
  if (f.estateId) where.push(Prisma.sql`p.estate_id = ${f.estateId}::uuid`);
  if (f.name) where.push(Prisma.sql`p.name LIKE ${`%${likeEscape(f.name)}%`}`);
  if (f.phoneBidx) where.push(Prisma.sql`p.phone_bidx = ${f.phoneBidx}`);
  if (f.unit) {
    where.push(Prisma.sql`u.number LIKE ${`${likeEscape(f.unit)}%`}`);
    // A unit is in its household's estate; saying so lets the planner start from the (estate, number) prefix
    // index instead of joining every person of the estate to its unit and filtering afterwards.
    if (f.estateId) where.push(Prisma.sql`u.estate_id = ${f.estateId}::uuid`);
  }
  if (f.after) where.push(Prisma.sql`(p.name, p.id) > (${f.after.name}, ${f.after.id}::uuid)`);
  return Prisma.sql`
    SELECT p.id::text AS person_id, p.household_id::text AS household_id, p.estate_id::text AS estate_id,
           p.name, p.relation, p.phone_last4, u.number AS unit_number
    FROM persons p
    JOIN households h ON h.id = p.household_id
    JOIN units u ON u.id = h.unit_id
    WHERE ${Prisma.join(where, ' AND ')}
    ORDER BY p.name, p.id
    LIMIT ${f.limit}`;
}

export function loadHousehold(prisma: PrismaClient, id: string) {
  return prisma.household.findUnique({
    where: { id },
    include: {
      unit: true,
      persons: { where: { erasedAt: null }, orderBy: { createdAt: 'asc' } },
      vehicles: { orderBy: { plate: 'asc' } },
    },
  });
}
export type LoadedHousehold = NonNullable<Awaited<ReturnType<typeof loadHousehold>>>;
