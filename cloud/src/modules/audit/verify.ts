// Walks the audit chain from the first row, recomputing every hash. A changed, deleted or reordered row shows
// up as the first id whose stored hash or prev_hash no longer matches. (Cutting rows off the end leaves a
// valid shorter chain; anchor the latest hash elsewhere, e.g. in a daily report, to catch that too.)
import { type AuditRow, auditHash, GENESIS_HASH } from '../../core/audit.js';
import type { Json } from '../../core/canonical-json.js';
import type { PrismaClient } from '../../generated/prisma/client.js';

export interface VerifyResult {
  ok: boolean;
  rows: number;
  lastHash: string;
  /** First row that breaks the chain, and why. */
  brokenAt?: { id: string; reason: string };
}

export async function verifyAuditChain(prisma: PrismaClient, batch = 1000): Promise<VerifyResult> {
  let prev = GENESIS_HASH;
  let rows = 0;
  let after = 0n;
  for (;;) {
    const page = await prisma.auditEntry.findMany({
      where: { id: { gt: after } },
      orderBy: { id: 'asc' },
      take: batch,
    });
    for (const r of page) {
      rows++;
      if (r.prevHash !== prev)
        return {
          ok: false,
          rows,
          lastHash: prev,
          brokenAt: { id: r.id.toString(), reason: 'prev_hash does not match the row before' },
        };
      const row: AuditRow = {
        at: r.at,
        actorId: r.actorId,
        actorRole: r.actorRole,
        action: r.action,
        entity: r.entity,
        entityId: r.entityId,
        estateId: r.estateId,
        outcome: r.outcome,
        before: (r.before ?? null) as Json | null,
        after: (r.after ?? null) as Json | null,
        requestId: r.requestId,
        ip: r.ip,
        prevHash: r.prevHash,
      };
      if (auditHash(row) !== r.hash)
        return {
          ok: false,
          rows,
          lastHash: prev,
          brokenAt: { id: r.id.toString(), reason: 'content does not match its hash' },
        };
      prev = r.hash;
    }
    const last = page[page.length - 1];
    if (!last || page.length < batch) break;
    after = last.id;
  }
  return { ok: true, rows, lastHash: prev };
}
