// Which gateways may deliver, and to which estate their data belongs — read from the gateways table, kept a few
// seconds so a busy gateway does not cost a lookup per batch. A gateway retired or activated is seen within TTL_MS.
import type { SqlDriver } from '../db/driver.js';

export interface KnownGateway {
  id: string;
  estateId: string;
}

const TTL_MS = 5_000;
const MAX_ENTRIES = 50_000;

export class GatewayDirectory {
  readonly #cache = new Map<string, { gateway: KnownGateway | undefined; at: number }>();

  constructor(
    private readonly driver: SqlDriver,
    private readonly now: () => number = Date.now,
  ) {}

  /** The gateway if it exists and is active; undefined otherwise (unknown, pending, retired). */
  async active(id: string): Promise<KnownGateway | undefined> {
    const hit = this.#cache.get(id);
    if (hit && this.now() - hit.at < TTL_MS) return hit.gateway;
    const [row] = await this.driver.query<{ estate_id: string }>(
      "SELECT estate_id FROM gateways WHERE id = $1 AND status = 'active'",
      [id],
    );
    const gateway = row ? { id, estateId: row.estate_id } : undefined;
    // unknown ids are cached too, so a flood of them costs one query per id and TTL, bounded in number
    if (this.#cache.size >= MAX_ENTRIES) this.#cache.clear();
    this.#cache.set(id, { gateway, at: this.now() });
    return gateway;
  }

  /** Presence and health: the gateway is online (or not) as of now. */
  async seen(id: string, online: boolean, at: Date): Promise<void> {
    await this.driver.query(
      `UPDATE gateways SET online = $2, last_seen_at = GREATEST(coalesce(last_seen_at, $3::timestamptz), $3::timestamptz)
       WHERE id = $1 AND status = 'active'`,
      [id, online, at],
    );
  }
}
