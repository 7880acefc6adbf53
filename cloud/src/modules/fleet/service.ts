// Gateway records for installers and staff: create one with its claim code, list and read them, issue a fresh
// code (the old one dies), retire a box. Provisioning (the box's side) is provision.ts; pairing is pairing.ts.
import { randomBytes } from 'node:crypto';
import type { Principal } from '../../core/authz.js';
import { authorize } from '../../core/authz.js';
import type { Actor } from '../../core/context.js';
import type { CloudDeps } from '../../core/deps.js';
import { AppError, notFound } from '../../core/errors.js';
import { change } from '../../core/tx.js';
import { brokerAccountsOf } from '../../ingest/dynsec.js';
import { claimView, DEFAULT_CLAIM_TTL_HOURS, issueClaim } from './claims.js';
import { gatewayAudit, gatewayDetail, gatewaySummary } from './views.js';

type UserActor = Actor & { principal: Principal };

/** `gw-` + 10 base32 characters: a wire id (protocols ID_PATTERN), also the MQTT client id and username. */
export function newGatewayId(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  return `gw-${[...randomBytes(10)].map((b) => alphabet[b & 31]).join('')}`;
}

export function fleetService(deps: CloudDeps) {
  const { prisma } = deps;

  /** The gateway, if the actor may see it; 404 otherwise (ids of other estates cannot be probed). */
  const load = async (actor: UserActor, id: string, action: 'gateway:read' | 'gateway:manage') => {
    const g = await prisma.gateway.findUnique({
      where: { id },
      include: { devices: { orderBy: { deviceId: 'asc' } } },
    });
    if (!g) {
      authorize(actor.principal, action); // a resident learns FORBIDDEN, not whether the id exists
      throw notFound('Gateway');
    }
    authorize(actor.principal, action, { estateId: g.estateId }, 'Gateway');
    return g;
  };

  return {
    load,

    async create(actor: UserActor, estateId: string, body: { name: string; claimTtlHours?: number }, cloudUrl: string) {
      authorize(actor.principal, 'gateway:manage', { estateId }, 'Estate');
      if (!(await prisma.estate.findUnique({ where: { id: estateId }, select: { id: true } }))) {
        throw notFound('Estate');
      }
      const claim = issueClaim(body.claimTtlHours ?? DEFAULT_CLAIM_TTL_HOURS);
      const g = await change(prisma, actor, async (tx, audit) => {
        const created = await tx.gateway.create({
          data: {
            id: newGatewayId(),
            estateId,
            name: body.name,
            claimHash: claim.hash,
            claimExpiresAt: claim.expiresAt,
            createdBy: actor.principal.accountId,
          },
        });
        await audit({
          action: 'gateway.create',
          entity: 'gateway',
          entityId: created.id,
          estateId,
          after: gatewayAudit(created),
        });
        return created;
      });
      return { ...gatewayDetail({ ...g, devices: [] }), claim: await claimView(claim, cloudUrl) };
    },

    async list(actor: UserActor, estateId: string) {
      authorize(actor.principal, 'gateway:read', { estateId }, 'Estate');
      const rows = await prisma.gateway.findMany({
        where: { estateId },
        include: { _count: { select: { devices: true } } },
        orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
      });
      return rows.map((g) => gatewaySummary(g, g._count.devices));
    },

    async detail(actor: UserActor, id: string) {
      return gatewayDetail(await load(actor, id, 'gateway:read'));
    },

    /** A fresh claim code; the previous one stops working. An active gateway may be re-claimed by a replacement box. */
    async reissueClaim(actor: UserActor, id: string, ttlHours: number | undefined, cloudUrl: string) {
      const g = await load(actor, id, 'gateway:manage');
      if (g.status === 'retired') throw new AppError('GATEWAY_RETIRED');
      const claim = issueClaim(ttlHours ?? DEFAULT_CLAIM_TTL_HOURS);
      await change(prisma, actor, async (tx, audit) => {
        const updated = await tx.gateway.update({
          where: { id },
          data: { claimHash: claim.hash, claimExpiresAt: claim.expiresAt },
        });
        await audit({
          action: 'gateway.claim_code',
          entity: 'gateway',
          entityId: id,
          estateId: g.estateId,
          before: gatewayAudit(g),
          after: gatewayAudit(updated),
        });
      });
      return claimView(claim, cloudUrl);
    },

    /** The box is taken out of service: its uplink secret and key stop working, its claim code dies. */
    async retire(actor: UserActor, id: string) {
      const g = await load(actor, id, 'gateway:manage');
      if (g.status === 'retired') throw new AppError('GATEWAY_RETIRED');
      const updated = await change(prisma, actor, async (tx, audit) => {
        // an external broker checks the secret itself: its account goes first, or the retirement does not happen
        await brokerAccountsOf(deps)?.remove(id);
        const u = await tx.gateway.update({
          where: { id },
          data: { status: 'retired', claimHash: null, claimExpiresAt: null, secretHash: null, online: false },
          include: { devices: { orderBy: { deviceId: 'asc' } } },
        });
        await audit({
          action: 'gateway.retire',
          entity: 'gateway',
          entityId: id,
          estateId: g.estateId,
          before: gatewayAudit(g),
          after: gatewayAudit(u),
        });
        return u;
      });
      return gatewayDetail(updated);
    },
  };
}
export type FleetService = ReturnType<typeof fleetService>;
