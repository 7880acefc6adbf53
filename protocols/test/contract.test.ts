import { readFileSync } from 'node:fs';
import {
  decode,
  decodeAs,
  encode,
  examples,
  filterFor,
  MESSAGE_NAMES,
  type MessageName,
  matchTopic,
  ProtocolError,
  exampleParams as params,
  routes,
  topicFor,
} from '@estate/protocols';
import { describe, expect, it } from 'vitest';
import { withTopicTable } from '../src/docs.js';

const topicOf = (name: MessageName) => topicFor(name, params as never);

describe('topic map', () => {
  it('puts every topic under estate/v1/ and gives each route a described schema and a size limit', () => {
    for (const name of MESSAGE_NAMES) {
      const r = routes[name];
      expect(r.pattern.startsWith('estate/v1/'), name).toBe(true);
      expect(r.schema.description, `${name} schema has a description`).toBeTruthy();
      expect(r.maxBytes).toBeGreaterThan(0);
    }
  });

  it('has no two routes that can match the same topic', () => {
    const shapes = MESSAGE_NAMES.map((n) => routes[n].pattern.replace(/\{\w+\}/g, '+'));
    expect(new Set(shapes).size).toBe(shapes.length);
  });

  it('maps every concrete topic back to its own route', () => {
    for (const name of MESSAGE_NAMES) {
      const m = matchTopic(topicOf(name));
      expect(m.ok && m.value.name, name).toBe(name);
    }
  });

  it('builds subscription filters with + for unspecified parameters', () => {
    expect(filterFor('doorCommand', { deviceId: 'door-1' })).toBe('estate/v1/dev/door/door-1/cmd');
    expect(filterFor('devicePresence')).toBe('estate/v1/dev/+/+/presence');
    expect(filterFor('eventBatch')).toBe('estate/v1/gw/+/events');
  });

  it('refuses topic parameters that are not ids, so a device id can never inject a wildcard or level', () => {
    for (const bad of ['a/b', '+', '#', 'Door-1', '', 'x'.repeat(64), 'door 1']) {
      expect(() => topicFor('doorState', { deviceId: bad }), bad).toThrow(ProtocolError);
    }
    const m = matchTopic('estate/v1/dev/door/DOOR/state');
    expect(!m.ok && m.error.code).toBe('TOPIC_PARAM');
    const k = matchTopic('estate/v1/dev/toaster/t1/presence');
    expect(!k.ok && k.error.message).toContain("unknown device kind 'toaster'");
  });
});

describe('round trip of every message kind', () => {
  it('has an example for every route', () => {
    expect(Object.keys(examples).sort()).toEqual([...MESSAGE_NAMES].sort());
  });

  for (const name of MESSAGE_NAMES) {
    it(`${name}: encode → decode gives back the same message`, () => {
      const payload = encode(name, examples[name] as never);
      expect(payload.byteLength).toBeLessThanOrEqual(routes[name].maxBytes);
      const d = decode(topicOf(name), payload);
      if (!d.ok) throw d.error;
      expect(d.value.name).toBe(name);
      expect(d.value.message).toEqual(examples[name]);
      const again = decodeAs(name, encode(name, d.value.message as never));
      expect(again.ok && again.value).toEqual(examples[name]);
    });
  }
});

describe('senders cannot send bad messages', () => {
  it('encode throws a ProtocolError naming the field', () => {
    expect(() => encode('doorCommand', { ...examples.doorCommand, pulseMs: 10 })).toThrow(/\/pulseMs/);
  });

  it('encode refuses a message over the route limit', () => {
    const frame = { ...examples.cameraFrame, data: new Uint8Array(3 * 1024 * 1024).fill(0xff) };
    frame.data[1] = 0xd8;
    expect(() => encode('cameraFrame', frame)).toThrow(/exceeds the 2097152-byte limit/);
  });
});

describe('generated documentation', () => {
  it('protocols/README.md carries the current topic table (regenerate with npm run gen:topics)', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    expect(withTopicTable(readme)).toBe(readme);
  });
});
