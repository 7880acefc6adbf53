// Sealing and opening the sensitive fields of a person (phone, ID number). Each value is bound to its row and
// column through the AES-GCM associated data, so a ciphertext copied onto another person does not open.

import { blindIndex } from './crypto.js';
import type { CloudDeps } from './deps.js';

type Keys = Pick<CloudDeps, 'keyRing' | 'blindIndexKey'>;
type Field = 'phone' | 'id_number';
const aad = (personId: string, field: Field) => `persons.${field}:${personId}`;

export function sealPerson(keys: Keys, personId: string, input: { phone?: string | null; idNumber?: string | null }) {
  const out: {
    phoneEnc?: string | null;
    phoneBidx?: string | null;
    phoneLast4?: string | null;
    idNumberEnc?: string | null;
  } = {};
  if (input.phone !== undefined) {
    out.phoneEnc = input.phone === null ? null : keys.keyRing.seal(input.phone, aad(personId, 'phone'));
    out.phoneBidx = input.phone === null ? null : phoneIndex(keys, input.phone);
    out.phoneLast4 = input.phone === null ? null : input.phone.slice(-4);
  }
  if (input.idNumber !== undefined) {
    out.idNumberEnc = input.idNumber === null ? null : keys.keyRing.seal(input.idNumber, aad(personId, 'id_number'));
  }
  return out;
}

export function openPerson(keys: Keys, p: { id: string; phoneEnc: string | null; idNumberEnc: string | null }) {
  return {
    phone: p.phoneEnc ? keys.keyRing.open(p.phoneEnc, aad(p.id, 'phone')) : null,
    idNumber: p.idNumberEnc ? keys.keyRing.open(p.idNumberEnc, aad(p.id, 'id_number')) : null,
  };
}

export const phoneIndex = (keys: Keys, phone: string) => blindIndex(keys.blindIndexKey, `phone:${phone}`);

/** What lists show instead of the number: enough to tell people apart, not enough to call them. */
export const maskPhone = (last4: string | null) => (last4 ? `*******${last4}` : null);
