// Estates, buildings and units (房号). Everyone reads the estate they belong to; only admins create estates,
// staff lay out buildings and units of their own.
import { authorize, type Principal } from '../../core/authz.js';
import type { Actor } from '../../core/context.js';
import type { CloudDeps } from '../../core/deps.js';
import { AppError, notFound } from '../../core/errors.js';
import { decodeCursor, pageOf } from '../../core/pagination.js';
import { change } from '../../core/tx.js';

type Acting = Actor & { principal: Principal };

const estateView = (e: { id: string; code: string; name: string; city: string; timezone: string }) => ({
  id: e.id,
  code: e.code,
  name: e.name,
  city: e.city,
  timezone: e.timezone,
});

export const unitView = (u: {
  id: string;
  estateId: string;
  buildingId: string;
  number: string;
  floor: number;
  areaCentiSqm: number;
}) => ({
  id: u.id,
  estateId: u.estateId,
  buildingId: u.buildingId,
  number: u.number,
  floor: u.floor,
  areaSqm: u.areaCentiSqm / 100,
});

export function estateService(deps: CloudDeps) {
  const { prisma } = deps;

  async function estateInScope(actor: Acting, id: string, action: 'estate:read' | 'unit:write') {
    const estate = await prisma.estate.findUnique({ where: { id } });
    if (!estate) throw notFound('Estate');
    authorize(actor.principal, action, { estateId: estate.id, householdId: actor.principal.householdId }, 'Estate');
    return estate;
  }

  return {
    async list(actor: Acting) {
      authorize(actor.principal, 'estate:read');
      const p = actor.principal;
      const rows = await prisma.estate.findMany({
        where: p.role === 'admin' ? {} : { id: p.estateId ?? '' },
        orderBy: { code: 'asc' },
      });
      return rows.map(estateView);
    },

    async get(actor: Acting, id: string) {
      return estateView(await estateInScope(actor, id, 'estate:read'));
    },

    async create(actor: Acting, input: { code: string; name: string; city: string; timezone?: string | undefined }) {
      authorize(actor.principal, 'estate:write');
      return change(prisma, actor, async (tx, audit) => {
        if (await tx.estate.findUnique({ where: { code: input.code } })) {
          throw new AppError('CONFLICT', 'estate code is taken', '/body/code');
        }
        const e = await tx.estate.create({ data: { ...input, timezone: input.timezone ?? 'Asia/Shanghai' } });
        await audit({
          action: 'estate.create',
          entity: 'estate',
          entityId: e.id,
          estateId: e.id,
          after: estateView(e),
        });
        return estateView(e);
      });
    },

    async buildings(actor: Acting, estateId: string) {
      await estateInScope(actor, estateId, 'estate:read');
      return prisma.building.findMany({ where: { estateId }, orderBy: { name: 'asc' } });
    },

    async addBuilding(actor: Acting, estateId: string, input: { name: string; floors: number }) {
      await estateInScope(actor, estateId, 'unit:write');
      return change(prisma, actor, async (tx, audit) => {
        if (await tx.building.findFirst({ where: { estateId, name: input.name } })) {
          throw new AppError('CONFLICT', 'building name is taken', '/body/name');
        }
        const b = await tx.building.create({ data: { estateId, ...input } });
        await audit({ action: 'building.create', entity: 'building', entityId: b.id, estateId, after: b });
        return b;
      });
    },

    async units(actor: Acting, estateId: string, q: { number?: string; limit?: number; cursor?: string }) {
      await estateInScope(actor, estateId, 'estate:read');
      const limit = q.limit ?? 20;
      const after = decodeCursor(q.cursor, 1);
      const rows = await prisma.unit.findMany({
        where: {
          estateId,
          number: { ...(q.number ? { startsWith: q.number } : {}), ...(after ? { gt: String(after[0]) } : {}) },
        },
        orderBy: { number: 'asc' },
        take: limit + 1,
      });
      const page = pageOf(rows, limit, (u) => [u.number]);
      return { items: page.items.map(unitView), nextCursor: page.nextCursor };
    },

    async addUnit(
      actor: Acting,
      estateId: string,
      input: { buildingId: string; number: string; floor: number; areaSqm: number },
    ) {
      await estateInScope(actor, estateId, 'unit:write');
      return change(prisma, actor, async (tx, audit) => {
        const building = await tx.building.findUnique({ where: { id: input.buildingId } });
        if (!building || building.estateId !== estateId) throw notFound('Building');
        if (await tx.unit.findFirst({ where: { estateId, number: input.number } })) {
          throw new AppError('CONFLICT', 'unit number is taken', '/body/number');
        }
        const u = await tx.unit.create({
          data: {
            estateId,
            buildingId: building.id,
            number: input.number,
            floor: input.floor,
            areaCentiSqm: Math.round(input.areaSqm * 100),
          },
        });
        await audit({ action: 'unit.create', entity: 'unit', entityId: u.id, estateId, after: unitView(u) });
        return unitView(u);
      });
    },
  };
}
