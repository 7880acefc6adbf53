import type { Prisma, PrismaClient } from '../generated/prisma/client.js';
import { type AuditEvent, appendAudit } from './audit.js';
import type { Actor } from './context.js';

export type Tx = Prisma.TransactionClient;
export type Audit = (event: AuditEvent) => Promise<void>;

/** A change and its audit rows commit together or not at all. */
export function change<T>(prisma: PrismaClient, actor: Actor, fn: (tx: Tx, audit: Audit) => Promise<T>): Promise<T> {
  return prisma.$transaction((tx) => fn(tx, (event) => appendAudit(tx, actor, event)));
}
