import { type Static, Type } from '@sinclair/typebox';
import { CommandHeader, Enum, Id, Obj, Reason, Seq, Tagged, Ts } from '../common.js';

const SessionId = Id('charging session id');
const Wh = (description: string) => Type.Integer({ minimum: 0, maximum: 1e12, description });
const PowerLimitW = Type.Integer({ minimum: 0, maximum: 350_000, description: 'power limit, W' });

export const ChargerStatus = Enum([
  'available',
  'preparing',
  'charging',
  'suspended',
  'finishing',
  'reserved',
  'faulted',
  'unavailable',
]);
export type ChargerStatus = Static<typeof ChargerStatus>;

export const ChargerState = Obj(
  {
    ts: Ts,
    status: ChargerStatus,
    plugged: Type.Boolean(),
    powerLimitW: PowerLimitW,
    sessionId: Type.Optional(SessionId),
    faultCode: Type.Optional(Reason),
  },
  'EV charger state (status names follow OCPP 1.6 StatusNotification)',
);
export type ChargerState = Static<typeof ChargerState>;

export const ChargerMeter = Obj(
  {
    ts: Ts,
    sessionId: Type.Optional(SessionId),
    energyWh: Wh('energy register, cumulative'),
    powerW: Type.Number({ minimum: 0, maximum: 400_000 }),
    voltageV: Type.Number({ minimum: 0, maximum: 1_000 }),
    currentA: Type.Number({ minimum: 0, maximum: 500 }),
  },
  'meter values',
);
export type ChargerMeter = Static<typeof ChargerMeter>;

const Ev = { seq: Seq, ts: Ts };
export const ChargerEvent = Tagged(
  'type',
  [
    Obj({
      ...Ev,
      type: Type.Literal('session_started'),
      sessionId: SessionId,
      meterStartWh: Wh('register at start'),
      reservationId: Type.Optional(Id('reservation')),
    }),
    Obj({
      ...Ev,
      type: Type.Literal('session_stopped'),
      sessionId: SessionId,
      meterStopWh: Wh('register at stop'),
      energyWh: Wh('energy delivered in the session'),
      reason: Enum(['local', 'remote', 'ev_disconnected', 'fault', 'power_loss']),
    }),
    Obj({
      ...Ev,
      type: Type.Literal('fault'),
      faultCode: Reason,
      detail: Type.Optional(Type.String({ maxLength: 200 })),
    }),
    Obj({ ...Ev, type: Type.Literal('fault_cleared'), faultCode: Reason }),
    Obj({ ...Ev, type: Type.Literal('plugged') }),
    Obj({ ...Ev, type: Type.Literal('unplugged') }),
  ],
  'charger event; sessions and faults must not be lost (seq = idempotency key)',
);
export type ChargerEvent = Static<typeof ChargerEvent>;

export const ChargerCommand = Tagged(
  'action',
  [
    Obj({
      ...CommandHeader,
      action: Type.Literal('start'),
      sessionId: SessionId,
      reservationId: Type.Optional(Id('reservation')),
    }),
    Obj({ ...CommandHeader, action: Type.Literal('stop'), sessionId: SessionId }),
    Obj({ ...CommandHeader, action: Type.Literal('set_power_limit'), powerLimitW: PowerLimitW }),
    Obj({ ...CommandHeader, action: Type.Literal('reset') }),
  ],
  'charger control from the gateway',
);
export type ChargerCommand = Static<typeof ChargerCommand>;
