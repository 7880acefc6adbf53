import type { Static } from '@sinclair/typebox';
import { ID_PATTERN } from './common.js';
import type { CameraFrame } from './devices/camera.js';
import { fail, ok, ProtocolError, type Result } from './errors.js';
import { decodeFrame, encodeFrame } from './frame.js';
import { DEVICE_KINDS } from './gateway/events.js';
import { MESSAGE_NAMES, type MessageName, type Routes, routes } from './topics.js';
import { validate } from './validate.js';

type ParamNames<S extends string> = S extends `${string}{${infer P}}${infer Rest}` ? P | ParamNames<Rest> : never;
export type TopicParams<N extends MessageName> = { [K in ParamNames<Routes[N]['pattern']>]: string };

export type Message<N extends MessageName> = Routes[N]['encoding'] extends 'binary'
  ? CameraFrame
  : Static<Routes[N]['schema']>;

/** A decoded message, narrowed by `name`: `switch (d.name) { case 'doorEvent': d.message.type … }`. */
export type Decoded = {
  [N in MessageName]: { name: N; params: TopicParams<N>; message: Message<N> };
}[MessageName];

const ID = new RegExp(ID_PATTERN);
const KINDS = new Set<string>(DEVICE_KINDS);

interface Compiled {
  name: MessageName;
  segments: string[]; // literal, or '{param}'
}
const compiled: Compiled[] = MESSAGE_NAMES.map((name) => ({ name, segments: routes[name].pattern.split('/') }));
const bySize = new Map<number, Compiled[]>();
for (const c of compiled) bySize.set(c.segments.length, [...(bySize.get(c.segments.length) ?? []), c]);

function checkParam(param: string, value: string): ProtocolError | undefined {
  if (param === 'kind')
    return KINDS.has(value) ? undefined : new ProtocolError('TOPIC_PARAM', `unknown device kind '${value}'`, '{kind}');
  return ID.test(value) ? undefined : new ProtocolError('TOPIC_PARAM', `'${value}' is not a valid id`, `{${param}}`);
}

/** Which route a concrete topic belongs to, and its parameters. */
export function matchTopic(topic: string): Result<{ name: MessageName; params: Record<string, string> }> {
  const parts = topic.split('/');
  for (const c of bySize.get(parts.length) ?? []) {
    const params: Record<string, string> = {};
    let matched = true;
    for (let i = 0; i < parts.length && matched; i++) {
      const seg = c.segments[i] as string;
      const part = parts[i] as string;
      if (seg.startsWith('{')) params[seg.slice(1, -1)] = part;
      else matched = seg === part;
    }
    if (!matched) continue;
    for (const [param, value] of Object.entries(params)) {
      const err = checkParam(param, value);
      if (err) return fail(err);
    }
    return ok({ name: c.name, params });
  }
  return fail(new ProtocolError('TOPIC_UNKNOWN', `no message is defined for topic '${topic.slice(0, 200)}'`));
}

/** The concrete topic of a message. Throws on an invalid parameter: that is a bug in the sender. */
export function topicFor<N extends MessageName>(name: N, params: TopicParams<N>): string {
  return routes[name].pattern.replace(/\{(\w+)\}/g, (_, p: string) => {
    const value = (params as Record<string, string>)[p];
    if (value === undefined) throw new ProtocolError('TOPIC_PARAM', `missing topic parameter ${p}`, `{${p}}`);
    const err = checkParam(p, value);
    if (err) throw err;
    return value;
  });
}

/** An MQTT subscription filter for a route: given parameters filled in, the rest '+'. */
export function filterFor<N extends MessageName>(name: N, params: Partial<TopicParams<N>> = {}): string {
  return routes[name].pattern.replace(/\{(\w+)\}/g, (_, p: string) => (params as Record<string, string>)[p] ?? '+');
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Decode a payload known to belong to route `name`. Never throws. */
export function decodeAs<N extends MessageName>(name: N, payload: Uint8Array): Result<Message<N>> {
  const r = routes[name];
  if (payload.byteLength === 0) return fail(new ProtocolError('EMPTY', 'empty payload'));
  if (payload.byteLength > r.maxBytes) {
    return fail(
      new ProtocolError('TOO_LARGE', `payload of ${payload.byteLength} bytes exceeds the ${r.maxBytes}-byte limit`),
    );
  }
  if (r.encoding === 'binary') return decodeFrame(payload) as Result<Message<N>>;
  let text: string;
  try {
    text = utf8.decode(payload);
  } catch {
    return fail(new ProtocolError('NOT_UTF8', 'payload is not valid UTF-8'));
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return fail(new ProtocolError('NOT_JSON', `payload is not JSON (${(e as Error).message.slice(0, 100)})`));
  }
  return validate(r.schema, value) as Result<Message<N>>;
}

/** Decode whatever arrived on `topic`. Never throws; the error says what and where. */
export function decode(topic: string, payload: Uint8Array): Result<Decoded> {
  const m = matchTopic(topic);
  if (!m.ok) return m;
  const d = decodeAs(m.value.name, payload);
  if (!d.ok) return d;
  return ok({ name: m.value.name, params: m.value.params, message: d.value } as Decoded);
}

/** Validate a value against a route's schema (for messages built in code). */
export function check<N extends MessageName>(name: N, value: unknown): Result<Message<N>> {
  const r = routes[name];
  if (r.encoding === 'binary') {
    try {
      return decodeFrame(encodeFrame(value as CameraFrame)) as Result<Message<N>>;
    } catch (e) {
      return fail(e instanceof ProtocolError ? e : new ProtocolError('FRAME', 'not a camera frame'));
    }
  }
  return validate(r.schema, value) as Result<Message<N>>;
}

/** Serialise a message for its route. Throws ProtocolError if it is invalid or too large: senders must not send bad messages. */
export function encode<N extends MessageName>(name: N, message: Message<N>): Buffer {
  const r = routes[name];
  let payload: Buffer;
  if (r.encoding === 'binary') {
    payload = encodeFrame(message as CameraFrame);
  } else {
    const v = validate(r.schema, message);
    if (!v.ok) throw v.error;
    payload = Buffer.from(JSON.stringify(message));
  }
  if (payload.byteLength > r.maxBytes) {
    throw new ProtocolError('TOO_LARGE', `${name} of ${payload.byteLength} bytes exceeds the ${r.maxBytes}-byte limit`);
  }
  return payload;
}
