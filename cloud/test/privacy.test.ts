import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemActor } from '../src/core/context.js';
import { verifyAuditChain } from '../src/index.js';
import { privacyService } from '../src/modules/privacy/service.js';
import { type TestCloud, testCloud } from './helpers/cloud.js';

let c: TestCloud;
beforeAll(async () => {
  c = await testCloud();
});
afterAll(() => c?.close());

describe('consent (PIPL art. 14–15, 29)', () => {
  it('is recorded per purpose; withdrawing face access writes a durable outbox event in the same transaction', async () => {
    const personId = c.world.own.personId;
    const granted = await c.call(c.tokens.resident, {
      method: 'POST',
      url: `/api/persons/${personId}/consents`,
      payload: { purpose: 'face_access' },
    });
    expect(granted.statusCode).toBe(201);
    const twice = await c.call(c.tokens.resident, {
      method: 'POST',
      url: `/api/persons/${personId}/consents`,
      payload: { purpose: 'face_access' },
    });
    expect(twice.json().error.code).toBe('CONFLICT');
    const { hasConsent } = await import('../src/index.js');
    expect(await hasConsent(c.deps.prisma, personId, 'face_access')).toBe(true);

    const withdrawn = await c.call(c.tokens.resident, {
      method: 'POST',
      url: `/api/consents/${granted.json().id}/withdraw`,
    });
    expect(withdrawn.json()).toMatchObject({ active: false, purpose: 'face_access' });
    expect(await hasConsent(c.deps.prisma, personId, 'face_access')).toBe(false);
    const events = await c.deps.prisma.outboxEvent.findMany({
      where: { topic: 'consent.withdrawn', aggregateId: personId },
    });
    expect(events).toHaveLength(1);
    expect(events[0]?.payload).toMatchObject({ personId, purpose: 'face_access', estateId: c.world.estateA });
    expect(events[0]?.processedAt).toBeNull();
  });

  it('cannot be withdrawn by another household', async () => {
    const personId = c.world.otherHousehold.personId;
    const g = await c.call(c.tokens.staff, {
      method: 'POST',
      url: `/api/persons/${personId}/consents`,
      payload: { purpose: 'notifications' },
    });
    const res = await c.call(c.tokens.resident, { method: 'POST', url: `/api/consents/${g.json().id}/withdraw` });
    expect(res.statusCode).toBe(404);
    expect(await c.deps.prisma.outboxEvent.count({ where: { aggregateId: personId } })).toBe(0);
  });
});

describe('export (PIPL art. 45)', () => {
  it('gives a person all data held on them, decrypted, and audits the export', async () => {
    const res = await c.call(c.tokens.resident, { method: 'GET', url: `/api/persons/${c.world.own.personId}/export` });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.person.id).toBe(c.world.own.personId);
    expect(body.person.idNumber).toMatch(/^\d{17}[\dX]$/);
    expect(body.household.unit).toMatch(/^\d+-\d-\d{4}$/);
    expect(body.account.login).toBe(c.world.logins.resident);
    expect(Array.isArray(body.consents)).toBe(true);
    expect(await c.deps.prisma.auditEntry.count({ where: { action: 'person.export', outcome: 'allowed' } })).toBe(1);
  });
});

describe('retention (PIPL art. 19, 47)', () => {
  it('erases people of households moved out longer ago than the period, keeping the anonymised household', async () => {
    const { householdId, personId } = c.world.otherHousehold;
    const fourYearsAgo = new Date(Date.now() - 4 * 365 * 86_400_000);
    await c.deps.prisma.household.update({
      where: { id: householdId },
      data: { status: 'moved_out', movedOutAt: fourYearsAgo },
    });
    // A household that left recently is kept.
    const recent = c.world.otherEstate.householdId;
    await c.deps.prisma.household.update({
      where: { id: recent },
      data: { status: 'moved_out', movedOutAt: new Date() },
    });

    const service = privacyService(c.deps);
    const first = await service.runRetention(systemActor('retention'));
    expect(first.households).toBe(1);
    const people = await c.deps.prisma.person.findMany({ where: { householdId } });
    for (const p of people) {
      expect(p).toMatchObject({ phoneEnc: null, phoneBidx: null, idNumberEnc: null, gender: null });
      expect(p.erasedAt).not.toBeNull();
      expect(p.name).not.toMatch(/^[\u4e00-\u9fa5]{2,4}$/);
    }
    expect(await c.deps.prisma.household.findUnique({ where: { id: householdId } })).not.toBeNull();
    expect(await c.deps.prisma.vehicle.count({ where: { householdId } })).toBe(0);
    expect(await c.deps.prisma.person.count({ where: { householdId: recent, erasedAt: null } })).toBeGreaterThan(0);
    expect(await c.deps.prisma.outboxEvent.count({ where: { topic: 'person.erased', aggregateId: personId } })).toBe(1);
    // Idempotent: nothing left to erase.
    expect((await service.runRetention(systemActor('retention'))).households).toBe(0);
    expect((await verifyAuditChain(c.deps.prisma)).ok).toBe(true);
  });

  it('can be run by an admin only', async () => {
    expect((await c.call(c.tokens.staff, { method: 'POST', url: '/api/privacy/retention/run' })).statusCode).toBe(403);
    expect((await c.call(c.tokens.admin, { method: 'POST', url: '/api/privacy/retention/run' })).statusCode).toBe(200);
  });
});
