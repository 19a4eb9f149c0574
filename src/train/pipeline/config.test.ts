/**
 * Pipeline files: the bundled quick-start pipeline loads (recipes from files, LLaMA-Factory keys), and
 * mistakes are named: unknown keys, keys the pipeline sets itself, a bad recipe key inside a stage,
 * a tokenizer that does not fit the model choice, duplicate stage names.
 */
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir } from "../../../test/helpers/tempdir.js";
import { loadPipeline } from "./config.js";

const tmp = tempDir("pedgpt-pipecfg-");
const corpus = resolve("configs/corpus/sample.json");

function write(body: string): string {
  const f = join(tmp, `p${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(f, `out_dir: ${join(tmp, "out")}\ncorpus: ${corpus}\n${body}`);
  return f;
}
const stage = "stages:\n  - { name: cpt, recipe: { stage: pt, dataset: pedcorpus_cpt, max_steps: 2 } }\n";

describe("pipeline files", () => {
  it("loads the bundled quick-start pipeline", () => {
    const p = loadPipeline("configs/pipeline/quickstart.yaml");
    expect(p.stages.map((s) => [s.name, s.recipe.stage, s.recipe.finetuning_type])).toEqual([
      ["cpt", "pt", "full"], ["sft", "sft", "full"], ["dfpo", "dpo", "full"], ["moe_lora", "sft", "moe_lora"],
    ]);
    expect(p.stages[2]!.recipe.pref_ftx).toBeGreaterThan(0);
    expect(p.stages[3]!.recipe.lora_nums).toBe(4);
    expect(p.model).toEqual({ preset: "tiny-llama", seed: 0 });
  });

  it.each(["qwen2-0.5b", "qwen2-1.5b", "baichuan2-7b"])("loads the %s pipeline and its four recipes", (m) => {
    const p = loadPipeline(`configs/pipeline/${m}.yaml`);
    expect(p.tokenizer).toEqual({ fromModel: true });
    expect(p.stages.map((s) => s.recipe.stage)).toEqual(["pt", "sft", "dpo", "sft"]);
    expect(p.stages[3]!.recipe).toMatchObject({ finetuning_type: "moe_lora", lora_nums: 4, lora_rank: 8 });
    expect(p.stages[1]!.recipe.template).toBe(m.startsWith("qwen") ? "qwen" : "baichuan2");
  });

  it("names what is wrong", () => {
    expect(() => loadPipeline(write(`model: { preset: tiny-llama }\n${stage}stagez: 1\n`))).toThrow(/unknown key "stagez"/);
    expect(() => loadPipeline(write(`model: { preset: tiny-llama }\nstages:\n  - { name: a, recipe: { stage: pt, dataset: x, output_dir: o } }\n`))).toThrow(/"output_dir" is set by the pipeline/);
    expect(() => loadPipeline(write(`model: { preset: tiny-llama }\nstages:\n  - { name: a, recipe: { stage: pt, dataset: x, learning_rat: 1 } }\n`))).toThrow(/did you mean "learning_rate"/);
    expect(() => loadPipeline(write(`model: { path: m }\n${stage}`))).toThrow(/brings its own tokenizer/);
    expect(() => loadPipeline(write(`tokenizer: { from_model: true }\nmodel: { preset: tiny-llama }\n${stage}`))).toThrow(/needs a trained tokenizer/);
    expect(() => loadPipeline(write(`model: { preset: tiny-llama }\nstages:\n  - { name: a, recipe: { stage: pt, dataset: x } }\n  - { name: a, recipe: { stage: pt, dataset: x } }\n`))).toThrow(/duplicate stage name "a"/);
    expect(() => loadPipeline(join(tmp, "none.yaml"))).toThrow(/cannot read pipeline/);
  });
});
