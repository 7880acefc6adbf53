// PIPL rights and duties: export everything held on one person (art. 45, portability), and erase the personal
// data of owners who moved out longer ago than the retention period (art. 19, 47). What accounting must keep —
// the household, its unit and dates, renovation filings — stays, detached from any name or number.

import { recordAudit } from '../../core/audit.js';
import { authorize, type Principal } from '../../core/authz.js';
import type { Actor } from '../../core/context.js';
import type { CloudDeps } from '../../core/deps.js';
import { notFound } from '../../core/errors.js';
import { publish, TOPICS } from '../../core/outbox.js';
import { openPerson } from '../../core/personal-data.js';
import { change } from '../../core/tx.js';

type Acting = Actor & { principal: Principal };
const ERASED_NAME = '(已删除)';

export function privacyService(deps: CloudDeps) {
  const { prisma, blobs } = deps;
  return {
    async exportPerson(actor: Acting, personId: string) {
      const person = await prisma.person.findUnique({
        where: { id: personId },
        include: {
          household: { include: { unit: true, vehicles: true, renovations: true } },
          account: { select: { login: true, role: true, createdAt: true, disabledAt: true } },
          attachments: {
            select: { id: true, kind: true, fileName: true, contentType: true, sizeBytes: true, createdAt: true },
          },
          consents: true,
        },
      });
      const event = { action: 'person.export', entity: 'person', entityId: personId, estateId: person?.estateId };
      try {
        if (!person || person.erasedAt) throw notFound('Person');
        authorize(
          actor.principal,
          'privacy:export',
          { estateId: person.estateId, householdId: person.householdId },
          'Person',
        );
      } catch (err) {
        await recordAudit(prisma, actor, { ...event, outcome: 'denied' });
        throw err;
      }
      await recordAudit(prisma, actor, event);
      const { household, account, attachments, consents } = person;
      return {
        exportedAt: new Date().toISOString(),
        person: {
          id: person.id,
          name: person.name,
          relation: person.relation,
          gender: person.gender,
          ...openPerson(deps, person),
          createdAt: person.createdAt.toISOString(),
        },
        household: {
          id: household.id,
          status: household.status,
          unit: household.unit.number,
          areaSqm: household.unit.areaCentiSqm / 100,
          movedInAt: household.movedInAt.toISOString(),
          movedOutAt: household.movedOutAt?.toISOString() ?? null,
        },
        vehicles: household.vehicles.map((v) => ({ plate: v.plate, parkingSpace: v.parkingSpace })),
        renovations: household.renovations.map((r) => ({
          description: r.description,
          status: r.status,
          startsOn: r.startsOn,
        })),
        account,
        attachments,
        consents: consents.map((c) => ({ purpose: c.purpose, grantedAt: c.grantedAt, withdrawnAt: c.withdrawnAt })),
      };
    },

    /** Erases people of households moved out before `now - retentionDays`. Idempotent; returns how many. */
    async runRetention(actor: Actor, now = new Date()): Promise<{ erasedPersons: number; households: number }> {
      const cutoff = new Date(now.getTime() - deps.config.retentionDays * 86_400_000);
      const due = await prisma.household.findMany({
        where: { status: 'moved_out', movedOutAt: { lt: cutoff }, persons: { some: { erasedAt: null } } },
        include: { persons: { where: { erasedAt: null }, include: { attachments: true } } },
      });
      let erasedPersons = 0;
      for (const h of due) {
        const ids = h.persons.map((p) => p.id);
        await change(prisma, actor, async (tx, audit) => {
          await tx.person.updateMany({
            where: { id: { in: ids } },
            data: {
              name: ERASED_NAME,
              gender: null,
              phoneEnc: null,
              phoneBidx: null,
              phoneLast4: null,
              idNumberEnc: null,
              erasedAt: now,
            },
          });
          await tx.attachment.deleteMany({ where: { personId: { in: ids } } });
          await tx.vehicle.deleteMany({ where: { householdId: h.id } });
          await tx.consent.updateMany({
            where: { personId: { in: ids }, withdrawnAt: null },
            data: { withdrawnAt: now },
          });
          const accounts = await tx.account.findMany({ where: { personId: { in: ids } }, select: { id: true } });
          for (const a of accounts) {
            await tx.account.update({
              where: { id: a.id },
              data: { login: `erased-${a.id}`, passwordHash: '', disabledAt: now },
            });
          }
          for (const id of ids) await publish(tx, TOPICS.personErased, id, { personId: id, estateId: h.estateId });
          await audit({
            action: 'privacy.erase',
            entity: 'household',
            entityId: h.id,
            estateId: h.estateId,
            after: { persons: ids.length },
          });
        });
        // Blobs go after the commit: a crash in between leaves unreferenced ciphertext, never a dangling row.
        for (const p of h.persons) for (const a of p.attachments) await blobs.delete(a.storageKey);
        erasedPersons += ids.length;
      }
      return { erasedPersons, households: due.length };
    },
  };
}
