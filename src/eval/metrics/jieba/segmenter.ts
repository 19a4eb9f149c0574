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
import { readFileSync } from "node:fs";
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
  emit: Map<string, number>[]; // per state
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

const DATA_DIR = join(dirname(fileURLToPath(import.meta.url)), "data");

function readGz(file: string): string {
  let raw: Buffer;
  try {
    raw = readFileSync(file);
  } catch (e) {
    throw new JiebaDataError(`jieba data file ${file} could not be read (${(e as Error).message}); it ships with the package under src/eval/metrics/jieba/data (regenerate with scripts/fixtures/metrics_jieba_data.py)`);
  }
  return gunzipSync(raw).toString("utf8");
}

/** Parses jieba's dict.txt ("word freq [tag]" per line) into word->freq plus every prefix (freq 0). */
export function parseDictionary(text: string, source = "dict.txt"): { freq: Map<string, number>; total: number } {
  const freq = new Map<string, number>();
  let total = 0;
  let lineNo = 0;
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf("\n", start);
    if (end < 0) end = text.length;
    lineNo++;
    const line = text.slice(start, end).replace(/^[ \t\n\r\v\f]+|[ \t\n\r\v\f]+$/g, "");
    start = end + 1;
    const parts = line.split(" ");
    const word = parts[0]!;
    const f = parts.length >= 2 && /^[0-9]+$/.test(parts[1]!) ? Number(parts[1]) : NaN;
    if (word === "" || Number.isNaN(f)) {
      throw new JiebaDataError(`invalid dictionary entry in ${source} at line ${lineNo}: ${JSON.stringify(line)} (expected "word frequency [tag]")`);
    }
    freq.set(word, f);
    total += f;
    for (let i = 1; i < word.length; i++) {
      const frag = word.slice(0, i);
      if (!freq.has(frag)) freq.set(frag, 0);
    }
  }
  return { freq, total };
}

function parseHmm(json: string): HmmTables {
  const raw = JSON.parse(json) as { start: Record<string, number>; trans: Record<string, Record<string, number>>; emit: Record<string, Record<string, number>> };
  const start = new Float64Array(4);
  const trans = new Float64Array(16).fill(MIN_FLOAT);
  const emit: Map<string, number>[] = [];
  for (let s = 0; s < 4; s++) {
    const name = STATES[s]!;
    const st = raw.start?.[name];
    if (typeof st !== "number") throw new JiebaDataError(`hmm.json: start probability for state ${name} missing`);
    start[s] = st;
    const row = raw.trans?.[name] ?? {};
    for (const [to, p] of Object.entries(row)) trans[s * 4 + STATES.indexOf(to)] = p;
    const em = raw.emit?.[name];
    if (!em) throw new JiebaDataError(`hmm.json: emission table for state ${name} missing`);
    emit.push(new Map(Object.entries(em)));
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
  private readonly freq: Map<string, number>;
  private readonly logTotal: number;
  private readonly hmm: HmmTables;

  constructor(dict: { freq: Map<string, number>; total: number }, hmm: HmmTables, version: string) {
    this.freq = dict.freq;
    this.logTotal = logInt(dict.total);
    this.hmm = hmm;
    this.version = version;
  }

  private static shared: JiebaSegmenter | undefined;

  /** The bundled jieba 0.42.1 dictionary, loaded once on first use (about half a second). */
  static default(): JiebaSegmenter {
    if (!JiebaSegmenter.shared) {
      const dict = parseDictionary(readGz(join(DATA_DIR, "dict.txt.gz")), "dict.txt.gz");
      const hmmText = readGz(join(DATA_DIR, "hmm.json.gz"));
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
    const freq = this.freq;
    // route[i] = best (log-prob, end index) for s[i:]; Python: max((log(f or 1) - logtotal + route[x+1][0], x))
    const routeP = new Float64Array(n + 1);
    const routeX = new Int32Array(n + 1);
    for (let k = n - 1; k >= 0; k--) {
      let best = -Infinity;
      let bestX = k;
      let found = false;
      let i = k;
      let frag = s[k]!;
      let f = freq.get(frag);
      while (i < n && f !== undefined) {
        if (f > 0) {
          const v = logInt(f) - this.logTotal + routeP[i + 1]!;
          if (!found || v >= best) {
            best = v;
            bestX = i;
            found = true;
          }
        }
        i++;
        if (i < n) {
          frag = s.slice(k, i + 1);
          f = freq.get(frag);
        }
      }
      if (!found) best = 0 - this.logTotal + routeP[k + 1]!; // unknown single char: log(1)
      routeP[k] = best;
      routeX[k] = bestX;
    }
    let x = 0;
    let buf = "";
    while (x < n) {
      const y = routeX[x]! + 1;
      if (y - x === 1) {
        buf += s[x];
      } else {
        if (buf) {
          this.flushBuf(buf, out);
          buf = "";
        }
        out.push(s.slice(x, y));
      }
      x = y;
    }
    if (buf) this.flushBuf(buf, out);
  }

  private flushBuf(buf: string, out: string[]): void {
    if (buf.length === 1) {
      out.push(buf);
    } else if (!this.freq.get(buf)) {
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
    const V = new Float64Array(T * 4);
    const back = new Uint8Array(T * 4);
    for (let y = 0; y < 4; y++) V[y] = start[y]! + (emit[y]!.get(obs[0]!) ?? MIN_FLOAT);
    for (let t = 1; t < T; t++) {
      const ch = obs[t]!;
      for (let y = 0; y < 4; y++) {
        const em = emit[y]!.get(ch) ?? MIN_FLOAT;
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
    const path = new Uint8Array(T);
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
