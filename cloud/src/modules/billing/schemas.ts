import { Type } from '@sinclair/typebox';
import { DateOnly, PageQuery, Text, Uuid } from '../../core/schemas.js';

const Fen = Type.Integer({ minimum: 1, maximum: 100_000_000_00, description: 'fen (分), positive' });
export const Period = Type.String({ pattern: '^\\d{4}-(0[1-9]|1[0-2])$', description: 'YYYY-MM' });
const strict = { additionalProperties: false } as const;

export const SettingsBody = Type.Object(
  {
    dueDays: Type.Optional(Type.Integer({ minimum: 0, maximum: 120 })),
    remindDaysBefore: Type.Optional(Type.Integer({ minimum: 0, maximum: 60 })),
    lateFeeBpsPerDay: Type.Optional(Type.Integer({ minimum: 0, maximum: 100, description: '‱ of the debt per day' })),
    lateFeeGraceDays: Type.Optional(Type.Integer({ minimum: 0, maximum: 365 })),
    lateFeeCapBps: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000 })),
  },
  { ...strict, minProperties: 1 },
);
export const Settings = Type.Object({
  estateId: Uuid,
  dueDays: Type.Integer(),
  remindDaysBefore: Type.Integer(),
  lateFeeBpsPerDay: Type.Integer(),
  lateFeeGraceDays: Type.Integer(),
  lateFeeCapBps: Type.Integer(),
});

const FeeKind = Type.Union([
  Type.Literal('property'),
  Type.Literal('parking'),
  Type.Literal('water'),
  Type.Literal('electricity'),
  Type.Literal('gas'),
  Type.Literal('one_off'),
  Type.Literal('ev_charging'),
]);
const Cycle = Type.Union([
  Type.Literal('monthly'),
  Type.Literal('quarterly'),
  Type.Literal('yearly'),
  Type.Literal('once'),
]);
const UnitType = Type.String({ pattern: '^[a-z_]{1,30}$' });
export const FeeItemBody = Type.Object(
  {
    code: Type.String({ pattern: '^[A-Za-z0-9_-]{1,30}$' }),
    name: Text(60),
    kind: FeeKind,
    cycle: Cycle,
    unitType: Type.Optional(UnitType),
    rateCentiFen: Type.Integer({
      minimum: 0,
      maximum: 10_000_000_000,
      description: 'unit price in 0.01 fen (¥2.35/m²·month = 23500): per m²·month, per space·month, per m³ or kWh',
    }),
  },
  strict,
);
export const FeeItemPatch = Type.Object(
  {
    name: Type.Optional(Text(60)),
    rateCentiFen: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000_000_000 })),
    active: Type.Optional(Type.Boolean()),
  },
  { ...strict, minProperties: 1 },
);
export const FeeItem = Type.Object({
  id: Uuid,
  estateId: Uuid,
  code: Type.String(),
  name: Type.String(),
  kind: Type.String(),
  cycle: Type.String(),
  unitType: Type.Union([Type.String(), Type.Null()]),
  rateCentiFen: Type.Integer(),
  active: Type.Boolean(),
});
export const DiscountBody = Type.Object(
  {
    name: Text(60),
    feeItemId: Type.Optional(Uuid),
    minMonths: Type.Optional(Type.Integer({ minimum: 1, maximum: 12 })),
    percentBps: Type.Integer({ minimum: 1, maximum: 10_000 }),
  },
  strict,
);
export const UnitTypeBody = Type.Object({ unitType: UnitType }, strict);

const Meter = Type.Union([Type.Literal('water'), Type.Literal('electricity'), Type.Literal('gas')]);
export const ReadingsBody = Type.Object(
  {
    readings: Type.Array(
      Type.Object(
        {
          householdId: Uuid,
          meter: Meter,
          period: Period,
          readingMilli: Type.Integer({
            minimum: 0,
            maximum: 1_000_000_000_000,
            description: 'meter reading in 0.001 m³/kWh',
          }),
        },
        strict,
      ),
      { minItems: 1, maxItems: 5_000 },
    ),
  },
  strict,
);
export const ImportBody = Type.Object({ csv: Type.String({ minLength: 1, maxLength: 1_000_000 }) }, strict);
export const ChargeBody = Type.Object(
  { feeItemId: Uuid, description: Text(100), amountFen: Fen, sourceRef: Type.Optional(Text(100)) },
  strict,
);
export const RunBody = Type.Object({ period: Period }, strict);
export const PeriodParams = Type.Object({ id: Uuid, period: Period }, strict);
export const NoteBody = Type.Object({ amountFen: Fen, reason: Text(200) }, strict);

export const BillQuery = Type.Object(
  {
    estateId: Type.Optional(Uuid),
    householdId: Type.Optional(Uuid),
    period: Type.Optional(Period),
    status: Type.Optional(Type.Union([Type.Literal('unpaid'), Type.Literal('paid')])),
    ...PageQuery,
  },
  strict,
);
const Item = Type.Object({
  kind: Type.String(),
  description: Type.String(),
  basis: Type.Record(Type.String(), Type.Unknown()),
  basisText: Type.String(),
  amountFen: Type.Integer(),
});
export const Bill = Type.Object({
  id: Uuid,
  number: Type.String(),
  estateId: Uuid,
  buildingId: Uuid,
  householdId: Uuid,
  period: Type.String(),
  kind: Type.String(),
  correctsBillId: Type.Union([Uuid, Type.Null()]),
  reason: Type.Union([Type.String(), Type.Null()]),
  totalFen: Type.Integer(),
  paidFen: Type.Integer(),
  outstandingFen: Type.Integer(),
  status: Type.String(),
  currency: Type.String(),
  issuedAt: Type.String(),
  dueOn: Type.String(),
  items: Type.Optional(Type.Array(Item)),
});
export const Payment = Type.Object({
  id: Uuid,
  householdId: Uuid,
  channel: Type.String(),
  channelTxnId: Type.String(),
  amountFen: Type.Integer(),
  refundedFen: Type.Integer(),
  currency: Type.String(),
  paidAt: Type.String(),
});
export const Statement = Type.Object({
  householdId: Uuid,
  unitNumber: Type.String(),
  bills: Type.Array(Bill),
  payments: Type.Array(Payment),
  outstandingFen: Type.Integer(),
  creditFen: Type.Integer(),
});
const Channel = Type.Union(['wechat', 'alipay', 'unionpay', 'sandbox'].map((c) => Type.Literal(c)));
export const OrderBody = Type.Object(
  {
    channel: Channel,
    householdId: Type.Optional(Uuid),
    billIds: Type.Optional(Type.Array(Uuid, { minItems: 1, maxItems: 50, uniqueItems: true })),
    amountFen: Type.Optional(Fen),
  },
  strict,
);
const ChannelRequest = Type.Object({
  method: Type.String(),
  url: Type.String(),
  headers: Type.Record(Type.String(), Type.String()),
  body: Type.Optional(Type.String()),
  form: Type.Optional(Type.Record(Type.String(), Type.String())),
});
export const Order = Type.Object({
  id: Uuid,
  householdId: Uuid,
  channel: Type.String(),
  outTradeNo: Type.String(),
  amountFen: Type.Integer(),
  currency: Type.String(),
  status: Type.String(),
  expiresAt: Type.String(),
  request: ChannelRequest,
});
export const SandboxPaid = Type.Object({ outcome: Type.String(), payment: Type.Union([Payment, Type.Null()]) });
export const RefundBody = Type.Object({ amountFen: Fen, reason: Text(80) }, strict);
export const Refund = Type.Object({
  id: Uuid,
  paymentId: Uuid,
  outRefundNo: Type.String(),
  amountFen: Type.Integer(),
  status: Type.String(),
  request: ChannelRequest,
});
export const ReconcileBody = Type.Object(
  {
    channel: Channel,
    statement: Type.String({ minLength: 1, maxLength: 5_000_000 }),
    from: DateOnly,
    to: DateOnly,
    estateId: Type.Optional(Uuid),
  },
  strict,
);
export const Reconciliation = Type.Object({
  channel: Type.String(),
  from: Type.String(),
  to: Type.String(),
  statementLines: Type.Integer(),
  matched: Type.Integer(),
  mismatches: Type.Array(
    Type.Object({
      kind: Type.String(),
      channelTxnId: Type.String(),
      outTradeNo: Type.Union([Type.String(), Type.Null()]),
      refundNo: Type.Optional(Type.Union([Type.String(), Type.Null()])),
      ours: Type.Union([Type.Integer(), Type.Null()]),
      theirs: Type.Union([Type.Integer(), Type.Null()]),
    }),
  ),
});
export const OverdueBody = Type.Object({ asOf: Type.Optional(DateOnly) }, strict);
export const FollowUpQuery = Type.Object(
  { estateId: Type.Optional(Uuid), status: Type.Optional(Type.Union([Type.Literal('open'), Type.Literal('closed')])) },
  strict,
);
export const ContactBody = Type.Object(
  {
    method: Type.Union(['phone', 'visit', 'sms', 'letter', 'wechat'].map((m) => Type.Literal(m))),
    outcome: Type.Union(
      ['reached', 'no_answer', 'promised', 'refused', 'paid', 'wrong_number'].map((m) => Type.Literal(m)),
    ),
    note: Type.Optional(Text(500)),
    promisedOn: Type.Optional(DateOnly),
  },
  strict,
);
export const FiguresQuery = Type.Object(
  {
    estateId: Type.Optional(Uuid),
    period: Period,
    asOf: Type.Optional(DateOnly),
    by: Type.Optional(Type.Union([Type.Literal('estate'), Type.Literal('building')])),
  },
  strict,
);
