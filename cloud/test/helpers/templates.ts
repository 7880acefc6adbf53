/** A gallery item as the sync engine carries it: a 512-d template whose bytes depend only on `i` (mod 251). */
export const aTemplate = (i: number) => ({
  kind: 'template',
  id: `t-${i}`,
  personId: `p-${i}`,
  model: 'fr_feature',
  dim: 512,
  embedding: Buffer.alloc(2048, i % 251).toString('base64url'),
});
