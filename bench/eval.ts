/**
 * Answer-generation benchmark (`npm run bench -- eval [--model DIR] [--items N] [--batch-size B]
 * [--max-new-tokens T]`): answers/s of `eval generate` with B requests in flight (decoded together by
 * the engine's serving worker) against one request at a time, on the same model, questions and
 * greedy settings, in the same run. Questions: the Huatuo-26M pediatric dev set from ../shared/data
 * when present (else the project's test fixtures, said so). Model: --model, else a tiny-llama preset
 * (4 layers × 128) with a byte-level BPE trained on the questions, built in a temporary folder.
 * Model loading and one warm-up answer are excluded. Ends with one JSON line.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { CausalLM, parseConfig, presetConfig, saveModel } from "../src/model/index.js";
import { saveTrainedBpe, trainBpeTokenizer } from "../src/tokenizer/index.js";
import { loadAnswerBackend } from "../src/eval/generate/backend.js";
import { generateAnswers } from "../src/eval/generate/generate.js";
import { readTestSet, type TestSet } from "../src/eval/generate/sets.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

function arg(args: string[], name: string, def: number): number {
  const i = args.indexOf(name);
  if (i < 0) return def;
  const v = Number(args[i + 1]);
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name} expects a positive integer, got ${args[i + 1]}`);
  return v;
}

async function questions(n: number): Promise<{ set: TestSet; source: string }> {
  const shared = join(root, "..", "shared", "data", "huatuo26m-pediatric", "dev.jsonl");
  if (existsSync(shared)) {
    const set = await readTestSet(shared, { format: "qa-jsonl", name: "huatuo-dev" });
    return { set: { ...set, items: set.items.slice(0, n) }, source: "Huatuo-26M pediatric dev (../shared/data)" };
  }
  const parts = await Promise.all(["huatuo_qa.jsonl", "cmd_test.csv", "medQA_test.txt", "evidiag_test.alpaca.jsonl"].map((f) => readTestSet(join(root, "test/fixtures/eval", f))));
  const pool = parts.flatMap((p) => p.items);
  const items = Array.from({ length: n }, (_, i) => ({ ...pool[i % pool.length]!, id: `q${i}` }));
  return { set: { ...parts[0]!, name: "fixtures", items }, source: "test fixtures, repeated (../shared/data not found)" };
}

async function tinyModel(dir: string, texts: string[]): Promise<string> {
  const trained = trainBpeTokenizer(texts, { vocabSize: 2000, chatTemplateId: "default" });
  saveTrainedBpe(trained, dir);
  const cfg = parseConfig(presetConfig("tiny-llama", { vocab_size: trained.vocabSize }), "bench model");
  await saveModel(new CausalLM(cfg, { seed: 1 }), dir, { metadata: { template: "default" } });
  return dir;
}

export default async function main(args: string[]): Promise<void> {
  const n = arg(args, "--items", 32);
  const batch = arg(args, "--batch-size", 8);
  const maxNewTokens = arg(args, "--max-new-tokens", 32);
  const mi = args.indexOf("--model");
  const work = mkdtempSync(join(tmpdir(), "pedgpt-bench-eval-"));
  try {
    const { set, source } = await questions(n);
    const modelDir = mi >= 0 ? args[mi + 1]! : await tinyModel(join(work, "model"), set.items.map((i) => `${i.messages.map((m) => m.content).join("\n")}\n${i.reference}`));
    console.log(`eval bench: ${set.items.length} questions from ${source}; model ${mi >= 0 ? modelDir : "tiny-llama preset (random weights, built here)"}; greedy, ${maxNewTokens} new tokens at most`);
    console.log(`load average at start: ${loadavg().map((x) => x.toFixed(2)).join(" ")} (other work on the machine lowers every figure)`);
    const settings = { maxNewTokens, temperature: 0 };
    const measure = async (bs: number) => {
      const backend = await loadAnswerBackend(modelDir, { backend: "engine", parallel: bs });
      try {
        await generateAnswers({ ...set, items: set.items.slice(0, 1) }, backend, { out: join(work, `warm-${bs}.jsonl`), settings: { ...settings, batchSize: 1 } });
        const t0 = performance.now();
        const r = await generateAnswers(set, backend, { out: join(work, `answers-${bs}.jsonl`), settings: { ...settings, batchSize: bs } });
        const secs = (performance.now() - t0) / 1000;
        const tokens = r.lines.reduce((a, l) => a + (l.completion_tokens ?? 0), 0);
        console.log(`${bs === 1 ? "one by one" : `batch ${bs}`}: ${(set.items.length / secs).toFixed(2)} answers/s, ${(tokens / secs).toFixed(0)} new tokens/s (${secs.toFixed(1)} s, ${r.meta.failed} failed)`);
        return { perSec: set.items.length / secs, tokensPerSec: tokens / secs, responses: r.lines.map((l) => l.response ?? null) };
      } finally {
        await backend.close();
      }
    };
    const single = await measure(1);
    const batched = await measure(batch);
    const same = single.responses.every((x, i) => x === batched.responses[i]);
    console.log(`batched answers identical to one-by-one answers: ${same ? "yes" : "NO"}`);
    console.log(`batch ${batch} vs one by one: ${(batched.perSec / single.perSec).toFixed(2)}×`);
    console.log(
      JSON.stringify({
        bench: "eval",
        metric: "answers/s",
        ours: Number(batched.perSec.toFixed(3)),
        reference: Number(single.perSec.toFixed(3)),
        ratio: Number((batched.perSec / single.perSec).toFixed(3)),
        reference_is: "eval generate one request at a time, same model and questions",
        batch_size: batch,
        items: set.items.length,
        max_new_tokens: maxNewTokens,
        tokens_per_s: { batched: Math.round(batched.tokensPerSec), single: Math.round(single.tokensPerSec) },
        identical_answers: same,
        questions: source,
      }),
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
