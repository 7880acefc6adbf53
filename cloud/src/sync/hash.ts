// The section hash the gateway can recompute (edge/src/state/section-store.ts `SectionStore.hash`): SHA-256 over the
// live items sorted by kind, then id (UTF-16 code-unit order, which for wire ids is byte order), of the lines
// `kind \n id \n sha256-hex(canonical JSON of the item) \n`. Canonical JSON = keys sorted, no whitespace, values as
// JSON.stringify writes them (RFC 8785 for the strings, integers and simple decimals the sections carry). Built
// from per-item digests so the cloud never rereads a section's bodies to hash it.
import { createHash } from 'node:crypto';
import { canonicalJson } from '../core/canonical-json.js';

export interface Digested {
  kind: string;
  id: string;
  digest: string;
}

export const itemDigest = (item: object): string => createHash('sha256').update(canonicalJson(item)).digest('hex');

const byKindThenId = (a: Digested, b: Digested) =>
  a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;

export function sectionHash(items: Digested[]): string {
  const h = createHash('sha256');
  for (const i of [...items].sort(byKindThenId)) h.update(`${i.kind}\n${i.id}\n${i.digest}\n`);
  return h.digest('hex');
}

/** The hash of a section with no items (what a gateway that never received it holds). */
export const EMPTY_SECTION_HASH = sectionHash([]);
