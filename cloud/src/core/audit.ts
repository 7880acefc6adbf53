// Appending to the hash-chained audit log: each row's prev_hash is the hash of the row before it, even with several
// instances writing (see appendAudits).
import { createHash } from 'node:crypto';
import { Prisma, type PrismaClient } from '../generated/prisma/client.js';
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

const jsonParam = (v: Json | null) => (v === null ? null : JSON.stringify(v));
const headSql = Prisma.sql`coalesce((SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1), ${GENESIS_HASH})`;

function rowOf(actor: Actor, event: AuditEvent, at: Date, prevHash: string): AuditRow {
  return {
    at,
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
    prevHash,
  };
}

/** Inserts the chained rows only if the chain's head is still `head` (read again by this statement). */
async function insertAfter(tx: Prisma.TransactionClient, actor: Actor, events: readonly AuditEvent[], head: string) {
  const at = new Date();
  let prev = head;
  const values = events.map((event, i) => {
    const row = rowOf(actor, event, at, prev);
    prev = auditHash(row);
    return Prisma.sql`(${i}, ${row.at}::timestamptz, ${row.actorId}, ${row.actorRole}, ${row.action}, ${row.entity},
      ${row.entityId}, ${row.estateId}::uuid, ${row.outcome}, ${jsonParam(row.before)}::jsonb,
      ${jsonParam(row.after)}::jsonb, ${row.requestId}, ${row.ip}, ${row.prevHash}, ${prev})`;
  });
  return tx.$executeRaw`
    INSERT INTO audit_log (at, actor_id, actor_role, action, entity, entity_id, estate_id, outcome, before, after,
                           request_id, ip, prev_hash, hash)
    SELECT at, actor_id, actor_role, action, entity, entity_id, estate_id, outcome, before, after,
           request_id, ip, prev_hash, hash
    FROM (VALUES ${Prisma.join(values)}) AS v(ord, at, actor_id, actor_role, action, entity, entity_id, estate_id,
          outcome, before, after, request_id, ip, prev_hash, hash)
    WHERE ${headSql} = ${head}
    ORDER BY ord`;
}

/**
 * Appends events, in order, to the chain in two statements. Appends are serialised by a transaction-scoped
 * advisory lock. The first statement takes it and reads the head, but with the snapshot of the statement's start,
 * which can miss a row another writer committed while this one waited for the lock; so the insert (whose
 * snapshot is taken with the lock held) checks the head is still the one read and otherwise inserts nothing, and
 * the head is then read again under the lock. A row's prev_hash is thus always the hash of the row before it.
 */
export async function appendAudits(
  tx: Prisma.TransactionClient,
  actor: Actor,
  events: readonly AuditEvent[],
): Promise<void> {
  if (events.length === 0) return;
  const [locked] = await tx.$queryRaw<{ hash: string }[]>`
    SELECT ${headSql} AS hash FROM (SELECT pg_advisory_xact_lock(${LOCK_ID})) AS locked`;
  if ((await insertAfter(tx, actor, events, locked?.hash ?? GENESIS_HASH)) === events.length) return;
  const [head] = await tx.$queryRaw<{ hash: string }[]>`SELECT ${headSql} AS hash`;
  const inserted = await insertAfter(tx, actor, events, head?.hash ?? GENESIS_HASH);
  if (inserted !== events.length) throw new Error('audit chain head moved while the lock was held');
}

export function appendAudit(tx: Prisma.TransactionClient, actor: Actor, event: AuditEvent): Promise<void> {
  return appendAudits(tx, actor, [event]);
}

/** For events outside a business transaction (sensitive reads, denials). */
export function recordAudit(prisma: PrismaClient, actor: Actor, event: AuditEvent): Promise<void> {
  return prisma.$transaction((tx) => appendAudit(tx, actor, event));
}
