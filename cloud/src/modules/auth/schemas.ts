import { Type } from '@sinclair/typebox';
import { Text, Uuid } from '../../core/schemas.js';

const Password = Type.String({ minLength: 1, maxLength: 200 });
export const LoginBody = Type.Object({ login: Text(100), password: Password }, { additionalProperties: false });
export const RefreshBody = Type.Object(
  { refreshToken: Type.String({ minLength: 20, maxLength: 200 }) },
  { additionalProperties: false },
);
export const PasswordBody = Type.Object(
  { currentPassword: Password, newPassword: Type.String({ minLength: 10, maxLength: 200 }) },
  { additionalProperties: false },
);
export const Tokens = Type.Object({
  accessToken: Type.String(),
  refreshToken: Type.String(),
  expiresIn: Type.Integer({ description: 'seconds until the access token expires' }),
});
export const Me = Type.Object({
  accountId: Uuid,
  role: Type.String(),
  estateId: Type.Union([Uuid, Type.Null()]),
  personId: Type.Union([Uuid, Type.Null()]),
  householdId: Type.Union([Uuid, Type.Null()]),
});
