// Exactly-once storage of gateway events and the acknowledged watermark. Delivery is at least once and may be out
// of order (resends after a link cut, two ingest instances splitting one stream), so: every event is inserted with
// ON CONFLICT DO NOTHING on its key (gateway id, seq), and the watermark is the highest seq below which every seq is
// either stored or refused — computed by the database after the insert has committed, never from what one
// instance happened to see.
import type { GatewayEvent } from '@estate/protocols';
import type { SqlDriver } from '../db/driver.js';

export interface RejectedEvent {
  seq: number;
  /** protocols Reason: sent back to the gateway */
  reason: string;
  detail: string;
  body: unknown;
}

/** One statement per batch: the events as one JSON array, unpacked by the server (measured against COPY in bench). */
export const INSERT_EVENTS = `
  INSERT INTO gateway_events (gateway_id, seq, estate_id, type, ts, door_id, device_id, person_id, method, granted, body)
  SELECT $1, (e->>'seq')::bigint, $2::uuid, e->>'type', timestamptz 'epoch' + (e->>'ts')::bigint * interval '1 millisecond',
         e->>'doorId', e->>'deviceId', e->>'personId', e->>'method', (e->>'granted')::boolean, e
  FROM jsonb_array_elements($3::jsonb) AS e
  ON CONFLICT (gateway_id, seq) DO NOTHING
  RETURNING seq`;

const INSERT_REJECTS = `
  INSERT INTO gateway_event_rejects (gateway_id, seq, reason, detail, body)
  SELECT $1, (r->>'seq')::bigint, r->>'reason', r->>'detail', r->'body'
  FROM jsonb_array_elements($2::jsonb) AS r
  WHERE NOT EXISTS (SELECT 1 FROM gateway_events g WHERE g.gateway_id = $1 AND g.seq = (r->>'seq')::bigint)
  ON CONFLICT (gateway_id, seq) DO NOTHING`;

// How far past the watermark one computation looks; a longer contiguous run is acknowledged over several batches.
const WINDOW = 100_000;

/**
 * The contiguous run above the current watermark: the n-th seq above it is watermark + n exactly while there is no
 * gap. UPDATE takes the row lock, so computations for one gateway run one after another; GREATEST keeps the
 * watermark from moving back when one of them ran on an older snapshot.
 */
const ADVANCE = `
  UPDATE gateway_ingest g SET updated_at = now(), acked_seq = GREATEST(g.acked_seq, (
    SELECT coalesce(max(seq), g.acked_seq) FROM (
      SELECT seq, row_number() OVER (ORDER BY seq) AS n FROM (
        SELECT seq FROM gateway_events WHERE gateway_id = $1 AND seq > g.acked_seq AND seq <= g.acked_seq + ${WINDOW}
        UNION
        SELECT seq FROM gateway_event_rejects WHERE gateway_id = $1 AND seq > g.acked_seq AND seq <= g.acked_seq + ${WINDOW}
      ) above
    ) numbered WHERE seq = g.acked_seq + n))
  WHERE gateway_id = $1
  RETURNING acked_seq`;

export interface Stored {
  /** Seqs this call inserted (the rest were already stored). */
  inserted: Set<number>;
  ackedSeq: number;
}

export class EventStore {
  readonly #ensured = new Set<string>();

  constructor(private readonly driver: SqlDriver) {}

  async store(gatewayId: string, estateId: string, events: GatewayEvent[], rejected: RejectedEvent[]): Promise<Stored> {
    const inserted = new Set<number>();
    if (events.length > 0) {
      const rows = await this.driver.query<{ seq: string | number }>(INSERT_EVENTS, [
        gatewayId,
        estateId,
        JSON.stringify(events),
      ]);
      for (const r of rows) inserted.add(Number(r.seq));
    }
    if (rejected.length > 0) await this.driver.query(INSERT_REJECTS, [gatewayId, JSON.stringify(rejected)]);
    return { inserted, ackedSeq: await this.advance(gatewayId) };
  }

  /** Move the watermark over whatever is now contiguous; returns it. */
  async advance(gatewayId: string): Promise<number> {
    if (!this.#ensured.has(gatewayId)) {
      await this.driver.query(
        'INSERT INTO gateway_ingest (gateway_id) VALUES ($1) ON CONFLICT (gateway_id) DO NOTHING',
        [gatewayId],
      );
      if (this.#ensured.size >= 100_000) this.#ensured.clear();
      this.#ensured.add(gatewayId);
    }
    const [row] = await this.driver.query<{ acked_seq: string | number }>(ADVANCE, [gatewayId]);
    return Number(row?.acked_seq ?? 0);
  }
}
