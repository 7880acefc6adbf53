import { type Static, type TObject, type TProperties, type TSchema, type TUnion, Type } from '@sinclair/typebox';

/**
 * A closed set of strings. Emitted as `enum` rather than a union of literals so
 * a wrong value is reported once, with the allowed values.
 */
export const Enum = <const T extends readonly string[]>(values: T, description?: string) =>
  Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...(description ? { description } : {}) });

/** Objects on the wire are closed: an unknown field is an error, not silently ignored. */
export const Obj = <P extends TProperties>(properties: P, description?: string): TObject<P> =>
  Type.Object(properties, { additionalProperties: false, ...(description ? { description } : {}) });

/**
 * A union told apart by one literal property. Emitted as `oneOf` + `discriminator`
 * so the validator picks the branch by tag and reports errors from that branch only,
 * instead of one error per branch as a plain `anyOf` would.
 */
export const Tagged = <T extends TObject[]>(tag: string, variants: [...T], description?: string) =>
  Type.Unsafe<Static<TUnion<T>>>({
    // AJV's discriminator reads data[tag] without checking the type first: `type` must guard it
    type: 'object',
    oneOf: variants,
    discriminator: { propertyName: tag },
    ...(description ? { description } : {}),
  });

/** Ids that are safe as an MQTT topic segment: no '/', '+', '#', no upper case. */
export const ID_PATTERN = '^[a-z0-9][a-z0-9_-]{0,62}$';
export const Id = (description: string) => Type.String({ pattern: ID_PATTERN, description });
export const DeviceId = Id('device id, unique within a gateway');
export const GatewayId = Id('gateway id, unique within the fleet');

/** UTC milliseconds since the Unix epoch (DESIGN.md: UTC on the wire). */
export const Millis = (description = 'UTC time, ms since epoch') =>
  Type.Integer({ minimum: 0, maximum: 8_640_000_000_000_000, description });
export const Ts = Millis();

export const Seq = Type.Integer({
  minimum: 0,
  maximum: Number.MAX_SAFE_INTEGER,
  description: 'per-source sequence number; with the source id it is the idempotency key',
});

export const CmdId = Type.String({
  pattern: '^[A-Za-z0-9_-]{8,64}$',
  description: 'command id, echoed in the ack (correlation id)',
});

/** Machine-readable reason code, e.g. `expired`, `not_in_group`. */
export const Reason = Type.String({ pattern: '^[a-z][a-z0-9_]{0,63}$' });

export const Base64Url = (maxLength: number, description: string, minLength = 1) =>
  Type.String({ pattern: '^[A-Za-z0-9_-]*$', minLength, maxLength, description });

/** A signed credential (BLE key, visitor pass): dot-separated base64url parts. */
export const Token = (description: string) =>
  Type.String({ minLength: 1, maxLength: 2048, pattern: '^[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)*$', description });

export const Percent = Type.Number({ minimum: 0, maximum: 100 });

/** Fields every command carries: a command past `expiresAt` is refused, never executed late. */
export const CommandHeader = {
  cmdId: CmdId,
  issuedAt: Millis('when the sender issued the command'),
  expiresAt: Millis('the receiver refuses the command after this instant'),
};

export const CommandAck = Obj(
  {
    cmdId: CmdId,
    ts: Ts,
    result: Enum(['done', 'refused', 'failed']),
    reason: Type.Optional(Reason),
    detail: Type.Optional(
      Type.String({ maxLength: 200, description: 'for people: e.g. the field a refused command got wrong' }),
    ),
  },
  'outcome of one command; `reason` says why it was refused or failed',
);
export type CommandAck = Static<typeof CommandAck>;

export const Signature = Obj(
  {
    keyId: Id('id of the signing key'),
    alg: Enum(['Ed25519', 'ES256']),
    sig: Base64Url(200, 'signature over the canonical form of the message without `signature`'),
  },
  'detached signature by a cloud key the gateway trusts',
);
export type Signature = Static<typeof Signature>;

export const Presence = Obj(
  {
    online: Type.Boolean(),
    ts: Millis('when this state was set; for the last-will message, the connect time'),
    fw: Type.Optional(Type.String({ maxLength: 64, description: 'firmware or software version' })),
  },
  'retained liveness; the broker publishes online:false as the last will',
);
export type Presence = Static<typeof Presence>;

export type AnySchema = TSchema;
