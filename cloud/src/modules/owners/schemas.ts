import { Type } from '@sinclair/typebox';
import { DateTime, IdNumber, MainlandPhone, PageQuery, Text, Uuid } from '../../core/schemas.js';

export const Relation = Type.Union(
  ['owner', 'spouse', 'child', 'parent', 'tenant', 'other'].map((r) => Type.Literal(r)),
);
export const Gender = Type.Union([Type.Literal('female'), Type.Literal('male')]);
const PersonName = Text(50);

export const NewMember = Type.Object(
  {
    name: PersonName,
    relation: Relation,
    gender: Type.Optional(Gender),
    phone: Type.Optional(MainlandPhone),
    idNumber: Type.Optional(IdNumber),
  },
  { additionalProperties: false },
);
export const CreateHouseholdBody = Type.Object(
  { unitId: Uuid, movedInAt: Type.Optional(DateTime), members: Type.Array(NewMember, { minItems: 1, maxItems: 20 }) },
  { additionalProperties: false },
);
export const UpdatePersonBody = Type.Object(
  {
    name: Type.Optional(PersonName),
    relation: Type.Optional(Relation),
    gender: Type.Optional(Gender),
    phone: Type.Optional(MainlandPhone),
    idNumber: Type.Optional(IdNumber),
  },
  { additionalProperties: false, minProperties: 1 },
);
export const MoveOutBody = Type.Object({ movedOutAt: Type.Optional(DateTime) }, { additionalProperties: false });

export const Member = Type.Object({
  id: Uuid,
  name: Type.String(),
  relation: Type.String(),
  gender: Type.Union([Type.String(), Type.Null()]),
  phoneMasked: Type.Union([Type.String(), Type.Null()]),
  hasIdNumber: Type.Boolean(),
});
export const Vehicle = Type.Object({
  id: Uuid,
  plate: Type.String(),
  parkingSpace: Type.Union([Type.String(), Type.Null()]),
});
export const Household = Type.Object({
  id: Uuid,
  estateId: Uuid,
  status: Type.String(),
  movedInAt: DateTime,
  movedOutAt: Type.Union([DateTime, Type.Null()]),
  unit: Type.Object({ id: Uuid, number: Type.String(), areaSqm: Type.Number() }),
  members: Type.Array(Member),
  vehicles: Type.Array(Vehicle),
});
export const Sensitive = Type.Object({
  personId: Uuid,
  phone: Type.Union([Type.String(), Type.Null()]),
  idNumber: Type.Union([Type.String(), Type.Null()]),
});

export const SearchQuery = Type.Object(
  {
    estateId: Type.Optional(Uuid),
    name: Type.Optional(Text(50)),
    // Phones are stored encrypted: only a whole number can be looked up (through its blind index).
    phone: Type.Optional(MainlandPhone),
    unit: Type.Optional(Text(20)),
    ...PageQuery,
  },
  { additionalProperties: false },
);
export const SearchHit = Type.Object({
  personId: Uuid,
  householdId: Uuid,
  estateId: Uuid,
  name: Type.String(),
  relation: Type.String(),
  phoneMasked: Type.Union([Type.String(), Type.Null()]),
  unitNumber: Type.String(),
});
