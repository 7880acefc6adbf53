import type { ReaderFeedback, ReaderInput, ReaderState } from '@estate/protocols';
import { Device, type DeviceOptions } from './device.js';

export type ReaderCapability = ReaderState['capabilities'][number];

export interface ReaderOptions extends DeviceOptions {
  /** Default both: ['qr', 'pin']. */
  capabilities?: ReaderCapability[] | undefined;
  /** How long scanQr()/enterPin() wait for feedback; default 5000 ms. */
  timeoutMs?: number | undefined;
}

/** A keypad / QR reader: each input carries a seq, and the gateway's feedback echoes it. */
export class Reader extends Device {
  readonly kind = 'reader';
  private readonly capabilities: ReaderCapability[];
  private readonly timeoutMs: number;
  private readonly feedback = this.pending<ReaderFeedback>('reader feedback');

  constructor(options: ReaderOptions) {
    super(options);
    this.capabilities = options.capabilities ?? ['qr', 'pin'];
    this.timeoutMs = options.timeoutMs ?? 5_000;
    this.onMessage('readerFeedback', (f) => {
      if (!this.feedback.settle(String(f.seq), f)) this.log('debug', `feedback for seq ${f.seq} nobody waits for`);
    });
  }

  scanQr(token: string, timeoutMs = this.timeoutMs): Promise<ReaderFeedback> {
    return this.input('qr', token, timeoutMs);
  }

  enterPin(digits: string, timeoutMs = this.timeoutMs): Promise<ReaderFeedback> {
    return this.input('pin', digits, timeoutMs);
  }

  protected override async onConnected(): Promise<void> {
    await this.publish('readerState', { ts: this.now(), capabilities: this.capabilities });
  }

  private async input(method: ReaderInput['method'], value: string, timeoutMs: number): Promise<ReaderFeedback> {
    if (!this.capabilities.includes(method)) throw new Error(`${this.source} has no ${method} capability`);
    const seq = this.nextSeq();
    const reply = this.feedback.wait(String(seq), timeoutMs);
    let f: ReaderFeedback;
    try {
      // Raced, not awaited in turn: offline, the publish may never complete, yet the timeout must still end this.
      const sent = this.publish('readerInput', { seq, ts: this.now(), method, value });
      f = await Promise.race([sent.then(() => reply), reply]);
    } catch (e) {
      // Not sent (an invalid PIN, say) or no answer: stop waiting.
      this.feedback.cancel(String(seq));
      throw e;
    }
    this.log('info', `${method} #${seq}: ${f.granted ? 'granted' : 'denied'} (${f.reason})`);
    return f;
  }
}
