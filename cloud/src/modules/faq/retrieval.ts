// FAQ retrieval without an external service: Chinese has no spaces, so text is cut into overlapping character
// bigrams (plus single characters, which rescue one-character words like 水 and 电), Latin words and digits
// stay whole; entries are ranked by BM25. The confidence is the share of the question's IDF weight that the
// best entry covers, so "我家漏水怎么办" matching 漏水 and 怎么办 scores high and a question about nothing in
// the FAQ scores near zero, whatever the raw BM25 scale.

const CJK = /[\u3400-\u9fff\uf900-\ufaff]/u;
// Words that carry no meaning for matching (particles, question words).
const STOP = new Set([
  '的',
  '了',
  '吗',
  '呢',
  '吧',
  '啊',
  '我',
  '你',
  '是',
  '在',
  '有',
  '怎',
  '么',
  '办',
  '什',
  '家',
  '请',
  '问',
]);

export function terms(text: string): string[] {
  const out: string[] = [];
  for (const run of text
    .toLowerCase()
    .normalize('NFKC')
    .match(/[\p{L}\p{N}]+/gu) ?? []) {
    if (!CJK.test(run)) {
      out.push(run);
      continue;
    }
    const chars = [...run];
    for (let i = 0; i < chars.length; i++) {
      const ch = chars[i] as string;
      if (STOP.has(ch)) continue;
      out.push(ch);
      const next = chars[i + 1];
      // A bigram across a particle or question word ("家漏", "水怎") is noise, not a word.
      if (next !== undefined && !STOP.has(next)) out.push(ch + next);
    }
  }
  return out;
}

export interface Doc {
  id: string;
  text: string;
}

export interface Hit {
  id: string;
  score: number;
  /** 0..1: share of the question's weight this entry covers. */
  confidence: number;
}

const K1 = 1.2;
const B = 0.75;

export class Bm25Index {
  readonly #docs: { id: string; tf: Map<string, number>; length: number }[];
  readonly #df = new Map<string, number>();
  readonly #avgLength: number;

  constructor(docs: readonly Doc[]) {
    this.#docs = docs.map((d) => {
      const tf = new Map<string, number>();
      const ts = terms(d.text);
      for (const t of ts) tf.set(t, (tf.get(t) ?? 0) + 1);
      for (const t of tf.keys()) this.#df.set(t, (this.#df.get(t) ?? 0) + 1);
      return { id: d.id, tf, length: ts.length };
    });
    this.#avgLength = this.#docs.reduce((s, d) => s + d.length, 0) / Math.max(1, this.#docs.length);
  }

  #idf(t: string): number {
    const n = this.#docs.length;
    const df = this.#df.get(t) ?? 0;
    return Math.log(1 + (n - df + 0.5) / (df + 0.5));
  }

  search(question: string, limit = 3): Hit[] {
    const q = [...new Set(terms(question))];
    const weights = q.map((t) => [t, this.#idf(t)] as const);
    // For the confidence, words the FAQ never uses count a quarter (they may be the resident's own phrasing,
    // "朋友来访"), and single characters half (a bigram match says more than a character match).
    const weightOf = (t: string, idf: number) => idf * (this.#df.has(t) ? 1 : 0.25) * ([...t].length === 1 ? 0.5 : 1);
    const total = weights.reduce((s, [t, w]) => s + weightOf(t, w), 0);
    if (total === 0) return [];
    const hits: Hit[] = [];
    for (const d of this.#docs) {
      let score = 0;
      let covered = 0;
      for (const [t, idf] of weights) {
        const f = d.tf.get(t);
        if (!f) continue;
        covered += weightOf(t, idf);
        score += (idf * (f * (K1 + 1))) / (f + K1 * (1 - B + (B * d.length) / this.#avgLength));
      }
      if (score > 0) hits.push({ id: d.id, score, confidence: Math.round((covered / total) * 100) / 100 });
    }
    return hits.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1)).slice(0, limit);
  }
}

/** Words that say something is broken, and the repair category they point to. */
const FAULTS: readonly [RegExp, string][] = [
  [/漏水|渗水|水管|爆管|堵|下水|马桶|水龙头|没水|停水|leak/u, 'plumbing'],
  [/跳闸|没电|停电|插座|电路|灯不亮|短路|漏电/u, 'electrical'],
  [/门禁|门打不开|门坏|刷卡|人脸|开不了门/u, 'door_access'],
  [/电梯|困人/u, 'lift'],
  [/充电桩|充不上电|充电/u, 'charger'],
  [/裂缝|墙皮|窗户|门窗|渗漏|脱落/u, 'structure'],
  [/坏了|故障|损坏|维修|报修|修理|不能用|失灵/u, 'other'],
];

export function faultCategory(question: string): string | null {
  for (const [re, category] of FAULTS) if (re.test(question)) return category;
  return null;
}
