/** `pedgpt quickstart`: the README's main job (see src/train/quickstart.ts). */
import type { Command } from "commander";
import { DEFAULT_BATCH, DEFAULT_STEPS, runQuickstart } from "../../train/index.js";

function positiveInt(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer, got "${v}"`);
    return n;
  };
}

function seedInt(v: string): number {
  const n = Number(v);
  if (v.trim() === "" || !Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new Error(`--seed must be an integer in [0, 2^32), got "${v}"`);
  return n;
}

export function register(program: Command): void {
  program
    .command("quickstart")
    .description("the whole pipeline on the bundled corpus: tokenizer, a tiny model from scratch, CPT → SFT → DFPO → MoE-LoRA, held-out effect table, samples")
    .option("--out <dir>", "output directory", "runs/quickstart")
    .option("--steps <n>", "CPT training steps", positiveInt("steps"), DEFAULT_STEPS)
    .option("--batch-size <n>", "CPT blocks per step", positiveInt("batch-size"), DEFAULT_BATCH)
    .option("--block-size <n>", "CPT tokens per block", positiveInt("block-size"), 128)
    .option("--vocab-size <n>", "tokenizer vocabulary", positiveInt("vocab-size"), 3000)
    .option("--preset <name>", "model preset", "tiny-llama")
    .option("--seed <n>", "random seed (an integer in [0, 2^32))", seedInt, 0)
    .addHelpText("after", "\nRunning it again on the same --out skips the steps whose inputs are unchanged and resumes a killed stage from its last checkpoint.")
    .action(async (opts: { out: string; steps: number; batchSize: number; blockSize: number; vocabSize: number; preset: string; seed: number }) => {
      await runQuickstart({
        outDir: opts.out,
        steps: opts.steps,
        batchSize: opts.batchSize,
        blockSize: opts.blockSize,
        vocabSize: opts.vocabSize,
        preset: opts.preset,
        seed: opts.seed,
      });
    });
}
