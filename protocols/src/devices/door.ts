import { type Static, Type } from '@sinclair/typebox';
import { CommandHeader, Enum, Obj, Seq, Ts } from '../common.js';

export const DoorMode = Enum(
  ['fail_secure', 'fail_safe'],
  'fail_secure stays locked without power; fail_safe releases without power',
);

export const DoorState = Obj(
  {
    ts: Ts,
    relay: Enum(['locked', 'unlocked']),
    contact: Enum(['closed', 'open']),
    mode: DoorMode,
    fire: Type.Boolean({ description: 'fire-alarm input active (door released if configured)' }),
    tamper: Type.Boolean(),
    held: Type.Boolean({ description: 'held open by command' }),
  },
  'door controller state: relay, door contact and inputs',
);
export type DoorState = Static<typeof DoorState>;

export const DoorEventType = Enum([
  'opened',
  'closed',
  'forced',
  'held_open',
  'exit_button',
  'tamper',
  'tamper_cleared',
  'fire_alarm',
  'fire_cleared',
  'relay_unlocked',
  'relay_locked',
]);
export type DoorEventType = Static<typeof DoorEventType>;

export const DoorEvent = Obj(
  { seq: Seq, ts: Ts, type: DoorEventType },
  'door controller event; `forced` = contact opened while the relay was locked',
);
export type DoorEvent = Static<typeof DoorEvent>;

export const DoorCommand = Obj(
  {
    ...CommandHeader,
    action: Enum(['unlock', 'lock', 'hold_open', 'release_hold', 'test_pulse']),
    pulseMs: Type.Optional(Type.Integer({ minimum: 500, maximum: 60_000, description: 'unlock pulse length' })),
  },
  'relay command from the gateway',
);
export type DoorCommand = Static<typeof DoorCommand>;
