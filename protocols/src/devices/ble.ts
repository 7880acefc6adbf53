import { type Static, Type } from '@sinclair/typebox';
import { Base64Url, Enum, Id, Millis, Obj, Reason, Seq, Token, Ts } from '../common.js';

/*
 * A phone proves it holds a BLE key by signing a fresh gateway nonce:
 *   reader → gateway  hello     (session, the key credential)
 *   gateway → reader  challenge (session, 32-byte nonce, short expiry)
 *   reader → gateway  response  (session, phone's signature over the challenge)
 *   gateway → reader  result    (granted or a reason)
 * A recorded response is useless later because every challenge nonce is new.
 */
const Session = Id('BLE session id chosen by the reader, unique per phone contact');

export const BleHello = Obj(
  {
    session: Session,
    ts: Ts,
    credential: Token('phone key credential issued by the cloud'),
    rssi: Type.Integer({ minimum: -127, maximum: 20, description: 'signal strength, dBm' }),
  },
  'a phone presented its key to the reader',
);
export type BleHello = Static<typeof BleHello>;

export const BleChallenge = Obj(
  {
    session: Session,
    nonce: Base64Url(43, '32 random bytes', 43),
    issuedAt: Millis(),
    expiresAt: Millis('the phone must answer before this'),
  },
  'gateway nonce for the phone to sign',
);
export type BleChallenge = Static<typeof BleChallenge>;

export const BleResponse = Obj(
  {
    session: Session,
    ts: Ts,
    signature: Base64Url(200, "phone's signature over the challenge bytes"),
  },
  'the phone signed the nonce',
);
export type BleResponse = Static<typeof BleResponse>;

export const BleResult = Obj(
  { session: Session, ts: Ts, granted: Type.Boolean(), reason: Reason },
  'decision shown to the phone',
);
export type BleResult = Static<typeof BleResult>;

export const ReaderEvent = Obj({ seq: Seq, ts: Ts, type: Enum(['tamper', 'tamper_cleared']) }, 'reader event');
export type ReaderEvent = Static<typeof ReaderEvent>;

/**
 * The exact bytes a phone signs to answer a challenge. Binding the session,
 * reader-visible nonce and expiry stops a signature being reused for another
 * session or after expiry.
 */
export function bleChallengeSigningInput(c: Pick<BleChallenge, 'session' | 'nonce' | 'expiresAt'>): Buffer {
  return Buffer.from(`estate-ble-v1\n${c.session}\n${c.nonce}\n${c.expiresAt}`, 'utf8');
}
