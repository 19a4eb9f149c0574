/**
 * The cost of handing a stage to PyTorch: `npm run bench -- torch-backend [small|tiny] [--steps N]
 * [--device cuda [--peak-tflops T] [--batch B]]`.
 *
 * One full-SFT recipe on a random Llama of `bench -- train`'s sizes (small: d=768, 12 layers, seq 512)
 * run three ways through `runStage`: our engine in this process, the torch backend with one process,
 * and with two ranks (gloo, DDP) — the same global batch and data. Reports each run's training tokens/s
 * (from its stage report) and its wall time (start-up, torchrun, saving included), and the ratios to
 * the engine. Uses /usr/bin/python3's Debian torch (or PEDGPT_PYTHON). With `--device cuda` (a GPU
 * machine) only the torch backend runs, with one process per GPU, and its model FLOPs utilisation is
 * reported against `--peak-tflops` (the GPU's dense bf16 peak): 6 × parameters × tokens/s ÷ peak;
 * `--batch` sets the rows per GPU. That path has not run here (no GPU on the machine it was written on).
 * Ends with one JSON line. Not a test.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateCorpus } from "../scripts/fixtures/tokenizer_corpus.js";
import { getThreads } from "../src/engine/kernels/index.js";
import { CausalLM, parseConfig, saveModel } from "../src/model/index.js";
import { saveTrainedBpe, trainBpeTokenizer, loadTokenizer } from "../src/tokenizer/index.js";
import { parseRecipe } from "../src/train/recipe.js";
import { planStage } from "../src/train/stages/plan.js";
import { runStage, type StageReport } from "../src/train/stages/run.js";
import { findPython } from "../src/train/torch/python.js";

const CONFIGS = {
  tiny: { d: 256, layers: 4, heads: 4, ffn: 704, vocab: 32000, seq: 256, batch: 4 },
  small: { d: 768, layers: 12, heads: 12, ffn: 2048, vocab: 32000, seq: 512, batch: 2 },
} as const;

export default async function main(args: string[]): Promise<void> {
  const name = (args.find((a) => a in CONFIGS) ?? "small") as keyof typeof CONFIGS;
  const c = CONFIGS[name];
  const stepsArg = args.indexOf("--steps");
  const steps = stepsArg >= 0 ? Number(args[stepsArg + 1]) : 2;
  if (!Number.isInteger(steps) || steps < 2) throw new Error(`--steps must be an integer >= 2 (the first step warms up), got ${args[stepsArg + 1]}`);
  const deviceArg = args.indexOf("--device");
  const cuda = deviceArg >= 0 && args[deviceArg + 1] === "cuda";
  if (deviceArg >= 0 && !cuda) throw new Error(`--device takes cuda (the CPU comparison is the default), got ${args[deviceArg + 1]}`);
  const peakArg = args.indexOf("--peak-tflops");
  const peak = peakArg >= 0 ? Number(args[peakArg + 1]) : null;
  if (peak !== null && !(peak > 0)) throw new Error(`--peak-tflops must be a number > 0, got ${args[peakArg + 1]}`);
  const batchArg = args.indexOf("--batch");
  const gpuBatch = batchArg >= 0 ? Number(args[batchArg + 1]) : c.batch;
  if (!Number.isInteger(gpuBatch) || gpuBatch < 1) throw new Error(`--batch must be an integer >= 1, got ${args[batchArg + 1]}`);
  const py = findPython();
  if (cuda && !py.cudaAvailable) throw new Error(`--device cuda: torch ${py.torchVersion} at ${py.python} sees no CUDA GPU`);
  const threads = getThreads();
  console.error(`torch-backend bench: ${name} (d=${c.d}, ${c.layers} layers, seq ${c.seq}), sft full, ${steps} steps of ${c.batch} rows; ${threads} threads; torch ${py.torchVersion} at ${py.python}`);

  const dir = mkdtempSync(join(tmpdir(), "pedgpt-bench-torch-"));
  try {
    const base = join(dir, "base");
    saveTrainedBpe(trainBpeTokenizer(generateCorpus(600, 7), { vocabSize: 600, chatTemplateId: "default" }), base);
    const tok = loadTokenizer(base);
    const cfg = parseConfig({
      architectures: ["LlamaForCausalLM"], vocab_size: c.vocab, hidden_size: c.d, intermediate_size: c.ffn, num_hidden_layers: c.layers,
      num_attention_heads: c.heads, num_key_value_heads: c.heads, max_position_embeddings: c.seq, rms_norm_eps: 1e-6, tie_word_embeddings: false,
      bos_token_id: tok.bosId, eos_token_id: tok.eosId, pad_token_id: tok.padId,
    }, "bench");
    await saveModel(new CausalLM(cfg, { seed: 1 }), base, { metadata: { template: "default" } });
    // Long answers packed into full rows, so every step trains on batch × seq tokens.
    const data = join(dir, "data");
    mkdirSync(data);
    const docs = generateCorpus(400, 11);
    // Enough rows that no run repeats an epoch (a GPU run may take many rows per step).
    const examples = Math.max(200, 2 * steps * (cuda ? py.cudaDevices * gpuBatch : c.batch));
    const rows = Array.from({ length: examples }, (_, i) => ({ instruction: docs[i % docs.length]!.slice(0, 40), input: "", output: Array.from({ length: 6 }, (_, k) => docs[(i + k) % docs.length]!).join("") }));
    writeFileSync(join(data, "sft.jsonl"), rows.map((r) => JSON.stringify(r)).join("\n") + "\n");
    writeFileSync(join(data, "dataset_info.json"), JSON.stringify({ sft: { file_name: "sft.jsonl" } }));

    const cacheDir = join(dir, "tokenized");
    const run = async (label: string, extra: Record<string, unknown>): Promise<StageReport & { label: string }> => {
      const out = join(dir, label);
      const t0 = performance.now();
      const r = await runStage(parseRecipe({
        stage: "sft", finetuning_type: "full", model_name_or_path: base, dataset_dir: data, dataset: "sft", cutoff_len: c.seq, packing: true,
        max_steps: steps, learning_rate: 1e-4, lr_scheduler_type: "constant", save_steps: 100_000, seed: 0, output_dir: out, ...extra,
      }), { cacheDir, progress: false, log: () => {} });
      const wall = (performance.now() - t0) / 1000;
      console.error(`  ${label.padEnd(14)} ${r.training.tokensPerSecond.toFixed(0).padStart(7)} tok/s training, ${wall.toFixed(1)} s wall (${r.training.seconds.toFixed(1)} s training)`);
      rmSync(out, { recursive: true, force: true });
      return { ...r, seconds: wall, label };
    };
    const params = 2 * c.vocab * c.d + c.layers * (4 * c.d * c.d + 3 * c.d * c.ffn + 2 * c.d) + c.d;
    if (cuda) {
      await planStage(parseRecipe({ stage: "sft", model_name_or_path: base, dataset_dir: data, dataset: "sft", cutoff_len: c.seq, packing: true, output_dir: join(dir, "plan") }), { cacheDir, log: () => {} });
      const gpus = py.cudaDevices;
      const g = await run(`torch ${gpus} GPU`, { backend: "torch", device: "cuda", nproc_per_node: gpus, per_device_train_batch_size: gpuBatch });
      const tps = g.training.tokensPerSecond;
      const mfu = peak !== null ? (6 * params * tps) / (peak * 1e12 * gpus) : null;
      console.error(`  ${(params / 1e6).toFixed(0)} M parameters: ${tps.toFixed(0)} tok/s on ${gpus} GPU(s), ${g.torch?.precision}${mfu !== null ? `, MFU ${(100 * mfu).toFixed(1)}% of ${peak} TFLOPS per GPU` : " (give --peak-tflops for MFU)"}`);
      console.log(JSON.stringify({
        bench: "torch-backend", metric: "training tokens/s on CUDA, sft full", config: name, steps, gpus, precision: g.torch?.precision, torch: py.torchVersion,
        ours: Math.round(tps), reference: peak !== null ? Math.round((peak * 1e12 * gpus) / (6 * params)) : null, ratio: mfu !== null ? Math.round(mfu * 1000) / 1000 : null,
        wallSeconds: Math.round(g.seconds * 10) / 10,
      }));
      return;
    }
    // Tokenize once for all three runs, outside their wall times.
    await planStage(parseRecipe({ stage: "sft", model_name_or_path: base, dataset_dir: data, dataset: "sft", cutoff_len: c.seq, packing: true, output_dir: join(dir, "plan") }), { cacheDir, log: () => {} });
    const engine = await run("engine", { per_device_train_batch_size: c.batch });
    const torch1 = await run("torch 1 proc", { backend: "torch", per_device_train_batch_size: c.batch });
    const torch2 = await run("torch 2 ranks", { backend: "torch", nproc_per_node: 2, per_device_train_batch_size: c.batch / 2 });

    const tps = (r: StageReport) => r.training.tokensPerSecond;
    const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;
    console.error(`  engine / torch (1 proc) ${ratio(tps(engine), tps(torch1))}×, engine / torch (2 ranks) ${ratio(tps(engine), tps(torch2))}×; wall: engine ${engine.seconds.toFixed(1)} s, torch ${torch1.seconds.toFixed(1)} s / ${torch2.seconds.toFixed(1)} s`);
    console.log(JSON.stringify({
      bench: "torch-backend", metric: "training tokens/s, sft full", config: name, steps, threads, torch: py.torchVersion,
      ours: Math.round(tps(engine)), reference: Math.round(tps(torch1)), ratio: ratio(tps(engine), tps(torch1)),
      torch2Ranks: Math.round(tps(torch2)), ratioTo2Ranks: ratio(tps(engine), tps(torch2)),
      wallSeconds: { engine: Math.round(engine.seconds * 10) / 10, torch1: Math.round(torch1.seconds * 10) / 10, torch2: Math.round(torch2.seconds * 10) / 10 },
    }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
