import { Type } from '@sinclair/typebox';
import { ROLES } from '../../core/authz.js';
import { DateTime, PageQuery, Text, Uuid } from '../../core/schemas.js';

export const RoleSchema = Type.Union(ROLES.map((r) => Type.Literal(r)));

export const Account = Type.Object({
  id: Uuid,
  login: Type.String(),
  role: RoleSchema,
  estateId: Type.Union([Uuid, Type.Null()]),
  personId: Type.Union([Uuid, Type.Null()]),
  disabled: Type.Boolean(),
  createdAt: DateTime,
});

export const CreateAccountBody = Type.Object(
  {
    login: Type.String({ pattern: '^[A-Za-z0-9._@-]{3,100}$' }),
    password: Type.String({ minLength: 10, maxLength: 200 }),
    role: RoleSchema,
    estateId: Type.Optional(Uuid),
    personId: Type.Optional(Uuid),
  },
  { additionalProperties: false },
);

export const UpdateAccountBody = Type.Object(
  { role: Type.Optional(RoleSchema), disabled: Type.Optional(Type.Boolean()) },
  { additionalProperties: false, minProperties: 1 },
);

export const AccountQuery = Type.Object(
  { estateId: Type.Optional(Uuid), login: Type.Optional(Text(100)), ...PageQuery },
  { additionalProperties: false },
);
