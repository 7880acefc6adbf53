import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAuditChain } from '../src/index.js';
import { type TestCloud, testCloud } from './helpers/cloud.js';

let c: TestCloud;
beforeAll(async () => {
  c = await testCloud();
});
afterAll(() => c?.close());

async function someChanges() {
  for (let i = 0; i < 3; i++) {
    const res = await c.call(c.tokens.staff, {
      method: 'POST',
      url: `/api/households/${c.world.own.householdId}/vehicles`,
      payload: { plate: `沪B2000${i}`, parkingSpace: `B1-00${i}` },
      headers: { 'x-request-id': `audit-${i}` },
    });
    expect(res.statusCode).toBe(201);
  }
}

describe('audit log', () => {
  it('records every change with who, what, after, request id and address', async () => {
    await someChanges();
    const entry = await c.deps.prisma.auditEntry.findFirstOrThrow({
      where: { action: 'vehicle.create', requestId: 'audit-1' },
    });
    expect(entry).toMatchObject({
      actorRole: 'staff',
      entity: 'vehicle',
      estateId: c.world.estateA,
      ip: '127.0.0.1',
      outcome: 'allowed',
    });
    expect(entry.after).toMatchObject({ plate: '沪B20001' });
  });

  it('is append-only in the database itself', async () => {
    await expect(c.deps.driver.query("UPDATE audit_log SET action = 'x'")).rejects.toThrow(/append-only/);
    await expect(c.deps.driver.query('DELETE FROM audit_log')).rejects.toThrow(/append-only/);
  });

  it('verifies, and detects an edited row past the triggers', async () => {
    const ok = await verifyAuditChain(c.deps.prisma, 2);
    expect(ok.ok).toBe(true);
    expect(ok.rows).toBeGreaterThan(3);
    const target = await c.deps.prisma.auditEntry.findFirstOrThrow({
      where: { action: 'vehicle.create' },
      orderBy: { id: 'asc' },
    });
    // Someone with table-owner rights disables the guard and rewrites history.
    await c.deps.driver.exec(`ALTER TABLE audit_log DISABLE TRIGGER USER;
      UPDATE audit_log SET after = '{"plate":"沪Z99999"}' WHERE id = ${target.id};
      ALTER TABLE audit_log ENABLE TRIGGER USER;`);
    const broken = await verifyAuditChain(c.deps.prisma, 2);
    expect(broken).toMatchObject({ ok: false, brokenAt: { id: target.id.toString() } });
  });

  it('detects a deleted row', async () => {
    const c2 = await testCloud();
    try {
      const rows = await c2.deps.prisma.auditEntry.findMany({ orderBy: { id: 'asc' }, take: 3 });
      const middle = rows[1];
      if (!middle) throw new Error('expected login audit rows');
      await c2.deps.driver.exec(`ALTER TABLE audit_log DISABLE TRIGGER USER;
        DELETE FROM audit_log WHERE id = ${middle.id};
        ALTER TABLE audit_log ENABLE TRIGGER USER;`);
      const result = await verifyAuditChain(c2.deps.prisma);
      expect(result.ok).toBe(false);
      expect(result.brokenAt?.reason).toMatch(/prev_hash/);
    } finally {
      await c2.close();
    }
  });

  it('is searchable by admins only, newest first, with a cursor', async () => {
    expect((await c.call(c.tokens.staff, { method: 'GET', url: '/api/audit' })).statusCode).toBe(403);
    const res = await c.call(c.tokens.admin, { method: 'GET', url: '/api/audit?action=vehicle.create&limit=2' });
    expect(res.statusCode).toBe(200);
    const page = res.json<{ items: { id: string }[]; nextCursor: string }>();
    expect(page.items).toHaveLength(2);
    const next = await c.call(c.tokens.admin, {
      method: 'GET',
      url: `/api/audit?action=vehicle.create&limit=2&cursor=${page.nextCursor}`,
    });
    const ids = [...page.items, ...next.json<{ items: { id: string }[] }>().items].map((i) => BigInt(i.id));
    expect(ids).toEqual([...ids].sort((a, b) => (a > b ? -1 : 1)));
  });
});
