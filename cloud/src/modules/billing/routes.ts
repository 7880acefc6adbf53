// The billing API under /api/billing. Payment notifications are the one public route: providers cannot log in,
// so what authenticates them is their signature, checked on the body exactly as received.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { actorOf } from '../../core/context.js';
import { AppError, notFound } from '../../core/errors.js';
import { ErrorResponses, IdParams, Page } from '../../core/schemas.js';
import { loadChannels } from './channels/config.js';
import { figures } from './figures.js';
import { localDate, n } from './money.js';
import { followUpService, runOverdue } from './overdue.js';
import { authorizeBilling } from './policy.js';
import { receiptHtml } from './receipt.js';
import { scheduleBillingJobs } from './scheduler.js';
import {
  Bill,
  BillQuery,
  ChargeBody,
  ContactBody,
  DiscountBody,
  FeeItem,
  FeeItemBody,
  FeeItemPatch,
  FiguresQuery,
  FollowUpQuery,
  ImportBody,
  NoteBody,
  Order,
  OrderBody,
  OverdueBody,
  PeriodParams,
  ReadingsBody,
  ReconcileBody,
  Reconciliation,
  Refund,
  RefundBody,
  RunBody,
  SandboxPaid,
  Settings,
  SettingsBody,
  Statement,
  UnitTypeBody,
} from './schemas.js';
import { billingService } from './service.js';

const billing: FastifyPluginAsyncTypebox = async (app) => {
  const service = billingService(app.deps, loadChannels(app.deps.config));
  const followUps = followUpService(app.deps.prisma);
  const { prisma } = app.deps;
  const tags = ['billing'];
  const ok = (schema: object) => ({ 200: schema, ...ErrorResponses });
  const created = (schema: object) => ({ 201: schema, ...ErrorResponses });
  const Any = Type.Record(Type.String(), Type.Unknown());
  scheduleBillingJobs(app);

  // — configuration —
  app.get('/billing/estates/:id/settings', { schema: { tags, params: IdParams, response: ok(Settings) } }, async (r) =>
    service.settings(actorOf(r), r.params.id),
  );
  app.put(
    '/billing/estates/:id/settings',
    { schema: { tags, params: IdParams, body: SettingsBody, response: ok(Settings) } },
    async (r) => service.putSettings(actorOf(r), r.params.id, r.body),
  );
  app.get(
    '/billing/estates/:id/fee-items',
    { schema: { tags, params: IdParams, response: ok(Type.Array(FeeItem)) } },
    async (r) => service.feeItems(actorOf(r), r.params.id),
  );
  app.post(
    '/billing/estates/:id/fee-items',
    { schema: { tags, params: IdParams, body: FeeItemBody, response: created(FeeItem) } },
    async (r, reply) => reply.status(201).send(await service.addFeeItem(actorOf(r), r.params.id, r.body)),
  );
  app.patch(
    '/billing/fee-items/:id',
    { schema: { tags, params: IdParams, body: FeeItemPatch, response: ok(FeeItem) } },
    async (r) => service.updateFeeItem(actorOf(r), r.params.id, r.body),
  );
  app.post(
    '/billing/estates/:id/discounts',
    { schema: { tags, params: IdParams, body: DiscountBody, response: created(Any) } },
    async (r, reply) => reply.status(201).send(await service.addDiscount(actorOf(r), r.params.id, r.body)),
  );
  app.put(
    '/billing/units/:id/type',
    { schema: { tags, params: IdParams, body: UnitTypeBody, response: ok(Any) } },
    async (r) => service.setUnitType(actorOf(r), r.params.id, r.body.unitType),
  );

  // — readings and charges —
  app.post(
    '/billing/estates/:id/readings',
    { schema: { tags, params: IdParams, body: ReadingsBody, response: created(Any) } },
    async (r, reply) =>
      reply.status(201).send(await service.recordReadings(actorOf(r), r.params.id, r.body.readings, 'entered')),
  );
  app.post(
    '/billing/estates/:id/readings/import',
    { schema: { tags, params: IdParams, body: ImportBody, response: created(Any) } },
    async (r, reply) => reply.status(201).send(await service.importReadings(actorOf(r), r.params.id, r.body.csv)),
  );
  app.post(
    '/billing/households/:id/charges',
    { schema: { tags, params: IdParams, body: ChargeBody, response: created(Any) } },
    async (r, reply) => reply.status(201).send(await service.addCharge(actorOf(r), r.params.id, r.body)),
  );

  // — runs, periods, bills, notes —
  app.post(
    '/billing/estates/:id/runs',
    { schema: { tags, params: IdParams, body: RunBody, response: ok(Any) } },
    async (r) => service.run(actorOf(r), r.params.id, r.body.period),
  );
  app.post(
    '/billing/estates/:id/periods/:period/close',
    { schema: { tags, params: PeriodParams, response: ok(Any) } },
    async (r) => service.closePeriod(actorOf(r), r.params.id, r.params.period),
  );
  app.get('/billing/bills', { schema: { tags, querystring: BillQuery, response: ok(Page(Bill)) } }, async (r) =>
    service.listBills(actorOf(r), r.query),
  );
  app.get('/billing/bills/:id', { schema: { tags, params: IdParams, response: ok(Bill) } }, async (r) =>
    service.getBill(actorOf(r), r.params.id),
  );
  app.post(
    '/billing/bills/:id/credit-notes',
    { schema: { tags, params: IdParams, body: NoteBody, response: created(Bill) } },
    async (r, reply) => reply.status(201).send(await service.issueNote(actorOf(r), r.params.id, 'credit_note', r.body)),
  );
  app.post(
    '/billing/bills/:id/debit-notes',
    { schema: { tags, params: IdParams, body: NoteBody, response: created(Bill) } },
    async (r, reply) => reply.status(201).send(await service.issueNote(actorOf(r), r.params.id, 'debit_note', r.body)),
  );
  app.get(
    '/billing/households/:id/statement',
    { schema: { tags, params: IdParams, response: ok(Statement) } },
    async (r) => service.statement(actorOf(r), r.params.id),
  );

  // — payments —
  app.post('/billing/orders', { schema: { tags, body: OrderBody, response: created(Order) } }, async (r, reply) =>
    reply.status(201).send(await service.createOrder(actorOf(r), r.body)),
  );
  app.post(
    '/billing/sandbox/orders/:id/pay',
    { schema: { tags, params: IdParams, response: ok(SandboxPaid) } },
    async (r) => service.sandboxPay(actorOf(r), r.params.id),
  );
  app.post(
    '/billing/payments/:id/refunds',
    { schema: { tags, params: IdParams, body: RefundBody, response: created(Refund) } },
    async (r, reply) => reply.status(201).send(await service.refund(actorOf(r), r.params.id, r.body)),
  );
  app.get('/billing/payments/:id/receipt', { schema: { tags, params: IdParams } }, async (r, reply) => {
    const { payment: p, allocations, bills, household, estate } = await service.paymentFor(actorOf(r), r.params.id);
    const account = await prisma.billingAccount.findUnique({ where: { householdId: p.householdId } });
    const number = new Map(bills.map((b) => [b.id, b]));
    const html = receiptHtml({
      estateName: estate.name,
      unitNumber: household.unit.number,
      paymentId: p.id,
      channel: p.channel,
      channelTxnId: p.channelTxnId,
      paidAt: p.paidAt,
      amountFen: n(p.amountFen),
      refundedFen: n(p.refundedFen),
      lines: allocations.map((a) => ({
        billNumber: number.get(a.billId)?.number ?? a.billId,
        period: number.get(a.billId)?.period ?? '',
        amountFen: n(a.amountFen),
      })),
      creditFen: n(account?.creditFen),
    });
    return reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(html);
  });
  app.post(
    '/billing/reconciliations',
    { schema: { tags, body: ReconcileBody, response: ok(Reconciliation) } },
    async (r) => service.reconcile(actorOf(r), r.body),
  );

  // — overdue and follow-up —
  app.post(
    '/billing/estates/:id/overdue-runs',
    { schema: { tags, params: IdParams, body: OverdueBody, response: ok(Any) } },
    async (r) => {
      const actor = actorOf(r);
      const estate = await prisma.estate.findUnique({ where: { id: r.params.id } });
      if (!estate) throw notFound('Estate');
      authorizeBilling(actor.principal, 'billing:overdue', { estateId: estate.id }, 'Estate');
      return runOverdue(prisma, actor, estate.id, r.body.asOf ?? localDate(new Date(), estate.timezone));
    },
  );
  app.get(
    '/billing/follow-ups',
    { schema: { tags, querystring: FollowUpQuery, response: ok(Type.Array(Any)) } },
    async (r) => followUps.list(actorOf(r), r.query),
  );
  app.post(
    '/billing/follow-ups/:id/contacts',
    { schema: { tags, params: IdParams, body: ContactBody, response: created(Any) } },
    async (r, reply) => reply.status(201).send(await followUps.addContact(actorOf(r), r.params.id, r.body)),
  );
  app.post('/billing/follow-ups/:id/close', { schema: { tags, params: IdParams, response: ok(Any) } }, async (r) =>
    followUps.close(actorOf(r), r.params.id),
  );

  // — figures —
  app.get(
    '/billing/figures',
    { schema: { tags, querystring: FiguresQuery, response: ok(Type.Array(Any)) } },
    async (r) => {
      const actor = actorOf(r);
      authorizeBilling(actor.principal, 'billing:figures');
      const p = actor.principal;
      if (p.role !== 'admin' && r.query.estateId && r.query.estateId !== p.estateId) throw notFound('Estate');
      const estateId = p.role === 'admin' ? r.query.estateId : (p.estateId ?? undefined);
      return figures(prisma, {
        estateId,
        period: r.query.period,
        asOf: r.query.asOf ?? localDate(new Date(), 'Asia/Shanghai'),
        by: r.query.by ?? 'estate',
      });
    },
  );

  // — provider notifications (public; the signature is the authentication) —
  await app.register(async (notify) => {
    // Keep the body as the exact text received: a re-serialised JSON or a decoded form would not verify.
    notify.removeAllContentTypeParsers();
    notify.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));
    notify.post<{ Params: { channel: string } }>(
      '/billing/notify/:channel',
      {
        config: { public: true },
        schema: { tags, params: Type.Object({ channel: Type.String({ pattern: '^[a-z]{1,20}$' }) }) },
      },
      async (request, reply) => {
        const body = typeof request.body === 'string' ? request.body : '';
        if (!body) throw new AppError('BAD_REQUEST', 'empty notification');
        const result = await service.notify(request.params.channel, { headers: request.headers, body });
        if (!result.ok)
          request.log.warn({ channel: request.params.channel, reason: result.reason }, 'payment notification rejected');
        return reply.status(result.ack.status).type(result.ack.contentType).send(result.ack.body);
      },
    );
  });
};
export default billing;
