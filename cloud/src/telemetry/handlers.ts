// What ingest calls for telemetry and health messages (IngestHandlers.telemetry / .health), so wiring them is one
// line in startCloud: `handlers: { ...telemetryHandlers(deps) }`. A refused sample is counted, not thrown: it must
// not make ingest treat the whole batch as failed.
import type { GatewayHealth, TelemetryBatch } from '@estate/protocols';
import type { CloudDeps } from '../core/deps.js';
import { type IngestResult, type TelemetryStoreOptions, telemetryStore } from './store.js';

export function telemetryHandlers(deps: CloudDeps, options: TelemetryStoreOptions = {}) {
  const store = telemetryStore(deps, options);
  return {
    telemetry: (gatewayId: string, batch: TelemetryBatch): Promise<IngestResult> => store.ingest(gatewayId, batch),
    health: (gatewayId: string, h: GatewayHealth): Promise<boolean> => store.health(gatewayId, h),
    /** Counters since start: stored, duplicates and refused values by reason. */
    totals: store.totals,
  };
}
