import type { AccessMethod } from '@estate/protocols';
import type { DoorService } from '../door/door-service.js';
import type { EventLog } from '../log/event-log.js';
import type { DoorConfig } from './access-model.js';
import { deny, type Verdict } from './policy.js';

export interface Attempt {
  door: DoorConfig | undefined;
  deviceId: string;
  method: AccessMethod;
  /** when the credential arrived at the gateway (frame received, QR scanned …) */
  startedAt: number;
  personId?: string | undefined;
  credentialId?: string | undefined;
  score?: number | undefined;
}

export interface Decision {
  granted: boolean;
  reason: string;
  seq?: number;
  latencyMs: number;
}

/**
 * The one place a decision becomes an action: the event is committed to the
 * durable log first, and only then is the relay pulsed. If the log cannot be
 * written (full disk, I/O error) the attempt is refused — a door never opens
 * on a decision that was not recorded.
 */
export class Decider {
  constructor(
    private readonly log: EventLog,
    private readonly doors: DoorService,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * `claim` runs in the same transaction as the log write, only for a grant: it takes a limited resource
   * (a pass use) and returns a deny reason when none is left. Counting and logging then commit together.
   */
  async decide(a: Attempt, verdict: Verdict, claim?: () => string | undefined): Promise<Decision> {
    const latencyMs = Math.max(0, this.now() - a.startedAt);
    let v = verdict;
    let seq: number;
    try {
      seq = this.log.atomically(() => {
        const refused = v.granted && claim ? claim() : undefined;
        if (refused) v = deny(refused);
        return this.log.append({
          ts: this.now(),
          priority: 'high',
          type: 'access_decision',
          doorId: a.door?.id ?? 'unknown',
          deviceId: a.deviceId,
          method: a.method,
          granted: v.granted,
          reason: v.reason,
          latencyMs,
          ...(a.personId ? { personId: a.personId } : {}),
          ...(a.credentialId ? { credentialId: a.credentialId } : {}),
          ...(a.score !== undefined ? { score: Math.max(-1, Math.min(1, a.score)) } : {}),
        }).seq;
      });
    } catch {
      return { granted: false, reason: 'log_unavailable', latencyMs };
    }
    if (v.granted && a.door) await this.doors.unlock(a.door);
    return { granted: v.granted, reason: v.reason, seq, latencyMs };
  }
}
