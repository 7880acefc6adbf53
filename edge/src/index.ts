export { type LocalBroker, type LocalBrokerOptions, startLocalBroker } from './broker/local-broker.js';
export { type Backlog, EventLog, type NewEvent } from './log/event-log.js';
export { formatMessage, formatRejection, summarise, type Tone } from './monitor/format.js';
export { type Rejection, WireMonitor } from './monitor/wire-monitor.js';
