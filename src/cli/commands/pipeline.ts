/**
 * `pedgpt pipeline run PIPELINE.yaml` and `pedgpt pipeline status <PIPELINE.yaml | out_dir>`: corpus →
 * tokenizer → model → stages → evaluation with a manifest, skip-unchanged and resume
 * (src/train/pipeline/). Option parsing only.
 */
import { existsSync, statSync } from "node:fs";
import type { Command } from "commander";
import { loadPipeline } from "../../train/pipeline/config.js";
import { pipelineStatus, runPipeline } from "../../train/pipeline/run.js";

export function register(program: Command): void {
  const cmd = program.command("pipeline").description("run the whole training pipeline from one file, or show where a run stands");
  cmd
    .command("run")
    .description("corpus build → tokenizer → starting model → stages → held-out evaluation (unchanged steps skipped, a killed run resumed)")
    .argument("<pipeline>", "pipeline file (YAML)")
    .option("--no-progress", "no progress line")
    .action(async (file: string, o: { progress: boolean }) => {
      const r = await runPipeline(loadPipeline(file), { progress: o.progress });
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
