import type { TSchema } from '@sinclair/typebox';
import { CommandAck, Presence } from './common.js';
import { BleChallenge, BleHello, BleResponse, BleResult, ReaderEvent } from './devices/ble.js';
import { CameraCommand, CameraEvent, CameraFrameHeader, CameraState } from './devices/camera.js';
import { ChargerCommand, ChargerEvent, ChargerMeter, ChargerState } from './devices/charger.js';
import { DoorCommand, DoorEvent, DoorState } from './devices/door.js';
import { ReaderFeedback, ReaderInput, ReaderState } from './devices/reader.js';
import { ClimateTelemetry, EnergyTelemetry, LeakEvent, LeakTelemetry } from './devices/sensors.js';
import { GatewayCommand } from './gateway/commands.js';
import { EventAck, EventBatch, GatewayHealth, TelemetryBatch } from './gateway/events.js';
import {
  AccessSync,
  ConfigSync,
  CredentialSync,
  DesiredAck,
  DesiredState,
  GallerySync,
  PassSync,
  ReservationSync,
  RevocationSync,
} from './gateway/sync.js';

export const TOPIC_ROOT = 'estate/v1';

export type Direction = 'device→gateway' | 'gateway→device' | 'gateway→cloud' | 'cloud→gateway';

export type Encoding = 'json' | 'binary';

export interface Route<P extends string = string, S extends TSchema = TSchema, E extends Encoding = Encoding> {
  /** Topic with `{param}` segments, always under estate/v1/. */
  readonly pattern: P;
  readonly schema: S;
  readonly direction: Direction;
  readonly qos: 0 | 1;
  readonly retain: boolean;
  /** Payloads above this are refused before parsing. */
  readonly maxBytes: number;
  /** json: UTF-8 JSON validated by the schema; binary: frame.ts layout, schema = header. */
  readonly encoding: E;
}

const KiB = 1024;
const MiB = 1024 * KiB;

type Opts<E extends Encoding> = { qos?: 0 | 1; retain?: boolean; maxBytes?: number; encoding?: E };
const route =
  (direction: Direction) =>
  <P extends string, S extends TSchema, E extends Encoding = 'json'>(
    pattern: P,
    schema: S,
    opts: Opts<E> = {},
  ): Route<P, S, E> => ({
    pattern,
    schema,
    direction,
    qos: opts.qos ?? 1,
    retain: opts.retain ?? false,
    maxBytes: opts.maxBytes ?? 4 * KiB,
    encoding: opts.encoding ?? ('json' as E),
  });
const up = route('device→gateway');
const down = route('gateway→device');
const toCloud = route('gateway→cloud');
const fromCloud = route('cloud→gateway');

const dev = 'estate/v1/dev' as const;
const gw = 'estate/v1/gw/{gatewayId}' as const;

/**
 * The table of contents of the wire: every topic, its schema, direction, QoS,
 * retain flag and size limit. protocols/README.md is generated from it.
 */
export const routes = {
  // — every device —
  devicePresence: up(`${dev}/{kind}/{deviceId}/presence`, Presence, { retain: true, maxBytes: 512 }),

  // — door controller —
  doorState: up(`${dev}/door/{deviceId}/state`, DoorState, { retain: true, maxBytes: KiB }),
  doorEvent: up(`${dev}/door/{deviceId}/event`, DoorEvent, { maxBytes: KiB }),
  doorCommand: down(`${dev}/door/{deviceId}/cmd`, DoorCommand, { maxBytes: KiB }),
  doorAck: up(`${dev}/door/{deviceId}/ack`, CommandAck, { maxBytes: KiB }),

  // — face camera —
  cameraState: up(`${dev}/camera/{deviceId}/state`, CameraState, { retain: true, maxBytes: KiB }),
  cameraFrame: up(`${dev}/camera/{deviceId}/frame`, CameraFrameHeader, {
    qos: 0, // a late frame is worthless: never queue or redeliver
    maxBytes: 2 * MiB,
    encoding: 'binary',
  }),
  cameraEvent: up(`${dev}/camera/{deviceId}/event`, CameraEvent, { maxBytes: KiB }),
  cameraCommand: down(`${dev}/camera/{deviceId}/cmd`, CameraCommand, { maxBytes: KiB }),
  cameraAck: up(`${dev}/camera/{deviceId}/ack`, CommandAck, { maxBytes: KiB }),

  // — BLE reader (phone challenge/response) —
  bleHello: up(`${dev}/ble/{deviceId}/hello`, BleHello),
  bleChallenge: down(`${dev}/ble/{deviceId}/challenge`, BleChallenge, { maxBytes: KiB }),
  bleResponse: up(`${dev}/ble/{deviceId}/response`, BleResponse, { maxBytes: KiB }),
  bleResult: down(`${dev}/ble/{deviceId}/result`, BleResult, { maxBytes: KiB }),
  bleEvent: up(`${dev}/ble/{deviceId}/event`, ReaderEvent, { maxBytes: KiB }),

  // — keypad / QR reader —
  readerState: up(`${dev}/reader/{deviceId}/state`, ReaderState, { retain: true, maxBytes: KiB }),
  readerInput: up(`${dev}/reader/{deviceId}/input`, ReaderInput),
  readerFeedback: down(`${dev}/reader/{deviceId}/feedback`, ReaderFeedback, { maxBytes: KiB }),
  readerEvent: up(`${dev}/reader/{deviceId}/event`, ReaderEvent, { maxBytes: KiB }),

  // — EV charger —
  chargerState: up(`${dev}/charger/{deviceId}/state`, ChargerState, { retain: true, maxBytes: KiB }),
  chargerMeter: up(`${dev}/charger/{deviceId}/meter`, ChargerMeter, { qos: 0, maxBytes: KiB }),
  chargerEvent: up(`${dev}/charger/{deviceId}/event`, ChargerEvent, { maxBytes: KiB }),
  chargerCommand: down(`${dev}/charger/{deviceId}/cmd`, ChargerCommand, { maxBytes: KiB }),
  chargerAck: up(`${dev}/charger/{deviceId}/ack`, CommandAck, { maxBytes: KiB }),

  // — sensors —
  leakTelemetry: up(`${dev}/leak/{deviceId}/telemetry`, LeakTelemetry, { qos: 0, maxBytes: KiB }),
  leakEvent: up(`${dev}/leak/{deviceId}/event`, LeakEvent, { maxBytes: KiB }),
  climateTelemetry: up(`${dev}/climate/{deviceId}/telemetry`, ClimateTelemetry, { qos: 0, maxBytes: KiB }),
  energyTelemetry: up(`${dev}/energy/{deviceId}/telemetry`, EnergyTelemetry, { qos: 0, maxBytes: KiB }),

  // — gateway ↔ cloud —
  gatewayPresence: toCloud(`${gw}/presence`, Presence, { retain: true, maxBytes: 512 }),
  gatewayHealth: toCloud(`${gw}/health`, GatewayHealth, { retain: true, maxBytes: 256 * KiB }),
  eventBatch: toCloud(`${gw}/events`, EventBatch, { maxBytes: 512 * KiB }),
  eventAck: fromCloud(`${gw}/events/ack`, EventAck, { maxBytes: 64 * KiB }),
  telemetryBatch: toCloud(`${gw}/telemetry`, TelemetryBatch, { maxBytes: MiB }),
  desiredState: fromCloud(`${gw}/desired`, DesiredState, { retain: true, maxBytes: 8 * KiB }),
  desiredAck: toCloud(`${gw}/desired/ack`, DesiredAck, { maxBytes: 8 * KiB }),
  configSync: fromCloud(`${gw}/sync/config`, ConfigSync, { maxBytes: 64 * KiB }),
  accessSync: fromCloud(`${gw}/sync/access`, AccessSync, { maxBytes: 2 * MiB }),
  gallerySync: fromCloud(`${gw}/sync/gallery`, GallerySync, { maxBytes: 4 * MiB }),
  credentialSync: fromCloud(`${gw}/sync/credentials`, CredentialSync, { maxBytes: 2 * MiB }),
  passSync: fromCloud(`${gw}/sync/passes`, PassSync, { maxBytes: 2 * MiB }),
  revocationSync: fromCloud(`${gw}/sync/revocations`, RevocationSync, { maxBytes: 2 * MiB }),
  reservationSync: fromCloud(`${gw}/sync/reservations`, ReservationSync, { maxBytes: 2 * MiB }),
  gatewayCommand: fromCloud(`${gw}/cmd`, GatewayCommand, { maxBytes: 4 * KiB }),
  gatewayCommandAck: toCloud(`${gw}/cmd/ack`, CommandAck, { maxBytes: KiB }),
} as const;

export type Routes = typeof routes;
export type MessageName = keyof Routes;
export const MESSAGE_NAMES = Object.keys(routes) as MessageName[];
