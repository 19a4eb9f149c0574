/**
 * `pedgpt train RECIPE.yaml [--resume] [--backend engine|torch] [torchrun options]`: one training stage
 * from a recipe with LLaMA-Factory's keys (src/train/recipe.ts); the work is in src/train/stages/run.ts
 * (the engine) and src/train/torch/ (PyTorch under torchrun). Option parsing only.
 */
import { InvalidArgumentError, type Command } from "commander";
import type { Backend } from "../../train/recipe.js";
import type { LaunchOptions } from "../../train/torch/launch.js";
import { loadRecipe } from "../../train/recipe.js";
import { runStage } from "../../train/stages/run.js";

const int = (flag: string, min: number) => (v: string): number => {
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || !Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${flag} must be an integer >= ${min}, got "${v}"`);
  return n;
};
const oneOf = <T extends string>(flag: string, values: readonly T[]) => (v: string): T => {
  if (!(values as readonly string[]).includes(v)) throw new InvalidArgumentError(`${flag} must be one of ${values.join(", ")}, got "${v}"`);
  return v as T;
};

type TrainFlags = LaunchOptions & { resume?: boolean; progress: boolean; backend?: Backend };

export function register(program: Command): void {
  program
    .command("train")
    .description("run one training stage (pt, sft, dpo; full, lora or moe_lora) from a LLaMA-Factory-style YAML recipe, on our engine or on PyTorch")
    .argument("<recipe>", "recipe file (YAML)")
    .option("--resume", "continue the run in output_dir from its newest checkpoint")
    .option("--no-progress", "no progress line")
    .option("--backend <backend>", "engine (this process, CPU) or torch (PyTorch under torchrun; DDP on CPU or CUDA)", oneOf("--backend", ["engine", "torch"] as const))
    .option("--nproc-per-node <n>", "torch: processes on this machine, one per GPU (the global batch is per_device × accumulation × all processes)", int("--nproc-per-node", 1))
    .option("--nnodes <m>", "torch: machines taking part; run the same command on each with its --node-rank", int("--nnodes", 1))
    .option("--rdzv-endpoint <host:port>", "torch, --nnodes > 1: rendezvous address every node reaches (e.g. the first node's, a free port)")
    .option("--rdzv-id <id>", "torch: job name shared by all nodes (default: derived from output_dir)")
    .option("--node-rank <r>", "torch: this machine's rank, 0 … nnodes-1", int("--node-rank", 0))
    .option("--device <device>", "torch: auto (CUDA when available), cpu or cuda", oneOf("--device", ["auto", "cpu", "cuda"] as const))
    .option("--precision <precision>", "torch: auto (bf16 autocast on GPUs that support it), fp32 or bf16", oneOf("--precision", ["auto", "fp32", "bf16"] as const))
    .option("--python <path>", "torch: Python interpreter with PyTorch (default: PEDGPT_PYTHON, else python3 or /usr/bin/python3 with torch)")
    .addHelpText("after", "\nFlags win over the recipe's keys (backend, nproc_per_node, device, precision). Ctrl-C stops after a checkpoint; --resume continues.")
    .action(async (file: string, o: TrainFlags) => {
      const recipe = loadRecipe(file);
      const ctrl = new AbortController();
      const onSigint = () => ctrl.abort();
      process.once("SIGINT", onSigint);
      try {
        // Commander sets only the flags given, so the torch launch options pass through as they are.
        const { resume, progress, ...launch } = o;
        const report = await runStage(recipe, { ...launch, resume: resume === true, progress, signal: ctrl.signal });
        console.log(`${report.outputDir}: ${report.stage}/${report.finetuningType} on ${report.backend}${report.torch ? ` (${report.torch.worldSize} × ${report.torch.device})` : ""}, ${report.training.steps} steps, loss ${report.training.firstLoss.toFixed(3)} → ${report.training.finalLoss.toFixed(3)} (stage_report.json)`);
      } finally {
        process.off("SIGINT", onSigint);
      }
    });
}
