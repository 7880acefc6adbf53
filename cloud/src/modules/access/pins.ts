// PINs, the non-face way in (for residents without a phone or who decline face access). A PIN is 6 digits, not
// trivial, unique per estate (a PIN alone must find its person at the keypad), and stored only as the keyed hash the
// gateways verify: base64url HMAC-SHA256(pinKey, PIN), protocols GatewayConfig.pinKey / CredentialSync 'pin'.
// The pin key is one per estate (every gateway of the estate must compute the same hash), 32 random bytes sealed
// with the data key ring in access_settings (pin-key.ts); the sync config section carries it to the gateways.
import { randomInt } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { recordAudit } from '../../core/audit.js';
import { actorOf } from '../../core/context.js';
import type { CloudDeps } from '../../core/deps.js';
import { AppError } from '../../core/errors.js';
import { DateTime, ErrorResponses, IdParams } from '../../core/schemas.js';
import { change, type Tx } from '../../core/tx.js';
import { type Acting, personInScope, requireActiveHousehold } from './common.js';
import { afterCommit, type CredentialItem, queueDesired, revocation } from './desired.js';
import { ensureHouseholdAccess } from './groups.js';
import { estatePinKey, pinHash } from './pin-key.js';

export { estatePinKey, pinHash } from './pin-key.js';

/** Why a PIN is too easy to guess, or undefined. */
export function trivialPin(pin: string): string | undefined {
  if (!/^\d{6}$/.test(pin)) return 'a PIN is 6 digits';
  const d = [...pin].map(Number);
  const steps = new Set(d.slice(1).map((x, i) => (x - (d[i] as number) + 10) % 10));
  if (steps.size === 1) return 'repeated or consecutive digits'; // 111111, 123456, 987654, 901234
  if (pin.slice(0, 2).repeat(3) === pin || pin.slice(0, 3).repeat(2) === pin) return 'a repeated pattern';
  if (new Set(d).size <= 2) return 'too few different digits';
  return undefined;
}

/** A PIN as the gateways hold it: the person's id and the keyed hash. */
export const pinItem = (p: { personId: string; hash: string }): CredentialItem => ({
  kind: 'pin',
  id: p.personId,
  hash: p.hash,
});

/** Deletes a person's PIN and queues its removal from the gateways. */
export async function removePin(tx: Tx, personId: string, reason: string): Promise<boolean> {
  const p = await tx.accessPin.findUnique({ where: { personId } });
  if (!p) return false;
  await tx.accessPin.delete({ where: { personId } });
  await queueDesired(tx, p.estateId, 'credentials', { deletes: [{ kind: 'pin', id: personId }] });
  await queueDesired(tx, p.estateId, 'revocations', { upserts: [revocation('pin', personId, reason)] });
  return true;
}

const PinBody = Type.Object({ pin: Type.String({ pattern: '^\\d{6}$' }) }, { additionalProperties: false });
const PinState = Type.Object({ set: Type.Boolean(), setAt: Type.Union([DateTime, Type.Null()]) });

export function pinService(deps: CloudDeps) {
  const { prisma } = deps;

  const store = async (actor: Acting, personId: string, pin: string) => {
    const person = await personInScope(prisma, actor, personId, 'pin:set');
    await requireActiveHousehold(prisma, person.householdId);
    const key = await estatePinKey(deps, person.estateId);
    const hash = pinHash(key, pin);
    // The same answer whether the PIN is someone else's or the caller's own current one; every refusal is
    // audited, so probing for PINs in use shows up in the log. (The unique index settles a race.)
    if (await prisma.accessPin.findUnique({ where: { estateId_hash: { estateId: person.estateId, hash } } })) {
      await recordAudit(prisma, actor, {
        action: 'pin.set',
        entity: 'person',
        entityId: personId,
        estateId: person.estateId,
        outcome: 'denied',
      });
      throw new AppError('PIN_REJECTED', 'this PIN cannot be used; choose another', '/body/pin');
    }
    const row = await change(prisma, actor, async (tx, audit) => {
      const saved = await tx.accessPin.upsert({
        where: { personId },
        create: { personId, estateId: person.estateId, hash, setBy: actor.principal.accountId },
        update: { hash, setBy: actor.principal.accountId, setAt: new Date() },
      });
      await ensureHouseholdAccess(tx, person);
      await queueDesired(tx, person.estateId, 'credentials', { upserts: [pinItem(saved)] });
      // a revoked-then-set PIN must work again: drop any revocation left by an earlier removal
      await queueDesired(tx, person.estateId, 'revocations', { deletes: [{ kind: 'pin', id: personId }] });
      await audit({ action: 'pin.set', entity: 'person', entityId: personId, estateId: person.estateId });
      return saved;
    });
    await afterCommit(deps);
    return { set: true, setAt: row.setAt.toISOString() };
  };

  return {
    async set(actor: Acting, personId: string, pin: string) {
      const why = trivialPin(pin);
      if (why) throw new AppError('PIN_REJECTED', `the PIN is too easy to guess: ${why}`, '/body/pin');
      return store(actor, personId, pin);
    },

    /** A random non-trivial PIN, shown once to the caller (staff hands it over, or the resident reads it). */
    async reset(actor: Acting, personId: string) {
      for (let attempt = 0; attempt < 20; attempt++) {
        const pin = String(randomInt(0, 1_000_000)).padStart(6, '0');
        if (trivialPin(pin)) continue;
        try {
          return { ...(await store(actor, personId, pin)), pin };
        } catch (err) {
          if (!(err instanceof AppError && err.code === 'PIN_REJECTED')) throw err;
        }
      }
      throw new AppError('CONFLICT', 'no free PIN found; try again');
    },

    async get(actor: Acting, personId: string) {
      await personInScope(prisma, actor, personId, 'pin:set');
      const p = await prisma.accessPin.findUnique({ where: { personId } });
      return { set: !!p, setAt: p?.setAt.toISOString() ?? null };
    },

    async remove(actor: Acting, personId: string) {
      const person = await personInScope(prisma, actor, personId, 'pin:set');
      const removed = await change(prisma, actor, async (tx, audit) => {
        const gone = await removePin(tx, personId, 'deleted');
        if (gone)
          await audit({ action: 'pin.delete', entity: 'person', entityId: personId, estateId: person.estateId });
        return gone;
      });
      if (!removed) throw new AppError('NOT_FOUND', 'No PIN for this person');
      await afterCommit(deps);
    },
  };
}

const pinRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const s = pinService(app.deps);
  const tags = ['access'];
  app.put(
    '/persons/:id/pin',
    { schema: { tags, params: IdParams, body: PinBody, response: { 200: PinState, ...ErrorResponses } } },
    async (req) => s.set(actorOf(req), req.params.id, req.body.pin),
  );
  app.post(
    '/persons/:id/pin/reset',
    {
      schema: {
        tags,
        params: IdParams,
        response: { 200: Type.Composite([PinState, Type.Object({ pin: Type.String() })]), ...ErrorResponses },
      },
    },
    async (req) => s.reset(actorOf(req), req.params.id),
  );
  app.get(
    '/persons/:id/pin',
    { schema: { tags, params: IdParams, response: { 200: PinState, ...ErrorResponses } } },
    async (req) => s.get(actorOf(req), req.params.id),
  );
  app.delete('/persons/:id/pin', { schema: { tags, params: IdParams } }, async (req, reply) => {
    await s.remove(actorOf(req), req.params.id);
    return reply.status(204).send(null);
  });
};
export default pinRoutes;
