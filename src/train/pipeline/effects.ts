/**
 * Each stage's effect on held-out data, as the paper's ablation table: every model of the pipeline
 * (the starting model and each stage's output) measured on the corpus's test split, which no stage
 * trains on:
 *   lm_loss        mean next-token loss on held-out pediatric text (test instructions + answers as text)
 *   resp_nll       mean NLL of the answer tokens of the SFT test sets (per task too)
 *   rougeL, bleu1  paper metrics of greedy answers to test prompts
 *   pref_acc       share of held-out preference pairs whose chosen answer has the higher mean log-prob
 *   reward_acc, reward_margin   DPO implicit rewards β·(log π − log π_ref) vs the DPO stage's starting
 *                  model (TRL's rewards/accuracies and rewards/margins on held-out pairs)
 *   chosen_nll     mean NLL per token of the chosen answers (DFPO must not raise it much)
 *   experts        MoE-LoRA router usage on the test sets (mean gate per routed expert)
 *
 * The held-out sets are found by the corpus builder's dataset names (…_test_sharegpt, …_test_alpaca,
 * …dfpo_test in dataset_info.json); a corpus without them cannot be measured here and says so.
 *
 * Not here: training (stages/), the metric definitions (eval/metrics/).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Tape } from "../../engine/index.js";
import { evaluatePairs } from "../../eval/metrics/index.js";
import { loadAdapter, type LoraAdapter } from "../../model/adapters/index.js";
import { generate, loadModel, type CausalLM } from "../../model/index.js";
import { renderChat, stopTokenIds, type Tokenizer } from "../../tokenizer/index.js";
import { DatasetWriter, TokenDataset } from "../data/format.js";
import { collateRows } from "../stages/batch.js";
import { prepareDataset } from "../stages/dataset.js";
import { rowLogps } from "../stages/preference.js";

export interface EffectRow {
  model: string;
  lm_loss: number;
  resp_nll: number;
  resp_nll_by_task: Record<string, number>;
  rougeL: number | null;
  bleu1: number | null;
  pref_acc: number;
  chosen_nll: number;
  reward_acc: number | null;
  reward_margin: number | null;
  experts: number[] | null;
}

export interface HeldOut {
  text: TokenDataset;
  sft: TokenDataset;
  byTask: Record<string, TokenDataset>;
  pairs: TokenDataset;
  prompts: { prompt: string; reference: string }[];
}

interface AlpacaRow {
  instruction: string;
  input?: string;
  output: string;
}

function readJsonl<T>(file: string): T[] {
  return readFileSync(file, "utf8").split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l) as T);
}

/** Tokenizes the corpus's test split once for every model (same tokenizer and template throughout). */
export async function buildHeldOut(corpusDir: string, tokenizer: Tokenizer, tokHash: string, template: string, outDir: string, o: { cutoffLen: number; maxRows: number; prompts: number }): Promise<HeldOut> {
  const registry = join(corpusDir, "dataset_info.json");
  const reg = JSON.parse(readFileSync(registry, "utf8")) as Record<string, { file_name: string }>;
  const testSets = Object.keys(reg).filter((k) => /_test_sharegpt$/.test(k) && k !== "pedcorpus_dfpo_test");
  const base = { registry, tokenizer, tokenizerHash: tokHash, template, cutoffLen: o.cutoffLen, maxSamples: o.maxRows, overwrite: true };
  await prepareDataset({ ...base, kind: "sft", datasets: testSets, outDir: join(outDir, "sft_test") });
  const byTask: Record<string, TokenDataset> = {};
  for (const name of testSets) {
    const task = name.replace(/^pedcorpus_/, "").replace(/_test_sharegpt$/, "");
    await prepareDataset({ ...base, kind: "sft", datasets: [name], outDir: join(outDir, `task_${task}`) });
    byTask[task] = new TokenDataset(join(outDir, `task_${task}`));
  }
  const pairsName = Object.keys(reg).find((k) => /dfpo_test$/.test(k));
  if (!pairsName) throw new Error(`${registry}: no held-out preference set (…dfpo_test)`);
  await prepareDataset({ ...base, kind: "pairs", datasets: [pairsName], outDir: join(outDir, "pairs_test") });

  // Held-out text: the test instructions and answers as plain documents, one per row (+ EOS).
  const rows: AlpacaRow[] = [];
  for (const name of Object.keys(reg).filter((k) => /_test_alpaca$/.test(k))) rows.push(...readJsonl<AlpacaRow>(join(corpusDir, reg[name]!.file_name)).slice(0, o.maxRows));
  const w = await DatasetWriter.open(join(outDir, "text_test"), "pt", { overwrite: true });
  for (const r of rows) {
    const ids = [...tokenizer.encode(`${r.instruction}${r.input ? "\n" + r.input : ""}\n${r.output}`, { addSpecialTokens: false }), tokenizer.eosId!].slice(0, o.cutoffLen);
    w.add({ ids, labels: ids });
  }
  w.finish({ stage: "heldout-text", documents: rows.length });
  const prompts = rows.filter((_, i) => i % Math.max(1, Math.floor(rows.length / Math.max(1, o.prompts))) === 0).slice(0, o.prompts).map((r) => ({ prompt: r.instruction + (r.input ? "\n" + r.input : ""), reference: r.output }));
  return { text: new TokenDataset(join(outDir, "text_test")), sft: new TokenDataset(join(outDir, "sft_test")), byTask, pairs: new TokenDataset(join(outDir, "pairs_test")), prompts };
}

/** Mean token NLL over a dataset's targets, and per-row log-prob sums and counts. */
function scoreRows(model: CausalLM, ds: TokenDataset, padId: number, batch = 8): { nll: number; logps: Float64Array; counts: Int32Array } {
  const tape = new Tape();
  const logps = new Float64Array(ds.rows);
  const counts = new Int32Array(ds.rows);
  for (let s = 0; s < ds.rows; s += batch) {
    const rows = Array.from({ length: Math.min(batch, ds.rows - s) }, (_, i) => s + i);
    const input = collateRows(ds, rows, padId);
    const out = tape.infer(() => model.loss(input));
    const r = rowLogps(out.tokenLosses.data, out.targets, input.B, input.T);
    logps.set(r.logps, s);
    counts.set(r.counts, s);
  }
  let lp = 0;
  let n = 0;
  for (let i = 0; i < ds.rows; i++) {
    lp += logps[i]!;
    n += counts[i]!;
  }
  return { nll: n > 0 ? -lp / n : NaN, logps, counts };
}

export interface ModelUnderTest {
  name: string;
  /** a full model folder */
  dir: string;
  /** an adapter folder applied on top of `dir` */
  adapterDir?: string;
}

async function open(m: ModelUnderTest): Promise<{ model: CausalLM; adapter: LoraAdapter | null }> {
  const model = await loadModel(m.dir);
  let adapter: LoraAdapter | null = null;
  if (m.adapterDir) {
    adapter = await loadAdapter(m.adapterDir, model);
    adapter.attach(model);
    adapter.eval();
  }
  return { model, adapter };
}

/**
 * Measures every model on the held-out sets. `reference` names the model the DPO stage started from;
 * rows after it get implicit-reward accuracy and margin against it (β = `beta`).
 */
export async function measureEffects(models: ModelUnderTest[], held: HeldOut, tokenizer: Tokenizer, template: string, o: { reference?: string; beta: number; maxNewTokens: number; log?: (l: string) => void }): Promise<EffectRow[]> {
  const padId = tokenizer.padId ?? tokenizer.eosId ?? 0;
  let refPairs: Float64Array | null = null;
  const out: EffectRow[] = [];
  let pastReference = false;
  for (const m of models) {
    const started = performance.now();
    const { model, adapter } = await open(m);
    const text = scoreRows(model, held.text, padId);
    const sft = scoreRows(model, held.sft, padId);
    const byTask: Record<string, number> = {};
    for (const [task, ds] of Object.entries(held.byTask)) byTask[task] = scoreRows(model, ds, padId).nll;
    const experts = adapter && adapter.settings.experts > 1 ? adapter.takeRouterStats() : null;
    const pairs = scoreRows(model, held.pairs, padId);
    const K = held.pairs.rows / 2;
    let acc = 0;
    let chosenLp = 0;
    let chosenN = 0;
    for (let k = 0; k < K; k++) {
      const c = pairs.logps[2 * k]! / pairs.counts[2 * k]!;
      const r = pairs.logps[2 * k + 1]! / pairs.counts[2 * k + 1]!;
      if (c > r) acc++;
      chosenLp += pairs.logps[2 * k]!;
      chosenN += pairs.counts[2 * k]!;
    }
    let rewardAcc: number | null = null;
    let rewardMargin: number | null = null;
    if (m.name === o.reference) {
      refPairs = pairs.logps;
      pastReference = true;
    } else if (pastReference && refPairs) {
      let a = 0;
      let margin = 0;
      for (let k = 0; k < K; k++) {
        const rc = o.beta * (pairs.logps[2 * k]! - refPairs[2 * k]!);
        const rr = o.beta * (pairs.logps[2 * k + 1]! - refPairs[2 * k + 1]!);
        if (rc > rr) a++;
        margin += rc - rr;
      }
      rewardAcc = a / K;
      rewardMargin = margin / K;
    }
    let rougeL: number | null = null;
    let bleu1: number | null = null;
    if (held.prompts.length > 0 && o.maxNewTokens > 0) {
      const stops = stopTokenIds(tokenizer, template);
      const pairsOut = held.prompts.map((p, i) => {
        const ids = renderChat(tokenizer, template, [{ role: "user", content: p.prompt }], "prompt").ids;
        const g = generate(model, ids, { maxNewTokens: o.maxNewTokens, temperature: 0, eosTokenIds: stops });
        return { id: String(i), hyp: tokenizer.decode(g.tokens, { skipSpecialTokens: true }), ref: p.reference };
      });
      const rep = evaluatePairs(pairsOut);
      rougeL = rep.means.rougeL;
      bleu1 = rep.means.bleu1;
    }
    const gates = experts && experts.length > 0 ? experts[0]!.meanGate.map((_, e) => experts.reduce((s, x) => s + x.meanGate[e]!, 0) / experts.length) : null;
    out.push({
      model: m.name, lm_loss: text.nll, resp_nll: sft.nll, resp_nll_by_task: byTask, rougeL, bleu1, pref_acc: K > 0 ? acc / K : NaN,
      chosen_nll: chosenN > 0 ? -chosenLp / chosenN : NaN, reward_acc: rewardAcc, reward_margin: rewardMargin, experts: gates,
    });
    o.log?.(`      ${m.name}: held-out LM loss ${text.nll.toFixed(3)}, answer NLL ${sft.nll.toFixed(3)}, preference accuracy ${(acc / Math.max(1, K)).toFixed(2)} (${((performance.now() - started) / 1000).toFixed(1)} s)`);
  }
  return out;
}

const f = (v: number | null, d = 3) => (v === null || Number.isNaN(v) ? "—" : v.toFixed(d));

/** The effect table as Markdown (one row per model, in pipeline order). */
export function effectTable(rows: EffectRow[]): string {
  const tasks = [...new Set(rows.flatMap((r) => Object.keys(r.resp_nll_by_task)))].sort();
  const head = ["model", "held-out LM loss", "answer NLL", ...tasks.map((t) => `NLL ${t}`), "ROUGE-L", "BLEU-1", "pref acc", "reward acc", "reward margin", "chosen NLL", "expert gates"];
  const lines = [`| ${head.join(" | ")} |`, `|${head.map(() => "---").join("|")}|`];
  for (const r of rows) {
    lines.push(`| ${[
      r.model, f(r.lm_loss), f(r.resp_nll), ...tasks.map((t) => f(r.resp_nll_by_task[t] ?? null)), f(r.rougeL, 2), f(r.bleu1, 2),
      f(r.pref_acc, 2), f(r.reward_acc, 2), f(r.reward_margin, 3), f(r.chosen_nll), r.experts ? r.experts.map((g) => g.toFixed(2)).join("/") : "—",
    ].join(" | ")} |`);
  }
  return lines.join("\n");
}


/** Chosen-answer NLL may rise by at most this much (nats per token) from the DPO reference to the DFPO model. */
export const CHOSEN_NLL_BOUND = 0.1;

/**
 * Whether each stage shows the effect the paper's ablation expects, as sentences with the numbers
 * (a stage that does not is reported as such, never hidden). Rows are found by stage kind in order.
 */
export function effectVerdicts(rows: EffectRow[], kinds: Record<string, "pt" | "sft" | "dpo" | "moe_lora">): string[] {
  const out: string[] = [];
  const mark = (ok: boolean) => (ok ? "yes" : "NO");
  for (let i = 1; i < rows.length; i++) {
    const prev = rows[i - 1]!;
    const r = rows[i]!;
    const kind = kinds[r.model];
    if (kind === "pt") {
      out.push(`${r.model} (CPT) lowers held-out LM loss: ${mark(r.lm_loss < prev.lm_loss)} (${f(prev.lm_loss)} → ${f(r.lm_loss)})`);
    } else if (kind === "sft") {
      out.push(`${r.model} (SFT) lowers answer NLL on the test split: ${mark(r.resp_nll < prev.resp_nll)} (${f(prev.resp_nll)} → ${f(r.resp_nll)}); ROUGE-L ${f(prev.rougeL, 2)} → ${f(r.rougeL, 2)}, BLEU-1 ${f(prev.bleu1, 2)} → ${f(r.bleu1, 2)}`);
    } else if (kind === "dpo") {
      const rise = r.chosen_nll - prev.chosen_nll;
      out.push(
        `${r.model} (DFPO) on held-out pairs: reward accuracy ${f(r.reward_acc, 2)} > 0.5: ${mark((r.reward_acc ?? 0) > 0.5)}, margin ${f(r.reward_margin)} > 0: ${mark((r.reward_margin ?? 0) > 0)}; ` +
          `preference accuracy ${f(prev.pref_acc, 2)} → ${f(r.pref_acc, 2)}; chosen NLL ${f(prev.chosen_nll)} → ${f(r.chosen_nll)} (rise ${f(rise)} ≤ ${CHOSEN_NLL_BOUND}: ${mark(rise <= CHOSEN_NLL_BOUND)})`,
      );
    } else if (kind === "moe_lora") {
      const tasks = Object.keys(r.resp_nll_by_task);
      const better = tasks.filter((t) => r.resp_nll_by_task[t]! < (prev.resp_nll_by_task[t] ?? Infinity));
      out.push(`${r.model} (MoE-LoRA) lowers answer NLL: ${mark(r.resp_nll < prev.resp_nll)} (${f(prev.resp_nll)} → ${f(r.resp_nll)}), per task on ${better.length}/${tasks.length} (${better.join(", ") || "none"}); expert gates ${r.experts ? r.experts.map((g) => g.toFixed(2)).join("/") : "—"}`);
    }
  }
  return out;
}
