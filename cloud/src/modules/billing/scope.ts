// What every billing operation shares: scoped lookups that authorise as they load, the channel registry,
// and the bill view. Operations live in ops-*.ts; service.ts puts them together.
// The billing domain: fee schedules, bill runs, notes, payment orders and their signed notifications, refunds
// and reconciliation. Every change commits with its audit row; money is fen (integers) throughout.
import { randomBytes } from 'node:crypto';
import type { Principal } from '../../core/authz.js';
import type { Actor } from '../../core/context.js';
import type { CloudDeps } from '../../core/deps.js';
import { AppError, notFound } from '../../core/errors.js';
import type { Tx } from '../../core/tx.js';
import type { Prisma } from '../../generated/prisma/client.js';
import type { Channels } from './channels/config.js';
import { CHANNELS, type ChannelName, type PaymentChannel } from './channels/types.js';
import { n } from './money.js';
import { authorizeBilling, type BillingAction } from './policy.js';
import { BILLING_TOPICS } from './topics.js';

export type Acting = Actor & { principal: Principal };
export const ORDER_TTL_MS = 30 * 60_000;

export const billView = (b: {
  id: string;
  number: string;
  estateId: string;
  buildingId: string;
  householdId: string;
  period: string;
  kind: string;
  correctsBillId: string | null;
  reason: string | null;
  totalFen: bigint;
  paidFen: bigint;
  currency: string;
  issuedAt: Date;
  dueOn: Date;
  items?: {
    position: number;
    kind: string;
    description: string;
    basis: unknown;
    basisText: string;
    amountFen: bigint;
  }[];
}) => ({
  id: b.id,
  number: b.number,
  estateId: b.estateId,
  buildingId: b.buildingId,
  householdId: b.householdId,
  period: b.period,
  kind: b.kind,
  correctsBillId: b.correctsBillId,
  reason: b.reason,
  totalFen: n(b.totalFen),
  paidFen: n(b.paidFen),
  outstandingFen: b.kind === 'credit_note' ? 0 : n(b.totalFen) - n(b.paidFen),
  status:
    b.kind === 'credit_note'
      ? 'credit'
      : n(b.paidFen) >= n(b.totalFen)
        ? 'paid'
        : n(b.paidFen) > 0
          ? 'partially_paid'
          : 'unpaid',
  currency: b.currency,
  issuedAt: b.issuedAt.toISOString(),
  dueOn: b.dueOn.toISOString().slice(0, 10),
  ...(b.items
    ? {
        items: [...b.items]
          .sort((x, y) => x.position - y.position)
          .map((i) => ({
            kind: i.kind,
            description: i.description,
            basis: i.basis as Record<string, unknown>,
            basisText: i.basisText,
            amountFen: n(i.amountFen),
          })),
      }
    : {}),
});
export type BillView = ReturnType<typeof billView>;

export const tradeNo = (prefix: string) =>
  `${prefix}${Date.now().toString(36).toUpperCase()}${randomBytes(6).toString('hex').toUpperCase()}`;

export function billingScope(deps: CloudDeps, channels: Channels) {
  const { prisma } = deps;

  async function estateIn(actor: Acting, estateId: string, action: BillingAction) {
    const estate = await prisma.estate.findUnique({ where: { id: estateId } });
    if (!estate) throw notFound('Estate');
    authorizeBilling(actor.principal, action, { estateId }, 'Estate');
    return estate;
  }
  async function householdIn(actor: Acting, householdId: string, action: BillingAction) {
    const h = await prisma.household.findUnique({ where: { id: householdId }, include: { unit: true } });
    if (!h) throw notFound('Household');
    authorizeBilling(actor.principal, action, { estateId: h.estateId, householdId: h.id }, 'Household');
    return h;
  }
  async function billIn(actor: Acting, billId: string, action: BillingAction) {
    const b = await prisma.bill.findUnique({ where: { id: billId }, include: { items: true } });
    if (!b) throw notFound('Bill');
    authorizeBilling(actor.principal, action, { estateId: b.estateId, householdId: b.householdId }, 'Bill');
    return b;
  }
  function channel(name: string): PaymentChannel {
    const c = CHANNELS.includes(name as ChannelName) ? channels.byName.get(name as ChannelName) : undefined;
    if (!c) throw new AppError('NOT_FOUND', `payment channel ${name} is not configured`);
    return c;
  }

  async function noteIssued(tx: Tx, householdId: string, payload: Record<string, unknown>) {
    await tx.outboxEvent.create({
      data: { topic: BILLING_TOPICS.noteIssued, aggregateId: householdId, payload: payload as Prisma.InputJsonValue },
    });
  }

  return { prisma, deps, channels, estateIn, householdIn, billIn, channel, noteIssued };
}
export type BillingScope = ReturnType<typeof billingScope>;
