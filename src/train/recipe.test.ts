/**
 * Recipes: LLaMA-Factory keys and defaults, both generations of preference key names, errors that
 * name the file, line and nearest key, unsupported keys said so, and the bad combinations refused.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir } from "../../test/helpers/tempdir.js";
import { loadRecipe, nearestKey, parseRecipe, RecipeError } from "./recipe.js";

const tmp = tempDir("pedgpt-recipe-");
const base = { stage: "dpo", model_name_or_path: "m", output_dir: "o", dataset: "a,b" };

describe("recipes", () => {
  it("fills LLaMA-Factory defaults and splits dataset lists", () => {
    const r = parseRecipe(base);
    expect(r.dataset).toEqual(["a", "b"]);
    expect([r.pref_beta, r.pref_loss, r.pref_ftx, r.finetuning_type, r.cutoff_len, r.lora_rank, r.lora_alpha]).toEqual([0.1, "sigmoid", 0, "full", 1024, 8, 16]);
    expect(parseRecipe({ ...base, stage: "pt" }).packing).toBe(true);
  });

  it("accepts the seed's dpo_* names and the newer pref_* names, not both", () => {
    const seed = parseRecipe({ ...base, dpo_beta: 0.2, dpo_ftx: 1, dpo_loss: "ipo" });
    const newer = parseRecipe({ ...base, pref_beta: 0.2, pref_ftx: 1, pref_loss: "ipo" });
    expect(seed).toEqual(newer);
    expect(() => parseRecipe({ ...base, dpo_beta: 0.2, pref_beta: 0.3 })).toThrow(/"pref_beta" and "dpo_beta" both set pref_beta|"dpo_beta" and "pref_beta"/);
    expect(parseRecipe({ ...base, stage: "sft", finetuning_type: "moe_lora", lora_nums: 8 }).lora_nums).toBe(8);
  });

  it("names the file, the line and the nearest known key", () => {
    const f = join(tmp, "r.yaml");
    writeFileSync(f, "stage: sft\nmodel_name_or_path: m\noutput_dir: o\ndataset: a\nlearning_rat: 1e-4\n");
    expect(() => loadRecipe(f)).toThrow(new RegExp(`${f.replace(/[.]/g, "\\.")}:5: unknown key "learning_rat"; did you mean "learning_rate"\\?`));
    expect(nearestKey("warmup_ratoi")).toBe("warmup_ratio");
    expect(nearestKey("lora_num")).toBe("lora_nums");
    writeFileSync(f, "stage: sft\nmodel_name_or_path: m\noutput_dir: o\ndataset: a\nbf16: true\n");
    expect(() => loadRecipe(f)).toThrow(/:5: LLaMA-Factory key "bf16" is not supported/);
    writeFileSync(f, "stage: sft\nmodel_name_or_path: m\noutput_dir: o\ndataset: a\ncutoff_len: many\n");
    expect(() => loadRecipe(f)).toThrow(/:5: "cutoff_len" must be an integer, got "many"/);
    writeFileSync(f, "stage: [\n");
    expect(() => loadRecipe(f)).toThrow(/invalid YAML/);
  });

  it("refuses bad values and combinations before any work", () => {
    expect(() => parseRecipe({ ...base, stage: "ppo" })).toThrow(/"stage" must be one of pt, sft, dpo/);
    expect(() => parseRecipe({ ...base, pref_loss: "kto_pair" })).toThrow(/one of sigmoid, hinge, ipo, simpo, orpo/);
    expect(() => parseRecipe({ ...base, adapter_name_or_path: "a" })).toThrow(/adapter was given but finetuning_type is full/);
    expect(() => parseRecipe({ ...base, finetuning_type: "moe_lora" })).toThrow(/moe_lora is an SFT stage/);
    expect(() => parseRecipe({ stage: "sft", model_name_or_path: "m", dataset: "a" })).toThrow(/missing required key "output_dir"/);
    expect(() => parseRecipe({ ...base, learning_rate: -1 })).toThrow(RecipeError);
    expect(() => parseRecipe({ ...base, max_steps: 0 })).toThrow(/max_steps/);
  });
});
