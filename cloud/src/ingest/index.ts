// The gateway link's public face (cloud/src/index.ts re-exports it): the embedded broker, the ingest subscriber,
// and what a bench needs to measure the store path alone.
export { type CloudBroker, type CloudBrokerOptions, startCloudBroker } from './broker.js';
export { type CloudBrokerCounters, SERVICE_USER } from './broker-auth.js';
export {
  type GatewayCommandAck,
  type Ingest,
  type IngestCounters,
  type IngestHandlers,
  type IngestOptions,
  startIngest,
} from './ingest.js';
export { type GatewayLink, startGatewayLink } from './link.js';
export { INSERT_EVENTS as INGEST_EVENTS_SQL } from './store.js';
