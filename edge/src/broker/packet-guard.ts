import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';

export type PacketVerdict = 'ok' | 'oversized' | 'malformed';

/**
 * Follows the MQTT framing of a byte stream without buffering it: a fixed
 * header byte, the "remaining length" (1–4 bytes of 7 bits, low first, high bit
 * = more; MQTT 3.1.1 §2.2.3), then that many body bytes, which are skipped.
 * It reports a packet as too large as soon as its length bytes say so, before
 * any of its body has arrived.
 */
export class FrameScanner {
  #phase: 'type' | 'length' | 'body' = 'type';
  #value = 0;
  #multiplier = 1;
  #lengthBytes = 0;
  #left = 0;

  constructor(readonly maxRemainingLength: number) {}

  feed(chunk: Uint8Array): PacketVerdict {
    let i = 0;
    while (i < chunk.length) {
      if (this.#phase === 'type') {
        i++;
        this.#phase = 'length';
        this.#value = 0;
        this.#multiplier = 1;
        this.#lengthBytes = 0;
      } else if (this.#phase === 'length') {
        const b = chunk[i++] as number;
        this.#value += (b & 0x7f) * this.#multiplier;
        this.#multiplier *= 128;
        this.#lengthBytes++;
        // later length bytes only add, so a partial value already over the limit is final
        if (this.#value > this.maxRemainingLength) return 'oversized';
        if (b & 0x80) {
          if (this.#lengthBytes === 4) return 'malformed'; // [MQTT-2.2.3]: at most four bytes
        } else {
          this.#left = this.#value;
          this.#phase = this.#left === 0 ? 'type' : 'body';
        }
      } else {
        const n = Math.min(this.#left, chunk.length - i);
        i += n;
        this.#left -= n;
        if (this.#left === 0) this.#phase = 'type';
      }
    }
    return 'ok';
  }
}

/**
 * Sits between a socket and `broker.handle`: bytes pass through unchanged, but
 * a connection announcing a packet over the limit is destroyed there, so no
 * client can make the broker's parser buffer a 256 MiB "packet" (MQTT allows
 * remaining lengths up to 268,435,455). Writes go straight to the socket.
 */
export class PacketGuard extends Duplex {
  readonly remoteAddress: string | undefined;
  readonly #socket: Socket;

  constructor(socket: Socket, maxRemainingLength: number, onReject: (verdict: 'oversized' | 'malformed') => void) {
    super({ allowHalfOpen: false });
    this.#socket = socket;
    this.remoteAddress = socket.remoteAddress;
    const scanner = new FrameScanner(maxRemainingLength);
    socket.on('data', (chunk: Buffer) => {
      if (this.destroyed) return;
      const verdict = scanner.feed(chunk);
      if (verdict !== 'ok') {
        onReject(verdict);
        this.destroy(
          new Error(verdict === 'oversized' ? 'MQTT packet exceeds the size limit' : 'malformed MQTT header'),
        );
        return;
      }
      if (!this.push(chunk)) socket.pause(); // backpressure: the broker reads at its own pace
    });
    socket.on('end', () => this.push(null));
    socket.on('error', (err) => this.destroy(err));
    socket.on('close', () => this.destroy());
  }

  override _read(): void {
    this.#socket.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#socket.write(chunk, callback);
  }

  // mqtt-packet writes a packet as several small chunks under cork(): hand them
  // to the socket as one batch, so one packet goes out in one segment.
  override _writev(chunks: { chunk: Buffer }[], callback: (error?: Error | null) => void): void {
    this.#socket.cork();
    chunks.forEach(({ chunk }, i) => {
      this.#socket.write(chunk, i === chunks.length - 1 ? callback : undefined);
    });
    this.#socket.uncork();
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#socket.end(callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#socket.destroy();
    callback(error);
  }
}
