// Claim codes, their QR payload and device label codes: what an installer types must be read as meant, or refused
// saying which part is wrong.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { formatClaimCode, formatPairingCode, normalizeClaimCode, parseClaim, parsePairingCode } from '../src/index.js';

describe('claim codes', () => {
  it('reads a code typed in lower case, with spaces, or with O for 0 and I/L for 1', () => {
    const code = formatClaimCode(randomBytes(10));
    expect(code).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$/);
    expect(normalizeClaimCode(` ${code.toLowerCase().replace(/-/g, ' ')} `)).toBe(code.replace(/-/g, ''));
    expect(normalizeClaimCode('OOOO-IIII-LLLL-0000')).toBe('0000111111110000');
    expect(normalizeClaimCode('ABCD-EFGH-JKMN-PQR')).toBeUndefined();
    expect(normalizeClaimCode('ABCD-EFGH-JKMN-PQRU')).toBeUndefined();
  });

  it('takes the QR payload apart, and refuses a cloud address that is not http(s)', () => {
    expect(parseClaim('estate-claim:ABCD-EFGH-JKMN-PQRS@https://cloud.example/')).toEqual({
      code: 'ABCDEFGHJKMNPQRS',
      cloudUrl: 'https://cloud.example/',
    });
    expect(parseClaim('estate-claim:ABCD-EFGH-JKMN-PQRS@ftp://x').cloudUrl).toBeUndefined();
    expect(parseClaim('ABCD-EFGH-JKMN-PQRS')).toEqual({ code: 'ABCDEFGHJKMNPQRS', cloudUrl: undefined });
  });
});

describe('pairing codes', () => {
  it('round-trips every kind, whatever the case', () => {
    for (const kind of ['door', 'camera', 'ble', 'reader', 'charger', 'leak', 'climate', 'energy'] as const) {
      const code = formatPairingCode(kind, `${kind}-b1-x_2`);
      expect(parsePairingCode(code.toLowerCase())).toEqual({ ok: true, kind, deviceId: `${kind}-b1-x_2`, code });
    }
  });

  it('says which part is wrong', () => {
    const good = formatPairingCode('door', 'door-1');
    const typo = `${good.slice(0, -1)}${good.endsWith('A') ? 'B' : 'A'}`;
    const problems = ['door-1', 'EST2-DOOR-door-1-AAAA', 'EST1-TOASTER-t-AAAA', 'EST1-DOOR-Door/1-AAAA', typo].map(
      (c) => {
        const r = parsePairingCode(c);
        return r.ok ? 'ok' : r.problem;
      },
    );
    expect(problems).toEqual(['format', 'format', 'kind', 'device_id', 'check']);
    // a different device id with the same check is caught too
    expect(parsePairingCode(good.replace('door-1', 'door-7')).ok).toBe(false);
  });
});
