import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestCloud, testCloud } from './helpers/cloud.js';

let c: TestCloud;
beforeAll(async () => {
  c = await testCloud();
});
afterAll(() => c?.close());

interface Hit {
  personId: string;
  name: string;
  unitNumber: string;
  phoneMasked: string | null;
}
const search = async (query: string, token = c.tokens.staff) => {
  const res = await c.call(token, { method: 'GET', url: `/api/owners/search?${query}` });
  expect(res.statusCode, res.body).toBe(200);
  return res.json<{ items: Hit[]; nextCursor: string | null }>();
};

async function aHousehold(phone = '13912345678', idNumber = '110105194912310029') {
  const unit = await c.deps.prisma.unit.findFirstOrThrow({
    where: { estateId: c.world.estateA, households: { none: {} } },
  });
  const res = await c.call(c.tokens.staff, {
    method: 'POST',
    url: '/api/households',
    payload: { unitId: unit.id, members: [{ name: '欧阳娜娜', relation: 'owner', gender: 'female', phone, idNumber }] },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json<{ id: string; members: { id: string }[]; unit: { number: string } }>();
}

describe('owner registry', () => {
  it('keeps phone and ID number only encrypted at rest, with a blind index for lookup', async () => {
    const h = await aHousehold('13800001111', '11010519491231002X');
    const [row] = await c.deps.driver.query<Record<string, string>>('SELECT * FROM persons WHERE id = $1', [
      h.members[0]?.id,
    ]);
    const raw = JSON.stringify(row);
    expect(raw).not.toContain('13800001111');
    expect(raw).not.toContain('11010519491231002X');
    expect(row?.phone_last4).toBe('1111');
    expect((await search('phone=13800001111')).items.map((i) => i.personId)).toEqual([h.members[0]?.id]);
    expect((await search('phone=13800001112')).items).toEqual([]);
  });

  it('reveals sensitive fields on request and audits the read, with request id and address', async () => {
    const h = await aHousehold('13711112222', '110105194912310029');
    const personId = h.members[0]?.id ?? '';
    const res = await c.call(c.tokens.staff, {
      method: 'GET',
      url: `/api/persons/${personId}/sensitive`,
      headers: { 'x-request-id': 'req-reveal-1' },
    });
    expect(res.json()).toEqual({ personId, phone: '13711112222', idNumber: '110105194912310029' });
    const entry = await c.deps.prisma.auditEntry.findFirstOrThrow({
      where: { action: 'person.read_sensitive', entityId: personId },
    });
    expect(entry).toMatchObject({ outcome: 'allowed', requestId: 'req-reveal-1', ip: '127.0.0.1', actorRole: 'staff' });
  });

  it('audits a denied attempt on sensitive data', async () => {
    const personId = c.world.otherEstate.personId;
    expect(
      (await c.call(c.tokens.staff, { method: 'GET', url: `/api/persons/${personId}/sensitive` })).statusCode,
    ).toBe(404);
    expect(
      (await c.call(c.tokens.technician, { method: 'GET', url: `/api/persons/${personId}/sensitive` })).statusCode,
    ).toBe(403);
    const denied = await c.deps.prisma.auditEntry.findMany({
      where: { action: 'person.read_sensitive', entityId: personId, outcome: 'denied' },
    });
    expect(denied.map((d) => d.actorRole).sort()).toEqual(['staff', 'technician']);
  });

  it('searches by name fragment, unit prefix and phone within the estate', async () => {
    const h = await aHousehold('13655556666');
    expect((await search(`name=${encodeURIComponent('欧阳')}`)).items.length).toBeGreaterThan(0);
    expect((await search(`name=${encodeURIComponent('阳娜')}`)).items.every((i) => i.name.includes('阳娜'))).toBe(true);
    const byUnit = await search(`unit=${encodeURIComponent(h.unit.number)}`);
    expect(byUnit.items.map((i) => i.unitNumber)).toContain(h.unit.number);
    expect(byUnit.items[0]?.phoneMasked).toMatch(/^\*{7}\d{4}$/);
  });

  it('pages with a keyset cursor: every row once, in order', async () => {
    const all = (await search('limit=100')).items.map((i) => i.personId);
    const paged: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { items: Hit[]; nextCursor: string | null } = await search(
        `limit=3${cursor ? `&cursor=${cursor}` : ''}`,
      );
      paged.push(...page.items.map((i) => i.personId));
      cursor = page.nextCursor;
    } while (cursor);
    expect(paged).toEqual(all);
  });

  it('a unit holds one active household; moving out frees it and disables accounts', async () => {
    const h = await aHousehold();
    const unit = await c.deps.prisma.household.findUniqueOrThrow({ where: { id: h.id } });
    const again = await c.call(c.tokens.staff, {
      method: 'POST',
      url: '/api/households',
      payload: { unitId: unit.unitId, members: [{ name: '张三', relation: 'owner' }] },
    });
    expect(again.json().error.code).toBe('CONFLICT');
    const out = await c.call(c.tokens.staff, { method: 'POST', url: `/api/households/${h.id}/move-out`, payload: {} });
    expect(out.json()).toMatchObject({ status: 'moved_out' });
  });
});

describe('attachments', () => {
  const png = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
  const upload = (token: string, personId: string, fileName: string) =>
    c.call(token, {
      method: 'POST',
      url: `/api/persons/${personId}/attachments`,
      payload: { kind: 'id_card', fileName, contentType: 'image/png', contentBase64: png.toString('base64') },
    });

  it('stores files encrypted, returns them decrypted to an allowed reader, and audits the read', async () => {
    const res = await upload(c.tokens.resident, c.world.own.personId, '身份证 正面.png');
    expect(res.statusCode, res.body).toBe(201);
    const { id } = res.json<{ id: string }>();
    const row = await c.deps.prisma.attachment.findUniqueOrThrow({ where: { id } });
    const stored = await c.deps.blobs.get(row.storageKey);
    expect(stored.includes(png)).toBe(false);
    const got = await c.call(c.tokens.staff, { method: 'GET', url: `/api/attachments/${id}` });
    expect(got.statusCode).toBe(200);
    expect(got.rawPayload.equals(png)).toBe(true);
    expect(got.headers['content-disposition']).toContain("UTF-8''");
    expect(
      await c.deps.prisma.auditEntry.count({ where: { action: 'attachment.read', entityId: id, outcome: 'allowed' } }),
    ).toBe(1);
    const denied = await c.call(c.tokens.staffB, { method: 'GET', url: `/api/attachments/${id}` });
    expect(denied.statusCode).toBe(404);
    expect(
      await c.deps.prisma.auditEntry.count({ where: { action: 'attachment.read', entityId: id, outcome: 'denied' } }),
    ).toBe(1);
  });

  it('refuses path traversal and odd characters in file names, storing nothing', async () => {
    const before = await c.deps.prisma.attachment.count();
    for (const name of [
      '../../etc/passwd',
      '..\\..\\win.ini',
      '/etc/passwd',
      'a/b.png',
      '.hidden',
      'x\u0000.png',
      'a..png',
      'con.png\n',
    ]) {
      const res = await upload(c.tokens.staff, c.world.own.personId, name);
      expect(res.statusCode, name).toBe(400);
      expect(['UNSAFE_FILE_NAME', 'VALIDATION']).toContain(res.json().error.code);
    }
    expect(await c.deps.prisma.attachment.count()).toBe(before);
  });
});
