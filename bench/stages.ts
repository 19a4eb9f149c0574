/**
 * Stage throughput: `npm run bench -- stages [tiny|small] [--steps N] [--no-torch]`.
 *
 * On a random Llama of the size of `bench -- train`'s configs and synthetic tokenized datasets in our
 * binary format, runs each stage's objective on the one trainer for a few steps and reports tokens/s:
 * pt (packed blocks), sft (masked prompts), dpo with reference log-probs cached (read with the batch)
 * and without (a reference forward inside every step) — their ratio —, and moe_lora (4 experts, rank 8).
 * The SFT step is compared with PyTorch doing the same masked step (bench/stages_torch.py, run by
 * /usr/bin/python3 with the same threads, batch and length): the ratio ours / PyTorch (goal ≥ 1.5×).
 * Ends with one JSON line. Not a test.
 */
import { spawnSync } from "node:child_process";
import { cpus, tmpdir } from "node:os";
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Tape } from "../src/engine/index.js";
import { LORA_DEFAULTS, LoraAdapter } from "../src/model/adapters/index.js";
import { CausalLM, parseConfig, Rng, type LossInput } from "../src/model/index.js";
import { DatasetWriter, TokenDataset } from "../src/train/data/format.js";
import { LanguageModelObjective } from "../src/train/lm.js";
import { pairsSource, referenceLogps, rowsSource } from "../src/train/stages/batch.js";
import { PreferenceObjective, sequenceLogps, type PairBatch } from "../src/train/stages/preference.js";
import type { LossResult, Objective, StepContext } from "../src/train/trainer/objective.js";
import { train } from "../src/train/trainer/trainer.js";

const CONFIGS = {
  tiny: { d: 256, layers: 4, heads: 4, ffn: 704, vocab: 32000, seq: 256, batch: 8 },
  small: { d: 768, layers: 12, heads: 12, ffn: 2048, vocab: 32000, seq: 512, batch: 4 },
} as const;

/** DPO without the cache: the reference forward runs inside every step, as an uncached trainer would. */
class UncachedReference implements Objective<PairBatch> {
  readonly name = "dpo-uncached";
  private readonly tape = new Tape();
  constructor(private readonly inner: PreferenceObjective, private readonly reference: CausalLM) {}
  trainable() {
    return this.inner.trainable();
  }
  loss(batch: PairBatch, ctx: StepContext): LossResult {
    const refLogps = sequenceLogps(this.reference, batch.input, this.tape);
    return this.inner.loss({ ...batch, refLogps }, ctx);
  }
}

export default async function main(args: string[]): Promise<void> {
  const name = (args.find((a) => a in CONFIGS) ?? "small") as keyof typeof CONFIGS;
  const c = CONFIGS[name];
  const stepsArg = args.indexOf("--steps");
  const steps = stepsArg >= 0 ? Number(args[stepsArg + 1]) : 2;
  const threads = cpus().length;
  const hf = {
    architectures: ["LlamaForCausalLM"], vocab_size: c.vocab, hidden_size: c.d, intermediate_size: c.ffn, num_hidden_layers: c.layers,
    num_attention_heads: c.heads, num_key_value_heads: c.heads, max_position_embeddings: c.seq, rms_norm_eps: 1e-6, tie_word_embeddings: false,
    bos_token_id: 1, eos_token_id: 2,
  };
  const dir = mkdtempSync(join(tmpdir(), "pedgpt-bench-stages-"));
  const rng = new Rng(1);
  const rand = () => 3 + Math.floor(rng.uniform() * (c.vocab - 3));
  const I = -100;
  const write = async (sub: string, kind: "pt" | "sft" | "pairs", rows: number, make: (i: number) => { ids: number[]; labels: number[] }) => {
    const w = await DatasetWriter.open(join(dir, sub), kind);
    for (let i = 0; i < rows; i++) w.add(make(i));
    w.finish();
    return new TokenDataset(join(dir, sub));
  };
  const n = c.batch * (steps + 1);
  const pt = await write("pt", "pt", n, () => {
    const ids = Array.from({ length: c.seq }, rand);
    return { ids, labels: ids };
  });
  const sft = await write("sft", "sft", n, () => {
    const ids = Array.from({ length: c.seq }, rand);
    return { ids, labels: ids.map((v, t) => (t < c.seq / 2 ? I : v)) };
  });
  const prompt = Array.from({ length: c.seq / 2 }, rand);
  const pairs = await write("pairs", "pairs", 2 * n, () => {
    const ids = [...prompt, ...Array.from({ length: c.seq / 2 }, rand)];
    return { ids, labels: ids.map((v, t) => (t < c.seq / 2 ? I : v)) };
  });
  const opts = { steps: steps + 1, batchSize: c.batch, lr: 1e-4, progress: false, checkMemory: false, log: () => {}, warmupSteps: 0 };
  const results: Record<string, number> = {};
  const run = async (label: string, f: () => Promise<{ tokensPerSecond: number; steps: { tokens: number }[] }>) => {
    const t0 = performance.now();
    const r = await f();
    results[label] = r.tokensPerSecond;
    console.log(`${label.padEnd(14)} ${Math.round(r.tokensPerSecond)} tokens/s (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  };
  const model = () => new CausalLM(parseConfig(hf, name), { seed: 0 });
  console.log(`stages on ${name} (d=${c.d}, ${c.layers} layers, vocab ${c.vocab}, ${c.batch}×${c.seq}), ${steps + 1} steps each, ${threads} threads`);
  await run("pt", () => train(new LanguageModelObjective(model()), rowsSource(pt, { padId: 0 }), opts));
  await run("sft", () => train(new LanguageModelObjective(model()), rowsSource(sft, { padId: 0 }), opts));
  {
    const policy = model();
    const t0 = performance.now();
    const ref = referenceLogps(model(), pairs, { cacheDir: join(dir, "cache"), padId: 0, batchSize: c.batch });
    console.log(`reference log-probs of ${pairs.rows} rows: ${((performance.now() - t0) / 1000).toFixed(1)} s (once, then cached)`);
    const obj = new PreferenceObjective(policy, { loss: "sigmoid", beta: 0.1, ftx: 1 });
    await run("dpo cached", () => train(obj, pairsSource(pairs, { padId: 0, refLogps: ref.logps }), { ...opts, batchSize: c.batch / 2 }));
    const obj2 = new PreferenceObjective(model(), { loss: "sigmoid", beta: 0.1, ftx: 1 });
    await run("dpo uncached", () => train(new UncachedReference(obj2, model()), pairsSource(pairs, { padId: 0 }), { ...opts, batchSize: c.batch / 2 }));
  }
  {
    const m = model();
    const a = LoraAdapter.create(m, { ...LORA_DEFAULTS, r: 8, alpha: 16, experts: 4 }, { seed: 0 });
    a.attach(m);
    const lm = new LanguageModelObjective(m);
    const obj: Objective<LossInput> = {
      name: "moe_lora", trainable: () => a.parameters(),
      loss: (b, ctx) => {
        a.train(ctx.rng);
        return lm.loss(b, ctx);
      },
    };
    await run("moe_lora", () => train(obj, rowsSource(sft, { padId: 0 }), opts));
  }
  type TorchResult = { tokens_per_s: number; best_tokens_per_s: number };
  let torch = null as TorchResult | null;
  let note = "";
  if (!args.includes("--no-torch")) {
    const py = process.env.PEDGPT_TORCH_PYTHON ?? "/usr/bin/python3";
    const script = fileURLToPath(new URL("./stages_torch.py", import.meta.url));
    const r = spawnSync(py, [script, JSON.stringify({ ...c, steps, warmup: 1, threads })], { encoding: "utf8" });
    if (r.status === 0) torch = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as TorchResult;
    else note = `PyTorch reference did not run (${py}): ${(r.stderr || String(r.error)).trim().split("\n").slice(-1)[0]}`;
    if (torch) console.log(`torch sft      ${Math.round(torch.tokens_per_s)} tokens/s (masked step, same shape)`);
    else console.log(note);
  }
  rmSync(dir, { recursive: true, force: true });
  const ratio = torch ? results.sft! / torch.tokens_per_s : null;
  const cacheRatio = results["dpo cached"]! / results["dpo uncached"]!;
  console.log(`dpo cached / uncached: ${cacheRatio.toFixed(2)}×; sft ours / PyTorch: ${ratio === null ? "—" : ratio.toFixed(2) + "×"} (goal ≥ 1.5×)`);
  console.log(JSON.stringify({
    bench: "stages", config: name, metric: "sft tokens/s", ours: Math.round(results.sft!), reference: torch ? Math.round(torch.tokens_per_s) : null, ratio,
    tokensPerSecond: Object.fromEntries(Object.entries(results).map(([k, v]) => [k, Math.round(v)])), dpoCacheRatio: cacheRatio, threads, ...(note ? { note } : {}),
  }));
}
