// @estate/cloud — the control plane API. A small public face: start it, build it, configure it.
export { buildApp } from './app.js';
export { type ApiBody, type ApiSession, apiSession, sessionAs } from './client.js';
export { type CloudConfig, ConfigError, loadConfig } from './config.js';
export type { Principal, Role } from './core/authz.js';
export type { BlobStore, S3Like } from './core/blob-store.js';
export { s3BlobStore } from './core/blob-store.js';
export type { CloudDeps } from './core/deps.js';
export { AppError, ERRORS, type ErrorCode } from './core/errors.js';
export type { OcrProvider, OcrResult } from './core/ocr.js';
export { openDatabase } from './db/driver.js';
export { migrate, readMigrations } from './db/migrate.js';
export { openDeps } from './deps.js';
export {
  type CloudBroker,
  type GatewayCommandAck,
  type GatewayLink,
  INGEST_EVENTS_SQL,
  type Ingest,
  type IngestCounters,
  type IngestHandlers,
  SERVICE_USER,
  startCloudBroker,
  startGatewayLink,
  startIngest,
} from './ingest/index.js';
export { passTokenOf } from './modules/access/visitors.js';
export { verifyAuditChain } from './modules/audit/verify.js';
export { hasConsent } from './modules/consents/service.js';
export { type Candidate, chooseTechnician, type DispatchInput } from './modules/repairs/dispatch.js';
export { type Acting, type RepairService, repairService } from './modules/repairs/service.js';
export { generateDemo } from './seed/generator.js';
export { type DemoLogin, seedDemo } from './seed/seed.js';
export { type RunningCloud, type StartOptions, startCloud } from './start.js';
export {
  COMMAND_TTL_MS,
  type DesiredStateApi,
  desiredState,
  issueCommand,
  itemDigest,
  readCommand,
  type SyncHandlers,
  type SyncPublisher,
  sectionHash,
  startSyncPublisher,
  syncHandlers,
} from './sync/index.js';
