export { type LocalBroker, type LocalBrokerOptions, startLocalBroker } from './broker/local-broker.js';
export { pinHash } from './credentials/pin.js';
export { Gateway, type GatewayOptions, type Parts } from './gateway.js';
export { type Backlog, EventLog, type NewEvent } from './log/event-log.js';
export { formatMessage, formatRejection, summarise, type Tone } from './monitor/format.js';
export { type Rejection, WireMonitor } from './monitor/wire-monitor.js';
export type { ApplyResult, Delta } from './state/section-store.js';
