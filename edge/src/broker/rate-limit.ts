export interface RateLimit {
  /** Connects allowed back to back from one address. */
  burst: number;
  /** Sustained connects per second per address. */
  perSecond: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

// Past this many tracked addresses, idle (full) buckets are dropped, so a scan
// from many spoofed-looking addresses cannot grow the map without bound.
const PRUNE_AT = 10_000;

/**
 * Token bucket per remote address. A device in a reconnect loop (bad secret,
 * crash on connect) costs a scrypt verification per attempt; this caps what one
 * address can make the gateway spend, without affecting its neighbours.
 */
export class ConnectRateLimiter {
  readonly #buckets = new Map<string, Bucket>();

  constructor(
    readonly limit: RateLimit,
    private readonly now: () => number = Date.now,
  ) {
    if (!(limit.burst >= 1) || !(limit.perSecond > 0)) {
      throw new RangeError(`connect rate limit needs burst >= 1 and perSecond > 0, got ${JSON.stringify(limit)}`);
    }
  }

  /** Takes one token for `address`; false = over the limit. */
  take(address: string): boolean {
    const t = this.now();
    const b = this.#buckets.get(address) ?? { tokens: this.limit.burst, at: t };
    b.tokens = Math.min(this.limit.burst, b.tokens + ((t - b.at) / 1000) * this.limit.perSecond);
    b.at = t;
    const ok = b.tokens >= 1;
    if (ok) b.tokens -= 1;
    this.#buckets.set(address, b);
    if (this.#buckets.size > PRUNE_AT) this.#prune(t);
    return ok;
  }

  #prune(t: number): void {
    const fullAfterMs = (this.limit.burst / this.limit.perSecond) * 1000;
    for (const [address, b] of this.#buckets) if (t - b.at >= fullAfterMs) this.#buckets.delete(address);
  }
}
