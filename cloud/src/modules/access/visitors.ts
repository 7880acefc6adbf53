// Visitors: a resident pre-registers a guest (name, phone — sealed —, purpose, window, doors they may open
// themselves); staff approve or reject, or the estate's rule approves at once. An approved visit gets a signed QR
// pass (protocols pass token, `pass` signing key: doors, window, maximum uses) that the gateways verify offline,
// and a share link to a public page showing the QR (visitor-page.ts), sent to the host through the notification
// outbox. Cancelling revokes the pass on the gateways.
import { randomBytes } from 'node:crypto';
import { type PassClaims, type Signer, signToken } from '@estate/protocols';
import { authorize } from '../../core/authz.js';
import type { CloudDeps } from '../../core/deps.js';
import { AppError, notFound } from '../../core/errors.js';
import { requestNotification } from '../../core/notify.js';
import { maskPhone } from '../../core/personal-data.js';
import { hashToken } from '../../core/tokens.js';
import { change, type Tx } from '../../core/tx.js';
import { type Acting, estateInScope, personInScope, requireActiveHousehold, wireId } from './common.js';
import { afterCommit, type PassItem, queueDesired, revocation } from './desired.js';
import { doorsOfPerson, ensureHouseholdAccess } from './groups.js';

const MAX_WINDOW_MS = 7 * 86_400_000;
export const phoneAad = (id: string) => `visitor_passes.phone:${id}`;
export const tokenAad = (id: string) => `visitor_passes.token:${id}`;

export interface VisitorInput {
  name: string;
  phone: string;
  purpose: string;
  validFrom: string;
  validTo: string;
  doors: string[];
  maxUses?: number | undefined;
}

type Row = Awaited<ReturnType<Tx['visitorPass']['findUniqueOrThrow']>>;
export const visitorView = (v: Row) => ({
  id: v.id,
  estateId: v.estateId,
  householdId: v.householdId,
  hostPersonId: v.hostPersonId,
  name: v.visitorName,
  phoneMasked: maskPhone(v.phoneLast4) ?? '',
  purpose: v.purpose,
  validFrom: v.validFrom.toISOString(),
  validTo: v.validTo.toISOString(),
  doors: v.doors as string[],
  maxUses: v.maxUses,
  status: v.status,
  decisionNote: v.decisionNote,
});

/** An approved visit as the gateways check its pass: the same doors, window and uses the signed token carries. */
export const passItem = (v: Row): PassItem => ({
  kind: 'pass',
  id: v.id,
  doors: v.doors as string[],
  validFrom: v.validFrom.getTime(),
  validTo: v.validTo.getTime(),
  maxUses: v.maxUses,
});

export function visitorService(deps: CloudDeps) {
  const { prisma, keyRing, signing } = deps;

  const visitorInScope = async (actor: Acting, id: string, action: 'visitor:decide' | 'visitor:register') => {
    authorize(actor.principal, action); // 403 for a role that may never, before the visit is looked up
    const v = await prisma.visitorPass.findUnique({ where: { id } });
    if (!v) throw notFound('Visitor');
    if (action === 'visitor:decide') estateInScope(actor, v.estateId, action, 'Visitor');
    else
      await personInScope(prisma, actor, v.hostPersonId, action, false).catch(() =>
        Promise.reject(notFound('Visitor')),
      );
    return v;
  };

  /** Approval inside the caller's transaction: signs the pass, makes the share link, tells the host. */
  const approveIn = async (tx: Tx, v: Row, decidedBy: string, origin: string, signer: Signer) => {
    const claims: PassClaims = {
      typ: 'pass',
      kid: signer.keyId,
      id: v.id,
      estate: v.estateId,
      doors: v.doors as string[],
      nbf: v.validFrom.getTime(),
      exp: v.validTo.getTime(),
      max: v.maxUses,
    };
    const share = randomBytes(32).toString('base64url');
    const row = await tx.visitorPass.update({
      where: { id: v.id },
      data: {
        status: 'approved',
        decidedBy,
        decidedAt: new Date(),
        tokenEnc: keyRing.seal(signToken(claims, signer), tokenAad(v.id)),
        shareHash: hashToken(share),
        shareExpiresAt: v.validTo,
      },
    });
    await queueDesired(tx, v.estateId, 'passes', { upserts: [passItem(v)] });
    const shareUrl = `${origin}/v/${share}`;
    await tellHost(
      tx,
      row,
      'visitor.approved',
      `Visit of ${row.visitorName} approved`,
      `Send your visitor this link: ${shareUrl}`,
    );
    return { row, shareUrl };
  };

  const tellHost = async (tx: Tx, v: Row, kind: string, title: string, body: string) => {
    const accounts = await tx.account.findMany({
      where: { personId: v.hostPersonId, disabledAt: null },
      select: { id: true },
    });
    await requestNotification(tx, v.id, {
      kind,
      estateId: v.estateId,
      accountIds: accounts.map((a) => a.id),
      title,
      body,
      channels: ['push', 'sms'],
    });
  };

  return {
    async register(actor: Acting, hostPersonId: string, b: VisitorInput, origin: string) {
      const host = await personInScope(prisma, actor, hostPersonId, 'visitor:register');
      await requireActiveHousehold(prisma, host.householdId);
      const from = new Date(b.validFrom);
      const to = new Date(b.validTo);
      if (!(to > from)) throw new AppError('BAD_REQUEST', 'the visit must end after it starts', '/body/validTo');
      if (to.getTime() <= Date.now()) throw new AppError('BAD_REQUEST', 'the visit is over already', '/body/validTo');
      if (to.getTime() - from.getTime() > MAX_WINDOW_MS) {
        throw new AppError('BAD_REQUEST', 'a visit lasts at most 7 days', '/body/validTo');
      }
      const id = wireId('pass');
      const signer = await signing.signer('pass'); // before the transaction (see ble-keys.ts)
      const result = await change(prisma, actor, async (tx, audit) => {
        await ensureHouseholdAccess(tx, host);
        const allowed = await doorsOfPerson(tx, host.id);
        const i = b.doors.findIndex((d) => !allowed.has(d));
        if (i >= 0)
          throw new AppError('DOORS_NOT_ALLOWED', `the host may not open door ${b.doors[i]}`, `/body/doors/${i}`);
        const settings = await tx.accessSettings.findUnique({ where: { estateId: host.estateId } });
        let row = await tx.visitorPass.create({
          data: {
            id,
            estateId: host.estateId,
            householdId: host.householdId,
            hostPersonId: host.id,
            visitorName: b.name,
            phoneEnc: keyRing.seal(b.phone, phoneAad(id)),
            phoneLast4: b.phone.slice(-4),
            purpose: b.purpose,
            validFrom: from,
            validTo: to,
            doors: b.doors,
            maxUses: b.maxUses ?? 1,
            createdBy: actor.principal.accountId,
          },
        });
        let shareUrl: string | null = null;
        if (settings?.visitorAutoApprove)
          ({ row, shareUrl } = await approveIn(tx, row, actor.principal.accountId, origin, signer));
        await audit({
          action: 'visitor.register',
          entity: 'visitor_pass',
          entityId: id,
          estateId: host.estateId,
          after: { ...visitorView(row), autoApproved: !!shareUrl },
        });
        return { ...visitorView(row), shareUrl };
      });
      await afterCommit(deps);
      return result;
    },

    async decide(actor: Acting, id: string, approve: boolean, note: string | undefined, origin: string) {
      const v = await visitorInScope(actor, id, 'visitor:decide');
      if (v.status !== 'pending') throw new AppError('CONFLICT', `the visit is ${v.status}, not pending`);
      if (approve && v.validTo.getTime() <= Date.now()) throw new AppError('CONFLICT', 'the visit is over already');
      const signer = await signing.signer('pass');
      const result = await change(prisma, actor, async (tx, audit) => {
        // the status guard makes a double approval (two staff at once) fail instead of signing two passes
        const claimed = await tx.visitorPass.updateMany({
          where: { id, status: 'pending' },
          data: { decisionNote: note ?? null },
        });
        if (claimed.count !== 1) throw new AppError('CONFLICT', 'the visit was decided meanwhile');
        let shareUrl: string | null = null;
        let row: Row;
        if (approve) ({ row, shareUrl } = await approveIn(tx, v, actor.principal.accountId, origin, signer));
        else {
          row = await tx.visitorPass.update({
            where: { id },
            data: { status: 'rejected', decidedBy: actor.principal.accountId, decidedAt: new Date() },
          });
          await tellHost(tx, row, 'visitor.rejected', `Visit of ${row.visitorName} not approved`, note ?? '');
        }
        await audit({
          action: approve ? 'visitor.approve' : 'visitor.reject',
          entity: 'visitor_pass',
          entityId: id,
          estateId: v.estateId,
          before: { status: v.status },
          after: { status: row.status, note },
        });
        return { ...visitorView(row), shareUrl };
      });
      await afterCommit(deps);
      return result;
    },

    async cancel(actor: Acting, id: string) {
      const v = await visitorInScope(actor, id, 'visitor:register');
      if (v.status !== 'pending' && v.status !== 'approved') throw new AppError('CONFLICT', `the visit is ${v.status}`);
      const row = await change(prisma, actor, async (tx, audit) => {
        const r = await cancelPass(tx, v, 'cancelled');
        await audit({
          action: 'visitor.cancel',
          entity: 'visitor_pass',
          entityId: id,
          estateId: v.estateId,
          before: { status: v.status },
        });
        return r;
      });
      await afterCommit(deps);
      return visitorView(row);
    },

    /** A fresh share link for an approved visit (the old link stops working). */
    async reshare(actor: Acting, id: string, origin: string) {
      const v = await visitorInScope(actor, id, 'visitor:register');
      if (v.status !== 'approved') throw new AppError('CONFLICT', `the visit is ${v.status}, not approved`);
      const share = randomBytes(32).toString('base64url');
      await prisma.visitorPass.update({ where: { id }, data: { shareHash: hashToken(share) } });
      return { shareUrl: `${origin}/v/${share}` };
    },

    async listForHousehold(actor: Acting, hostPersonId: string) {
      await personInScope(prisma, actor, hostPersonId, 'visitor:register', false);
      const rows = await prisma.visitorPass.findMany({
        where: { hostPersonId },
        orderBy: { createdAt: 'desc' },
        take: 100,
      });
      return rows.map(visitorView);
    },
  };
}

/** Cancels a pending or approved visit in the caller's transaction; an issued pass is revoked on the gateways. */
export async function cancelPass(tx: Tx, v: Row, reason: string): Promise<Row> {
  const row = await tx.visitorPass.update({
    where: { id: v.id },
    data: { status: 'cancelled', shareHash: null, tokenEnc: null },
  });
  if (v.status === 'approved') {
    await queueDesired(tx, v.estateId, 'passes', { deletes: [{ kind: 'pass', id: v.id }] });
    await queueDesired(tx, v.estateId, 'revocations', { upserts: [revocation('pass', v.id, reason)] });
  }
  return row;
}

/** The signed pass of an approved visit, as its share page shows it in the QR code (for the demo and operators). */
export async function passTokenOf(deps: Pick<CloudDeps, 'prisma' | 'keyRing'>, visitId: string): Promise<string> {
  const v = await deps.prisma.visitorPass.findUnique({ where: { id: visitId } });
  if (!v?.tokenEnc) throw notFound('Approved visit');
  return deps.keyRing.open(v.tokenEnc, tokenAad(visitId));
}
