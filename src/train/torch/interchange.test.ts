/**
 * Checkpoints and adapters moving between the backends, and the Python package's own suite:
 * - the unittest suite of python/pedgpt_torch (formats, the random-stream port against the TS fixture
 *   test/fixtures/torch/streams.json, model and adapter math against the float64 reference fixtures,
 *   the trainer in one process) runs here when a Python with torch is found;
 * - a model and a MoE-LoRA adapter trained by our engine load in torch with equal logits (≤ 1e-4
 *   relative), for Llama, Qwen2 and Baichuan2 (NormHead, ALiBi) checkpoints too; the batch packs two
 *   documents in one row (segment-restricted attention, restarting positions) and pads the other;
 * - a model and a MoE-LoRA trained by torch load in our engine with equal logits (its file layout:
 *   transposed expert tensors, routers);
 * - an engine-trained model continues training on torch (with an engine LoRA merged first) with the
 *   engine's own loss curve.
 * Skipped, with the reason, only when no Python with torch is found (CI installs python3-torch).
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { generateCorpus } from "../../../scripts/fixtures/tokenizer_corpus.js";
import { tempDir } from "../../../test/helpers/tempdir.js";
import { torchForTests } from "../../../test/helpers/torch.js";
import { Tape } from "../../engine/index.js";
import { loadAdapter } from "../../model/adapters/index.js";
import { CausalLM, loadModel, parseConfig, presetConfig, saveModel } from "../../model/index.js";
import { loadTokenizer, saveTrainedBpe, trainBpeTokenizer } from "../../tokenizer/index.js";
import { parseRecipe } from "../recipe.js";
import { runStage } from "../stages/run.js";
import { pythonPackageRoot } from "./launch.js";

const found = { python: torchForTests("torch interchange tests")?.python ?? null };

const tmp = tempDir("pedgpt-torch-interchange-");
const base = join(tmp, "base");
const data = join(tmp, "data");
const quiet = { log: () => {}, progress: false, checkMemory: false };
const cacheDir = join(tmp, "cache");

function py(args: string[], cwd?: string): string {
  const r = spawnSync(found.python!, args, { cwd, encoding: "utf8", env: { ...process.env, PYTHONPATH: pythonPackageRoot(), OMP_NUM_THREADS: "1" }, timeout: 300_000 });
  if (r.status !== 0) throw new Error(`${args.join(" ")} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout + r.stderr;
}

// Two right-padded rows of token ids shared by both backends: the first packs two documents
// (segments 1 and 2, positions restarting), the second is one document padded after 7 tokens.
const B = 2;
const T = 12;
function batch(vocab: number): { ids: Int32Array; mask: Uint8Array; positions: Int32Array; segments: Int32Array } {
  const ids = new Int32Array(B * T);
  const mask = new Uint8Array(B * T);
  const positions = new Int32Array(B * T);
  const segments = new Int32Array(B * T);
  for (let i = 0; i < B * T; i++) {
    const t = i % T;
    const real = i < T || t < 7;
    ids[i] = real ? 3 + ((i * 37) % (vocab - 3)) : 0;
    mask[i] = real ? 1 : 0;
    segments[i] = i < T && t >= 6 ? 2 : 1;
    positions[i] = !real ? 0 : i < T && t >= 6 ? t - 6 : t;
  }
  return { ids, mask, positions, segments };
}

async function engineLogits(modelDir: string, adapterDir?: string): Promise<{ logits: Float32Array; V: number }> {
  const model = await loadModel(modelDir);
  if (adapterDir) {
    const a = await loadAdapter(adapterDir, model);
    a.attach(model);
    a.eval();
  }
  const { ids, mask, positions, segments } = batch(model.config.vocabSize);
  const logits = new Tape().infer(() => Float32Array.from(model.forward({ ids, B, T, attentionMask: mask, positions, segmentIds: segments }).data));
  return { logits, V: model.config.vocabSize };
}

interface LogitsJob { model: string; V: number; adapter?: string; save?: string }

/** torch's logits for each job, computed in one Python process (torch is imported once). */
function torchLogits(jobs: LogitsJob[]): Float32Array[] {
  const rows = (a: ArrayLike<number>) => Array.from({ length: B }, (_, b) => Array.from(a).slice(b * T, (b + 1) * T));
  const id = Math.random().toString(36).slice(2);
  const specs = jobs.map((j, i) => {
    const { ids, mask, positions, segments } = batch(j.V);
    const bfile = join(tmp, `batch-${id}-${i}.json`);
    writeFileSync(bfile, JSON.stringify({ ids: rows(ids), mask: rows(mask), positions: rows(positions), segments: rows(segments) }));
    return { model: j.model, adapter: j.adapter ?? null, batch: bfile, out: `${bfile}.bin`, save: j.save ?? null };
  });
  const jobsFile = join(tmp, `jobs-${id}.json`);
  writeFileSync(jobsFile, JSON.stringify(specs));
  py(["-m", "pedgpt_torch.logits", "--jobs", jobsFile]);
  return specs.map((s) => {
    const buf = readFileSync(s.out);
    return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length));
  });
}

/** Max |a − b| over real positions, relative to max |b|. */
function relDiff(a: Float32Array, b: Float32Array, V: number): number {
  expect(a.length).toBe(b.length);
  const { mask } = batch(V);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    if (!mask[Math.floor(i / V)]) continue;
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / scale;
}

const losses = (dir: string): number[] => readFileSync(join(dir, "metrics.jsonl"), "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as { step: number; loss?: number }).filter((l) => l.step > 0).map((l) => l.loss!);

beforeAll(async () => {
  if (!found.python) return;
  const t = trainBpeTokenizer(generateCorpus(300, 11), { vocabSize: 320, chatTemplateId: "default" });
  saveTrainedBpe(t, base);
  const tok = loadTokenizer(base);
  const cfg = parseConfig(presetConfig("tiny-qwen2", { vocab_size: tok.vocabSize, bos_token_id: tok.bosId, eos_token_id: tok.eosId, pad_token_id: tok.padId, num_hidden_layers: 2, max_position_embeddings: 128 }), "preset");
  await saveModel(new CausalLM(cfg, { seed: 5 }), base, { metadata: { template: "default" } });
  mkdirSync(data, { recursive: true });
  const qa = Array.from({ length: 24 }, (_, i) => ({ instruction: `宝宝咳嗽第${i % 5}天要紧吗？`, input: "", output: `注意休息，多喝水，第${i % 4}天复诊。` }));
  writeFileSync(join(data, "sft.jsonl"), qa.map((r) => JSON.stringify(r)).join("\n") + "\n");
  writeFileSync(join(data, "dataset_info.json"), JSON.stringify({ sft: { file_name: "sft.jsonl" } }));
});

const recipe = (extra: Record<string, unknown>) => parseRecipe({
  model_name_or_path: base, dataset_dir: data, stage: "sft", dataset: "sft", cutoff_len: 40, per_device_train_batch_size: 2,
  gradient_accumulation_steps: 2, learning_rate: 2e-3, warmup_steps: 1, max_steps: 4, save_steps: 4, seed: 9, logging_steps: 1, ...extra,
});
// Two ranks of one thread each: on a small shared machine faster than one rank of two threads.
const onTorch = { ...quiet, cacheDir, backend: "torch" as const, nprocPerNode: 2, device: "cpu" as const };

describe.skipIf(!found.python)("the PyTorch trainer package", () => {
  it("passes its unittest suite (streams against the TS fixture, model and adapter math, the trainer)", () => {
    const out = py(["-m", "unittest", "discover", "-s", "tests", "-t", "."], pythonPackageRoot());
    expect(out).toMatch(/\nOK\b/);
  });
});

describe.skipIf(!found.python)("checkpoints and adapters between the backends", () => {
  it("random checkpoints of every architecture: engine-written load in torch, torch-written load in the engine, equal logits", async () => {
    const presets = ["tiny-llama", "tiny-baichuan", "tiny-baichuan-alibi"];
    const engine: { logits: Float32Array; V: number }[] = [];
    for (const preset of presets) {
      const dir = join(tmp, `ckpt-${preset}`);
      const cfg = parseConfig(presetConfig(preset, { num_hidden_layers: 2, vocab_size: 300 }), "preset");
      await saveModel(new CausalLM(cfg, { seed: 2 }), dir);
      engine.push(await engineLogits(dir));
    }
    const torch = torchLogits(presets.map((p, i) => ({ model: join(tmp, `ckpt-${p}`), V: engine[i]!.V, save: join(tmp, `ckpt-${p}-torch`) })));
    for (const [i, preset] of presets.entries()) {
      const V = engine[i]!.V;
      const rel = relDiff(torch[i]!, engine[i]!.logits, V);
      const again = relDiff((await engineLogits(join(tmp, `ckpt-${preset}-torch`))).logits, torch[i]!, V);
      console.log(`[torch interchange] ${preset}: logits engine→torch ${rel.toExponential(2)}, torch-saved→engine ${again.toExponential(2)}`);
      expect(rel).toBeLessThan(1e-4);
      expect(again).toBeLessThan(1e-4);
    }
  });

  it("a model and a MoE-LoRA trained by the engine load in torch with equal logits", async () => {
    const full = join(tmp, "engine-full");
    const moe = join(tmp, "engine-moe");
    await runStage(recipe({ output_dir: full }), { ...quiet, cacheDir });
    await runStage(recipe({ output_dir: moe, finetuning_type: "moe_lora", lora_nums: 3, lora_rank: 4, learning_rate: 1e-2 }), { ...quiet, cacheDir });
    const e1 = await engineLogits(full);
    const e2 = await engineLogits(base, moe);
    const [t1, t2] = torchLogits([{ model: full, V: e1.V }, { model: base, V: e2.V, adapter: moe }]);
    const r1 = relDiff(t1!, e1.logits, e1.V);
    const r2 = relDiff(t2!, e2.logits, e2.V);
    console.log(`[torch interchange] engine-trained → torch: full model ${r1.toExponential(2)}, MoE-LoRA ${r2.toExponential(2)}`);
    expect(r1).toBeLessThan(1e-4);
    expect(r2).toBeLessThan(1e-4);
  });

  it("a model and a MoE-LoRA trained by torch load in the engine with equal logits", async () => {
    const full = join(tmp, "torch-full");
    const lora = join(tmp, "torch-moe");
    const r = await runStage(recipe({ output_dir: full, gradient_accumulation_steps: 1 }), onTorch);
    expect(r.training.steps).toBe(4);
    await runStage(recipe({ output_dir: lora, finetuning_type: "moe_lora", lora_nums: 3, lora_rank: 4, learning_rate: 1e-2, gradient_accumulation_steps: 1 }), onTorch);
    const e1 = await engineLogits(full);
    const e2 = await engineLogits(base, lora);
    const [t1, t2] = torchLogits([{ model: full, V: e1.V }, { model: base, V: e2.V, adapter: lora }]);
    const r1 = relDiff(e1.logits, t1!, e1.V);
    const r2 = relDiff(e2.logits, t2!, e2.V);
    console.log(`[torch interchange] torch-trained → engine: full model ${r1.toExponential(2)}, MoE-LoRA ${r2.toExponential(2)}`);
    expect(r1).toBeLessThan(1e-4);
    expect(r2).toBeLessThan(1e-4);
  });

  it("an engine-trained model continues training on torch (an engine LoRA merged first, a new LoRA trained) with the engine's loss curve", async () => {
    const start = join(tmp, "engine-start");
    const lora = join(tmp, "engine-lora");
    await runStage(recipe({ output_dir: start }), { ...quiet, cacheDir });
    await runStage(recipe({ model_name_or_path: start, output_dir: lora, finetuning_type: "lora", lora_rank: 4, learning_rate: 1e-2 }), { ...quiet, cacheDir });
    const cont = { model_name_or_path: start, adapter_name_or_path: lora, finetuning_type: "lora", lora_rank: 4, learning_rate: 1e-2, max_steps: 6 };
    const engine = join(tmp, "continue-engine");
    const torch = join(tmp, "continue-torch");
    await runStage(recipe({ ...cont, output_dir: engine }), { ...quiet, cacheDir });
    // the same global batch of 4: the engine 2 micro-batches of 2, torch 2 ranks × 1 micro-batch of 2
    await runStage(recipe({ ...cont, output_dir: torch, gradient_accumulation_steps: 1 }), onTorch);
    const e = losses(engine);
    const t = losses(torch);
    const rel = Math.max(...e.map((x, i) => Math.abs(t[i]! - x) / Math.abs(x)));
    console.log(`[torch interchange] continue on torch: ${t.length} steps, max relative loss difference ${rel.toExponential(2)}`);
    expect(t).toHaveLength(6);
    expect(rel).toBeLessThan(1e-4);
  });
});
