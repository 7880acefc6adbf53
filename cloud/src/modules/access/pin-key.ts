// The estate's PIN key, on its own so the sync engine (cloud/src/sync, GatewayConfig.pinKey) can read it without
// importing the rest of access management. One key per estate, not per gateway: a PIN is stored once as its keyed
// hash and every gateway of the estate must compute that same hash at its keypad.
import { createHmac, randomBytes } from 'node:crypto';
import type { CloudDeps } from '../../core/deps.js';

const AAD = (estateId: string) => `access_settings.pin_key:${estateId}`;

/** The estate's PIN key (base64url, 32 bytes), sealed in access_settings, made on first use. */
export async function estatePinKey(deps: Pick<CloudDeps, 'prisma' | 'keyRing'>, estateId: string): Promise<string> {
  const { prisma, keyRing } = deps;
  const found = await prisma.accessSettings.findUnique({ where: { estateId } });
  if (found?.pinKeySealed) return keyRing.open(found.pinKeySealed, AAD(estateId));
  const sealed = keyRing.seal(randomBytes(32).toString('base64url'), AAD(estateId));
  // two requests may race to make it: only an empty slot is filled, then everyone reads the winner
  await prisma.accessSettings.upsert({ where: { estateId }, create: { estateId, pinKeySealed: sealed }, update: {} });
  await prisma.accessSettings.updateMany({ where: { estateId, pinKeySealed: null }, data: { pinKeySealed: sealed } });
  const row = await prisma.accessSettings.findUniqueOrThrow({ where: { estateId } });
  return keyRing.open(row.pinKeySealed as string, AAD(estateId));
}

/** base64url HMAC-SHA256(pinKey, PIN): what the gateway's PinVerifier computes (edge/src/credentials/pin.ts). */
export const pinHash = (pinKey: string, pin: string) =>
  createHmac('sha256', Buffer.from(pinKey, 'base64url')).update(pin, 'utf8').digest('base64url');
