import {
  decode,
  decodeAs,
  encode,
  encodeFrame,
  examples,
  MESSAGE_NAMES,
  type MessageName,
  exampleParams as params,
  routes,
  topicFor,
} from '@estate/protocols';
import { describe, expect, it } from 'vitest';

const JSON_ROUTES = MESSAGE_NAMES.filter((n) => routes[n].encoding === 'json');

/** A value of a type the field cannot have. */
function wrongTypeFor(v: unknown): unknown {
  if (typeof v === 'number') return 'not-a-number';
  if (typeof v === 'string') return 12345;
  if (typeof v === 'boolean') return 'yes';
  if (Array.isArray(v)) return 'not-an-array';
  return 7;
}

const tagOf = (name: MessageName): string | undefined =>
  (routes[name].schema as { discriminator?: { propertyName: string } }).discriminator?.propertyName;

const asJson = (v: unknown) => Buffer.from(JSON.stringify(v));

describe('a malformed message is rejected with a reason that names the field', () => {
  for (const name of JSON_ROUTES) {
    const example = examples[name] as Record<string, unknown>;
    const field = Object.keys(example).find((k) => k !== tagOf(name)) as string;

    it(`${name}: wrong type of /${field}`, () => {
      const r = decodeAs(name, asJson({ ...example, [field]: wrongTypeFor(example[field]) }));
      expect(r.ok).toBe(false);
      if (!r.ok) {
        expect(r.error.code).toBe('SCHEMA');
        expect(r.error.field).toBe(`/${field}`);
      }
    });

    it(`${name}: missing /${field}`, () => {
      const { [field]: _dropped, ...rest } = example;
      const r = decodeAs(name, asJson(rest));
      expect(!r.ok && r.error.field).toBe(`/${field}`);
      expect(!r.ok && r.error.message).toMatch(/is required/);
    });

    it(`${name}: unknown field`, () => {
      const r = decodeAs(name, asJson({ ...example, sneaky: true }));
      expect(!r.ok && r.error.field).toBe('/sneaky');
    });

    it(`${name}: oversized payload is refused before parsing`, () => {
      const r = decodeAs(name, Buffer.alloc(routes[name].maxBytes + 1, 0x20));
      expect(!r.ok && r.error.code).toBe('TOO_LARGE');
    });
  }

  it('rejects a payload that is JSON but not an object, on every route', () => {
    for (const name of JSON_ROUTES) {
      for (const v of ['null', '[]', '"text"', '1', 'true']) {
        const r = decodeAs(name, Buffer.from(v));
        expect(!r.ok && r.error.code, `${name} ${v}`).toBe('SCHEMA');
      }
    }
  });

  it('names a nested field', () => {
    const bad = structuredClone(examples.eventBatch);
    (bad.events[0] as { latencyMs: unknown }).latencyMs = -5;
    const r = decodeAs('eventBatch', asJson(bad));
    expect(!r.ok && r.error.field).toBe('/events/0/latencyMs');
  });

  it('names the tag of a tagged union and lists allowed enum values', () => {
    const r = decodeAs('chargerEvent', asJson({ seq: 1, ts: 1, type: 'explode' }));
    expect(!r.ok && r.error.field).toBe('/type');
    const e = decodeAs('doorState', asJson({ ...examples.doorState, relay: 'ajar' }));
    expect(!e.ok && e.error.message).toBe('/relay: must be one of locked, unlocked');
  });

  it('does not coerce types: "1" is not 1 and 1 is not true', () => {
    expect(decodeAs('doorEvent', asJson({ ...examples.doorEvent, seq: '41' })).ok).toBe(false);
    expect(decodeAs('doorState', asJson({ ...examples.doorState, fire: 0 })).ok).toBe(false);
  });

  it('rejects empty, non-UTF-8 and non-JSON payloads with distinct codes', () => {
    const topic = topicFor('doorEvent', params);
    const code = (p: Uint8Array) => {
      const r = decode(topic, p);
      return r.ok ? 'ok' : r.error.code;
    };
    expect(code(new Uint8Array())).toBe('EMPTY');
    expect(code(Uint8Array.from([0xc3, 0x28]))).toBe('NOT_UTF8');
    expect(code(Buffer.from('{"seq":'))).toBe('NOT_JSON');
    expect(code(Buffer.from('null'))).toBe('SCHEMA');
    expect(code(Buffer.from('{"__proto__":{"admin":true},"seq":1,"ts":1,"type":"opened"}'))).toBe('SCHEMA');
  });
});

describe('camera frames', () => {
  const good = encode('cameraFrame', examples.cameraFrame);
  const frameCode = (p: Uint8Array) => {
    const r = decodeAs('cameraFrame', p);
    return r.ok ? 'ok' : `${r.error.code} ${r.error.field}`;
  };

  it('rejects truncated, foreign, mislabelled and non-JPEG frames', () => {
    expect(frameCode(good.subarray(0, 10))).toBe('FRAME ');
    expect(frameCode(Buffer.concat([Buffer.from('XX'), good.subarray(2)]))).toBe('FRAME /magic');
    expect(frameCode(good.subarray(0, good.length - 1))).toBe('FRAME /data');
    const notJpeg = encodeFrame({ ...examples.cameraFrame, data: Buffer.from('GIF89a....') });
    expect(frameCode(notJpeg)).toBe('FRAME /data');
    const badKind = Buffer.from(good);
    badKind[3] = 9;
    expect(frameCode(badKind)).toBe('FRAME /kind');
    const zeroWidth = Buffer.from(good);
    zeroWidth.writeUInt16BE(0, 6);
    expect(frameCode(zeroWidth)).toBe('FRAME /width');
  });

  it('keeps the JPEG bytes without copying them out of the payload', () => {
    const r = decodeAs('cameraFrame', good);
    expect(r.ok && r.value.data.buffer).toBe(good.buffer);
    expect(r.ok && r.value.data.byteLength).toBe(examples.cameraFrame.data.byteLength);
  });
});
