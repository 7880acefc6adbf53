// Demo data for repairs and community on the first estate: building positions, four technicians (one of them the
// demo technician login), open and completed orders with their history, notices, an event with sign-ups and
// the FAQ. Written with a few bulk inserts in one transaction so first start stays fast.
import { randomBytes, randomUUID } from 'node:crypto';
import type { CloudDeps } from '../core/deps.js';
import { CATEGORIES, type Category } from '../modules/repairs/categories.js';

type SeedDeps = Pick<CloudDeps, 'prisma' | 'passwords'>;

const FAQ = [
  {
    question: '家里漏水怎么办？',
    answer: '请先关闭入户总阀门，再在App“报修”提交工单，维修师傅30分钟内响应。',
    keywords: '渗水 水管 爆管 漏水',
    repairCategory: 'plumbing',
  },
  {
    question: '家里跳闸停电怎么办？',
    answer: '先检查户内空气开关；无法合闸请提交报修，电工将尽快上门。',
    keywords: '跳闸 没电 停电 插座',
    repairCategory: 'electrical',
  },
  {
    question: '物业费怎么交？',
    answer: '在App“缴费”页面用微信或支付宝缴纳，可开具电子发票。',
    keywords: '缴费 物业费 账单 发票',
    repairCategory: null,
  },
  {
    question: '访客怎么进小区？',
    answer: '在App生成访客二维码发给访客，到门口扫码即可进入。',
    keywords: '访客 二维码 来访 朋友',
    repairCategory: null,
  },
  {
    question: '门禁刷脸失败怎么办？',
    answer: '请在App重新录入人脸，或使用手机蓝牙钥匙、密码开门；仍失败请报修。',
    keywords: '人脸 刷脸 门禁 开门',
    repairCategory: 'door_access',
  },
];

export async function seedCommunityDemo(deps: SeedDeps, estateId: string, now = new Date()): Promise<void> {
  const { prisma } = deps;
  const buildings = await prisma.building.findMany({ where: { estateId }, orderBy: { name: 'asc' } });
  const demoTech = await prisma.account.findFirst({ where: { estateId, role: 'technician' } });
  const staff = await prisma.account.findFirst({ where: { estateId, role: 'staff' } });
  const households = await prisma.household.findMany({
    where: { estateId },
    include: { unit: true },
    take: 8,
    orderBy: { id: 'asc' },
  });
  if (!staff || buildings.length === 0 || households.length === 0) return;
  // Only the demo technician logs in; the others get an unusable password hash.
  const noLogin = await deps.passwords.hash(randomBytes(24).toString('base64url'));
  const H = 3600_000;
  await prisma.$transaction(
    async (tx) => {
      // Buildings on a 60 m grid around the estate's centre (People's Square, Shanghai, for the demo).
      await tx.buildingPosition.createMany({
        data: buildings.map((b, i) => ({
          buildingId: b.id,
          estateId,
          latE6: 31_230_400 + (i % 4) * 540,
          lngE6: 121_473_700 + Math.floor(i / 4) * 630,
        })),
      });
      const people = [
        { name: '王师傅', skills: ['plumbing', 'general'], accountId: demoTech?.id ?? null },
        { name: '李师傅', skills: ['electrical', 'lift'], accountId: null },
        { name: '张师傅', skills: ['door_access', 'charger', 'electrical'], accountId: null },
        { name: '赵师傅', skills: ['plumbing', 'structure', 'general'], accountId: null },
      ];
      const techs: string[] = [];
      for (const [i, p] of people.entries()) {
        let accountId = p.accountId;
        if (!accountId) {
          accountId = randomUUID();
          await tx.account.create({
            data: {
              id: accountId,
              login: `tech${i + 1}.demo.${estateId.slice(0, 8)}`,
              role: 'technician',
              estateId,
              passwordHash: noLogin,
              disabledAt: null,
            },
          });
        }
        const id = randomUUID();
        techs.push(id);
        const b = buildings[i % buildings.length];
        await tx.technician.create({
          data: {
            id,
            estateId,
            accountId,
            name: p.name,
            skills: p.skills,
            baseBuildingId: b?.id ?? null,
            shiftStartMin: 0,
            shiftEndMin: 0,
          },
        });
      }
      const orders: {
        category: Category;
        description: string;
        status: string;
        tech: number | null;
        ageH: number;
        rating?: number;
      }[] = [
        { category: 'plumbing', description: '厨房水槽下水管漏水', status: 'rated', tech: 0, ageH: 72, rating: 5 },
        { category: 'electrical', description: '卫生间插座没电', status: 'rated', tech: 1, ageH: 50, rating: 4 },
        { category: 'door_access', description: '单元门禁人脸识别失灵', status: 'completed', tech: 2, ageH: 30 },
        { category: 'plumbing', description: '阳台地漏堵塞', status: 'in_progress', tech: 3, ageH: 5 },
        { category: 'lift', description: '电梯按钮不亮', status: 'accepted', tech: 1, ageH: 2 },
        { category: 'plumbing', description: '热水器进水管滴水', status: 'assigned', tech: 0, ageH: 0.2 },
        { category: 'structure', description: '客厅墙面裂缝', status: 'pending', tech: null, ageH: 0.1 },
      ];
      const lifecycle = ['pending', 'assigned', 'accepted', 'in_progress', 'completed', 'rated'];
      for (const [i, o] of orders.entries()) {
        const h = households[i % households.length];
        if (!h) continue;
        const id = randomUUID();
        const created = new Date(now.getTime() - o.ageH * H);
        const step = (k: number) => new Date(created.getTime() + k * 0.15 * o.ageH * H);
        const reached = lifecycle.indexOf(o.status);
        const sla = CATEGORIES[o.category];
        const techId = o.tech === null ? null : (techs[o.tech] ?? null);
        await tx.repairOrder.create({
          data: {
            id,
            estateId,
            householdId: h.id,
            unitId: h.unitId,
            buildingId: h.unit.buildingId,
            category: o.category,
            description: o.description,
            source: 'resident',
            status: o.status,
            technicianId: techId,
            createdBy: 'system:seed',
            acceptDueAt: new Date(created.getTime() + sla.acceptMin * 60_000),
            completeDueAt: new Date(created.getTime() + sla.completeMin * 60_000),
            assignedAt: reached >= 1 ? step(0.1) : null,
            acceptedAt: reached >= 2 ? step(1) : null,
            startedAt: reached >= 3 ? step(2) : null,
            completedAt: reached >= 4 ? step(4) : null,
            ratedAt: reached >= 5 ? step(5) : null,
            rating: o.rating ?? null,
            ratingComment: o.rating ? '师傅很专业' : null,
            createdAt: created,
            updatedAt: now,
          },
        });
        await tx.repairTransition.createMany({
          data: lifecycle.slice(0, reached + 1).map((to, k) => ({
            orderId: id,
            fromStatus: k === 0 ? null : (lifecycle[k - 1] ?? null),
            toStatus: to,
            at: k === 0 ? created : step(k === 1 ? 0.1 : k === 4 ? 4 : k === 5 ? 5 : k - 1),
            actorId: 'system:seed',
          })),
        });
        if (techId) {
          await tx.repairAssignment.create({
            data: {
              orderId: id,
              technicianId: techId,
              mode: 'auto',
              reason: `${120 + i * 40} m away, ${sla.skill}, ${i % 3} open orders`,
              distanceM: 120 + i * 40,
              openOrders: i % 3,
              assignedBy: 'system:seed',
              assignedAt: step(0.1),
            },
          });
        }
      }
      await tx.notice.createMany({
        data: [
          {
            estateId,
            title: '停水通知',
            body: '因二次供水水箱清洗，本周六 9:00–13:00 全小区停水，请提前储水。',
            kind: 'water_outage',
            targetKind: 'estate',
            publishAt: now,
            expiresAt: new Date(now.getTime() + 5 * 24 * H),
            createdBy: staff.id,
          },
          {
            estateId,
            title: '电梯年检',
            body: '1号楼电梯下周二上午年检，期间请走楼梯。',
            kind: 'maintenance',
            targetKind: 'building',
            targetId: buildings[0]?.id ?? null,
            publishAt: now,
            expiresAt: new Date(now.getTime() + 7 * 24 * H),
            createdBy: staff.id,
          },
        ],
      });
      const eventId = randomUUID();
      await tx.communityEvent.create({
        data: {
          id: eventId,
          estateId,
          title: '中秋游园会',
          description: '猜灯谜、做月饼、亲子游戏，欢迎全体业主参加。',
          location: '中心花园',
          startsAt: new Date(now.getTime() + 10 * 24 * H),
          endsAt: new Date(now.getTime() + 10 * 24 * H + 3 * H),
          capacity: 30,
          waitlistCapacity: 10,
          signupOpensAt: new Date(now.getTime() - H),
          signupClosesAt: new Date(now.getTime() + 9 * 24 * H),
          createdBy: staff.id,
        },
      });
      const signers = await tx.person.findMany({
        where: { estateId, relation: 'owner' },
        take: 5,
        orderBy: { id: 'asc' },
      });
      await tx.eventSignup.createMany({
        data: signers.map((p) => ({ eventId, personId: p.id, householdId: p.householdId, status: 'confirmed' })),
      });
      await tx.faqEntry.createMany({ data: FAQ.map((f) => ({ ...f, estateId: null })) });
    },
    { timeout: 60_000 },
  );
}
