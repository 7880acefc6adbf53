// Technician profiles (skills, shift, base building), their reported location, and building positions: what
// dispatch needs to know about people and places.
import { authorize, estateFilter } from '../../core/authz.js';
import type { CloudDeps } from '../../core/deps.js';
import { AppError, notFound } from '../../core/errors.js';
import { change } from '../../core/tx.js';
import type { Technician } from '../../generated/prisma/client.js';
import type { Acting } from './service.js';

export interface TechnicianInput {
  accountId: string;
  name: string;
  skills: string[];
  baseBuildingId?: string | undefined;
  shiftStartMin?: number | undefined;
  shiftEndMin?: number | undefined;
}

const E6 = 1e6;
export const technicianView = (t: Technician) => ({
  id: t.id,
  estateId: t.estateId,
  accountId: t.accountId,
  name: t.name,
  skills: Array.isArray(t.skills) ? (t.skills as string[]) : [],
  baseBuildingId: t.baseBuildingId,
  shiftStartMin: t.shiftStartMin,
  shiftEndMin: t.shiftEndMin,
  onDuty: t.onDuty,
  location:
    t.latE6 !== null && t.lngE6 !== null && t.locatedAt
      ? { lat: t.latE6 / E6, lng: t.lngE6 / E6, at: t.locatedAt.toISOString() }
      : null,
});

export function technicianService(deps: CloudDeps) {
  const { prisma } = deps;

  async function checkBuilding(estateId: string, buildingId: string | undefined) {
    if (!buildingId) return;
    const b = await prisma.building.findUnique({ where: { id: buildingId } });
    if (!b || b.estateId !== estateId) throw notFound('Building');
  }

  return {
    async create(actor: Acting, input: TechnicianInput) {
      authorize(actor.principal, 'technician:manage');
      const account = await prisma.account.findUnique({ where: { id: input.accountId } });
      if (!account?.estateId) throw notFound('Account');
      authorize(actor.principal, 'technician:manage', { estateId: account.estateId }, 'Account');
      if (account.role !== 'technician') {
        throw new AppError('CONFLICT', 'the account is not a technician account', '/body/accountId');
      }
      await checkBuilding(account.estateId, input.baseBuildingId);
      const estateId = account.estateId;
      return change(prisma, actor, async (tx, audit) => {
        const t = await tx.technician.create({
          data: {
            estateId,
            accountId: account.id,
            name: input.name,
            skills: [...new Set(input.skills)],
            baseBuildingId: input.baseBuildingId ?? null,
            shiftStartMin: input.shiftStartMin ?? 480,
            shiftEndMin: input.shiftEndMin ?? 1080,
          },
        });
        await audit({
          action: 'technician.create',
          entity: 'technician',
          entityId: t.id,
          estateId,
          after: technicianView(t),
        });
        return technicianView(t);
      });
    },

    async list(actor: Acting, q: { estateId?: string }) {
      authorize(actor.principal, 'repair:read');
      if (actor.principal.role === 'resident') throw new AppError('FORBIDDEN');
      const estateId = estateFilter(actor.principal, q.estateId);
      const rows = await prisma.technician.findMany({ where: estateId ? { estateId } : {}, orderBy: { name: 'asc' } });
      return rows.map(technicianView);
    },

    async update(
      actor: Acting,
      id: string,
      input: Partial<Omit<TechnicianInput, 'accountId'>> & { onDuty?: boolean | undefined },
    ) {
      const t = await prisma.technician.findUnique({ where: { id } });
      if (!t) throw notFound('Technician');
      authorize(actor.principal, 'technician:manage', { estateId: t.estateId }, 'Technician');
      await checkBuilding(t.estateId, input.baseBuildingId);
      return change(prisma, actor, async (tx, audit) => {
        const after = await tx.technician.update({
          where: { id },
          data: {
            ...(input.name !== undefined ? { name: input.name } : {}),
            ...(input.skills !== undefined ? { skills: [...new Set(input.skills)] } : {}),
            ...(input.baseBuildingId !== undefined ? { baseBuildingId: input.baseBuildingId } : {}),
            ...(input.shiftStartMin !== undefined ? { shiftStartMin: input.shiftStartMin } : {}),
            ...(input.shiftEndMin !== undefined ? { shiftEndMin: input.shiftEndMin } : {}),
            ...(input.onDuty !== undefined ? { onDuty: input.onDuty } : {}),
          },
        });
        await audit({
          action: 'technician.update',
          entity: 'technician',
          entityId: id,
          estateId: t.estateId,
          before: technicianView(t),
          after: technicianView(after),
        });
        return technicianView(after);
      });
    },

    /** A technician's app reports where they are; the position is kept, not its history (PIPL: minimum). */
    async locate(actor: Acting, input: { lat: number; lng: number }) {
      authorize(actor.principal, 'technician:locate');
      const t = await prisma.technician.findUnique({ where: { accountId: actor.principal.accountId } });
      if (!t) throw notFound('Technician profile');
      return change(prisma, actor, async (tx, audit) => {
        const after = await tx.technician.update({
          where: { id: t.id },
          data: { latE6: Math.round(input.lat * E6), lngE6: Math.round(input.lng * E6), locatedAt: new Date() },
        });
        await audit({ action: 'technician.locate', entity: 'technician', entityId: t.id, estateId: t.estateId });
        return technicianView(after);
      });
    },

    async setBuildingPosition(actor: Acting, buildingId: string, input: { lat: number; lng: number }) {
      const b = await prisma.building.findUnique({ where: { id: buildingId } });
      if (!b) throw notFound('Building');
      authorize(actor.principal, 'technician:manage', { estateId: b.estateId }, 'Building');
      const data = { estateId: b.estateId, latE6: Math.round(input.lat * E6), lngE6: Math.round(input.lng * E6) };
      return change(prisma, actor, async (tx, audit) => {
        const before = await tx.buildingPosition.findUnique({ where: { buildingId } });
        await tx.buildingPosition.upsert({ where: { buildingId }, create: { buildingId, ...data }, update: data });
        await audit({
          action: 'building.position',
          entity: 'building',
          entityId: buildingId,
          estateId: b.estateId,
          before,
          after: data,
        });
        return { buildingId, lat: input.lat, lng: input.lng };
      });
    },
  };
}
