import {
  decode,
  decodeAs,
  encodeFrame,
  examples,
  MESSAGE_NAMES,
  ProtocolError,
  exampleParams as params,
  routes,
  topicFor,
  validate,
} from '@estate/protocols';
import fc from 'fast-check';
import { describe, it } from 'vitest';

/** The only acceptable outcomes: a valid message, or a ProtocolError. Anything thrown fails the property. */
function wellBehaved(r: { ok: boolean; error?: unknown }): boolean {
  return r.ok || r.error instanceof ProtocolError;
}

const RUNS = 150;

describe('decoders and validators never throw (fast-check)', () => {
  for (const name of MESSAGE_NAMES) {
    const topic = topicFor(name, params as never);
    const limit = Math.min(routes[name].maxBytes + 64, 8_192);

    it(`${name}: random bytes`, () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: limit }), (bytes) => wellBehaved(decode(topic, bytes))),
        { numRuns: RUNS },
      );
    });

    it(`${name}: random JSON`, () => {
      fc.assert(
        fc.property(fc.jsonValue({ maxDepth: 4 }), (v) => {
          const r = decodeAs(name, Buffer.from(JSON.stringify(v) ?? 'null'));
          return wellBehaved(r) && wellBehaved(validate(routes[name].schema, v));
        }),
        { numRuns: RUNS },
      );
    });

    if (routes[name].encoding === 'json') {
      it(`${name}: the valid example with one field replaced by random JSON`, () => {
        const example = examples[name] as Record<string, unknown>;
        const keys = Object.keys(example);
        fc.assert(
          fc.property(fc.constantFrom(...keys), fc.jsonValue({ maxDepth: 3 }), (key, v) => {
            const r = decodeAs(name, Buffer.from(JSON.stringify({ ...example, [key]: v })));
            // A rejection must point at the replaced field (or inside it), unless the whole message got too large.
            if (r.ok) return true;
            return (
              r.error instanceof ProtocolError && (r.error.code === 'TOO_LARGE' || r.error.field.startsWith(`/${key}`))
            );
          }),
          { numRuns: RUNS },
        );
      });
    } else {
      it(`${name}: a valid frame with random bytes flipped`, () => {
        const frame = encodeFrame(examples.cameraFrame);
        fc.assert(
          fc.property(fc.nat(frame.length - 1), fc.integer({ min: 0, max: 255 }), (at, byte) => {
            const copy = Buffer.from(frame);
            copy[at] = byte;
            return wellBehaved(decodeAs(name, copy));
          }),
          { numRuns: RUNS },
        );
      });
    }
  }

  it('random topics', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.constantFrom('estate', 'v1', 'dev', 'gw', 'door', 'sync', '+', '#', ''), fc.string()), {
          maxLength: 8,
        }),
        fc.uint8Array({ maxLength: 64 }),
        (segments, bytes) => wellBehaved(decode(segments.join('/'), bytes)),
      ),
      { numRuns: 500 },
    );
  });
});
