// Appending to the hash-chained audit log. Appends are serialised by a transaction-scoped advisory lock so that
// each row's prev_hash is the hash of the row before it, even with several instances writing.
import { createHash } from 'node:crypto';
import type { Prisma, PrismaClient } from '../generated/prisma/client.js';
import { canonicalJson, type Json, toJson } from './canonical-json.js';
import type { Actor } from './context.js';

export const GENESIS_HASH = '0'.repeat(64);
const LOCK_ID = 4_242_002;

export interface AuditEvent {
  action: string;
  entity: string;
  entityId?: string | null;
  estateId?: string | null;
  outcome?: 'allowed' | 'denied';
  before?: unknown;
  after?: unknown;
}

export interface AuditRow {
  at: Date;
  actorId: string | null;
  actorRole: string | null;
  action: string;
  entity: string;
  entityId: string | null;
  estateId: string | null;
  outcome: string;
  before: Json | null;
  after: Json | null;
  requestId: string | null;
  ip: string | null;
  prevHash: string;
}

export function auditHash(row: AuditRow): string {
  const { at, ...rest } = row;
  return createHash('sha256')
    .update(canonicalJson({ ...rest, at: at.toISOString() }))
    .digest('hex');
}

// Prisma writes SQL NULL for an omitted Json field; `null` itself would need Prisma.DbNull.
const jsonField = (v: Json | null): Prisma.InputJsonValue | undefined => (v === null ? undefined : v);

export async function appendAudit(tx: Prisma.TransactionClient, actor: Actor, event: AuditEvent): Promise<void> {
  await tx.$executeRaw`SELECT 1 FROM (SELECT pg_advisory_xact_lock(${LOCK_ID})) AS locked`;
  const last = await tx.auditEntry.findFirst({ orderBy: { id: 'desc' }, select: { hash: true } });
  const row: AuditRow = {
    at: new Date(),
    actorId: actor.principal?.accountId ?? (actor.system ? `system:${actor.system}` : null),
    actorRole: actor.principal?.role ?? null,
    action: event.action,
    entity: event.entity,
    entityId: event.entityId ?? null,
    estateId: event.estateId ?? null,
    outcome: event.outcome ?? 'allowed',
    before: event.before === undefined ? null : toJson(event.before),
    after: event.after === undefined ? null : toJson(event.after),
    requestId: actor.requestId,
    ip: actor.ip,
    prevHash: last?.hash ?? GENESIS_HASH,
  };
  await tx.auditEntry.create({
    data: { ...row, before: jsonField(row.before), after: jsonField(row.after), hash: auditHash(row) },
  });
}

/** For events outside a business transaction (sensitive reads, denials). */
export function recordAudit(prisma: PrismaClient, actor: Actor, event: AuditEvent): Promise<void> {
  return prisma.$transaction((tx) => appendAudit(tx, actor, event));
}
