import { Type } from '@sinclair/typebox';
import { PageQuery, Text, Uuid } from '../../core/schemas.js';

export const Estate = Type.Object({
  id: Uuid,
  code: Type.String(),
  name: Type.String(),
  city: Type.String(),
  timezone: Type.String(),
});
export const CreateEstateBody = Type.Object(
  {
    code: Type.String({ pattern: '^[A-Z0-9-]{2,20}$' }),
    name: Text(100),
    city: Text(50),
    timezone: Type.Optional(Type.String({ pattern: '^[A-Za-z_]+/[A-Za-z_]+$' })),
  },
  { additionalProperties: false },
);
export const Building = Type.Object({ id: Uuid, estateId: Uuid, name: Type.String(), floors: Type.Integer() });
export const CreateBuildingBody = Type.Object(
  { name: Text(50), floors: Type.Integer({ minimum: 1, maximum: 200 }) },
  { additionalProperties: false },
);
export const Unit = Type.Object({
  id: Uuid,
  estateId: Uuid,
  buildingId: Uuid,
  number: Type.String(),
  floor: Type.Integer(),
  areaSqm: Type.Number({ description: 'floor area in m², two decimals' }),
});
export const CreateUnitBody = Type.Object(
  {
    buildingId: Uuid,
    number: Type.String({ pattern: '^[0-9A-Za-z-]{1,20}$' }),
    floor: Type.Integer({ minimum: -5, maximum: 200 }),
    areaSqm: Type.Number({ exclusiveMinimum: 0, maximum: 10_000, multipleOf: 0.01 }),
  },
  { additionalProperties: false },
);
export const UnitQuery = Type.Object(
  { number: Type.Optional(Type.String({ maxLength: 20 })), ...PageQuery },
  { additionalProperties: false },
);
