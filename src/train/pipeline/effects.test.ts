/**
 * The effect table and the per-stage verdicts: a stage that shows its effect says "yes" with the
 * numbers, one that does not says "NO" (never hidden), and the DFPO chosen-NLL bound is applied.
 */
import { describe, expect, it } from "vitest";
import { CHOSEN_NLL_BOUND, effectTable, effectVerdicts, type EffectRow } from "./effects.js";

const row = (model: string, o: Partial<EffectRow>): EffectRow => ({
  model, lm_loss: 5, resp_nll: 5, resp_nll_by_task: { a: 5, b: 5 }, rougeL: 1, bleu1: 1, pref_acc: 0.5, chosen_nll: 5,
  reward_acc: null, reward_margin: null, experts: null, ...o,
});

describe("effects", () => {
  const rows = [
    row("base", { lm_loss: 8 }),
    row("cpt", { lm_loss: 6 }),
    row("sft", { resp_nll: 4.5, rougeL: 3 }),
    row("dfpo", { resp_nll: 4.4, reward_acc: 0.75, reward_margin: 0.3, chosen_nll: 5 + CHOSEN_NLL_BOUND / 2 }),
    row("moe", { resp_nll: 4.5, resp_nll_by_task: { a: 4.9, b: 5.1 }, experts: [0.3, 0.3, 0.4] }),
  ];
  const kinds = { cpt: "pt", sft: "sft", dfpo: "dpo", moe: "moe_lora" } as const;

  it("says for each stage whether it shows its effect", () => {
    const v = effectVerdicts(rows, kinds);
    expect(v[0]).toMatch(/^cpt \(CPT\) lowers held-out LM loss: yes \(8\.000 → 6\.000\)/);
    expect(v[1]).toMatch(/^sft \(SFT\) lowers answer NLL on the test split: yes/);
    expect(v[2]).toMatch(/reward accuracy 0\.75 > 0\.5: yes, margin 0\.300 > 0: yes/);
    expect(v[2]).toMatch(/≤ 0\.1: yes/);
    expect(v[3]).toMatch(/^moe \(MoE-LoRA\) lowers answer NLL: NO \(4\.400 → 4\.500\), per task on 1\/2 \(a\)/);
  });

  it("flags a DFPO stage whose chosen NLL rises past the bound", () => {
    const bad = rows.map((r) => (r.model === "dfpo" ? { ...r, chosen_nll: 5.5 } : r));
    expect(effectVerdicts(bad, kinds)[2]).toMatch(/rise 0\.500 ≤ 0\.1: NO/);
  });

  it("renders one Markdown row per model with a column per task", () => {
    const t = effectTable(rows).split("\n");
    expect(t[0]).toContain("| NLL a | NLL b |");
    expect(t).toHaveLength(2 + rows.length);
    expect(t.at(-1)).toContain("0.30/0.30/0.40");
  });
});
