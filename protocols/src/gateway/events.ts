import { type Static, Type } from '@sinclair/typebox';
import { DeviceId, Enum, GatewayId, Id, Millis, Obj, Reason, Seq, Tagged, Ts } from '../common.js';
import { DoorEventType } from '../devices/door.js';

export const DEVICE_KINDS = ['door', 'camera', 'ble', 'reader', 'charger', 'leak', 'climate', 'energy'] as const;
export const DeviceKind = Enum(DEVICE_KINDS);
export type DeviceKind = Static<typeof DeviceKind>;

/** Delivery order inside the gateway's store-and-forward log: critical first, low (telemetry) last. */
export const Priority = Enum(['critical', 'high', 'normal', 'low']);
export type Priority = Static<typeof Priority>;

export const AccessMethod = Enum(['face', 'ble', 'qr', 'pin', 'remote', 'exit_button', 'fire_release']);
export type AccessMethod = Static<typeof AccessMethod>;

export const AlarmKind = Enum([
  'door_forced',
  'door_held_open',
  'tamper',
  'fire',
  'water_leak',
  'charger_fault',
  'device_offline',
  'disk_near_full',
  'clock_skew',
]);
export type AlarmKind = Static<typeof AlarmKind>;

const Head = { seq: Seq, ts: Ts, priority: Priority };
const DoorId = Id('door id');
const PersonId = Id('person id');

export const GatewayEvent = Tagged(
  'type',
  [
    Obj(
      {
        ...Head,
        type: Type.Literal('access_decision'),
        doorId: DoorId,
        deviceId: DeviceId,
        method: AccessMethod,
        granted: Type.Boolean(),
        reason: Reason,
        personId: Type.Optional(PersonId),
        credentialId: Type.Optional(Id('key, pass or template id')),
        score: Type.Optional(Type.Number({ minimum: -1, maximum: 1, description: 'face match cosine' })),
        latencyMs: Type.Number({ minimum: 0, maximum: 600_000 }),
      },
      'one access decision; face records keep score and decision, never an image',
    ),
    Obj({
      ...Head,
      type: Type.Literal('alarm'),
      alarm: AlarmKind,
      state: Enum(['raised', 'cleared']),
      deviceId: Type.Optional(DeviceId),
      doorId: Type.Optional(DoorId),
      detail: Type.Optional(Type.String({ maxLength: 500 })),
    }),
    Obj({ ...Head, type: Type.Literal('door'), doorId: DoorId, deviceId: DeviceId, event: DoorEventType }),
    Obj({
      ...Head,
      type: Type.Literal('charger_session'),
      deviceId: DeviceId,
      sessionId: Id('charging session id'),
      phase: Enum(['started', 'stopped']),
      meterWh: Type.Integer({ minimum: 0, maximum: 1e12, description: 'register at this phase' }),
      energyWh: Type.Optional(Type.Integer({ minimum: 0, maximum: 1e12 })),
      reservationId: Type.Optional(Id('reservation')),
      reason: Type.Optional(Reason),
    }),
    Obj({
      ...Head,
      type: Type.Literal('device'),
      deviceId: DeviceId,
      kind: DeviceKind,
      online: Type.Boolean(),
    }),
    Obj({
      ...Head,
      type: Type.Literal('command_result'),
      cmdId: Type.String({ pattern: '^[A-Za-z0-9_-]{8,64}$' }),
      result: Enum(['done', 'refused', 'failed']),
      reason: Type.Optional(Reason),
    }),
  ],
  'an event the gateway must deliver exactly once (idempotency key: gateway id + seq)',
);
export type GatewayEvent = Static<typeof GatewayEvent>;

export const EventBatch = Obj(
  {
    gatewayId: GatewayId,
    sentAt: Millis('when the gateway sent this batch'),
    events: Type.Array(GatewayEvent, { minItems: 1, maxItems: 500 }),
  },
  'events from the gateway log, ascending seq; a batch may repeat events already sent',
);
export type EventBatch = Static<typeof EventBatch>;

export const EventAck = Obj(
  {
    ts: Ts,
    ackedSeq: Type.Integer({
      minimum: -1,
      maximum: Number.MAX_SAFE_INTEGER,
      description: 'every event up to and including this seq is stored (-1: none yet)',
    }),
    rejected: Type.Optional(
      Type.Array(Obj({ seq: Seq, reason: Reason }), { maxItems: 500, description: 'refused events; not resent' }),
    ),
  },
  'cloud → gateway: the log may forget events up to ackedSeq',
);
export type EventAck = Static<typeof EventAck>;

const MetricName = Type.String({ pattern: '^[a-zA-Z][a-zA-Z0-9_]{0,47}$' });
export const TelemetryBatch = Obj(
  {
    gatewayId: GatewayId,
    sentAt: Millis(),
    samples: Type.Array(
      Obj({
        deviceId: DeviceId,
        kind: DeviceKind,
        ts: Ts,
        metrics: Type.Record(MetricName, Type.Union([Type.Number(), Type.Boolean()]), {
          minProperties: 1,
          maxProperties: 32,
        }),
      }),
      { minItems: 1, maxItems: 2_000 },
    ),
  },
  'device readings, batched; may be dropped under the disk budget (oldest first)',
);
export type TelemetryBatch = Static<typeof TelemetryBatch>;

export const GatewayHealth = Obj(
  {
    ts: Ts,
    software: Type.String({ maxLength: 64 }),
    uptimeS: Type.Number({ minimum: 0 }),
    backlog: Obj({
      events: Type.Integer({ minimum: 0 }),
      bytes: Type.Integer({ minimum: 0 }),
      oldestTs: Type.Optional(Ts),
      droppedTelemetry: Type.Integer({ minimum: 0 }),
    }),
    diskFreeMb: Type.Number({ minimum: 0 }),
    rssMb: Type.Number({ minimum: 0 }),
    load1: Type.Number({ minimum: 0 }),
    clockOffsetMs: Type.Optional(Type.Number()),
    desiredVersion: Type.Integer({ minimum: 0 }),
    appliedVersion: Type.Integer({ minimum: 0 }),
    devices: Type.Array(
      Obj({ deviceId: DeviceId, kind: DeviceKind, online: Type.Boolean(), lastSeen: Type.Optional(Ts) }),
      { maxItems: 1_000 },
    ),
  },
  'gateway health, retained; backlog shows the store-and-forward queue',
);
export type GatewayHealth = Static<typeof GatewayHealth>;
