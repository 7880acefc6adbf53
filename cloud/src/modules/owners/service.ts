// The owner registry (业主档案): households in units, their members, and the sensitive fields of a person.
// Lists show masked phones only; the clear phone and ID number come from one endpoint whose every read,
// allowed or denied, is audited (PIPL art. 51: access to personal information is controlled and logged).
import { randomUUID } from 'node:crypto';
import { recordAudit } from '../../core/audit.js';
import { authorize, estateFilter, inScope, type Principal } from '../../core/authz.js';
import type { Actor } from '../../core/context.js';
import type { CloudDeps } from '../../core/deps.js';
import { AppError, notFound } from '../../core/errors.js';
import { decodeCursor, pageOf } from '../../core/pagination.js';
import { maskPhone, openPerson, phoneIndex, sealPerson } from '../../core/personal-data.js';
import { change } from '../../core/tx.js';
import { afterCommit, onMoveOut } from '../access/lifecycle.js';
import { type LoadedHousehold, loadHousehold, searchPersons } from './repository.js';

type Acting = Actor & { principal: Principal };

export interface MemberInput {
  name: string;
  relation: string;
  gender?: string | undefined;
  phone?: string | undefined;
  idNumber?: string | undefined;
}

const householdView = (h: LoadedHousehold) => ({
  id: h.id,
  estateId: h.estateId,
  status: h.status,
  movedInAt: h.movedInAt.toISOString(),
  movedOutAt: h.movedOutAt?.toISOString() ?? null,
  unit: { id: h.unit.id, number: h.unit.number, areaSqm: h.unit.areaCentiSqm / 100 },
  members: h.persons.map((p) => ({
    id: p.id,
    name: p.name,
    relation: p.relation,
    gender: p.gender,
    phoneMasked: maskPhone(p.phoneLast4),
    hasIdNumber: p.idNumberEnc !== null,
  })),
  vehicles: h.vehicles.map((v) => ({ id: v.id, plate: v.plate, parkingSpace: v.parkingSpace })),
});

/** What the audit log keeps of a person: never the clear sensitive values. */
const auditablePerson = (p: { name: string; relation: string; gender: string | null; phoneLast4?: string | null }) => ({
  name: p.name,
  relation: p.relation,
  gender: p.gender,
  phoneMasked: maskPhone(p.phoneLast4 ?? null),
});

export function ownerService(deps: CloudDeps) {
  const { prisma } = deps;

  function memberData(householdId: string, estateId: string, m: MemberInput) {
    const id = randomUUID();
    return {
      id,
      householdId,
      estateId,
      name: m.name,
      relation: m.relation,
      gender: m.gender ?? null,
      ...sealPerson(deps, id, { phone: m.phone ?? null, idNumber: m.idNumber ?? null }),
    };
  }

  async function householdInScope(actor: Acting, id: string, action: 'household:read' | 'household:write') {
    const h = await loadHousehold(prisma, id);
    if (!h) throw notFound('Household');
    authorize(actor.principal, action, { estateId: h.estateId, householdId: h.id }, 'Household');
    return h;
  }

  return {
    async search(
      actor: Acting,
      q: { estateId?: string; name?: string; phone?: string; unit?: string; limit?: number; cursor?: string },
    ) {
      authorize(actor.principal, 'household:search');
      const limit = q.limit ?? 20;
      const after = decodeCursor(q.cursor, 2);
      const rows = await searchPersons(prisma, {
        estateId: estateFilter(actor.principal, q.estateId),
        name: q.name,
        phoneBidx: q.phone ? phoneIndex(deps, q.phone) : undefined,
        unit: q.unit,
        after: after ? { name: String(after[0]), id: String(after[1]) } : undefined,
        limit: limit + 1,
      });
      const page = pageOf(rows, limit, (r) => [r.name, r.person_id]);
      return {
        items: page.items.map((r) => ({
          personId: r.person_id,
          householdId: r.household_id,
          estateId: r.estate_id,
          name: r.name,
          relation: r.relation,
          phoneMasked: maskPhone(r.phone_last4),
          unitNumber: r.unit_number,
        })),
        nextCursor: page.nextCursor,
      };
    },

    async get(actor: Acting, id: string) {
      return householdView(await householdInScope(actor, id, 'household:read'));
    },

    async create(actor: Acting, input: { unitId: string; movedInAt?: string | undefined; members: MemberInput[] }) {
      authorize(actor.principal, 'household:write');
      const unit = await prisma.unit.findUnique({ where: { id: input.unitId } });
      if (!unit || !inScope(actor.principal, { estateId: unit.estateId })) throw notFound('Unit');
      const id = await change(prisma, actor, async (tx, audit) => {
        if (await tx.household.findFirst({ where: { unitId: unit.id, status: 'active' } })) {
          throw new AppError('CONFLICT', 'the unit already has an active household', '/body/unitId');
        }
        const h = await tx.household.create({
          data: { estateId: unit.estateId, unitId: unit.id, movedInAt: new Date(input.movedInAt ?? Date.now()) },
        });
        const members = input.members.map((m) => memberData(h.id, unit.estateId, m));
        await tx.person.createMany({ data: members });
        await audit({
          action: 'household.create',
          entity: 'household',
          entityId: h.id,
          estateId: h.estateId,
          after: { unit: unit.number, members: members.map(auditablePerson) },
        });
        return h.id;
      });
      return this.get(actor, id);
    },

    async addMember(actor: Acting, householdId: string, m: MemberInput) {
      const h = await householdInScope(actor, householdId, 'household:write');
      if (h.status !== 'active') throw new AppError('CONFLICT', 'the household has moved out');
      await change(prisma, actor, async (tx, audit) => {
        const data = memberData(h.id, h.estateId, m);
        await tx.person.create({ data });
        await audit({
          action: 'person.create',
          entity: 'person',
          entityId: data.id,
          estateId: h.estateId,
          after: auditablePerson(data),
        });
      });
      return this.get(actor, householdId);
    },

    async updatePerson(actor: Acting, personId: string, input: Partial<MemberInput>) {
      const p = actor.principal;
      const person = await prisma.person.findUnique({ where: { id: personId } });
      if (!person || person.erasedAt) throw notFound('Person');
      authorize(p, 'person:write', { estateId: person.estateId, householdId: person.householdId }, 'Person');
      // Property-level rule (OWASP API3): residents keep their contact details current; identity and family
      // relation are attested by staff against documents.
      if (p.role === 'resident') {
        const locked = (['name', 'relation', 'idNumber'] as const).find((k) => input[k] !== undefined);
        if (locked) throw new AppError('FORBIDDEN', `a resident may not change ${locked}`, `/body/${locked}`);
      }
      return change(prisma, actor, async (tx, audit) => {
        const after = await tx.person.update({
          where: { id: personId },
          data: {
            ...(input.name ? { name: input.name } : {}),
            ...(input.relation ? { relation: input.relation } : {}),
            ...(input.gender ? { gender: input.gender } : {}),
            ...sealPerson(deps, personId, { phone: input.phone, idNumber: input.idNumber }),
          },
        });
        await audit({
          action: 'person.update',
          entity: 'person',
          entityId: personId,
          estateId: person.estateId,
          before: auditablePerson(person),
          after: { ...auditablePerson(after), idNumberChanged: input.idNumber !== undefined },
        });
        return { id: after.id, name: after.name, relation: after.relation, gender: after.gender };
      });
    },

    async revealSensitive(actor: Acting, personId: string) {
      const person = await prisma.person.findUnique({ where: { id: personId } });
      const event = {
        action: 'person.read_sensitive',
        entity: 'person',
        entityId: personId,
        estateId: person?.estateId,
      };
      try {
        if (!person || person.erasedAt) throw notFound('Person');
        authorize(
          actor.principal,
          'person:sensitive',
          { estateId: person.estateId, householdId: person.householdId },
          'Person',
        );
      } catch (err) {
        await recordAudit(prisma, actor, { ...event, outcome: 'denied' });
        throw err;
      }
      await recordAudit(prisma, actor, { ...event, after: { fields: ['phone', 'idNumber'] } });
      return { personId, ...openPerson(deps, person) };
    },

    async moveOut(actor: Acting, householdId: string, movedOutAt?: string) {
      const h = await householdInScope(actor, householdId, 'household:write');
      if (h.status !== 'active') throw new AppError('CONFLICT', 'the household has already moved out');
      await change(prisma, actor, async (tx, audit) => {
        const at = new Date(movedOutAt ?? Date.now());
        await tx.household.update({ where: { id: h.id }, data: { status: 'moved_out', movedOutAt: at } });
        // Their accounts stop working on the day they leave.
        await tx.account.updateMany({
          where: { personId: { in: h.persons.map((x) => x.id) }, disabledAt: null },
          data: { disabledAt: new Date() },
        });
        // every way in ends with the move-out: templates, keys, PINs, groups, visitor passes (access module)
        await onMoveOut(
          tx,
          h,
          h.persons.map((x) => x.id),
        );
        await audit({
          action: 'household.move_out',
          entity: 'household',
          entityId: h.id,
          estateId: h.estateId,
          after: { movedOutAt: at },
        });
      });
      await afterCommit(deps);
      return this.get(actor, householdId);
    },
  };
}
