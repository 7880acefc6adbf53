import type { DoorEvent, DoorState } from '@estate/protocols';
import type { AccessModel, DoorConfig } from '../access/access-model.js';
import type { AccessPolicy } from '../access/policy.js';
import { type LocalBus, newId } from '../bus.js';
import type { EventLog } from '../log/event-log.js';

export interface DoorServiceOptions {
  bus: LocalBus;
  model: AccessModel;
  policy: AccessPolicy;
  log: EventLog;
  now?: () => number;
  /** How long a relay command stays valid; a late command is refused by the controller. Default 2 s. */
  commandTtlMs?: number;
  /** A door event that could not be logged or acted on (default: stderr). Never thrown: it must not stop the gateway. */
  onError?: (message: string) => void;
}

/**
 * Door logic on the gateway side. The controller owns the relay and its
 * safety (pulse, fire release in hardware); this service decides when to ask
 * for an unlock, turns door events into alarms, and makes egress (exit
 * button) and fire release work whatever else is going on — lockdown included.
 * It never sends an unlock on its own initiative: only for a logged grant,
 * an exit button or a fire alarm. Link loss, restart or a bad message
 * therefore cannot open a door.
 */
export class DoorService {
  readonly states = new Map<string, DoorState>();
  #unsubscribe: (() => void)[] = [];
  readonly #now: () => number;
  readonly #ttl: number;

  constructor(private readonly o: DoorServiceOptions) {
    this.#now = o.now ?? Date.now;
    this.#ttl = o.commandTtlMs ?? 2_000;
  }

  async start(): Promise<void> {
    this.#unsubscribe = await Promise.all([
      this.o.bus.subscribe('doorState', (s, p) => this.states.set(p.deviceId, s)),
      this.o.bus.subscribe('doorEvent', (e, p) => {
        this.#onEvent(e, p.deviceId).catch((err: Error) => this.#report(`door event ${e.type}: ${err.message}`));
      }),
    ]);
  }

  stop(): void {
    for (const u of this.#unsubscribe) u();
    this.#unsubscribe = [];
  }

  /** Relay pulse for a door whose grant is already in the event log. */
  unlock(door: DoorConfig): Promise<void> {
    return this.#command(door, 'unlock');
  }

  /** Relay held open (a remote hold-open, logged by the caller first); never sent during a lockdown by the sync client. */
  holdOpen(door: DoorConfig): Promise<void> {
    return this.#command(door, 'hold_open');
  }

  /** Ends a hold; the controller keeps a fire release in hardware, and the sync client skips doors in fire. */
  releaseHold(door: DoorConfig): Promise<void> {
    return this.#command(door, 'release_hold');
  }

  async #command(door: DoorConfig, action: 'unlock' | 'hold_open' | 'release_hold'): Promise<void> {
    const now = this.#now();
    await this.o.bus.publish(
      'doorCommand',
      { deviceId: door.deviceId },
      {
        cmdId: newId('cmd'),
        issuedAt: now,
        expiresAt: now + this.#ttl,
        action,
        ...(action === 'unlock' ? { pulseMs: door.pulseMs } : {}),
      },
    );
  }

  #doorOf(deviceId: string): DoorConfig | undefined {
    for (const d of this.o.model.doors.values()) if (d.deviceId === deviceId) return d;
    return undefined;
  }

  async #onEvent(e: DoorEvent, deviceId: string): Promise<void> {
    const door = this.#doorOf(deviceId);
    // Egress and fire release first, and whatever happens to the log: a full disk or a broken database must never
    // keep an occupant in or a fire door shut. They are the only unlocks this service makes without a logged grant.
    const safety = door && this.#safetyAction(e.type, door);
    try {
      this.#record(e, door, deviceId);
    } catch (err) {
      this.#report(`door event ${e.type} on ${deviceId} not logged: ${(err as Error).message}`);
    }
    await safety;
  }

  #safetyAction(type: DoorEvent['type'], door: DoorConfig): Promise<void> | undefined {
    if (type === 'exit_button') return this.unlock(door);
    if (type === 'fire_alarm' && door.fireRelease) return this.#command(door, 'hold_open');
    if (type === 'fire_cleared' && door.fireRelease) return this.#command(door, 'release_hold');
    return undefined;
  }

  /** The door event, the alarm it raises or clears, and an egress decision, in the event log. */
  #record(e: DoorEvent, door: DoorConfig | undefined, deviceId: string): void {
    const doorId = door?.id ?? deviceId;
    const now = this.#now();
    const alarm = (alarm: 'door_forced' | 'door_held_open' | 'tamper' | 'fire', state: 'raised' | 'cleared') =>
      this.o.log.append({ ts: now, priority: 'critical', type: 'alarm', alarm, state, deviceId, doorId });
    this.o.log.append({ ts: e.ts, priority: 'normal', type: 'door', doorId, deviceId, event: e.type });
    switch (e.type) {
      case 'forced':
        return void alarm('door_forced', 'raised');
      case 'held_open':
        return void alarm('door_held_open', 'raised');
      case 'tamper':
        return void alarm('tamper', 'raised');
      case 'tamper_cleared':
        return void alarm('tamper', 'cleared');
      case 'fire_alarm':
        return void alarm('fire', 'raised');
      case 'fire_cleared':
        return void alarm('fire', 'cleared');
      case 'exit_button':
        // Egress always works, lockdown included (EN 60839-11-1 free exit); logged like any decision.
        if (door)
          this.o.log.append({
            ts: now,
            priority: 'high',
            type: 'access_decision',
            doorId,
            deviceId,
            method: 'exit_button',
            granted: true,
            reason: 'egress',
            latencyMs: Math.max(0, now - e.ts),
          });
        return;
      default:
        return;
    }
  }

  #report(message: string): void {
    (this.o.onError ?? ((m: string) => console.error(`estate-gateway: ${m}`)))(message);
  }
}
