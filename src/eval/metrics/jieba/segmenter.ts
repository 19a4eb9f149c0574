/**
 * Chinese word segmentation that reproduces Python jieba 0.42.1 `jieba.lcut(text)` (default/accurate
 * mode, HMM on) token for token, so that paper metrics computed here match the paper's Python numbers.
 *
 * Why our own: `@node-rs/jieba` (jieba-rs) splits ranges such as "14-19" differently from Python jieba
 * (about 2% of real answers differ), which moves BLEU/ROUGE. This is the same public algorithm:
 *   1. split the text into runs of [\u4E00-\u9FD5a-zA-Z0-9+#&._%-] ("han" blocks) and the rest;
 *      outside han blocks every code point is a token, except "\r\n" which stays together;
 *   2. in a han block, build the DAG of dictionary words, pick the maximum log-probability route
 *      (ties: the longer word, like Python's tuple max);
 *   3. runs of single characters that are not a dictionary word go through the HMM (BMES Viterbi)
 *      with jieba's own probability tables.
 * Floating point is kept identical to CPython: same operation order, and log() of dictionary
 * frequencies computed correctly rounded (V8's Math.log differs from glibc by one ulp on ~1.5% of
 * the frequencies, which can flip near-tied routes).
 *
 * Not here: cut_all / search modes, user dictionaries, POS tagging.
 */
import { existsSync, readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

/** Raised when the bundled dictionary or HMM tables are missing or malformed. */
export class JiebaDataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "JiebaDataError";
  }
}

export interface Segmenter {
  /** Name and version recorded in every metrics report, e.g. "jieba-ts 0.42.1". */
  readonly name: string;
  readonly version: string;
  cut(text: string): string[];
}

type State = 0 | 1 | 2 | 3; // B M E S, in jieba's 'BMES' order
const STATES = "BMES";
const MIN_FLOAT = -3.14e100;
// Allowed previous states per state (jieba's PrevStatus): B<-E,S  M<-M,B  E<-B,M  S<-S,E
const PREV: ReadonlyArray<readonly State[]> = [
  [2, 3],
  [1, 0],
  [0, 1],
  [3, 2],
];

interface HmmTables {
  start: Float64Array; // [4]
  trans: Float64Array; // [4*4], MIN_FLOAT where jieba has no entry
  emit: Float64Array; // [4 * 65536]: state * 65536 + UTF-16 code unit, MIN_FLOAT where jieba has none
}

// ---------- correctly rounded natural log of a positive integer (matches glibc's log) ----------

const LOG_BITS = 192n;
const LOG_ONE = 1n << LOG_BITS;

/** 2*atanh(num/den) in fixed point with LOG_BITS fractional bits; requires 0 <= num/den <= 1/3. */
function twoAtanhFixed(num: bigint, den: bigint): bigint {
  const x = (num << LOG_BITS) / den;
  const x2 = (x * x) >> LOG_BITS;
  let term = x;
  let sum = 0n;
  for (let k = 1n; term !== 0n; k += 2n) {
    sum += term / k;
    term = (term * x2) >> LOG_BITS;
  }
  return 2n * sum;
}

const LN2_FIXED = twoAtanhFixed(1n, 3n); // ln 2 = 2 atanh(1/3)
const logCache = new Map<number, number>();

/** ln(n) for a positive safe integer, rounded to nearest double (CPython's math.log on glibc). */
export function logInt(n: number): number {
  const hit = logCache.get(n);
  if (hit !== undefined) return hit;
  if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`logInt expects a positive safe integer, got ${n}`);
  const f = BigInt(n);
  const k = f.toString(2).length - 1;
  const p = 1n << BigInt(k);
  // ln f = k ln2 + ln(f/2^k) and ln(m) = 2 atanh((m-1)/(m+1)) with m in [1,2)
  const fixed = BigInt(k) * LN2_FIXED + twoAtanhFixed(f - p, f + p);
  // Number(bigint) rounds to nearest; scaling by a power of two is exact.
  const v = Number(fixed) / Number(LOG_ONE);
  logCache.set(n, v);
  return v;
}

// ---------- data loading ----------

const HERE = dirname(fileURLToPath(import.meta.url));

/**
 * Where dict.txt.gz and hmm.json.gz live: $PEDGPT_JIEBA_DATA, else data/ beside this module (source
 * tree), else the source tree's copy when running the compiled dist/ build (tsc does not copy data).
 */
function dataDir(): string {
  const candidates = [process.env.PEDGPT_JIEBA_DATA, join(HERE, "data"), join(HERE, "..", "..", "..", "..", "src", "eval", "metrics", "jieba", "data")].filter(
    (d): d is string => typeof d === "string" && d.length > 0,
  );
  for (const d of candidates) if (existsSync(join(d, "dict.txt.gz"))) return d;
  throw new JiebaDataError(`jieba data (dict.txt.gz, hmm.json.gz) not found; looked in ${candidates.join(", ")}. Set PEDGPT_JIEBA_DATA or regenerate with scripts/fixtures/metrics_jieba_data.py`);
}

function readGz(file: string): string {
  let raw: Buffer;
  try {
    raw = readFileSync(file);
  } catch (e) {
    throw new JiebaDataError(`jieba data file ${file} could not be read (${(e as Error).message}); it ships with the package under src/eval/metrics/jieba/data (regenerate with scripts/fixtures/metrics_jieba_data.py)`);
  }
  return gunzipSync(raw).toString("utf8");
}

/**
 * jieba's prefix dictionary as a trie over UTF-16 code units, and per node log(freq) - log(total)
 * for nodes that end a word with freq > 0 (NaN for pure prefixes, which jieba stores with freq 0).
 * Lookups are array reads: the root's children by a 65536-entry table, other nodes' children as
 * sorted (code, child) runs in flat arrays (compressed sparse rows).
 */
export interface PrefixDictionary {
  trie: Trie;
  /** Indexed by node; NaN when the node is not a word with positive frequency. */
  wordLogP: Float64Array;
  total: number;
  words: number;
}

/** Parses jieba's dict.txt ("word freq [tag]" per line); later duplicates win, as in jieba. */
export function parseDictionary(text: string, source = "dict.txt"): PrefixDictionary {
  const edges = new Map<number, number>();
  const freqs: number[] = [NaN]; // node 0 = root
  let total = 0;
  let words = 0;
  let lineNo = 0;
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf("\n", start);
    if (end < 0) end = text.length;
    lineNo++;
    const line = text.slice(start, end).replace(/^[ \t\n\r\v\f]+|[ \t\n\r\v\f]+$/g, "");
    start = end + 1;
    const sp = line.indexOf(" ");
    const word = sp < 0 ? line : line.slice(0, sp);
    const sp2 = sp < 0 ? -1 : line.indexOf(" ", sp + 1);
    const fs = sp < 0 ? "" : line.slice(sp + 1, sp2 < 0 ? line.length : sp2);
    const f = /^[0-9]+$/.test(fs) ? Number(fs) : NaN;
    if (word === "" || Number.isNaN(f)) {
      throw new JiebaDataError(`invalid dictionary entry in ${source} at line ${lineNo}: ${JSON.stringify(line)} (expected "word frequency [tag]")`);
    }
    let node = 0;
    for (let i = 0; i < word.length; i++) {
      const key = node * 65536 + word.charCodeAt(i);
      let child = edges.get(key);
      if (child === undefined) {
        child = freqs.length;
        freqs.push(0);
        edges.set(key, child);
      }
      node = child;
    }
    freqs[node] = f;
    total += f;
    words++;
  }
  const logTotal = logInt(total);
  const wordLogP = new Float64Array(freqs.length);
  for (let i = 0; i < freqs.length; i++) {
    const f = freqs[i]!;
    // Python: log(FREQ[w]) - logtotal, computed once per word here (same operations, same result).
    wordLogP[i] = f > 0 ? logInt(f) - logTotal : NaN;
  }
  return { trie: Trie.fromEdges(edges, freqs.length), wordLogP, total, words };
}

/** Read-only trie in flat arrays; node 0 is the root. */
export class Trie {
  private constructor(
    private readonly root: Int32Array, // code unit -> child of the root, or -1
    private readonly start: Int32Array, // per node: first index into code/child
    private readonly code: Uint16Array,
    private readonly child: Int32Array,
  ) {}

  static fromEdges(edges: Map<number, number>, nodes: number): Trie {
    const root = new Int32Array(65536).fill(-1);
    const counts = new Int32Array(nodes + 1);
    for (const key of edges.keys()) counts[Math.floor(key / 65536) + 1]!++;
    const start = new Int32Array(nodes + 1);
    for (let i = 1; i <= nodes; i++) start[i] = start[i - 1]! + counts[i]!;
    const fill = start.slice(0, nodes);
    const code = new Uint16Array(edges.size);
    const child = new Int32Array(edges.size);
    for (const [key, c] of edges) {
      const parent = Math.floor(key / 65536);
      const cu = key % 65536;
      if (parent === 0) root[cu] = c;
      const at = fill[parent]!++;
      code[at] = cu;
      child[at] = c;
    }
    // sort each node's run by code unit for binary search
    for (let n = 0; n < nodes; n++) {
      const a = start[n]!;
      const b = start[n + 1]!;
      if (b - a < 2) continue;
      const idx = Array.from({ length: b - a }, (_, i) => a + i).sort((x, y) => code[x]! - code[y]!);
      const cs = idx.map((i) => code[i]!);
      const ch = idx.map((i) => child[i]!);
      for (let i = 0; i < cs.length; i++) {
        code[a + i] = cs[i]!;
        child[a + i] = ch[i]!;
      }
    }
    return new Trie(root, start, code, child);
  }

  /** Child of node by one UTF-16 code unit, or -1. */
  next(node: number, cu: number): number {
    if (node === 0) return this.root[cu]!;
    let lo = this.start[node]!;
    let hi = this.start[node + 1]! - 1;
    const code = this.code;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const c = code[mid]!;
      if (c === cu) return this.child[mid]!;
      if (c < cu) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }
}

function parseHmm(json: string): HmmTables {
  const raw = JSON.parse(json) as { start: Record<string, number>; trans: Record<string, Record<string, number>>; emit: Record<string, Record<string, number>> };
  const start = new Float64Array(4);
  const trans = new Float64Array(16).fill(MIN_FLOAT);
  const emit = new Float64Array(4 * 65536).fill(MIN_FLOAT);
  for (let s = 0; s < 4; s++) {
    const name = STATES[s]!;
    const st = raw.start?.[name];
    if (typeof st !== "number") throw new JiebaDataError(`hmm.json: start probability for state ${name} missing`);
    start[s] = st;
    const row = raw.trans?.[name] ?? {};
    for (const [to, p] of Object.entries(row)) trans[s * 4 + STATES.indexOf(to)] = p;
    const em = raw.emit?.[name];
    if (!em) throw new JiebaDataError(`hmm.json: emission table for state ${name} missing`);
    for (const [ch, p] of Object.entries(em)) {
      if (ch.length !== 1) throw new JiebaDataError(`hmm.json: emission key ${JSON.stringify(ch)} of state ${name} is not one UTF-16 character`);
      emit[s * 65536 + ch.charCodeAt(0)] = p;
    }
  }
  return { start, trans, emit };
}

// ---------- the segmenter ----------

// jieba's re_han_default: runs of these go through the dictionary; everything else is split per char.
const RE_HAN_DEFAULT = /[\u4E00-\u9FD5a-zA-Z0-9+#&._%\-]+/g;
// finalseg: han characters for the HMM, and the [a-zA-Z0-9]+(\.\d+)?%? runs kept whole between them.
const RE_HAN_HMM = /[\u4E00-\u9FD5]+/g;
const RE_SKIP_HMM = /[a-zA-Z0-9]+(?:\.[0-9]+)?%?/g;

export class JiebaSegmenter implements Segmenter {
  readonly name = "jieba-ts";
  readonly version: string;
  private readonly trie: Trie;
  private routeP = new Float64Array(256);
  private routeX = new Int32Array(256);
  private vit = new Float64Array(1024);
  private back = new Uint8Array(1024);
  private path = new Uint8Array(256);
  private readonly wordLogP: Float64Array;
  private readonly logTotal: number;
  private readonly hmm: HmmTables;

  constructor(dict: PrefixDictionary, hmm: HmmTables, version: string) {
    this.trie = dict.trie;
    this.wordLogP = dict.wordLogP;
    this.logTotal = logInt(dict.total);
    this.hmm = hmm;
    this.version = version;
  }

  /** True when s is a dictionary word with positive frequency (jieba: FREQ.get(s) truthy). */
  private isWord(s: string): boolean {
    let node = 0;
    for (let i = 0; i < s.length; i++) {
      const c = this.trie.next(node, s.charCodeAt(i));
      if (c < 0) return false;
      node = c;
    }
    return !Number.isNaN(this.wordLogP[node]!);
  }

  private static shared: JiebaSegmenter | undefined;

  /** The bundled jieba 0.42.1 dictionary, loaded once on first use (about half a second). */
  static default(): JiebaSegmenter {
    if (!JiebaSegmenter.shared) {
      const dir = dataDir();
      const dict = parseDictionary(readGz(join(dir, "dict.txt.gz")), "dict.txt.gz");
      const hmmText = readGz(join(dir, "hmm.json.gz"));
      const version = (JSON.parse(hmmText) as { version?: string }).version ?? "unknown";
      JiebaSegmenter.shared = new JiebaSegmenter(dict, parseHmm(hmmText), `${version} (dictionary and HMM of Python jieba ${version})`);
    }
    return JiebaSegmenter.shared;
  }

  cut(text: string): string[] {
    const out: string[] = [];
    let last = 0;
    RE_HAN_DEFAULT.lastIndex = 0;
    for (let m = RE_HAN_DEFAULT.exec(text); m; m = RE_HAN_DEFAULT.exec(text)) {
      if (m.index > last) this.cutOther(text, last, m.index, out);
      this.cutDag(m[0], out);
      last = m.index + m[0].length;
    }
    if (last < text.length) this.cutOther(text, last, text.length, out);
    return out;
  }

  /** Outside han blocks: "\r\n" is one token, every other code point is its own token. */
  private cutOther(text: string, from: number, to: number, out: string[]): void {
    let i = from;
    while (i < to) {
      const c = text.charCodeAt(i);
      if (c === 13 && i + 1 < to && text.charCodeAt(i + 1) === 10) {
        out.push("\r\n");
        i += 2;
      } else if (c >= 0xd800 && c <= 0xdbff && i + 1 < to && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
        out.push(text.slice(i, i + 2));
        i += 2;
      } else {
        out.push(text[i]!);
        i += 1;
      }
    }
  }

  private cutDag(s: string, out: string[]): void {
    const n = s.length;
    const trie = this.trie;
    const wordLogP = this.wordLogP;
    // route[i] = best (log-prob, end index) for s[i:]; Python: max((log(f or 1) - logtotal + route[x+1][0], x))
    // Reused buffers: allocating typed arrays per block dominated the run time.
    if (this.routeP.length < n + 1) {
      this.routeP = new Float64Array(2 * n + 2);
      this.routeX = new Int32Array(2 * n + 2);
    }
    const routeP = this.routeP;
    const routeX = this.routeX;
    routeP[n] = 0;
    for (let k = n - 1; k >= 0; k--) {
      let best = -Infinity;
      let bestX = k;
      let found = false;
      let node = 0;
      for (let i = k; i < n; i++) {
        const child = trie.next(node, s.charCodeAt(i));
        if (child < 0) break;
        node = child;
        const lp = wordLogP[node]!;
        if (lp === lp) {
          // not NaN: a word; ties go to the longer word, like Python's tuple max
          const v = lp + routeP[i + 1]!;
          if (!found || v >= best) {
            best = v;
            bestX = i;
            found = true;
          }
        }
      }
      if (!found) best = 0 - this.logTotal + routeP[k + 1]!; // not a word: log(1)
      routeP[k] = best;
      routeX[k] = bestX;
    }
    // Runs of single-character steps are contiguous in s: keep their start instead of a string buffer.
    let x = 0;
    let bufStart = -1;
    while (x < n) {
      const y = routeX[x]! + 1;
      if (y - x === 1) {
        if (bufStart < 0) bufStart = x;
      } else {
        if (bufStart >= 0) {
          this.flushBuf(s.slice(bufStart, x), out);
          bufStart = -1;
        }
        out.push(s.slice(x, y));
      }
      x = y;
    }
    if (bufStart >= 0) this.flushBuf(s.slice(bufStart, n), out);
  }

  private flushBuf(buf: string, out: string[]): void {
    if (buf.length === 1) {
      out.push(buf);
    } else if (!this.isWord(buf)) {
      this.cutHmm(buf, out);
    } else {
      for (const c of buf) out.push(c);
    }
  }

  /** finalseg.cut: Viterbi on han runs, [a-zA-Z0-9]+(\.\d+)?%? runs and the rest kept as pieces. */
  private cutHmm(s: string, out: string[]): void {
    let last = 0;
    RE_HAN_HMM.lastIndex = 0;
    for (let m = RE_HAN_HMM.exec(s); m; m = RE_HAN_HMM.exec(s)) {
      if (m.index > last) this.splitSkip(s.slice(last, m.index), out);
      this.viterbi(m[0], out);
      last = m.index + m[0].length;
    }
    if (last < s.length) this.splitSkip(s.slice(last), out);
  }

  private splitSkip(s: string, out: string[]): void {
    let last = 0;
    RE_SKIP_HMM.lastIndex = 0;
    for (let m = RE_SKIP_HMM.exec(s); m; m = RE_SKIP_HMM.exec(s)) {
      if (m.index > last) out.push(s.slice(last, m.index));
      out.push(m[0]);
      last = m.index + m[0].length;
    }
    if (last < s.length) out.push(s.slice(last));
  }

  private viterbi(obs: string, out: string[]): void {
    const { start, trans, emit } = this.hmm;
    const T = obs.length;
    if (this.vit.length < T * 4) {
      this.vit = new Float64Array(T * 8);
      this.back = new Uint8Array(T * 8);
      this.path = new Uint8Array(T * 2);
    }
    const V = this.vit;
    const back = this.back;
    const c0 = obs.charCodeAt(0);
    for (let y = 0; y < 4; y++) V[y] = start[y]! + emit[y * 65536 + c0]!;
    for (let t = 1; t < T; t++) {
      const ch = obs.charCodeAt(t);
      for (let y = 0; y < 4; y++) {
        const em = emit[y * 65536 + ch]!;
        // Python: max over (prob, state) tuples, so equal probabilities go to the larger state letter.
        let bestP = -Infinity;
        let bestS = 0;
        for (const y0 of PREV[y]!) {
          const p = V[(t - 1) * 4 + y0]! + trans[y0 * 4 + y]! + em;
          if (p > bestP || (p === bestP && STATES[y0]! > STATES[bestS]!)) {
            bestP = p;
            bestS = y0;
          }
        }
        V[t * 4 + y] = bestP;
        back[t * 4 + y] = bestS;
      }
    }
    // final state among E(2), S(3); tie -> 'S'
    const pe = V[(T - 1) * 4 + 2]!;
    const ps = V[(T - 1) * 4 + 3]!;
    let state = ps >= pe ? 3 : 2;
    const path = this.path;
    for (let t = T - 1; t >= 0; t--) {
      path[t] = state;
      state = back[t * 4 + state]!;
    }
    let begin = 0;
    let next = 0;
    for (let i = 0; i < T; i++) {
      const pos = path[i];
      if (pos === 0) begin = i;
      else if (pos === 2) {
        out.push(obs.slice(begin, i + 1));
        next = i + 1;
      } else if (pos === 3) {
        out.push(obs[i]!);
        next = i + 1;
      }
    }
    if (next < T) out.push(obs.slice(next));
  }
}
