import { type TSchema, Type } from '@sinclair/typebox';
import { DateTime, PageQuery, Text, Uuid } from '../../core/schemas.js';
import { CATEGORY_NAMES, STATUSES } from './categories.js';

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
export const CategorySchema = Type.Union(CATEGORY_NAMES.map((c) => Type.Literal(c)));
export const StatusSchema = Type.Union(STATUSES.map((s) => Type.Literal(s)));
const Base64 = Type.String({ minLength: 4, pattern: '^[A-Za-z0-9+/]+={0,2}$' });
export const PhotoBody = Type.Object({ contentBase64: Base64 }, { additionalProperties: false });

export const Place = Type.Union([
  Type.Object({ kind: Type.Literal('unit'), unitId: Type.Optional(Uuid) }, { additionalProperties: false }),
  Type.Object(
    { kind: Type.Literal('common'), buildingId: Type.Optional(Uuid), area: Text(100) },
    { additionalProperties: false },
  ),
]);

export const SubmitBody = Type.Object(
  {
    category: CategorySchema,
    description: Text(1000),
    place: Place,
    photos: Type.Optional(Type.Array(PhotoBody, { maxItems: 3 })),
    planned: Type.Optional(Type.Object({ startsAt: DateTime, endsAt: DateTime }, { additionalProperties: false })),
  },
  { additionalProperties: false },
);
export const NoteBody = Type.Object({ note: Type.Optional(Text(500)) }, { additionalProperties: false });
export const AssignBody = Type.Object(
  { technicianId: Type.Optional(Uuid), note: Type.Optional(Text(200)) },
  { additionalProperties: false },
);
export const RateBody = Type.Object(
  { rating: Type.Integer({ minimum: 1, maximum: 5 }), comment: Type.Optional(Text(500)) },
  { additionalProperties: false },
);
export const ComplaintBody = Type.Object({ body: Text(1000) }, { additionalProperties: false });
export const FollowUpBody = Type.Object(
  { followUp: Text(1000), resolved: Type.Boolean() },
  { additionalProperties: false },
);
export const ListQuery = Type.Object(
  {
    estateId: Type.Optional(Uuid),
    status: Type.Optional(StatusSchema),
    mine: Type.Optional(Type.Boolean()),
    ...PageQuery,
  },
  { additionalProperties: false },
);
export const ComplaintQuery = Type.Object(
  {
    estateId: Type.Optional(Uuid),
    status: Type.Optional(Type.Union([Type.Literal('open'), Type.Literal('resolved')])),
  },
  { additionalProperties: false },
);
export const StatsQuery = Type.Object(
  { estateId: Type.Optional(Uuid), from: Type.Optional(DateTime), to: Type.Optional(DateTime) },
  { additionalProperties: false },
);

export const Order = Type.Object({
  id: Uuid,
  estateId: Uuid,
  householdId: Nullable(Uuid),
  unitId: Nullable(Uuid),
  buildingId: Nullable(Uuid),
  commonArea: Nullable(Type.String()),
  category: Type.String(),
  description: Type.String(),
  source: Type.String(),
  status: Type.String(),
  technician: Nullable(Type.Object({ id: Uuid, name: Type.String() })),
  acceptDueAt: DateTime,
  completeDueAt: DateTime,
  assignedAt: Nullable(DateTime),
  acceptedAt: Nullable(DateTime),
  startedAt: Nullable(DateTime),
  completedAt: Nullable(DateTime),
  ratedAt: Nullable(DateTime),
  cancelledAt: Nullable(DateTime),
  reopenedAt: Nullable(DateTime),
  escalated: Type.Boolean(),
  rating: Nullable(Type.Integer()),
  ratingComment: Nullable(Type.String()),
  deviceId: Nullable(Type.String()),
  alarmKind: Nullable(Type.String()),
  alarmCount: Type.Integer(),
  plannedStartsAt: Nullable(DateTime),
  plannedEndsAt: Nullable(DateTime),
  createdAt: DateTime,
});
export const OrderDetail = Type.Composite([
  Order,
  Type.Object({
    transitions: Type.Array(
      Type.Object({ from: Nullable(Type.String()), to: Type.String(), at: DateTime, note: Nullable(Type.String()) }),
    ),
    assignments: Type.Array(
      Type.Object({
        technicianId: Uuid,
        mode: Type.String(),
        reason: Type.String(),
        assignedAt: DateTime,
        endedAt: Nullable(DateTime),
        endedReason: Nullable(Type.String()),
      }),
    ),
    photos: Type.Array(Type.Object({ id: Uuid, contentType: Type.String(), sizeBytes: Type.Integer() })),
  }),
]);
export const Complaint = Type.Object({
  id: Uuid,
  orderId: Uuid,
  estateId: Uuid,
  body: Type.String(),
  status: Type.String(),
  followUp: Nullable(Type.String()),
  followedUpAt: Nullable(DateTime),
  createdAt: DateTime,
});
const Figures = {
  orders: Type.Integer(),
  completed: Type.Integer(),
  avgMinutesToAccept: Nullable(Type.Number()),
  avgMinutesToComplete: Nullable(Type.Number()),
  avgRating: Nullable(Type.Number()),
  ratings: Type.Integer(),
  complaintRate: Type.Number({ description: 'share of orders with at least one complaint' }),
};
export const Stats = Type.Object({
  from: DateTime,
  to: DateTime,
  estates: Type.Array(Type.Object({ estateId: Uuid, ...Figures })),
  technicians: Type.Array(Type.Object({ estateId: Uuid, technicianId: Uuid, name: Type.String(), ...Figures })),
});

const Minute = Type.Integer({ minimum: 0, maximum: 1440 });
export const Skill = Type.String({ pattern: '^[a-z_]{2,30}$' });
export const TechnicianBody = Type.Object(
  {
    accountId: Uuid,
    name: Text(50),
    skills: Type.Array(Skill, { minItems: 1, maxItems: 10 }),
    baseBuildingId: Type.Optional(Uuid),
    shiftStartMin: Type.Optional(Minute),
    shiftEndMin: Type.Optional(Minute),
  },
  { additionalProperties: false },
);
export const TechnicianPatch = Type.Object(
  {
    name: Type.Optional(Text(50)),
    skills: Type.Optional(Type.Array(Skill, { minItems: 1, maxItems: 10 })),
    baseBuildingId: Type.Optional(Uuid),
    shiftStartMin: Type.Optional(Minute),
    shiftEndMin: Type.Optional(Minute),
    onDuty: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false, minProperties: 1 },
);
export const LatLng = Type.Object(
  { lat: Type.Number({ minimum: -90, maximum: 90 }), lng: Type.Number({ minimum: -180, maximum: 180 }) },
  { additionalProperties: false },
);
export const TechnicianSchema = Type.Object({
  id: Uuid,
  estateId: Uuid,
  accountId: Uuid,
  name: Type.String(),
  skills: Type.Array(Type.String()),
  baseBuildingId: Nullable(Uuid),
  shiftStartMin: Type.Integer(),
  shiftEndMin: Type.Integer(),
  onDuty: Type.Boolean(),
  location: Nullable(Type.Object({ lat: Type.Number(), lng: Type.Number(), at: DateTime })),
});
