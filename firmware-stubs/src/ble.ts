import { type KeyObject, randomBytes, sign } from 'node:crypto';
import { type BleChallenge, type BleResult, bleChallengeSigningInput } from '@estate/protocols';
import { Device, type DeviceOptions } from './device.js';

/** A phone holding a BLE key: the credential the cloud issued and the Ed25519 private key it binds. */
export interface Phone {
  credential: string;
  privateKey: KeyObject;
}

export interface BleReaderOptions extends DeviceOptions {
  /** Signal strength reported in hello; default -60 dBm. */
  rssi?: number | undefined;
  /** How long present() waits for the gateway; default 5000 ms. */
  timeoutMs?: number | undefined;
}

export interface PresentOptions {
  rssi?: number | undefined;
  timeoutMs?: number | undefined;
}

/**
 * A BLE reader with a phone in range. present() runs the whole exchange of
 * protocols/devices/ble.ts: hello → challenge → signed response → result.
 */
export class BleReader extends Device {
  readonly kind = 'ble';
  private readonly rssi: number;
  private readonly timeoutMs: number;
  private readonly challenges = this.pending<BleChallenge>('BLE challenge');
  private readonly results = this.pending<BleResult>('BLE result');

  constructor(options: BleReaderOptions) {
    super(options);
    this.rssi = options.rssi ?? -60;
    this.timeoutMs = options.timeoutMs ?? 5_000;
    this.onMessage('bleChallenge', (c) => this.settle(this.challenges, c.session, c));
    this.onMessage('bleResult', (r) => this.settle(this.results, r.session, r));
  }

  /** Resolves with the gateway's decision; rejects when it does not answer in time. */
  async present(phone: Phone, opts: PresentOptions = {}): Promise<BleResult> {
    const session = `s${randomBytes(8).toString('hex')}`;
    const timeoutMs = opts.timeoutMs ?? this.timeoutMs;
    const result = this.results.wait(session, timeoutMs);
    const challenge = this.challenges.wait(session, timeoutMs);
    // Handled now: it may time out while the hello is still in flight; the result reports the failure.
    challenge.catch(() => {});
    const exchange = async () => {
      await this.publish('bleHello', {
        session,
        ts: this.now(),
        credential: phone.credential,
        rssi: opts.rssi ?? this.rssi,
      });
      // A gateway may answer hello with a result directly (unknown key): then no challenge comes.
      const c = await Promise.race([challenge, result.then(() => undefined)]);
      if (!c) return;
      // Ed25519 takes no separate digest, hence the null algorithm.
      const signature = sign(null, bleChallengeSigningInput(c), phone.privateKey).toString('base64url');
      await this.publish('bleResponse', { session, ts: this.now(), signature });
    };
    try {
      // The result (or its timeout) ends the exchange even while a publish is stuck offline.
      await Promise.race([exchange(), result]);
      const r = await result;
      this.log('info', `session ${session}: ${r.granted ? 'granted' : 'denied'} (${r.reason})`);
      return r;
    } finally {
      this.challenges.cancel(session);
      this.results.cancel(session);
    }
  }

  private settle<T>(pending: { settle(key: string, value: T): boolean }, session: string, value: T): void {
    if (!pending.settle(session, value)) this.log('debug', `no phone waits for session ${session}`);
  }
}
