import type { DoorCommand, DoorEventType, DoorState } from '@estate/protocols';
import { done, type Outcome, refused } from './commands.js';
import { Device, type DeviceOptions } from './device.js';

export type DoorMode = DoorState['mode'];

export interface DoorOptions extends DeviceOptions {
  /** Default fail_secure: stays locked without power. */
  mode?: DoorMode | undefined;
  /** Unlock pulse when the command gives none; default 3000 ms. */
  pulseMs?: number | undefined;
  /** Pulse of `test_pulse` when the command gives none; default 500 ms. */
  testPulseMs?: number | undefined;
  /** Contact open longer than this raises `held_open`; default 30 000 ms. */
  heldOpenMs?: number | undefined;
  /** How long walkThrough() keeps the door open; default 2000 ms. */
  walkMs?: number | undefined;
  /** Release the lock while the fire input is active; default true for fail_safe, false for fail_secure. */
  fireRelease?: boolean | undefined;
}

/** Physical inputs and what the gateway asked for; the relay is derived from them, never set directly. */
interface Inputs {
  pulse: boolean;
  held: boolean;
  fire: boolean;
  tamper: boolean;
  contact: DoorState['contact'];
}

/**
 * A door controller: one lock relay, a door contact, fire and tamper inputs.
 * The relay opens only for an unlock pulse, a hold or a fire release — never
 * on its own, on a refused command, on link loss or at power-up (DESIGN.md:
 * a door never opens because of a fault).
 */
export class Door extends Device {
  readonly kind = 'door';
  private readonly mode: DoorMode;
  private readonly pulseMs: number;
  private readonly testPulseMs: number;
  private readonly heldOpenMs: number;
  private readonly walkMs: number;
  private readonly fireRelease: boolean;
  private readonly inputs: Inputs = { pulse: false, held: false, fire: false, tamper: false, contact: 'closed' };
  private relay: DoorState['relay'] = 'locked';
  private cancelPulse = () => {};
  private cancelHeldTimer = () => {};

  constructor(options: DoorOptions) {
    super(options);
    this.mode = options.mode ?? 'fail_secure';
    this.pulseMs = options.pulseMs ?? 3_000;
    this.testPulseMs = options.testPulseMs ?? 500;
    this.heldOpenMs = options.heldOpenMs ?? 30_000;
    this.walkMs = options.walkMs ?? 2_000;
    this.fireRelease = options.fireRelease ?? this.mode === 'fail_safe';
    this.onCommand('doorCommand', (cmd) => this.run(cmd));
  }

  get state(): DoorState {
    const { fire, tamper, held, contact } = this.inputs;
    return { ts: this.now(), relay: this.relay, contact, mode: this.mode, fire, tamper, held };
  }

  /** A person walks through: the contact opens, then closes after walkMs. Needs an unlocked door. */
  async walkThrough(): Promise<void> {
    if (this.relay === 'locked') {
      throw new Error(`${this.source}: walkThrough() needs an unlocked door (send unlock first, or use forceOpen())`);
    }
    await this.apply({ contact: 'open' });
    await new Promise<void>((resolve) => this.after(this.walkMs, resolve));
    await this.apply({ contact: 'closed' });
  }

  /** The door is pushed open while the relay is locked (→ `forced`); it stays open until close(). */
  async forceOpen(): Promise<void> {
    if (this.relay === 'unlocked') throw new Error(`${this.source}: forceOpen() needs a locked door`);
    await this.apply({ contact: 'open' });
  }

  /** The door is opened and left open (propped); after heldOpenMs it reports `held_open`. */
  async holdOpen(): Promise<void> {
    await this.apply({ contact: 'open' });
  }

  async close(): Promise<void> {
    await this.apply({ contact: 'closed' });
  }

  /** Reports the request-to-exit button; whether to unlock is the gateway's decision. */
  async pressExit(): Promise<void> {
    await this.event('doorEvent', { type: 'exit_button' });
  }

  async fireAlarm(on: boolean): Promise<void> {
    await this.apply({ fire: on });
  }

  async tamper(on: boolean): Promise<void> {
    await this.apply({ tamper: on });
  }

  protected override async onStart(): Promise<void> {
    // Power-up: whatever was pulsed or held before a restart is gone.
    this.inputs.pulse = false;
    this.inputs.held = false;
    this.relay = this.derivedRelay();
  }

  protected override async onConnected(): Promise<void> {
    await this.publish('doorState', this.state);
  }

  protected override onLinkLost(): void {
    // Only the gateway can end a hold; without it the door falls back to locked.
    if (this.inputs.held) {
      this.log('warn', 'link lost during hold_open: releasing the hold');
      this.spawn(this.apply({ held: false }));
    }
  }

  private async run(cmd: DoorCommand): Promise<Outcome> {
    switch (cmd.action) {
      case 'unlock':
        await this.startPulse(cmd.pulseMs ?? this.pulseMs);
        return done;
      case 'test_pulse':
        await this.startPulse(cmd.pulseMs ?? this.testPulseMs);
        return done;
      case 'lock':
        if (this.fireReleased()) return refused('fire_alarm');
        this.cancelPulse();
        await this.apply({ pulse: false, held: false });
        return done;
      case 'hold_open':
        await this.apply({ held: true });
        return done;
      case 'release_hold':
        await this.apply({ held: false });
        return done;
    }
  }

  private startPulse(ms: number): Promise<void> {
    // A second unlock during a pulse restarts it rather than stacking relocks.
    this.cancelPulse();
    this.cancelPulse = this.after(ms, () => this.spawn(this.apply({ pulse: false })));
    this.log('info', `relay pulse ${ms} ms`);
    return this.apply({ pulse: true });
  }

  private fireReleased(): boolean {
    return this.inputs.fire && this.fireRelease;
  }

  private derivedRelay(): DoorState['relay'] {
    const { pulse, held } = this.inputs;
    return pulse || held || this.fireReleased() ? 'unlocked' : 'locked';
  }

  /** Applies input changes, then reports every edge they caused as an event and the new state once. */
  private apply(change: Partial<Inputs>): Promise<void> {
    const before = { ...this.inputs };
    Object.assign(this.inputs, change);
    const after = this.inputs;
    const events: DoorEventType[] = [];
    const relay = this.derivedRelay();
    if (relay !== this.relay) events.push(relay === 'unlocked' ? 'relay_unlocked' : 'relay_locked');
    this.relay = relay;
    if (before.fire !== after.fire) events.push(after.fire ? 'fire_alarm' : 'fire_cleared');
    if (before.tamper !== after.tamper) events.push(after.tamper ? 'tamper' : 'tamper_cleared');
    if (before.contact !== after.contact) {
      if (after.contact === 'open') {
        // EN 60839-11-1 door monitoring: an opening the relay did not allow is forced.
        events.push(...(relay === 'locked' ? (['opened', 'forced'] as const) : (['opened'] as const)));
        this.cancelHeldTimer = this.after(this.heldOpenMs, () => this.spawn(this.heldTooLong()));
      } else {
        this.cancelHeldTimer();
        events.push('closed');
      }
    }
    const stateChanged = events.length > 0 || before.held !== after.held;
    return this.together(
      ...events.map((type) => this.event('doorEvent', { type })),
      stateChanged ? this.publish('doorState', this.state) : Promise.resolve(),
    );
  }

  private async heldTooLong(): Promise<void> {
    // A hold_open command or a fire release keeps the door open on purpose: no alarm.
    if (this.inputs.contact === 'open' && !this.inputs.held && !this.fireReleased()) {
      await this.event('doorEvent', { type: 'held_open' });
    }
  }
}
