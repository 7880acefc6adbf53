// The versioned desired state of every gateway (issue 5): sections of items with tombstones, one manifest version
// per gateway, signed deltas and a signed manifest. A change is stored first, then pushed at once to the gateway
// when the sync link is up (a revocation reaches an online gateway in well under the 5 s the issue allows); a
// gateway that was away asks with its DesiredAck and gets the delta from its version, or a full copy.
import {
  type ConfigSync,
  type DesiredState,
  encode,
  type GatewayConfig,
  GatewayConfig as GatewayConfigSchema,
  type MessageName,
  SECTIONS,
  type Section,
  signDocument,
  topicFor,
  validate,
} from '@estate/protocols';
import type { CloudDeps } from '../core/deps.js';
import { AppError, notFound } from '../core/errors.js';
import { estatePinKey } from '../modules/access/pin-key.js';
import { DELTA_ROUTES, type DeltaSection, firstInvalid, limitsOf, pack } from './chunks.js';
import { itemDigest } from './hash.js';
import { syncLinkOf } from './publisher.js';
import {
  changedItems,
  emptySection,
  keyOf,
  manifestVersion,
  reissueSection,
  type SectionRow,
  type StoredUpsert,
  sectionRows,
  unkey,
  type Written,
  writeChange,
} from './store.js';

export interface Item {
  kind: string;
  id: string;
  [field: string]: unknown;
}

export interface Change {
  upserts?: readonly Item[];
  deletes?: readonly { kind: string; id: string }[];
}

/** One signed document ready for the wire: its route and body. */
export interface SyncDocument {
  name: MessageName;
  doc: Record<string, unknown> & { toVersion: number };
}

export type PutResult = { gatewayId: string; changed: false } | { gatewayId: string; changed: true; version: number };

export const CONFIG_DEFAULTS = {
  faceMatchThreshold: 0.5,
  pinMaxAttempts: 5,
  pinLockoutS: 300,
  telemetryIntervalS: 60,
} as const;

export type ConfigPatch = Partial<Omit<GatewayConfig, 'estateId' | 'trustedKeys' | 'pinKey'>>;

const CONFIG_ID = 'config';

export function desiredState(deps: CloudDeps) {
  const { driver, prisma, signing } = deps;

  const estateOf = async (gatewayId: string) => {
    const gw = await prisma.gateway.findUnique({ where: { id: gatewayId }, select: { estateId: true } });
    if (!gw) throw notFound('Gateway');
    return gw.estateId;
  };

  // One PIN key per estate, not per gateway: a PIN is synced once as its keyed hash and every gateway of the
  // estate must compute that same hash at its keypad (the access module keeps the key, sealed).

  async function manifest(gatewayId: string): Promise<DesiredState> {
    const rows = await sectionRows(driver, gatewayId);
    const sections = Object.fromEntries(
      SECTIONS.map((s) => {
        const r = rows.get(s) ?? emptySection(s);
        return [s, { version: r.version, sha256: r.sha256, items: r.items }];
      }),
    ) as DesiredState['sections'];
    return signDocument<DesiredState>(
      { gatewayId, version: await manifestVersion(driver, gatewayId), issuedAt: Date.now(), sections },
      await signing.signer('desired'),
    );
  }

  async function configDoc(gatewayId: string, row: SectionRow): Promise<SyncDocument[]> {
    const [item] = await changedItems(driver, gatewayId, 'config', 0, true);
    if (!item?.body) return [];
    const stored = item.body as { config: Omit<GatewayConfig, 'pinKey'> };
    // the stored config names its estate: the PIN key is the estate's, sealed apart from the item
    const config = { ...stored.config, pinKey: await estatePinKey(deps, stored.config.estateId) } as GatewayConfig;
    const doc = signDocument<ConfigSync>(
      { gatewayId, section: 'config', toVersion: row.version, config },
      await signing.signer('desired'),
    );
    return [{ name: 'configSync', doc }];
  }

  /**
   * The signed documents that take a gateway from `fromVersion` of a section to the current one: nothing when
   * it is current, a full copy (fromVersion 0) when it has nothing or is older than the tombstone horizon.
   */
  async function deltaFor(gatewayId: string, section: Section, fromVersion: number): Promise<SyncDocument[]> {
    const row = (await sectionRows(driver, gatewayId)).get(section);
    if (!row || row.version === 0 || fromVersion >= row.version) return [];
    if (section === 'config') return configDoc(gatewayId, row);
    const full = fromVersion === 0 || fromVersion < row.horizon;
    const rows = await changedItems(driver, gatewayId, section, fromVersion, full);
    const upserts = rows.flatMap((r) => (r.deleted || !r.body ? [] : [r.body]));
    const deletes = rows.filter((r) => r.deleted).map((r) => ({ kind: r.kind, id: r.id }));
    return signed(gatewayId, section, full ? 0 : fromVersion, row.version, upserts, deletes);
  }

  /** The delta packed into chunks, each signed on its own (a gateway verifies every chunk as it arrives). */
  async function signed(
    gatewayId: string,
    section: DeltaSection,
    fromVersion: number,
    toVersion: number,
    upserts: readonly object[],
    deletes: readonly { kind: string; id: string }[],
  ): Promise<SyncDocument[]> {
    const chunks = pack(upserts, deletes, limitsOf(section));
    const signer = await signing.signer('desired');
    return chunks.map((c, index) => ({
      name: DELTA_ROUTES[section],
      doc: signDocument<{ toVersion: number; signature: DesiredState['signature'] } & Record<string, unknown>>(
        {
          gatewayId,
          section,
          fromVersion,
          toVersion,
          chunk: { index, count: chunks.length },
          upserts: c.upserts,
          deletes: c.deletes,
        },
        signer,
      ),
    }));
  }

  /**
   * The delta a put just wrote, from the items in hand: the same documents `deltaFor(previous)` would build,
   * without rereading and re-parsing the bodies. A section whose tombstones were pruned past the gateway's
   * version needs a full copy, which only the database has.
   */
  function justWritten(gatewayId: string, section: Section, w: Written, upserts: readonly StoredUpsert[]) {
    if (section === 'config' || (w.previous > 0 && w.previous < w.row.horizon)) {
      return deltaFor(gatewayId, section, w.previous);
    }
    const latest = new Map<string, object>();
    for (const u of upserts) {
      const k = keyOf(u);
      if (w.upserted.has(k) && !w.deleted.has(k)) latest.set(k, u.body);
    }
    const bodies = [...latest].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, body]) => body);
    // from a section the gateway never had, the delta is the whole section: no tombstone to send
    const deletes = w.previous === 0 ? [] : [...w.deleted].map(unkey);
    return signed(gatewayId, section, w.previous, w.row.version, bodies, deletes);
  }

  /** Sends what takes the gateway from `from` (per section) to now, then the manifest. No-op without a link. */
  async function push(gatewayId: string, from: Partial<Record<Section, number>>): Promise<boolean> {
    if (!syncLinkOf(deps)) return false;
    const docs: SyncDocument[] = [];
    for (const [section, version] of Object.entries(from) as [Section, number][]) {
      docs.push(...(await deltaFor(gatewayId, section, version)));
    }
    return send(gatewayId, docs);
  }

  async function send(gatewayId: string, docs: readonly SyncDocument[]): Promise<boolean> {
    const link = syncLinkOf(deps);
    if (!link) return false;
    for (const d of docs) {
      const name = d.name as 'accessSync';
      await link.publish(topicFor(name, { gatewayId }), encode(name, d.doc as never));
    }
    await link.publish(
      topicFor('desiredState', { gatewayId }),
      encode('desiredState', await manifest(gatewayId)),
      true,
    );
    return true;
  }

  async function store(gatewayId: string, section: Section, upserts: StoredUpsert[], deletes: Change['deletes']) {
    const w = await writeChange(driver, gatewayId, section, upserts, deletes ?? []);
    if (!w) return { gatewayId, changed: false } as const;
    if (syncLinkOf(deps)) await send(gatewayId, await justWritten(gatewayId, section, w, upserts));
    return { gatewayId, changed: true, version: w.row.version } as const;
  }

  /** Upserts and deletes items of a section (not config: see setConfig); bumps the version, pushes the delta. */
  async function put(gatewayId: string, section: Section, change: Change): Promise<PutResult> {
    if (section === 'config') throw new AppError('BAD_REQUEST', 'the config section is set with setConfig');
    const upserts = change.upserts ?? [];
    const bad = firstInvalid(section as DeltaSection, upserts, change.deletes ?? []);
    if (bad) throw new AppError('VALIDATION', `${section} ${bad}`);
    await estateOf(gatewayId);
    const stored = upserts.map((u) => ({ kind: u.kind, id: u.id, body: u, digest: itemDigest(u) }));
    return store(gatewayId, section, stored, change.deletes);
  }

  /** The same change for every gateway of an estate that is not retired. */
  async function putForEstate(estateId: string, section: Section, change: Change): Promise<PutResult[]> {
    const gateways = await prisma.gateway.findMany({
      where: { estateId, status: { not: 'retired' } },
      select: { id: true },
      orderBy: { id: 'asc' },
    });
    const out: PutResult[] = [];
    for (const g of gateways) out.push(await put(g.id, section, change));
    return out;
  }

  /**
   * The gateway's whole configuration: defaults, then what was set before, then `patch`; the estate and its
   * timezone, the keys the gateway must trust now (rotation) and its PIN key are always filled in here.
   */
  async function setConfig(gatewayId: string, patch: ConfigPatch = {}): Promise<PutResult> {
    const estateId = await estateOf(gatewayId);
    const estate = await prisma.estate.findUniqueOrThrow({ where: { id: estateId }, select: { timezone: true } });
    const [current] = await changedItems(driver, gatewayId, 'config', 0, true);
    const previous = (current?.body as { config?: Partial<GatewayConfig> } | null)?.config ?? {};
    const { pinKey: _never, ...kept } = previous;
    const config: Omit<GatewayConfig, 'pinKey'> = {
      ...CONFIG_DEFAULTS,
      timezone: estate.timezone,
      ...kept,
      ...patch,
      estateId,
      trustedKeys: await signing.trusted(),
    };
    const full = { kind: 'config', id: CONFIG_ID, config: { ...config, pinKey: await estatePinKey(deps, estateId) } };
    const bad = firstInvalidConfig(full.config);
    if (bad) throw new AppError('VALIDATION', `config ${bad}`);
    // the digest covers the PIN key as the gateway holds it; the stored body leaves it out (it is sealed apart)
    return store(
      gatewayId,
      'config',
      [{ kind: 'config', id: CONFIG_ID, body: { kind: 'config', id: CONFIG_ID, config }, digest: itemDigest(full) }],
      [],
    );
  }

  /**
   * Repairs a section that drifted on the gateway (its content differs from the cloud's at the same version): the
   * section moves to a new version, unchanged, and goes out as a full copy, which replaces the gateway's. Returns
   * the new version, or null for a section never written.
   */
  async function reissue(gatewayId: string, section: Section): Promise<number | null> {
    const version = await reissueSection(driver, gatewayId, section);
    if (version !== null) await send(gatewayId, await deltaFor(gatewayId, section, 0));
    return version;
  }

  return { put, putForEstate, setConfig, deltaFor, manifest, push, reissue };
}

export type DesiredStateApi = ReturnType<typeof desiredState>;

function firstInvalidConfig(config: unknown): string | undefined {
  const v = validate(GatewayConfigSchema, config);
  return v.ok ? undefined : v.error.message;
}
