// Which wire route carries each section, its limits, and the packing of a delta into chunks that each stay within
// the route's item count and byte size (a 10,000-face gallery is ~28 MB: 10 chunks on a 4 MiB topic).
import { type MessageName, routes, type Section, validate } from '@estate/protocols';
import type { TArray, TObject, TSchema } from '@sinclair/typebox';

export type DeltaSection = Exclude<Section, 'config'>;

export const DELTA_ROUTES = {
  access: 'accessSync',
  gallery: 'gallerySync',
  credentials: 'credentialSync',
  passes: 'passSync',
  revocations: 'revocationSync',
  reservations: 'reservationSync',
} as const satisfies Record<DeltaSection, MessageName>;

export interface Limits {
  itemSchema: TSchema;
  deleteSchema: TSchema;
  maxUpserts: number;
  maxDeletes: number;
  /** bytes left for items once the envelope (ids, versions, signature) is paid for */
  budget: number;
}

const ENVELOPE_BYTES = 2_048;

export function limitsOf(section: DeltaSection): Limits {
  const r = routes[DELTA_ROUTES[section]];
  const props = (r.schema as unknown as TObject).properties;
  const upserts = props.upserts as TArray;
  const deletes = props.deletes as TArray;
  return {
    itemSchema: upserts.items,
    deleteSchema: deletes.items,
    maxUpserts: upserts.maxItems ?? 1_000,
    maxDeletes: deletes.maxItems ?? 1_000,
    budget: r.maxBytes - ENVELOPE_BYTES,
  };
}

/** The first invalid item of a change, as `upserts/3: /embedding must ...`, or undefined. */
export function firstInvalid(section: DeltaSection, upserts: readonly unknown[], deletes: readonly unknown[]) {
  const l = limitsOf(section);
  for (const [list, schema, name] of [
    [upserts, l.itemSchema, 'upserts'],
    [deletes, l.deleteSchema, 'deletes'],
  ] as const) {
    for (let i = 0; i < list.length; i++) {
      const v = validate(schema, list[i]);
      if (!v.ok) return `${name}/${i}${v.error.message.startsWith('/') ? '' : ' '}${v.error.message}`;
    }
  }
  return undefined;
}

export interface Chunk<U, D> {
  upserts: U[];
  deletes: D[];
}

/** Greedy packing in order; always at least one chunk, so an empty full copy still says "the section is empty". */
export function pack<U, D>(upserts: readonly U[], deletes: readonly D[], l: Limits): Chunk<U, D>[] {
  const chunks: Chunk<U, D>[] = [{ upserts: [], deletes: [] }];
  let bytes = 0;
  const place = (fits: (c: Chunk<U, D>) => boolean, add: (c: Chunk<U, D>) => void, size: number) => {
    let c = chunks[chunks.length - 1] as Chunk<U, D>;
    if (!fits(c) || bytes + size > l.budget) {
      c = { upserts: [], deletes: [] };
      chunks.push(c);
      bytes = 0;
    }
    add(c);
    bytes += size;
  };
  for (const u of upserts) {
    place(
      (c) => c.upserts.length < l.maxUpserts,
      (c) => c.upserts.push(u),
      Buffer.byteLength(JSON.stringify(u)) + 1,
    );
  }
  for (const d of deletes) {
    place(
      (c) => c.deletes.length < l.maxDeletes,
      (c) => c.deletes.push(d),
      Buffer.byteLength(JSON.stringify(d)) + 1,
    );
  }
  return chunks;
}
