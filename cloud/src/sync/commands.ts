// Remote commands to a gateway (unlock, hold open, lockdown, release, resync): issued by estate staff, recorded and
// audited with the issuer, signed with the `command` key, valid for seconds only (the gateway refuses one that
// arrives late: a door must not open late), published on the gateway's cmd topic; its ack is recorded.
import { randomBytes } from 'node:crypto';
import { encode, type GatewayCommand, signDocument, topicFor } from '@estate/protocols';
import { inScope, type Principal } from '../core/authz.js';
import type { Actor } from '../core/context.js';
import type { CloudDeps } from '../core/deps.js';
import { AppError, notFound } from '../core/errors.js';
import { change } from '../core/tx.js';
import type { GatewayCommand as CommandRow } from '../generated/prisma/client.js';
import { syncLinkOf } from './publisher.js';

export const COMMAND_ACTIONS = ['unlock', 'hold_open', 'lockdown', 'release', 'resync'] as const;
export type CommandAction = (typeof COMMAND_ACTIONS)[number];
/** Long enough for one broker hop and a retry, short enough that a delayed command is refused, not run late. */
export const COMMAND_TTL_MS = 10_000;
const MAY_COMMAND: readonly Principal['role'][] = ['admin', 'staff'];

export interface CommandRequest {
  action: CommandAction;
  doorId?: string | undefined;
  durationS?: number | undefined;
}

export type CommandView = ReturnType<typeof commandView>;

export const commandView = (c: CommandRow) => ({
  cmdId: c.cmdId,
  gatewayId: c.gatewayId,
  action: c.action,
  doorId: c.doorId,
  durationS: c.durationS,
  issuedBy: c.issuedBy,
  issuerRole: c.issuerRole,
  issuedAt: c.issuedAt.toISOString(),
  expiresAt: c.expiresAt.toISOString(),
  status: c.status,
  reason: c.reason,
  detail: c.detail,
  ackedAt: c.ackedAt?.toISOString() ?? null,
});

/** The gateway, if the caller may command it: residents, technicians and installers never; staff their estate. */
async function commandable(deps: CloudDeps, p: Principal, gatewayId: string) {
  if (!MAY_COMMAND.includes(p.role)) throw new AppError('FORBIDDEN');
  const gw = await deps.prisma.gateway.findUnique({ where: { id: gatewayId } });
  if (!gw || !inScope(p, { estateId: gw.estateId })) throw notFound('Gateway');
  return gw;
}

export async function issueCommand(
  deps: CloudDeps,
  actor: Actor & { principal: Principal },
  gatewayId: string,
  req: CommandRequest,
  now = Date.now(),
): Promise<CommandView> {
  const gw = await commandable(deps, actor.principal, gatewayId);
  if (gw.status === 'retired') throw new AppError('GATEWAY_RETIRED');
  // an unlock or hold-open of every door at once is not offered: name the door
  if ((req.action === 'unlock' || req.action === 'hold_open') && !req.doorId) {
    throw new AppError('VALIDATION', `${req.action} needs a doorId`, '/body/doorId');
  }
  const link = syncLinkOf(deps);
  if (!link?.connected) throw new AppError('NOT_READY', 'the cloud has no broker link to send commands on now');
  const cmdId = `c${randomBytes(12).toString('hex')}`;
  const issuedAt = now;
  const expiresAt = now + COMMAND_TTL_MS;
  const row = await change(deps.prisma, actor, async (tx, audit) => {
    const created = await tx.gatewayCommand.create({
      data: {
        cmdId,
        gatewayId: gw.id,
        estateId: gw.estateId,
        action: req.action,
        doorId: req.doorId ?? null,
        durationS: req.durationS ?? null,
        issuedBy: actor.principal.accountId,
        issuerRole: actor.principal.role,
        issuedAt: new Date(issuedAt),
        expiresAt: new Date(expiresAt),
      },
    });
    await audit({
      action: 'gateway.command',
      entity: 'gateway',
      entityId: gw.id,
      estateId: gw.estateId,
      after: { cmdId, action: req.action, doorId: req.doorId ?? null, durationS: req.durationS ?? null, expiresAt },
    });
    return created;
  });
  const signed = signDocument<GatewayCommand>(
    {
      cmdId,
      issuedAt,
      expiresAt,
      issuer: { userId: actor.principal.accountId, role: actor.principal.role },
      action: req.action,
      ...(req.doorId ? { doorId: req.doorId } : {}),
      ...(req.durationS ? { durationS: req.durationS } : {}),
    },
    await deps.signing.signer('command'),
  );
  try {
    await link.publish(topicFor('gatewayCommand', { gatewayId: gw.id }), encode('gatewayCommand', signed));
  } catch {
    await deps.prisma.gatewayCommand.update({ where: { cmdId }, data: { status: 'undelivered' } });
    throw new AppError('NOT_READY', 'the command could not be handed to the broker');
  }
  return commandView(row);
}

export async function readCommand(deps: CloudDeps, p: Principal, gatewayId: string, cmdId: string) {
  await commandable(deps, p, gatewayId);
  const c = await deps.prisma.gatewayCommand.findFirst({ where: { cmdId, gatewayId } });
  if (!c) throw notFound('Command');
  return commandView(c);
}

/**
 * A lockdown or its release for a whole estate: one signed command per active gateway, each recorded, audited and
 * acknowledged on its own (a gateway that is offline refuses it later as expired, never runs it late).
 */
export async function issueEstateCommand(
  deps: CloudDeps,
  actor: Actor & { principal: Principal },
  estateId: string,
  req: { action: 'lockdown' | 'release'; durationS?: number | undefined },
): Promise<CommandView[]> {
  if (!MAY_COMMAND.includes(actor.principal.role)) throw new AppError('FORBIDDEN');
  if (!inScope(actor.principal, { estateId })) throw notFound('Estate');
  const gateways = await deps.prisma.gateway.findMany({
    where: { estateId, status: 'active' },
    select: { id: true },
    orderBy: { id: 'asc' },
  });
  const out: CommandView[] = [];
  for (const g of gateways) out.push(await issueCommand(deps, actor, g.id, req));
  return out;
}

/** A command for one door, named by the access module's door id: it goes to the gateway the door is on. */
export async function issueDoorCommand(
  deps: CloudDeps,
  actor: Actor & { principal: Principal },
  doorId: string,
  req: { action: 'unlock' | 'hold_open' | 'lockdown' | 'release'; durationS?: number | undefined },
): Promise<CommandView> {
  if (!MAY_COMMAND.includes(actor.principal.role)) throw new AppError('FORBIDDEN');
  const door = await deps.prisma.accessDoor.findUnique({ where: { id: doorId } });
  if (!door || !inScope(actor.principal, { estateId: door.estateId })) throw notFound('Door');
  return issueCommand(deps, actor, door.gatewayId, { ...req, doorId: door.id });
}
