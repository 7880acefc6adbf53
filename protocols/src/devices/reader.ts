import { type Static, Type } from '@sinclair/typebox';
import { Enum, Obj, Reason, Seq, Tagged, Token, Ts } from '../common.js';

export const ReaderState = Obj(
  {
    ts: Ts,
    capabilities: Type.Array(Enum(['qr', 'pin']), {
      minItems: 1,
      maxItems: 2,
      uniqueItems: true,
    }),
  },
  'keypad / QR reader state',
);
export type ReaderState = Static<typeof ReaderState>;

const Input = { seq: Seq, ts: Ts };
export const ReaderInput = Tagged(
  'method',
  [
    Obj({ ...Input, method: Type.Literal('qr'), value: Token('scanned QR content (a visitor pass)') }),
    Obj({
      ...Input,
      method: Type.Literal('pin'),
      value: Type.String({ pattern: '^[0-9]{4,12}$', description: 'PIN digits' }),
    }),
  ],
  'a QR code was scanned or a PIN entered',
);
export type ReaderInput = Static<typeof ReaderInput>;

export const ReaderFeedback = Obj(
  {
    seq: Seq,
    ts: Ts,
    granted: Type.Boolean(),
    reason: Reason,
    display: Type.Optional(Type.String({ maxLength: 64, description: 'text for the reader display' })),
  },
  'decision for the input with the same seq',
);
export type ReaderFeedback = Static<typeof ReaderFeedback>;
