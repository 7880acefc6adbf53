// TypeBox pieces shared by every module's route schemas.
import { FormatRegistry, type TSchema, Type } from '@sinclair/typebox';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
// The TypeBox validator knows no formats until they are registered.
if (!FormatRegistry.Has('uuid')) FormatRegistry.Set('uuid', (v) => UUID.test(v));
if (!FormatRegistry.Has('date')) FormatRegistry.Set('date', (v) => DATE.test(v) && !Number.isNaN(Date.parse(v)));
if (!FormatRegistry.Has('date-time')) FormatRegistry.Set('date-time', (v) => !Number.isNaN(Date.parse(v)));

export const Uuid = Type.String({ format: 'uuid' });
export const IdParams = Type.Object({ id: Uuid }, { additionalProperties: false });
export const DateOnly = Type.String({ format: 'date' });
export const DateTime = Type.String({ format: 'date-time' });
/** Free text typed by people: bounded, no control characters. */
export const Text = (maxLength: number, minLength = 1) =>
  Type.String({ minLength, maxLength, pattern: '^[^\\u0000-\\u001f\\u007f]*$' });
export const MainlandPhone = Type.String({ pattern: '^1[3-9]\\d{9}$' });
/** 18-character resident identity card number (GB 11643): 17 digits and a check digit or X. */
export const IdNumber = Type.String({ pattern: '^\\d{17}[\\dX]$' });

export const ErrorBody = Type.Object({
  error: Type.Object({
    code: Type.String(),
    message: Type.String(),
    field: Type.Optional(Type.String()),
    requestId: Type.String(),
  }),
});

export const PageQuery = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
  cursor: Type.Optional(Type.String({ maxLength: 200, pattern: '^[A-Za-z0-9_-]*$' })),
};

export const Page = <T extends TSchema>(item: T) =>
  Type.Object({ items: Type.Array(item), nextCursor: Type.Union([Type.String(), Type.Null()]) });

/** Standard error responses every protected route can give, for OpenAPI. */
export const ErrorResponses = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody };
export const NoContent = { 204: Type.Null({ description: 'done' }) };
