export { BleReader, type BleReaderOptions, type Phone, type PresentOptions } from './ble.js';
export { Camera, type CameraOptions } from './camera.js';
export { Charger, type ChargerOptions } from './charger.js';
export type { Clock } from './clock.js';
export type { BrokerOptions } from './connection.js';
export type { Device, DeviceOptions } from './device.js';
export type { DeviceEventMap, Rejected, WireMessage } from './device-types.js';
export { Door, type DoorMode, type DoorOptions } from './door.js';
export { Fleet, type FleetRunOptions, loadFleet, startFleet } from './fleet/fleet.js';
export { type FleetDevice, FleetError, type FleetSpec, parseFleet, type ScenarioOptions } from './fleet/spec.js';
export type { LogEntry, Logger, LogLevel } from './log.js';
export { Reader, type ReaderCapability, type ReaderOptions } from './reader.js';
export {
  ClimateSensor,
  type ClimateSensorOptions,
  EnergyMeter,
  type EnergyMeterOptions,
  LeakSensor,
  type LeakSensorOptions,
  type SensorOptions,
} from './sensors.js';
