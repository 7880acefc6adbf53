// Decoding an event batch so that one bad event does not hold back the good ones: the batch as a whole is checked
// first (the common case, one validation), and only when that fails is it taken apart — the envelope must still
// be right, and each event is then valid (kept) or refused with a reason (acknowledged as rejected, so the gateway
// does not resend it forever). A batch whose envelope is wrong is dropped whole: nothing in it can be trusted.
import { decodeAs, GatewayEvent, GatewayId, Millis, Obj, type ProtocolError, validate } from '@estate/protocols';
import { Type } from '@sinclair/typebox';
import type { RejectedEvent } from './store.js';

const Envelope = Obj({
  gatewayId: GatewayId,
  sentAt: Millis(),
  events: Type.Array(Type.Unknown(), { minItems: 1, maxItems: 500 }), // EventBatch's own limit
});

export type ParsedBatch =
  | { ok: true; gatewayId: string; events: GatewayEvent[]; rejected: RejectedEvent[] }
  | { ok: false; error: ProtocolError };

/** protocols Reason for a refused event: `invalid_<field>`, e.g. invalid_doorid. */
export function reasonFor(error: ProtocolError): string {
  const field = error.field.split('/').filter(Boolean).pop() ?? 'event';
  return `invalid_${field.toLowerCase().replace(/[^a-z0-9_]/g, '_')}`.slice(0, 64);
}

const isSeq = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

export function parseEventBatch(payload: Uint8Array): ParsedBatch {
  const whole = decodeAs('eventBatch', payload);
  if (whole.ok) return { ok: true, gatewayId: whole.value.gatewayId, events: whole.value.events, rejected: [] };
  if (whole.error.code !== 'SCHEMA') return whole;
  // decodeAs has already proved the payload is UTF-8 JSON within the size limit
  const envelope = validate(Envelope, JSON.parse(Buffer.from(payload).toString('utf8')));
  if (!envelope.ok) return envelope;
  const events: GatewayEvent[] = [];
  const rejected: RejectedEvent[] = [];
  for (const raw of envelope.value.events) {
    const v = validate(GatewayEvent, raw);
    if (v.ok) events.push(v.value);
    else {
      const seq = (raw as { seq?: unknown } | null)?.seq;
      // without a usable seq the event cannot be named in the ack: the gateway will resend it, and it is refused again
      if (isSeq(seq)) rejected.push({ seq, reason: reasonFor(v.error), detail: v.error.message, body: raw });
    }
  }
  return { ok: true, gatewayId: envelope.value.gatewayId, events, rejected };
}
