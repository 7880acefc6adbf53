import {
  type AccessSync,
  type CredentialSync,
  type GatewayConfig,
  importRawPublicKey,
  KeyRing,
  type RevocationSync,
} from '@estate/protocols';
import type { SectionStore } from '../state/section-store.js';
import type { Schedule } from './schedule.js';

export type DoorConfig = Extract<AccessSync['upserts'][number], { kind: 'door' }>;
type GroupItem = Extract<AccessSync['upserts'][number], { kind: 'group' }>;
type MemberItem = Extract<AccessSync['upserts'][number], { kind: 'member' }>;
type PinItem = Extract<CredentialSync['upserts'][number], { kind: 'pin' }>;
type Revocation = RevocationSync['upserts'][number];

export interface Group {
  id: string;
  doors: ReadonlySet<string>;
  schedule: Schedule;
}

/**
 * Indexes over the synced sections for the decision hot path: every lookup a
 * decision needs is a Map or Set access. Rebuilt whenever a section changes
 * (sections change rarely; decisions happen all the time).
 */
export class AccessModel {
  config: GatewayConfig | undefined;
  doors = new Map<string, DoorConfig>();
  doorByReader = new Map<string, DoorConfig>();
  groups = new Map<string, Group>();
  memberGroups = new Map<string, readonly string[]>();
  /** `${kind}:${id}` of every revoked credential, person, template or pass */
  revoked = new Set<string>();
  /** keyed hash of a PIN → person */
  pins = new Map<string, string>();
  /** cloud keys that sign BLE keys, passes, commands and desired state */
  ring = new KeyRing();

  constructor(private readonly store: SectionStore) {
    this.reload();
  }

  reload(): void {
    const config = this.store.items<{ kind: 'config'; id: string; config: GatewayConfig }>('config')[0];
    this.config = config?.config;
    this.ring = new KeyRing(
      (this.config?.trustedKeys ?? []).map((k) => ({
        ...k,
        publicKey: importRawPublicKey(k.alg, Buffer.from(k.publicKey, 'base64url')),
      })),
    );
    const access = this.store.items<DoorConfig | GroupItem | MemberItem>('access');
    this.doors = new Map();
    this.doorByReader = new Map();
    this.groups = new Map();
    this.memberGroups = new Map();
    for (const item of access) {
      if (item.kind === 'door') {
        this.doors.set(item.id, item);
        for (const reader of item.readers) this.doorByReader.set(reader, item);
      } else if (item.kind === 'group') {
        this.groups.set(item.id, { id: item.id, doors: new Set(item.doors), schedule: item.schedule });
      } else {
        this.memberGroups.set(item.id, item.groups);
      }
    }
    this.revoked = new Set(
      this.store.items<Revocation & { id: string }>('revocations').map((r) => `${r.kind}:${r.id}`),
    );
    this.pins = new Map(
      this.store
        .items<PinItem>('credentials')
        .filter((c) => c.kind === 'pin')
        .map((c) => [c.hash, c.id]),
    );
  }

  isRevoked(kind: Revocation['kind'], id: string): boolean {
    return this.revoked.has(`${kind}:${id}`);
  }
}
