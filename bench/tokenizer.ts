/**
 * Tokenizer benchmark: `npm run bench -- tokenizer [--quick]`.
 * - BPE training speed (chars/s) of our byte-level BPE trainer;
 * - encode speed (chars/s) of the trained tokenizer.json: our BPE merge loop (fast_bpe.ts) inside the
 *   library's pipeline vs @huggingface/tokenizers alone (reference), with the number of identical lines;
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

  // 2. tokenizer.json encode: our BPE merge loop inside the library's pipeline vs the library alone.
  const cfg = parseTokenizerConfig(train.result.tokenizerConfig);
  const fast = new HfTokenizer(train.result.tokenizerJson, cfg);
  const lib = new HfTokenizer(train.result.tokenizerJson, cfg, "tokenizer.json", { fastBpe: false });
  const passes = quick ? 1 : 3;
  // Both cache short words; best of several passes measures the warm steady state for both alike.
  const fastEnc = bestOf(passes, () => lines.map((l) => fast.encode(l, { addSpecialTokens: false })));
  const libEnc = bestOf(passes, () => lines.map((l) => lib.encode(l, { addSpecialTokens: false })));
  const jsonAgree = fastEnc.result.filter((ids, i) => JSON.stringify(ids) === JSON.stringify(libEnc.result[i])).length;
  const tokens = libEnc.result.reduce((n, ids) => n + ids.length, 0);
  const fastCps = chars / fastEnc.seconds;
  const hfCps = chars / libEnc.seconds;
  console.log(
    `tokenizer.json encode: ours (fast BPE loop) ${Math.round(fastCps)} chars/s, @huggingface/tokenizers ${Math.round(hfCps)} chars/s, ` +
      `ratio ${(fastCps / hfCps).toFixed(2)}; ${(chars / tokens).toFixed(2)} chars/token; identical ids on ${jsonAgree}/${lines.length} lines`,
  );

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
  console.log(
    JSON.stringify({
      bench: "tokenizer",
      metric: "SentencePiece BPE encode chars/s (ours vs C++ sentencepiece)",
      ours: Math.round(bpe.ours),
      reference: bpe.reference === null ? null : Math.round(bpe.reference),
      ratio: bpe.reference === null ? null : Number((bpe.ours / bpe.reference).toFixed(3)),
      lines: lines.length,
      chars,
      realData: real !== null,
      bpeTrainCharsPerS: Math.round(trainCps),
      tokenizerJsonEncodeOurs: Math.round(fastCps),
      tokenizerJsonEncodeReference: Math.round(hfCps),
      tokenizerJsonAgree: jsonAgree,
      spmBpeAgree: bpe.agree,
      spmBaichuanAgree: sp.bpe_baichuan!.agree,
      spmUnigramOurs: Math.round(sp.unigram_nfkc!.ours),
      spmUnigramReference: sp.unigram_nfkc!.reference === null ? null : Math.round(sp.unigram_nfkc!.reference),
      spmUnigramAgree: sp.unigram_nfkc!.agree,
    }),
  );
}
