/**
 * `pedgpt pipeline run PIPELINE.yaml` and `pedgpt pipeline status <PIPELINE.yaml | out_dir>`: corpus →
 * tokenizer → model → stages → evaluation with a manifest, skip-unchanged and resume
 * (src/train/pipeline/). Option parsing only.
 */
import { existsSync, statSync } from "node:fs";
import { InvalidArgumentError, type Command } from "commander";
import type { Backend, Device, Precision } from "../../train/recipe.js";
import { loadPipeline } from "../../train/pipeline/config.js";
import { pipelineStatus, runPipeline } from "../../train/pipeline/run.js";

const oneOf = <T extends string>(flag: string, values: readonly T[]) => (v: string): T => {
  if (!(values as readonly string[]).includes(v)) throw new InvalidArgumentError(`${flag} must be one of ${values.join(", ")}, got "${v}"`);
  return v as T;
};

export function register(program: Command): void {
  const cmd = program.command("pipeline").description("run the whole training pipeline from one file, or show where a run stands");
  cmd
    .command("run")
    .description("corpus build → tokenizer → starting model → stages → held-out evaluation (unchanged steps skipped, a killed run resumed)")
    .argument("<pipeline>", "pipeline file (YAML)")
    .option("--no-progress", "no progress line")
    .option("--backend <backend>", "every stage on engine or torch (wins over the recipes' backend; a change redoes the stages)", oneOf("--backend", ["engine", "torch"] as const))
    .option("--nproc-per-node <n>", "torch stages: processes on this machine", (v: string) => {
      if (!/^\d+$/.test(v) || Number(v) < 1) throw new InvalidArgumentError(`--nproc-per-node must be an integer >= 1, got "${v}"`);
      return Number(v);
    })
    .option("--device <device>", "torch stages: auto, cpu or cuda", oneOf("--device", ["auto", "cpu", "cuda"] as const))
    .option("--precision <precision>", "torch stages: auto, fp32 or bf16", oneOf("--precision", ["auto", "fp32", "bf16"] as const))
    .option("--python <path>", "torch stages: Python interpreter with PyTorch")
    .action(async (file: string, o: { progress: boolean; backend?: Backend; nprocPerNode?: number; device?: Device; precision?: Precision; python?: string }) => {
      const { progress, ...stages } = o;
      const r = await runPipeline(loadPipeline(file), { progress, stages });
      if (r.table) console.log(r.table);
      console.log(`done in ${r.seconds.toFixed(0)} s; report: ${r.manifest.outDir}/report.md; chat: pedgpt chat --model ${r.final.model}${r.final.adapter ? ` --adapter ${r.final.adapter}` : ""}`);
    });
  cmd
    .command("status")
    .description("the steps of a pipeline run: done, skipped, running (with its training step), failed")
    .argument("<pipeline-or-dir>", "the pipeline file or its out_dir")
    .action((target: string) => {
      const dir = existsSync(target) && statSync(target).isDirectory() ? target : loadPipeline(target).outDir;
      for (const l of pipelineStatus(dir)) console.log(l);
    });
}
