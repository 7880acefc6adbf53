// What every part of access management shares: the acting principal, wire ids, and the scope checks that go
// beyond the role matrix (a resident acts for their own person only, not for the rest of their household).
import { randomBytes } from 'node:crypto';
import { type Action, authorize, type Principal } from '../../core/authz.js';
import type { Actor } from '../../core/context.js';
import type { CloudDeps } from '../../core/deps.js';
import { AppError, notFound } from '../../core/errors.js';
import type { Tx } from '../../core/tx.js';

export type Acting = Actor & { principal: Principal };
type Db = CloudDeps['prisma'] | Tx;

/** Ids the gateways receive: protocols ID_PATTERN (lower case, no '/'), unguessable. */
export const wireId = (prefix: string) => `${prefix}-${randomBytes(8).toString('hex')}`;

export interface ScopedPerson {
  id: string;
  estateId: string;
  householdId: string;
  name: string;
}

/**
 * The person a credential or a history belongs to. Staff and admins reach any person of their estate; a resident
 * only themselves when `ownOnly` (their face, keys, PIN, history), else anyone of their household.
 */
export async function personInScope(
  db: Db,
  actor: Acting,
  personId: string,
  action: Action,
  ownOnly = true,
): Promise<ScopedPerson> {
  const person = await db.person.findUnique({
    where: { id: personId },
    select: { id: true, estateId: true, householdId: true, name: true, erasedAt: true },
  });
  if (!person || person.erasedAt) throw notFound('Person');
  authorize(actor.principal, action, { estateId: person.estateId, householdId: person.householdId }, 'Person');
  if (ownOnly && actor.principal.role === 'resident' && actor.principal.personId !== person.id) {
    throw notFound('Person');
  }
  return person;
}

/** An estate-wide object (a door, a group, the estate's visitors): staff of that estate, or an admin. */
export function estateInScope(actor: Acting, estateId: string, action: Action, what = 'Estate'): void {
  authorize(actor.principal, action);
  const p = actor.principal;
  if (p.role !== 'admin' && p.estateId !== estateId) throw notFound(what);
}

/** A person whose household has moved out keeps no way in. */
export async function requireActiveHousehold(db: Db, householdId: string): Promise<void> {
  const h = await db.household.findUnique({ where: { id: householdId }, select: { status: true } });
  if (h?.status !== 'active') throw new AppError('CONFLICT', 'the household has moved out');
}
