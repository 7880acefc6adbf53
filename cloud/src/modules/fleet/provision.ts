// A new box claims its gateway record: claim code + a signature by the box's own new key over it. Everything is
// checked before anything changes; the claim is one conditional update, so two boxes racing with one code cannot
// both win. The uplink secret is made here, given to the box once, and kept only as hashToken(secret).
import { randomBytes } from 'node:crypto';
import { importGatewayPublicKey, normalizeClaimCode, provisionProofMessage, verifyBytes } from '@estate/protocols';
import { type Actor, systemActor } from '../../core/context.js';
import type { CloudDeps } from '../../core/deps.js';
import { AppError } from '../../core/errors.js';
import { hashToken } from '../../core/tokens.js';
import { change } from '../../core/tx.js';
import { brokerAccountsOf } from '../../ingest/dynsec.js';
import { snapshotForGateway } from '../access/snapshot.js';
import { gatewayAudit } from './views.js';

export interface ProvisionInput {
  claimCode: string;
  publicKey: string;
  nonce: string;
  proof: string;
  software: string;
}

/**
 * Where gateways connect: ESTATE_CLOUD_MQTT_PUBLIC_URL when set, else the embedded broker's configured port on the
 * host the box reached us at (a port picked at start because the configured one was taken is not known here: set
 * the public URL in any deployment that is not `npm start`).
 */
export function mqttPublicUrl(deps: CloudDeps, requestHost: string): string {
  const { mqttPublicUrl: configured, mqttPort } = deps.config;
  if (configured) return configured;
  const host = requestHost.replace(/:\d+$/, '') || '127.0.0.1';
  return `mqtt://${host}:${mqttPort || 1884}`;
}

const PURPOSES = ['desired', 'command', 'ble_key', 'pass'] as const;

/** Every purpose's key, made now if it was never used, so a new gateway trusts the whole set from the start. */
async function trustedKeys(deps: CloudDeps, now: Date) {
  // one after another: two first uses of a purpose at once would race to create its key
  for (const purpose of PURPOSES) await deps.signing.signer(purpose);
  return deps.signing.trusted(now);
}

export async function provisionGateway(
  deps: CloudDeps,
  input: ProvisionInput,
  context: { requestId: string; ip: string; requestHost: string; log?: { warn(obj: object, msg: string): void } },
  now = new Date(),
) {
  const { prisma } = deps;
  const code = normalizeClaimCode(input.claimCode);
  if (!code) {
    throw new AppError(
      'VALIDATION',
      'claimCode is not a claim code (16 letters and digits, e.g. 7K2M-Q9XD-4RTB-H0CW)',
      '/body/claimCode',
    );
  }
  const hash = hashToken(code);
  const g = await prisma.gateway.findUnique({ where: { claimHash: hash } });
  if (!g) throw new AppError('CLAIM_CODE_UNKNOWN');
  if (g.status === 'retired') throw new AppError('GATEWAY_RETIRED');
  if (!g.claimExpiresAt) throw new AppError('CLAIM_CODE_USED');
  if (g.claimExpiresAt.getTime() <= now.getTime()) throw new AppError('CLAIM_CODE_EXPIRED');

  let spki: string;
  try {
    const key = importGatewayPublicKey(input.publicKey);
    if (!verifyBytes('Ed25519', key, provisionProofMessage(code, input.nonce), Buffer.from(input.proof, 'base64url'))) {
      throw new AppError('PROOF_INVALID', undefined, '/body/proof');
    }
    spki = key.export({ format: 'der', type: 'spki' }).toString('base64url');
  } catch (err) {
    if (err instanceof AppError) throw err;
    throw new AppError('VALIDATION', `publicKey: ${(err as Error).message}`, '/body/publicKey');
  }

  const secret = randomBytes(32).toString('base64url');
  const actor = { ...systemActor(`provision:${g.id}`), requestId: context.requestId, ip: context.ip };
  await change(prisma, actor, async (tx, audit) => {
    const won = await tx.gateway.updateMany({
      where: { id: g.id, claimHash: hash, status: { not: 'retired' }, claimExpiresAt: { gt: now } },
      // the hash stays, without an expiry, so trying the code again answers "used" rather than "unknown"
      data: { status: 'active', claimExpiresAt: null, claimedAt: now, publicKey: spki, secretHash: hashToken(secret) },
    });
    if (won.count !== 1) throw new AppError('CLAIM_CODE_USED');
    const after = await tx.gateway.findUniqueOrThrow({ where: { id: g.id } });
    await audit({
      action: 'gateway.provision',
      entity: 'gateway',
      entityId: g.id,
      estateId: g.estateId,
      before: gatewayAudit(g),
      after: { ...gatewayAudit(after), software: input.software },
    });
    // last, once nothing else can roll the claim back: only the winner gets here, and if the broker cannot take
    // the account the claim is not spent (rolled back)
    await brokerAccountsOf(deps)?.enrol(g.id, secret);
  });
  const keys = await trustedKeys(deps, now);
  // The box is active now: its desired state gets the config and everything of the estate that exists already
  // (after trustedKeys, so its config trusts every purpose's key). A failure must not fail the claim, which is
  // spent: it is logged, and staff repair it with POST /api/gateways/:id/resync.
  await snapshotForGateway(deps, g.id).catch((err: unknown) =>
    context.log?.warn({ err, gatewayId: g.id }, 'desired-state snapshot of a new gateway failed'),
  );
  return {
    gatewayId: g.id,
    estateId: g.estateId,
    mqtt: { url: mqttPublicUrl(deps, context.requestHost), username: g.id, password: secret },
    trustedKeys: keys,
  };
}

/**
 * A new uplink secret for a provisioned gateway, asked for by the box itself (a gateway-signed request: its key, not
 * the secret, proves who it is). The old secret stops working for new connections at once; an external broker's
 * account takes the new one in the same transaction, or nothing changes (503).
 */
export async function rotateCredentials(
  deps: CloudDeps,
  g: { id: string; estateId: string },
  actor: Actor,
  requestHost: string,
): Promise<{ mqtt: { url: string; username: string; password: string } }> {
  const secret = randomBytes(32).toString('base64url');
  await change(deps.prisma, actor, async (tx, audit) => {
    const done = await tx.gateway.updateMany({
      where: { id: g.id, status: 'active' },
      data: { secretHash: hashToken(secret) },
    });
    if (done.count !== 1) throw new AppError('GATEWAY_RETIRED');
    // what changed, never the secret or its hash
    await audit({ action: 'gateway.credentials', entity: 'gateway', entityId: g.id, estateId: g.estateId });
    // last: a rollback after the broker took the new secret would leave the box (old secret) locked out of it
    await brokerAccountsOf(deps)?.enrol(g.id, secret);
  });
  return { mqtt: { url: mqttPublicUrl(deps, requestHost), username: g.id, password: secret } };
}
