// BLE phone keys: the phone makes a key pair and sends its public half; the cloud signs a credential binding it to
// the person (protocols BLE key token, signed with the `ble_key` signing key) that a gateway verifies offline, and
// the phone proves possession by signing the gateway's nonce. Suspend / resume / revoke reach the gateways as
// credential status and revocations. Rotation of the signing key: README.md in this folder.
import { type Alg, type BleKeyClaims, importRawPublicKey, type Signer, signToken } from '@estate/protocols';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { authorize } from '../../core/authz.js';
import { actorOf } from '../../core/context.js';
import type { CloudDeps } from '../../core/deps.js';
import { AppError, notFound } from '../../core/errors.js';
import { requestNotification } from '../../core/notify.js';
import { DateTime, ErrorResponses, IdParams, Text, Uuid } from '../../core/schemas.js';
import { change, type Tx } from '../../core/tx.js';
import { desiredState } from '../../sync/index.js';
import { type Acting, personInScope, requireActiveHousehold, wireId } from './common.js';
import { afterCommit, type CredentialItem, queueDesired, revocation } from './desired.js';
import { ensureHouseholdAccess } from './groups.js';

const DAY = 86_400_000;
const IssueBody = Type.Object(
  {
    phoneName: Text(60),
    alg: Type.Union([Type.Literal('Ed25519'), Type.Literal('ES256')]),
    publicKey: Type.String({
      minLength: 40,
      maxLength: 88,
      pattern: '^[A-Za-z0-9_-]+$',
      description: 'raw, base64url',
    }),
    validDays: Type.Optional(Type.Integer({ minimum: 1, maximum: 730 })),
  },
  { additionalProperties: false },
);
const KeyParams = Type.Object(
  { id: Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,62}$' }) },
  { additionalProperties: false },
);
const Key = Type.Object({
  id: Type.String(),
  personId: Uuid,
  phoneName: Type.String(),
  alg: Type.String(),
  status: Type.String(),
  signedBy: Type.String(),
  notBefore: DateTime,
  notAfter: DateTime,
  createdAt: DateTime,
});
const Issued = Type.Composite([Key, Type.Object({ credential: Type.String() })]);

type Row = Awaited<ReturnType<Tx['bleKey']['findUniqueOrThrow']>>;
const view = (k: Row) => ({
  id: k.id,
  personId: k.personId,
  phoneName: k.phoneName,
  alg: k.phoneAlg,
  status: k.status,
  signedBy: k.signedBy,
  notBefore: k.notBefore.toISOString(),
  notAfter: k.notAfter.toISOString(),
  createdAt: k.createdAt.toISOString(),
});
export const credentialItem = (k: Row): CredentialItem => ({
  kind: 'ble_key',
  id: k.id,
  personId: k.personId,
  status: k.status === 'suspended' ? 'suspended' : 'active',
  notAfter: k.notAfter.getTime(),
});

export function bleKeyService(deps: CloudDeps) {
  const { prisma, signing } = deps;

  /** A credential for the key as it stands, signed by the active `ble_key` key (the same id and validity). */
  // the signer is fetched before any transaction: on the embedded database a query outside an open transaction
  // would wait for it
  const sign = async (k: Row, signer?: Signer) => {
    signer ??= await signing.signer('ble_key');
    const claims: BleKeyClaims = {
      typ: 'ble',
      kid: signer.keyId,
      id: k.id,
      sub: k.personId,
      estate: k.estateId,
      alg: k.phoneAlg as Alg,
      pk: k.phoneKey,
      nbf: k.notBefore.getTime(),
      exp: k.notAfter.getTime(),
    };
    return { credential: signToken(claims, signer), keyId: signer.keyId };
  };

  const keyInScope = async (actor: Acting, id: string) => {
    // a role that may never manage keys hears so (403) before anything of the key is looked up
    authorize(actor.principal, 'ble_key:manage');
    const k = await prisma.bleKey.findUnique({ where: { id } });
    if (!k) throw notFound('BLE key');
    await personInScope(prisma, actor, k.personId, 'ble_key:manage').catch(() => {
      throw notFound('BLE key');
    });
    return k;
  };

  const setStatus = async (actor: Acting, id: string, to: 'active' | 'suspended' | 'revoked') => {
    const k = await keyInScope(actor, id);
    if (k.status === 'revoked') throw new AppError('CREDENTIAL_REVOKED', 'the key is revoked; issue a new one');
    if (k.status === to) throw new AppError('CONFLICT', `the key is already ${to}`);
    const updated = await change(prisma, actor, async (tx, audit) => {
      // optimistic: a concurrent revoke wins, this change then finds nothing to update
      const n = await tx.bleKey.updateMany({
        where: { id, status: k.status },
        data: { status: to, changedAt: new Date() },
      });
      if (n.count !== 1) throw new AppError('CONFLICT', 'the key changed meanwhile; try again');
      const row = await tx.bleKey.findUniqueOrThrow({ where: { id } });
      if (to === 'revoked') {
        await queueDesired(tx, k.estateId, 'credentials', { deletes: [{ kind: 'ble_key', id }] });
        await queueDesired(tx, k.estateId, 'revocations', { upserts: [revocation('ble_key', id, 'revoked')] });
      } else {
        await queueDesired(tx, k.estateId, 'credentials', { upserts: [credentialItem(row)] });
        // gateways refuse revoked keys: a suspension is a revocation entry that resuming deletes again
        if (to === 'suspended') {
          await queueDesired(tx, k.estateId, 'revocations', { upserts: [revocation('ble_key', id, 'suspended')] });
        } else {
          await queueDesired(tx, k.estateId, 'revocations', { deletes: [{ kind: 'ble_key', id }] });
        }
      }
      await audit({
        action: `ble_key.${to === 'active' ? 'resume' : to === 'suspended' ? 'suspend' : 'revoke'}`,
        entity: 'ble_key',
        entityId: id,
        estateId: k.estateId,
        before: { status: k.status },
        after: { status: to },
      });
      return row;
    });
    await afterCommit(deps);
    return view(updated);
  };

  return {
    async issue(
      actor: Acting,
      personId: string,
      b: { phoneName: string; alg: Alg; publicKey: string; validDays?: number | undefined },
    ) {
      const person = await personInScope(prisma, actor, personId, 'ble_key:manage');
      await requireActiveHousehold(prisma, person.householdId);
      try {
        importRawPublicKey(b.alg, Buffer.from(b.publicKey, 'base64url'));
      } catch (err) {
        throw new AppError('BAD_REQUEST', `not a ${b.alg} public key: ${(err as Error).message}`, '/body/publicKey');
      }
      const now = Date.now();
      const signer = await signing.signer('ble_key');
      const result = await change(prisma, actor, async (tx, audit) => {
        if (await tx.bleKey.findFirst({ where: { personId, phoneKey: b.publicKey, status: { not: 'revoked' } } })) {
          throw new AppError('CONFLICT', 'this phone already holds a key for the person', '/body/publicKey');
        }
        const draft = {
          id: wireId('ble'),
          estateId: person.estateId,
          personId,
          phoneName: b.phoneName,
          phoneAlg: b.alg,
          phoneKey: b.publicKey,
          notBefore: new Date(now),
          notAfter: new Date(now + (b.validDays ?? 365) * DAY),
          issuedBy: actor.principal.accountId,
        };
        const signed = await sign(
          { ...draft, status: 'active', signedBy: '', createdAt: new Date(now), changedAt: new Date(now) },
          signer,
        );
        const row = await tx.bleKey.create({ data: { ...draft, signedBy: signed.keyId } });
        await ensureHouseholdAccess(tx, person);
        await queueDesired(tx, person.estateId, 'credentials', { upserts: [credentialItem(row)] });
        await audit({
          action: 'ble_key.issue',
          entity: 'ble_key',
          entityId: row.id,
          estateId: row.estateId,
          after: view(row),
        });
        return { ...view(row), credential: signed.credential };
      });
      await afterCommit(deps);
      return result;
    },

    async list(actor: Acting, personId: string) {
      await personInScope(prisma, actor, personId, 'ble_key:manage');
      const rows = await prisma.bleKey.findMany({ where: { personId }, orderBy: { createdAt: 'asc' } });
      return rows.map(view);
    },

    setStatus,

    /** The key's credential re-signed by the active key: what a phone fetches after a rotation. */
    async credential(actor: Acting, id: string) {
      const k = await keyInScope(actor, id);
      if (k.status === 'revoked') throw new AppError('CREDENTIAL_REVOKED');
      const signed = await sign(k);
      const row = await prisma.bleKey.update({ where: { id }, data: { signedBy: signed.keyId } });
      return { ...view(row), credential: signed.credential };
    },

    /**
     * Rotation: a new active `ble_key` signing key, the old one trusted by gateways for `overlapMs` more; every
     * key still signed by an old key is told (push) to fetch its re-signed credential within the overlap.
     */
    async rotate(actor: Acting, overlapHours: number) {
      authorize(actor.principal, 'signing:rotate');
      const keyId = await signing.rotate('ble_key', overlapHours * 3_600_000);
      const stale = await prisma.bleKey.findMany({ where: { status: { not: 'revoked' }, signedBy: { not: keyId } } });
      await change(prisma, actor, async (tx, audit) => {
        const accounts = await tx.account.findMany({
          where: { personId: { in: [...new Set(stale.map((k) => k.personId))] }, disabledAt: null },
          select: { id: true, personId: true, estateId: true },
        });
        for (const a of accounts) {
          await requestNotification(tx, a.id, {
            kind: 'ble_key.reissue',
            estateId: a.estateId,
            accountIds: [a.id],
            title: 'Refresh your phone key',
            body: `Open the app within ${overlapHours} h so your door key keeps working.`,
          });
        }
        await audit({
          action: 'signing.rotate',
          entity: 'signing_key',
          entityId: keyId,
          after: { purpose: 'ble_key', overlapHours, stale: stale.length },
        });
      });
      // every gateway must trust the new key before a phone shows a credential signed by it: re-push the config
      // section (setConfig fills trustedKeys from signing.trusted(), old key still in during the overlap)
      const ds = desiredState(deps);
      const gateways = await prisma.gateway.findMany({ where: { status: { not: 'retired' } }, select: { id: true } });
      for (const g of gateways) await ds.setConfig(g.id);
      return { keyId, overlapHours, keysToReissue: stale.length };
    },
  };
}

const bleKeyRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const s = bleKeyService(app.deps);
  const tags = ['access'];
  const err = ErrorResponses;
  app.post(
    '/persons/:id/ble-keys',
    { schema: { tags, params: IdParams, body: IssueBody, response: { 201: Issued, ...err } } },
    async (req, reply) => reply.status(201).send(await s.issue(actorOf(req), req.params.id, req.body)),
  );
  app.get(
    '/persons/:id/ble-keys',
    { schema: { tags, params: IdParams, response: { 200: Type.Array(Key), ...err } } },
    async (req) => s.list(actorOf(req), req.params.id),
  );
  for (const [action, to] of [
    ['suspend', 'suspended'],
    ['resume', 'active'],
    ['revoke', 'revoked'],
  ] as const) {
    app.post(
      `/ble-keys/:id/${action}`,
      { schema: { tags, params: KeyParams, response: { 200: Key, ...err } } },
      async (req) => s.setStatus(actorOf(req), req.params.id, to),
    );
  }
  app.get(
    '/ble-keys/:id/credential',
    { schema: { tags, params: KeyParams, response: { 200: Issued, ...err } } },
    async (req) => s.credential(actorOf(req), req.params.id),
  );
  app.post(
    '/access/signing/ble-key/rotate',
    {
      schema: {
        tags,
        body: Type.Object(
          { overlapHours: Type.Integer({ minimum: 1, maximum: 24 * 90 }) },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ keyId: Type.String(), overlapHours: Type.Integer(), keysToReissue: Type.Integer() }),
          ...err,
        },
      },
    },
    async (req) => s.rotate(actorOf(req), req.body.overlapHours),
  );
};
export default bleKeyRoutes;
