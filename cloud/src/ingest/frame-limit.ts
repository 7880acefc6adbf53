// A transport bound on MQTT packet size for the embedded broker. Aedes has no such option: its parser buffers a
// packet of whatever "remaining length" the client announces (MQTT allows up to 256 MiB), so one client could make
// the cloud hold that much per connection. The gateway broker (edge/src/broker/packet-guard.ts) solves the same
// problem; cloud and edge never import each other, so this is a second, independent implementation of the idea.
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';

export type FrameVerdict = 'ok' | 'oversized' | 'malformed';

/**
 * Returns a function fed every received chunk in order; it follows the framing (fixed header byte, 1–4 bytes of
 * remaining length, body) without keeping any body bytes, and says 'oversized' as soon as a length prefix exceeds
 * the limit — before the body arrives.
 */
export function frameWatcher(maxRemainingLength: number): (chunk: Uint8Array) => FrameVerdict {
  let skip = 0; // body bytes of the current packet still to pass
  let length = -1; // -1: expecting a fixed header byte; ≥ 0: reading the length
  let shift = 0; // 7 bits per length byte
  return (chunk) => {
    for (let i = 0; i < chunk.length; ) {
      if (skip > 0) {
        const n = Math.min(skip, chunk.length - i);
        skip -= n;
        i += n;
        continue;
      }
      const byte = chunk[i++] as number;
      if (length < 0) {
        length = 0;
        shift = 0;
        continue;
      }
      length += (byte & 0x7f) * 2 ** shift;
      shift += 7;
      if (length > maxRemainingLength) return 'oversized';
      if (byte & 0x80) {
        if (shift >= 28) return 'malformed'; // [MQTT-2.2.3]: four length bytes at most
        continue;
      }
      skip = length;
      length = -1;
    }
    return 'ok';
  };
}

/**
 * The connection handed to `broker.handle`: the socket's bytes pass through unchanged, writes go straight to the
 * socket, and a connection announcing a packet over the limit is destroyed.
 */
export function limitFrames(
  socket: Socket,
  maxRemainingLength: number,
  onReject: (v: Exclude<FrameVerdict, 'ok'>) => void,
): Duplex {
  const watch = frameWatcher(maxRemainingLength);
  const conn: Duplex = new Duplex({
    allowHalfOpen: false,
    read: () => void socket.resume(),
    write: (chunk: Buffer, _enc, done) => void socket.write(chunk, done),
    // a packet is written as several chunks under cork(): one socket write each would be one TCP segment each
    writev: (chunks, done) => {
      socket.cork();
      for (const [i, { chunk }] of chunks.entries()) socket.write(chunk, i === chunks.length - 1 ? done : undefined);
      socket.uncork();
    },
    final: (done) => void socket.end(done),
    destroy: (err, done) => {
      socket.destroy();
      done(err);
    },
  });
  socket.on('data', (chunk: Buffer) => {
    if (conn.destroyed) return;
    const verdict = watch(chunk);
    if (verdict !== 'ok') {
      onReject(verdict);
      conn.destroy(new Error(`MQTT packet refused: ${verdict}`));
    } else if (!conn.push(chunk)) socket.pause();
  });
  socket.on('end', () => conn.push(null));
  socket.on('error', (err) => conn.destroy(err));
  socket.on('close', () => conn.destroy());
  return conn;
}
