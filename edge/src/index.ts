export { ACL_DENIALS, type AclDenial } from './broker/acl.js';
export { type BrokerCounters, REFUSALS, type Refusal } from './broker/counters.js';
export {
  type DeviceDirectory,
  DeviceDirectoryError,
  type DeviceRecord,
  FileDeviceDirectory,
} from './broker/device-directory.js';
export {
  DEFAULT_CONNECT_RATE,
  DEFAULT_MAX_PACKET_BYTES,
  type GatewayBroker,
  type GatewayBrokerOptions,
  type GatewayTlsOptions,
  startGatewayBroker,
} from './broker/gateway-broker.js';
export { type LocalBroker, type LocalBrokerOptions, startLocalBroker } from './broker/local-broker.js';
export type { RateLimit } from './broker/rate-limit.js';
export { pinHash } from './credentials/pin.js';
export { type FaceAnalyser, FaceService, type FaceStats } from './face/face-service.js';
export { decodeEmbedding, encodeEmbedding, Gallery, type Match } from './face/gallery.js';
export { type LivenessCheck, type LivenessVerdict, MultiFrameConsistency, type Observation } from './face/liveness.js';
export { Gateway, type GatewayOptions, type Parts } from './gateway.js';
export { type Backlog, EventLog, type NewEvent } from './log/event-log.js';
export { formatMessage, formatRejection, summarise, type Tone } from './monitor/format.js';
export { type Rejection, WireMonitor } from './monitor/wire-monitor.js';
export type { ApplyResult, Delta } from './state/section-store.js';
export { Uplink, type UplinkOptions, type UplinkStats } from './uplink/uplink.js';
