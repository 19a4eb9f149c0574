/**
 * `pedgpt train RECIPE.yaml [--resume]`: one training stage from a recipe with LLaMA-Factory's keys
 * (src/train/recipe.ts); the work is in src/train/stages/run.ts. Option parsing only.
 */
import type { Command } from "commander";
import { loadRecipe } from "../../train/recipe.js";
import { runStage } from "../../train/stages/run.js";

export function register(program: Command): void {
  program
    .command("train")
    .description("run one training stage (pt, sft, dpo; full, lora or moe_lora) from a LLaMA-Factory-style YAML recipe")
    .argument("<recipe>", "recipe file (YAML)")
    .option("--resume", "continue the run in output_dir from its newest checkpoint")
    .option("--no-progress", "no progress line")
    .action(async (file: string, o: { resume?: boolean; progress: boolean }) => {
      const recipe = loadRecipe(file);
      const report = await runStage(recipe, { resume: o.resume === true, progress: o.progress });
      console.log(`${report.outputDir}: ${report.stage}/${report.finetuningType}, ${report.training.steps} steps, loss ${report.training.firstLoss.toFixed(3)} → ${report.training.finalLoss.toFixed(3)} (stage_report.json)`);
    });
}
