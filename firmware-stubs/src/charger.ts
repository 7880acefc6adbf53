import type { ChargerCommand, ChargerEvent, ChargerMeter, ChargerState, ChargerStatus } from '@estate/protocols';
import { done, type Outcome, refused } from './commands.js';
import { Device, type DeviceOptions } from './device.js';

export interface ChargerOptions extends DeviceOptions {
  /** Hardware rating and initial power limit; default 7400 W (32 A single phase). */
  maxPowerW?: number | undefined;
  /** What the car would draw if allowed; default maxPowerW. */
  vehiclePowerW?: number | undefined;
  /** Default 230 V; current is derived from power and voltage. */
  voltageV?: number | undefined;
  /** Meter values while charging; default every 10 000 ms. */
  meterIntervalMs?: number | undefined;
  /** Energy register at power-up; default 0 Wh. */
  startEnergyWh?: number | undefined;
}

const MJ_PER_WH = 3_600_000;

type StopReason = Extract<ChargerEvent, { type: 'session_stopped' }>['reason'];

interface Session {
  id: string;
  startWh: number;
  reservationId?: string | undefined;
}

/**
 * An EV charger: available → preparing (plugged) → charging (start) → finishing
 * (stopped) → available (unplugged), plus faulted and suspended (limit 0).
 * Status names follow OCPP 1.6 StatusNotification, as the contract does.
 */
export class Charger extends Device {
  readonly kind = 'charger';
  private readonly maxPowerW: number;
  private readonly vehiclePowerW: number;
  private readonly voltageV: number;
  private readonly meterIntervalMs: number;
  private status: ChargerStatus = 'available';
  private plugged = false;
  private powerLimitW: number;
  private session: Session | undefined;
  private faultCode: string | undefined;
  /** Energy in mJ (W × ms): an exact integer, so the Wh register never drifts or runs backwards. */
  private energyMj: number;
  private integratedAt: number | undefined;
  private localSessions = 0;
  private cancelMeter = () => {};

  constructor(options: ChargerOptions) {
    super(options);
    this.maxPowerW = options.maxPowerW ?? 7_400;
    this.vehiclePowerW = options.vehiclePowerW ?? this.maxPowerW;
    this.voltageV = options.voltageV ?? 230;
    this.meterIntervalMs = options.meterIntervalMs ?? 10_000;
    this.powerLimitW = this.maxPowerW;
    this.energyMj = (options.startEnergyWh ?? 0) * MJ_PER_WH;
    this.onCommand('chargerCommand', (cmd) => this.run(cmd));
  }

  get state(): ChargerState {
    return {
      ts: this.now(),
      status: this.status,
      plugged: this.plugged,
      powerLimitW: this.powerLimitW,
      ...(this.session ? { sessionId: this.session.id } : {}),
      ...(this.faultCode ? { faultCode: this.faultCode } : {}),
    };
  }

  /** The energy register in Wh, as published. */
  get registerWh(): number {
    this.integrate();
    return this.wh();
  }

  plug(): Promise<void> {
    if (this.plugged) return Promise.resolve();
    this.plugged = true;
    return this.together(
      this.event('chargerEvent', { type: 'plugged' }),
      this.setStatus(this.status === 'faulted' ? 'faulted' : 'preparing'),
    );
  }

  unplug(): Promise<void> {
    if (!this.plugged) return Promise.resolve();
    this.plugged = false;
    return this.together(
      this.event('chargerEvent', { type: 'unplugged' }),
      this.session ? this.stopSession('ev_disconnected') : this.setStatus(this.faultCode ? 'faulted' : 'available'),
    );
  }

  /** A session started at the charger itself (free vend, local card), not by the gateway. */
  async startLocal(sessionId = `local-${this.id}-${++this.localSessions}`.slice(0, 63)): Promise<void> {
    const why = this.cannotStart();
    if (why) throw new Error(`${this.source}: cannot start a session (${why})`);
    await this.startSession(sessionId);
  }

  /** The driver stops at the charger. */
  stopLocal(): Promise<void> {
    return this.session ? this.stopSession('local') : Promise.resolve();
  }

  injectFault(code: string, detail?: string): Promise<void> {
    this.faultCode = code;
    return this.together(
      this.event('chargerEvent', { type: 'fault', faultCode: code, ...(detail ? { detail } : {}) }),
      this.session ? this.stopSession('fault') : this.setStatus('faulted'),
    );
  }

  clearFault(): Promise<void> {
    const code = this.faultCode;
    if (code === undefined) return Promise.resolve();
    this.faultCode = undefined;
    return this.together(
      this.event('chargerEvent', { type: 'fault_cleared', faultCode: code }),
      this.setStatus(this.plugged ? 'preparing' : 'available'),
    );
  }

  protected override async onConnected(): Promise<void> {
    await this.publish('chargerState', this.state);
  }

  private async run(cmd: ChargerCommand): Promise<Outcome> {
    switch (cmd.action) {
      case 'start': {
        const why = this.cannotStart();
        if (why) return refused(why);
        await this.startSession(cmd.sessionId, cmd.reservationId);
        return done;
      }
      case 'stop':
        if (this.session?.id !== cmd.sessionId) return refused('unknown_session');
        await this.stopSession('remote');
        return done;
      case 'set_power_limit':
        // Energy so far was delivered at the old power.
        this.integrate();
        this.powerLimitW = Math.min(cmd.powerLimitW, this.maxPowerW);
        if (!this.session) await this.publish('chargerState', this.state);
        else await this.together(this.setStatus(this.powerLimitW > 0 ? 'charging' : 'suspended'), this.publishMeter());
        return done;
      case 'reset':
        await this.together(this.session ? this.stopSession('remote') : Promise.resolve(), this.clearFault());
        return done;
    }
  }

  private cannotStart(): string | undefined {
    if (this.status === 'faulted') return 'faulted';
    if (this.session) return 'busy';
    if (!this.plugged) return 'not_plugged';
    return undefined;
  }

  private powerW(): number {
    return this.status === 'charging' ? Math.min(this.vehiclePowerW, this.powerLimitW, this.maxPowerW) : 0;
  }

  /** Adds power × elapsed since the last call; call before anything that changes the power. */
  private integrate(): void {
    const now = this.now();
    if (this.integratedAt !== undefined) this.energyMj += Math.round(this.powerW() * (now - this.integratedAt));
    this.integratedAt = now;
  }

  private wh(): number {
    return Math.floor(this.energyMj / MJ_PER_WH);
  }

  private setStatus(status: ChargerStatus): Promise<void> {
    this.integrate();
    this.status = status;
    return this.publish('chargerState', this.state);
  }

  private startSession(id: string, reservationId?: string): Promise<void> {
    this.integrate();
    const session = { id, startWh: this.wh(), reservationId };
    this.session = session;
    this.cancelMeter = this.every(this.meterIntervalMs, () => this.spawn(this.publishMeter()));
    this.log('info', `session ${id} started at ${session.startWh} Wh`);
    return this.together(
      this.event('chargerEvent', {
        type: 'session_started',
        sessionId: id,
        meterStartWh: session.startWh,
        ...(reservationId ? { reservationId } : {}),
      }),
      this.setStatus(this.powerLimitW > 0 ? 'charging' : 'suspended'),
      this.publishMeter(),
    );
  }

  private stopSession(reason: StopReason): Promise<void> {
    const session = this.session;
    if (!session) return Promise.resolve();
    this.integrate();
    this.cancelMeter();
    const meterStopWh = this.wh();
    this.session = undefined;
    this.status = reason === 'fault' ? 'faulted' : this.plugged ? 'finishing' : 'available';
    this.log('info', `session ${session.id} stopped (${reason}): ${meterStopWh - session.startWh} Wh`);
    return this.together(
      this.publishMeter(session.id),
      this.event('chargerEvent', {
        type: 'session_stopped',
        sessionId: session.id,
        meterStopWh,
        energyWh: meterStopWh - session.startWh,
        reason,
      }),
      this.publish('chargerState', this.state),
    );
  }

  private publishMeter(sessionId = this.session?.id): Promise<void> {
    this.integrate();
    const powerW = this.powerW();
    const meter: ChargerMeter = {
      ts: this.now(),
      ...(sessionId ? { sessionId } : {}),
      energyWh: this.wh(),
      powerW,
      voltageV: this.voltageV,
      currentA: Math.round((powerW / this.voltageV) * 10) / 10,
    };
    return this.publish('chargerMeter', meter);
  }
}
