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
export {
  FileInternalUsers,
  type InternalUsers,
  SELF_TEST_USER,
} from './broker/internal-users.js';
export { type LocalBroker, type LocalBrokerOptions, startLocalBroker } from './broker/local-broker.js';
export type { RateLimit } from './broker/rate-limit.js';
export { type CloudConnection, type CloudConnectionOptions, connectToCloud } from './cloud-connection.js';
export { pinHash } from './credentials/pin.js';
export { type FaceAnalyser, FaceService, type FaceStats } from './face/face-service.js';
export { decodeEmbedding, encodeEmbedding, Gallery, type Match } from './face/gallery.js';
export { type LivenessCheck, type LivenessVerdict, MultiFrameConsistency, type Observation } from './face/liveness.js';
export { Gateway, type GatewayOptions, type Parts } from './gateway.js';
export { type HealthOptions, HealthPublisher } from './health/health.js';
export { DevicePresence } from './health/presence.js';
export { type BudgetState, type BudgetUsage, DiskBudget, type DiskBudgetOptions } from './log/disk-budget.js';
export { type Backlog, EventLog, type NewEvent, openGatewayDb } from './log/event-log.js';
export { TelemetryBuffer, type TelemetrySample } from './log/telemetry-buffer.js';
export { formatMessage, formatRejection, summarise, type Tone } from './monitor/format.js';
export { type Rejection, WireMonitor } from './monitor/wire-monitor.js';
export { CloudError } from './provision/cloud-client.js';
export { CredentialsError, rotateCredentials } from './provision/credentials.js';
export {
  type Identity,
  IdentityError,
  identityPath,
  loadIdentity,
  saveIdentity,
} from './provision/identity.js';
export { PairError, type Paired, type PairOptions, pairDevice } from './provision/pair.js';
export { ProvisionError, type ProvisionOptions, provision } from './provision/provision.js';
export {
  type CheckResult,
  type FaceCounter,
  type Progress,
  type SelfTestOptions,
  type SelfTestReport,
  selfTest,
} from './provision/self-test.js';
export { DataFolderInUse, DataFolderLock } from './state/data-lock.js';
export type { ApplyResult, Delta } from './state/section-store.js';
export {
  CloudSync,
  type CloudSyncOptions,
  type CloudSyncStats,
  keyRingOf,
  type TrustedKeysWire,
} from './sync/cloud-sync.js';
export { CloudLink, type CloudLinkOptions, type CloudLinkParts } from './uplink/cloud-link.js';
export { TelemetryCollector, type TelemetryCollectorOptions } from './uplink/telemetry-collector.js';
export { BACKLOG_YIELD_MS, DEFAULT_DRAIN_RATE, Uplink, type UplinkOptions, type UplinkStats } from './uplink/uplink.js';
