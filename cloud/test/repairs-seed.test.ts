// The demo data `npm start` shows for repairs and community: it loads quickly and reads back through the API.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedCommunityDemo } from '../src/seed/community.js';
import { type TestCloud, testCloud } from './helpers/cloud.js';

let c: TestCloud;
beforeAll(async () => {
  c = await testCloud();
});
afterAll(() => c?.close());

describe('repairs & community demo seed', () => {
  it('adds technicians, open and completed orders, notices, an event and the FAQ, fast', async () => {
    const t0 = performance.now();
    await seedCommunityDemo(c.deps, c.world.estateB);
    expect(performance.now() - t0).toBeLessThan(5_000);
    const orders = (await c.call(c.tokens.staffB, { method: 'GET', url: '/api/repairs?limit=50' })).json<{
      items: { status: string }[];
    }>();
    const statuses = orders.items.map((o) => o.status);
    expect(statuses).toEqual(expect.arrayContaining(['pending', 'assigned', 'in_progress', 'completed', 'rated']));
    const techs = (await c.call(c.tokens.staffB, { method: 'GET', url: '/api/technicians' })).json<unknown[]>();
    expect(techs).toHaveLength(4);
    const stats = (await c.call(c.tokens.staffB, { method: 'GET', url: '/api/repairs/stats' })).json<{
      estates: { avgRating: number }[];
    }>();
    expect(stats.estates[0]?.avgRating).toBe(4.5);
    expect((await c.call(c.tokens.staffB, { method: 'GET', url: '/api/notices' })).json<unknown[]>()).toHaveLength(2);
    expect((await c.call(c.tokens.staffB, { method: 'GET', url: '/api/events' })).json()).toEqual([
      expect.objectContaining({ title: '中秋游园会', confirmed: expect.any(Number) }),
    ]);
  });
});
