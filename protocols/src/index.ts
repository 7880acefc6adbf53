export * from './codec.js';
export * from './common.js';
export * from './devices/ble.js';
export * from './devices/camera.js';
export * from './devices/charger.js';
export * from './devices/door.js';
export * from './devices/reader.js';
export * from './devices/sensors.js';
export * from './errors.js';
export { decodeFrame, encodeFrame, FRAME_HEADER_BYTES } from './frame.js';
export * from './gateway/commands.js';
export * from './gateway/events.js';
export * from './gateway/sync.js';
export {
  type Direction,
  MESSAGE_NAMES,
  type MessageName,
  type Route,
  type Routes,
  routes,
  TOPIC_ROOT,
} from './topics.js';
export { validate } from './validate.js';

/** Bumped only with an incompatible message change, together with TOPIC_ROOT. */
export const PROTOCOL_VERSION = 1;
export * from './credentials/index.js';
export { exampleParams, examples } from './examples.js';
export * from './provisioning.js';
