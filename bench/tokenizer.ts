/**
 * Tokenizer benchmark: `npm run bench -- tokenizer [--quick]`.
 * - BPE training speed (chars/s) of our byte-level BPE trainer;
 * - encode speed (chars/s) of the trained tokenizer.json and a Llama 3-style variant: our byte-level BPE
 *   fast path (bytelevel_bpe.ts) vs @huggingface/tokenizers alone (reference), first pass on a fresh
 *   tokenizer (the headline: most text is seen once), warm passes, and ours without the piece cache, with
 *   the number of lines whose ids are identical;
 * - encode speed of our SentencePiece encoder (BPE and unigram test models) against the C++ library via
 *   Python sentencepiece 0.1.97 (reference, when /usr/bin/python3 has it), with the number of lines whose
 *   ids agree.
 * Text: real pediatric questions/answers from ../shared/data when present (counted, never copied), else
 * the generated fixture lines. Characters are Unicode code points. Ends with one JSON line.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import { HfTokenizer, SentencePieceModel, parseTokenizerConfig, trainBpeTokenizer } from "../src/tokenizer/index.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const fixtures = join(root, "test/fixtures/tokenizer");
const dataDir = process.env.PEDGPT_SHARED_DATA ?? join(root, "../shared/data");

const codePoints = (s: string) => {
  let n = 0;
  for (const _ of s) n++;
  return n;
};

/** All text fields (length > 1) of the real data sets, one line per field, newlines kept inside the line. */
function realLines(): string[] | null {
  const files = ["huatuo26m-pediatric/dev.jsonl", "pediabench/dev.jsonl", "pediabench/dev_other_types.jsonl"].map((f) => join(dataDir, f));
  if (!files.every(existsSync)) return null;
  const out: string[] = [];
  const walk = (v: unknown, key: string) => {
    if (typeof v === "string") {
      if (v.length > 1 && key !== "id" && key !== "source") out.push(v);
    } else if (Array.isArray(v)) v.forEach((x) => walk(x, key));
    else if (v && typeof v === "object") for (const [k, x] of Object.entries(v)) walk(x, k);
  };
  for (const f of files) for (const line of readFileSync(f, "utf8").split("\n")) if (line.trim()) walk(JSON.parse(line), "");
  return out;
}

function bestOf<T>(passes: number, fn: () => T): { seconds: number; result: T } {
  let best = Infinity;
  let result!: T;
  for (let i = 0; i < passes; i++) {
    const t0 = performance.now();
    result = fn();
    best = Math.min(best, (performance.now() - t0) / 1000);
  }
  return { seconds: best, result };
}

export default async function main(args: string[]): Promise<void> {
  const quick = args.includes("--quick");
  const fixtureLines = gunzipSync(readFileSync(join(fixtures, "lines.jsonl.gz")))
    .toString("utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as string);
  const real = realLines();
  let lines = real ?? fixtureLines;
  if (quick) lines = lines.slice(0, 2000);
  const chars = lines.reduce((n, l) => n + codePoints(l), 0);
  console.log(`text: ${real ? `real pediatric data from ${dataDir}` : "generated fixture lines (no ../shared/data)"}: ${lines.length} lines, ${chars} chars`);

  // 1. BPE training.
  const vocabSize = 4000;
  const train = bestOf(1, () => trainBpeTokenizer(lines, { vocabSize }));
  const trainCps = chars / train.seconds;
  console.log(`BPE train (vocab ${train.result.vocabSize}): ${train.seconds.toFixed(2)} s, ${Math.round(trainCps)} chars/s`);

  // 2. tokenizer.json encode: our byte-level BPE fast path (bytelevel_bpe.ts) vs the library alone (reference),
  //    for the trained file and a Llama 3-style variant of it (no normaliser, digits in threes, ignore_merges).
  const cfg = parseTokenizerConfig(train.result.tokenizerConfig);
  const layouts: Array<[string, Record<string, unknown>]> = [
    ["trained (Qwen2 split, NFC)", train.result.tokenizerJson],
    ["Llama 3-style", llama3Variant(train.result.tokenizerJson)],
  ];
  const passes = quick ? 2 : 3;
  const encodeAll = (t: HfTokenizer) => lines.map((l) => t.encode(l, { addSpecialTokens: false }));
  const json: Record<string, { cold: number; warm: number; noCache: number; libCold: number; libWarm: number; agree: number }> = {};
  for (const [name, tj] of layouts) {
    // A fresh tokenizer's first pass: empty caches and an unwarmed JIT, i.e. what a single pass over new text costs.
    const fast = new HfTokenizer(tj, cfg);
    if (!fast.fastEncode) throw new Error(`${name}: fast path not taken: ${fast.fastEncodeUnsupported}`);
    const fastCold = bestOf(1, () => encodeAll(fast));
    const fastWarm = bestOf(passes - 1, () => encodeAll(fast));
    const noCache = bestOf(passes - 1, () => encodeAll(new HfTokenizer(tj, cfg, "tokenizer.json", { pieceCache: false })));
    const lib = new HfTokenizer(tj, cfg, "tokenizer.json", { fastBpe: false });
    const libCold = bestOf(1, () => encodeAll(lib));
    const libWarm = bestOf(passes - 1, () => encodeAll(lib));
    const agree = fastCold.result.filter((ids, i) => JSON.stringify(ids) === JSON.stringify(libCold.result[i])).length;
    const tokens = libCold.result.reduce((n, ids) => n + ids.length, 0);
    const r = {
      cold: chars / fastCold.seconds,
      warm: chars / fastWarm.seconds,
      noCache: chars / noCache.seconds,
      libCold: chars / libCold.seconds,
      libWarm: chars / libWarm.seconds,
      agree,
    };
    json[name] = r;
    console.log(
      `tokenizer.json encode, ${name}: ours ${Math.round(r.cold)} chars/s first pass, ${Math.round(r.warm)} warm, ${Math.round(r.noCache)} without the piece cache; ` +
        `@huggingface/tokenizers ${Math.round(r.libCold)} first pass, ${Math.round(r.libWarm)} warm; ratio (first passes) ${(r.cold / r.libCold).toFixed(2)}; ` +
        `${(chars / tokens).toFixed(2)} chars/token; identical ids on ${agree}/${lines.length} lines`,
    );
  }
  const main = json[layouts[0]![0]]!;
  const llama = json[layouts[1]![0]]!;

  // 3. SentencePiece: ours vs the C++ library through Python.
  const tmp = mkdtempSync(join(tmpdir(), "pedgpt-bench-tok-"));
  const linesFile = join(tmp, "lines.jsonl");
  writeFileSync(linesFile, lines.map((l) => JSON.stringify(l)).join("\n") + "\n");
  const sp: Record<string, { ours: number; reference: number | null; agree: number | null }> = {};
  try {
    for (const name of ["bpe_llama", "bpe_baichuan", "unigram_nfkc"]) {
      const modelPath = join(fixtures, `${name}.model`);
      const model = SentencePieceModel.fromBytes(readFileSync(modelPath), modelPath);
      const ours = bestOf(quick ? 1 : 3, () => lines.map((l) => model.encode(l)));
      const oursCps = chars / ours.seconds;
      let reference: number | null = null;
      let agree: number | null = null;
      const idsFile = join(tmp, `${name}.ids.jsonl`);
      const py = spawnSync(process.env.PEDGPT_PYTHON ?? "/usr/bin/python3", [join(root, "bench/tokenizer_spm.py"), modelPath, linesFile, idsFile, quick ? "1" : "3"], {
        encoding: "utf8",
      });
      if (py.status === 0) {
        const rep = JSON.parse(py.stdout.trim().split("\n").at(-1)!) as { chars_per_s: number; chars: number };
        if (rep.chars !== chars) throw new Error(`python counted ${rep.chars} chars, we counted ${chars}`);
        reference = rep.chars_per_s;
        const refIds = readFileSync(idsFile, "utf8").split("\n").filter((l) => l !== "");
        agree = refIds.filter((r, i) => JSON.stringify(JSON.parse(r)) === JSON.stringify(ours.result[i])).length;
        if (agree < lines.length) {
          const i = refIds.findIndex((r, k) => JSON.stringify(JSON.parse(r)) !== JSON.stringify(ours.result[k]));
          console.log(`  first disagreement, line ${i + 1}: ${JSON.stringify(lines[i]).slice(0, 200)}`);
        }
      } else {
        console.log(`  (no reference: /usr/bin/python3 with sentencepiece not available: ${(py.stderr || String(py.error)).split("\n")[0]})`);
      }
      sp[name] = { ours: oursCps, reference, agree };
      console.log(
        `SentencePiece ${name}: ours ${Math.round(oursCps)} chars/s` +
          (reference ? `, C++ sentencepiece (Python) ${Math.round(reference)} chars/s, ratio ${(oursCps / reference).toFixed(2)}` : "") +
          (agree !== null ? `; identical ids on ${agree}/${lines.length} lines` : ""),
      );
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }

  const bpe = sp.bpe_llama!;
  const round = (x: number | null) => (x === null ? null : Math.round(x));
  console.log(
    JSON.stringify({
      bench: "tokenizer",
      metric: "tokenizer.json byte-level BPE encode chars/s, first pass over the text (ours vs @huggingface/tokenizers)",
      ours: Math.round(main.cold),
      reference: Math.round(main.libCold),
      ratio: Number((main.cold / main.libCold).toFixed(3)),
      lines: lines.length,
      chars,
      realData: real !== null,
      bpeTrainCharsPerS: Math.round(trainCps),
      tokenizerJsonEncodeOursWarm: Math.round(main.warm),
      tokenizerJsonEncodeOursNoCache: Math.round(main.noCache),
      tokenizerJsonEncodeReferenceWarm: Math.round(main.libWarm),
      tokenizerJsonAgree: main.agree,
      llama3StyleOurs: Math.round(llama.cold),
      llama3StyleReference: Math.round(llama.libCold),
      llama3StyleAgree: llama.agree,
      spmBpeOurs: Math.round(bpe.ours),
      spmBpeReference: round(bpe.reference),
      spmBpeAgree: bpe.agree,
      spmBaichuanAgree: sp.bpe_baichuan!.agree,
      spmUnigramOurs: Math.round(sp.unigram_nfkc!.ours),
      spmUnigramReference: round(sp.unigram_nfkc!.reference),
      spmUnigramAgree: sp.unigram_nfkc!.agree,
    }),
  );
}

/** The same vocabulary and merges in Llama 3's layout: no normaliser, digits split in threes, ignore_merges. */
function llama3Variant(tokenizerJson: Record<string, unknown>): Record<string, unknown> {
  const j = JSON.parse(JSON.stringify(tokenizerJson)) as Record<string, unknown> & {
    pre_tokenizer: { pretokenizers: Array<Record<string, unknown>> };
    model: Record<string, unknown>;
  };
  j.normalizer = null;
  j.pre_tokenizer.pretokenizers[0]!.pattern = {
    Regex: "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
  };
  j.model.ignore_merges = true;
  return j;
}
