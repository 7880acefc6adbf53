// Consent per purpose (PIPL art. 14–15: specific, informed, withdrawable; art. 29: separate consent for sensitive
// data such as face templates). Withdrawing face_access publishes `consent.withdrawn` through the outbox in the
// same transaction, which a later issue turns into template deletion on every gateway.
import { authorize, type Principal } from '../../core/authz.js';
import type { Actor } from '../../core/context.js';
import type { CloudDeps } from '../../core/deps.js';
import { AppError, notFound } from '../../core/errors.js';
import { publish, TOPICS } from '../../core/outbox.js';
import { change } from '../../core/tx.js';
import type { PrismaClient } from '../../generated/prisma/client.js';
import { afterCommit, onFaceConsentWithdrawn } from '../access/lifecycle.js';

export const PURPOSES = ['face_access', 'notifications', 'analytics'] as const;
export type Purpose = (typeof PURPOSES)[number];
type Acting = Actor & { principal: Principal };

interface Row {
  id: string;
  personId: string;
  purpose: string;
  grantedAt: Date;
  withdrawnAt: Date | null;
}
const view = (c: Row) => ({
  id: c.id,
  personId: c.personId,
  purpose: c.purpose as Purpose,
  grantedAt: c.grantedAt.toISOString(),
  withdrawnAt: c.withdrawnAt?.toISOString() ?? null,
  active: c.withdrawnAt === null,
});

/** For face enrolment (a later issue): no template without a live face_access consent. */
export async function hasConsent(prisma: PrismaClient, personId: string, purpose: Purpose): Promise<boolean> {
  return (await prisma.consent.count({ where: { personId, purpose, withdrawnAt: null } })) > 0;
}

export function consentService(deps: CloudDeps) {
  const { prisma } = deps;
  const personInScope = async (actor: Acting, personId: string, action: 'consent:read' | 'consent:write') => {
    const person = await prisma.person.findUnique({ where: { id: personId } });
    if (!person || person.erasedAt) throw notFound('Person');
    authorize(actor.principal, action, { estateId: person.estateId, householdId: person.householdId }, 'Person');
    return person;
  };

  return {
    async list(actor: Acting, personId: string) {
      await personInScope(actor, personId, 'consent:read');
      return (await prisma.consent.findMany({ where: { personId }, orderBy: { grantedAt: 'asc' } })).map(view);
    },

    async grant(actor: Acting, personId: string, purpose: Purpose) {
      const person = await personInScope(actor, personId, 'consent:write');
      return change(prisma, actor, async (tx, audit) => {
        if (await tx.consent.findFirst({ where: { personId, purpose, withdrawnAt: null } })) {
          throw new AppError('CONFLICT', `consent for ${purpose} is already given`, '/body/purpose');
        }
        const c = await tx.consent.create({
          data: { estateId: person.estateId, personId, purpose, grantedBy: actor.principal.accountId },
        });
        await audit({
          action: 'consent.grant',
          entity: 'consent',
          entityId: c.id,
          estateId: person.estateId,
          after: view(c),
        });
        return view(c);
      });
    },

    async withdraw(actor: Acting, consentId: string) {
      const c = await prisma.consent.findUnique({ where: { id: consentId }, include: { person: true } });
      if (!c) throw notFound('Consent');
      authorize(
        actor.principal,
        'consent:write',
        { estateId: c.estateId, householdId: c.person.householdId },
        'Consent',
      );
      if (c.withdrawnAt) throw new AppError('CONFLICT', 'consent is already withdrawn');
      const withdrawn = await change(prisma, actor, async (tx, audit) => {
        const updated = await tx.consent.update({
          where: { id: c.id },
          data: { withdrawnAt: new Date(), withdrawnBy: actor.principal.accountId },
        });
        // no template outlives the consent: deleted here, revoked on the gateways once this commits
        if (c.purpose === 'face_access') await onFaceConsentWithdrawn(tx, c.personId);
        await publish(tx, TOPICS.consentWithdrawn, c.personId, {
          consentId: c.id,
          personId: c.personId,
          estateId: c.estateId,
          purpose: c.purpose,
          withdrawnAt: updated.withdrawnAt,
        });
        await audit({
          action: 'consent.withdraw',
          entity: 'consent',
          entityId: c.id,
          estateId: c.estateId,
          before: view(c),
          after: view(updated),
        });
        return view(updated);
      });
      await afterCommit(deps);
      return withdrawn;
    },
  };
}
