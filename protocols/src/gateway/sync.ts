import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { Base64Url, DeviceId, Enum, GatewayId, Id, Millis, Obj, Reason, Signature, Tagged, Ts } from '../common.js';
import { DoorMode } from '../devices/door.js';

/*
 * Desired state: the cloud keeps one versioned document per gateway, split in
 * sections so a change to one (a revoked key) does not resend another (the
 * gallery). `desired` names each section's version and hash; `sync/<section>`
 * carries deltas (upserts + deletes) from one version to the next, chunked.
 * Everything is signed by a cloud key the gateway was given at provisioning.
 */
export const SECTIONS = [
  'config',
  'access',
  'gallery',
  'credentials',
  'passes',
  'revocations',
  'reservations',
] as const;
export type Section = (typeof SECTIONS)[number];

const Version = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
const Hm = Type.String({ pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$', description: 'HH:MM, estate local time' });
const IsoDate = Type.String({ pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' });
const PersonId = Id('person id');
const DoorId = Id('door id');

const SectionRef = Obj({
  version: Version,
  sha256: Type.String({ pattern: '^[0-9a-f]{64}$', description: 'hash of the section content at this version' }),
  items: Type.Integer({ minimum: 0 }),
});

export const DesiredState = Obj(
  {
    gatewayId: GatewayId,
    version: Version,
    issuedAt: Millis(),
    sections: Obj(Object.fromEntries(SECTIONS.map((s) => [s, SectionRef])) as Record<Section, typeof SectionRef>),
    signature: Signature,
  },
  'desired-state manifest (retained); a gateway refuses an older version or a bad signature',
);
export type DesiredState = Static<typeof DesiredState>;

export const GatewayConfig = Obj({
  estateId: Id('estate id'),
  timezone: Type.String({ minLength: 1, maxLength: 64, description: 'IANA zone for schedules, e.g. Asia/Shanghai' }),
  faceMatchThreshold: Type.Number({ minimum: 0, maximum: 1 }),
  pinKey: Base64Url(64, 'secret for keyed PIN hashes (HMAC-SHA256), 32 random bytes', 43),
  pinMaxAttempts: Type.Integer({ minimum: 1, maximum: 20 }),
  pinLockoutS: Type.Integer({ minimum: 1, maximum: 86_400 }),
  telemetryIntervalS: Type.Integer({ minimum: 1, maximum: 3_600 }),
  trustedKeys: Type.Array(
    Obj({
      keyId: Id('key id'),
      alg: Enum(['Ed25519', 'ES256']),
      publicKey: Base64Url(200, 'raw public key (Ed25519) or uncompressed point (P-256)'),
      purposes: Type.Array(Enum(['desired', 'command', 'ble_key', 'pass']), { minItems: 1, uniqueItems: true }),
      notAfter: Type.Optional(Millis('key accepted until; overlap allows rotation')),
    }),
    { minItems: 1, maxItems: 16 },
  ),
});
export type GatewayConfig = Static<typeof GatewayConfig>;

const Schedule = Obj({
  windows: Type.Array(
    Obj({
      days: Type.Array(Type.Integer({ minimum: 1, maximum: 7 }), { minItems: 1, maxItems: 7, uniqueItems: true }),
      from: Hm,
      to: Hm,
    }),
    { maxItems: 32, description: 'empty = always' },
  ),
  holidays: Type.Array(IsoDate, { maxItems: 366, description: 'dates on which only `holidayWindows` apply' }),
  holidayWindows: Type.Array(Obj({ from: Hm, to: Hm }), { maxItems: 8 }),
});

const AccessItem = Tagged('kind', [
  Obj({
    kind: Type.Literal('door'),
    id: DoorId,
    name: Type.String({ minLength: 1, maxLength: 100 }),
    deviceId: DeviceId,
    mode: DoorMode,
    pulseMs: Type.Integer({ minimum: 500, maximum: 60_000 }),
    heldOpenS: Type.Integer({ minimum: 5, maximum: 3_600 }),
    fireRelease: Type.Boolean(),
    antiPassback: Enum(['off', 'soft', 'hard']),
    direction: Enum(['in', 'out', 'both']),
    readers: Type.Array(DeviceId, { maxItems: 16, description: 'cameras and readers that open this door' }),
  }),
  Obj({
    kind: Type.Literal('group'),
    id: Id('access group id'),
    doors: Type.Array(DoorId, { maxItems: 1_000 }),
    schedule: Schedule,
  }),
  Obj({ kind: Type.Literal('member'), id: PersonId, groups: Type.Array(Id('group'), { maxItems: 64 }) }),
]);

const GalleryItem = Obj({
  kind: Type.Literal('template'),
  id: Id('template id'),
  personId: PersonId,
  model: Type.String({ pattern: '^[a-z0-9_.-]{1,64}$', description: 'embedder id from the model manifest' }),
  dim: Type.Integer({ minimum: 16, maximum: 4_096 }),
  embedding: Base64Url(22_000, 'float32 little-endian, L2-normalised, base64url'),
});

const CredentialItem = Tagged('kind', [
  Obj({
    kind: Type.Literal('ble_key'),
    id: Id('key id'),
    personId: PersonId,
    status: Enum(['active', 'suspended']),
    notAfter: Millis(),
  }),
  Obj({
    kind: Type.Literal('pin'),
    id: PersonId,
    hash: Type.String({
      pattern: '^[A-Za-z0-9_-]{43}$',
      description:
        'base64url HMAC-SHA256(pinKey, PIN): keyed so a PIN alone finds its person; PINs are unique per estate',
    }),
  }),
]);

const PassItem = Obj({
  kind: Type.Literal('pass'),
  id: Id('visitor pass id'),
  doors: Type.Array(DoorId, { minItems: 1, maxItems: 64 }),
  validFrom: Millis(),
  validTo: Millis(),
  maxUses: Type.Integer({ minimum: 1, maximum: 1_000 }),
});

const RevocationItem = Obj({
  kind: Enum(['ble_key', 'pass', 'person', 'template', 'pin']),
  id: Id('revoked id'),
  revokedAt: Millis(),
  reason: Reason,
});

const ReservationItem = Obj({
  kind: Type.Literal('reservation'),
  id: Id('reservation id'),
  deviceId: DeviceId,
  personId: PersonId,
  from: Millis(),
  to: Millis(),
});

const Delete = Obj({ kind: Type.String({ pattern: '^[a-z_]{1,32}$' }), id: Id('id') });

function delta<S extends Section, I extends TSchema>(section: S, item: I, maxItems: number) {
  return Obj(
    {
      gatewayId: GatewayId,
      section: Type.Literal(section),
      fromVersion: Version,
      toVersion: Version,
      chunk: Obj({ index: Type.Integer({ minimum: 0 }), count: Type.Integer({ minimum: 1, maximum: 10_000 }) }),
      upserts: Type.Array(item, { maxItems }),
      deletes: Type.Array(Delete, { maxItems: 10_000 }),
      signature: Signature,
    },
    `${section} delta from fromVersion to toVersion (fromVersion 0 = full replacement)`,
  );
}

export const ConfigSync = Obj(
  {
    gatewayId: GatewayId,
    section: Type.Literal('config'),
    toVersion: Version,
    config: GatewayConfig,
    signature: Signature,
  },
  'gateway configuration (always whole)',
);
export const AccessSync = delta('access', AccessItem, 5_000);
export const GallerySync = delta('gallery', GalleryItem, 1_000);
export const CredentialSync = delta('credentials', CredentialItem, 5_000);
export const PassSync = delta('passes', PassItem, 5_000);
export const RevocationSync = delta('revocations', RevocationItem, 10_000);
export const ReservationSync = delta('reservations', ReservationItem, 5_000);
export type ConfigSync = Static<typeof ConfigSync>;
export type AccessSync = Static<typeof AccessSync>;
export type GallerySync = Static<typeof GallerySync>;
export type CredentialSync = Static<typeof CredentialSync>;
export type PassSync = Static<typeof PassSync>;
export type RevocationSync = Static<typeof RevocationSync>;
export type ReservationSync = Static<typeof ReservationSync>;

export const DesiredAck = Obj(
  {
    gatewayId: GatewayId,
    ts: Ts,
    version: Version,
    status: Enum(['applied', 'partial', 'rejected']),
    sections: Obj(
      Object.fromEntries(SECTIONS.map((s) => [s, Version])) as Record<Section, typeof Version>,
      'version of each section the gateway now runs',
    ),
    drift: Type.Array(
      Obj({
        section: Type.String({ maxLength: 32 }),
        expected: Type.String({ maxLength: 64 }),
        actual: Type.String({ maxLength: 64 }),
      }),
      { maxItems: 16 },
    ),
    reason: Type.Optional(Reason),
  },
  'the version the gateway runs, and any drift from the desired document',
);
export type DesiredAck = Static<typeof DesiredAck>;
