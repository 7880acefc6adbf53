// Per-source connect rate limit for the embedded cloud broker. Every CONNECT that reaches authentication costs a
// database lookup and a secret check; one address in a reconnect loop, or guessing secrets, must not be able to
// make the cloud spend that without bound. The gateway broker has the same idea (edge/src/broker/rate-limit.ts);
// cloud and edge never import each other, so this is the cloud's own small copy.

export interface ConnectRate {
  /** Connects allowed back to back from one source. */
  burst: number;
  /** Sustained connects per second per source. */
  perSecond: number;
}

/**
 * Generous on purpose: many gateways of one estate (or of several, on a carrier's CGNAT) can share one public
 * address and all reconnect at once after a network blip.
 */
export const DEFAULT_CONNECT_RATE: ConnectRate = { burst: 50, perSecond: 10 };

/** "burst/perSecond", e.g. "50/10"; undefined when the text is not that or the numbers make no limit. */
export function parseConnectRate(text: string): ConnectRate | undefined {
  const m = /^\s*(\d+)\s*\/\s*(\d+(?:\.\d+)?)\s*$/.exec(text);
  if (!m) return undefined;
  const rate = { burst: Number(m[1]), perSecond: Number(m[2]) };
  return rate.burst >= 1 && rate.perSecond > 0 ? rate : undefined;
}

/**
 * The key an address is limited under: IPv4 (also IPv4-mapped IPv6) as is, IPv6 by its /64 — one host is
 * usually handed a whole /64, and a key per address would give it 2^64 buckets.
 */
export function sourceOf(address: string | undefined): string {
  if (!address) return 'unknown';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped?.[1]) return mapped[1];
  if (!address.includes(':')) return address;
  const [head = '', tail] = address.split('%')[0]?.split('::') ?? [];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups =
    tail === undefined
      ? left
      : [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => (Number.parseInt(g, 16) || 0).toString(16))
    .join(':')}::/64`;
}

interface Bucket {
  tokens: number;
  at: number;
}

// Past this many tracked sources, idle (refilled) buckets are dropped, so a scan from many addresses cannot grow
// the map without bound.
const PRUNE_AT = 10_000;

/** A token bucket per source. */
export class ConnectRateLimiter {
  readonly #buckets = new Map<string, Bucket>();

  constructor(
    readonly rate: ConnectRate,
    private readonly now: () => number = Date.now,
  ) {
    if (!(rate.burst >= 1) || !(rate.perSecond > 0)) {
      throw new RangeError(`connect rate limit needs burst >= 1 and perSecond > 0, got ${JSON.stringify(rate)}`);
    }
  }

  /** Takes one token for `source`; false = over the limit. */
  take(source: string): boolean {
    const t = this.now();
    const b = this.#buckets.get(source) ?? { tokens: this.rate.burst, at: t };
    b.tokens = Math.min(this.rate.burst, b.tokens + (Math.max(0, t - b.at) / 1000) * this.rate.perSecond);
    b.at = t;
    const ok = b.tokens >= 1;
    if (ok) b.tokens -= 1;
    this.#buckets.set(source, b);
    if (this.#buckets.size > PRUNE_AT) this.#prune(t);
    return ok;
  }

  #prune(t: number): void {
    const fullAfterMs = (this.rate.burst / this.rate.perSecond) * 1000;
    for (const [source, b] of this.#buckets) if (t - b.at >= fullAfterMs) this.#buckets.delete(source);
  }
}

const LOG_AGAIN_AFTER_MS = 60_000;

/**
 * One log line per key per minute: a source over the limit is refused many times a second, and a line for each
 * would flood the log (and cost more than the refusal). The next line says how many went unlogged.
 */
export class LogThrottle {
  readonly #seen = new Map<string, { at: number; quiet: number }>();

  constructor(
    private readonly intervalMs = LOG_AGAIN_AFTER_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** undefined = stay quiet; otherwise how many were suppressed since the last line for this key. */
  pass(key: string): number | undefined {
    const t = this.now();
    const s = this.#seen.get(key);
    if (s && t - s.at < this.intervalMs) {
      s.quiet++;
      return undefined;
    }
    // bounded like the limiter: forgetting keys only means an early extra line
    if (!s && this.#seen.size >= PRUNE_AT) this.#seen.clear();
    this.#seen.set(key, { at: t, quiet: 0 });
    return s?.quiet ?? 0;
  }
}
