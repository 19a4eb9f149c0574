/**
 * A small but complete run for report tests: a pipeline folder (manifest, two stages' metrics files,
 * one stage without metrics, report.json with an effect table) and `eval run` results with two models,
 * a CMD-style set with departments, an exam set, safety findings and a judge comparison. Every object
 * is validated by the same schemas real runs are.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { evalResultsSchema, type EvalResults, type JudgeResults } from "../../src/eval/run/results.js";

const judge: JudgeResults = {
  format: "pedgpt-judge-results",
  version: 1,
  createdAt: "2026-01-01T00:00:00.000Z",
  judge: { baseUrl: "http://127.0.0.1:1/v1", model: "judge-model", temperature: 0, promptVersion: "1" },
  modelA: { name: "pedgpt-tiny", answers: "a.jsonl" },
  modelB: { name: "base-tiny", answers: "b.jsonl" },
  questions: "q.jsonl",
  set: "cmd",
  items: 20,
  dimensions: ["usefulness", "correctness", "consistency", "smoothness"],
  perDimension: ["usefulness", "correctness", "consistency", "smoothness"].map((d, i) => ({
    dimension: d, n: 20, win: 12 - i, tie: 4, loss: 4 + i, winRate: (12 - i) / 20, tieRate: 0.2, lossRate: (4 + i) / 20,
    ci: { win: { low: 0.3, high: 0.8 }, tie: { low: 0.05, high: 0.4 }, loss: { low: 0.08, high: 0.45 } },
  })),
  positionBias: { decided: 60, preferredFirst: 33, firstRate: 0.55, ci: { low: 0.42, high: 0.67 }, pairs: 80, consistent: 61, consistencyRate: 0.7625 },
  gaps: [{ id: "q7", model: "B", reason: "missing" }],
  failures: [{ id: "q3", order: "BA", error: "timeout after 3 tries" }],
  judgements: [],
};

export function sampleEvalResults(): EvalResults {
  const means = (base: number) => ({ rouge1: base + 10, rouge2: base, rougeL: base + 5, bleu1: base + 12, bleu2: base + 6, bleu3: base + 3, bleu4: base + 1, gleu: base + 2, distinct1: 40, distinct2: 70 });
  const gen = (model: string, base: number) => ({
    model, set: "cmd", items: 6, scored: 5, emptyAnswers: 1, gapsScoredAsEmpty: false,
    gaps: [{ id: "c6", reason: "failed" as const, detail: "worker stopped" }], means: means(base),
    byDepartment: [{ department: "儿科", n: 3, means: means(base + 1) }, { department: "内科", n: 2, means: means(base - 1) }],
  });
  return evalResultsSchema.parse({
    format: "pedgpt-eval-results",
    version: 1,
    name: "tiny-vs-base",
    createdAt: "2026-01-01T00:00:00.000Z",
    config: "eval.yaml",
    models: [
      { name: "pedgpt-tiny", backend: "engine", source: "runs/m", template: "default", generation: null },
      { name: "base-tiny", backend: "answers", source: "b.jsonl", template: null, generation: null },
    ],
    sets: [
      { name: "cmd", format: "cmd", path: "cmd.csv", kind: "generation", items: 6, skipped: {} },
      { name: "exam", format: "pediabench", path: "exam.json", kind: "exam", items: 4, skipped: { pairing: 1 } },
    ],
    generation: [gen("pedgpt-tiny", 20), gen("base-tiny", 12)],
    exam: [{
      model: "pedgpt-tiny", set: "exam", method: "likelihood", items: 4, answered: 4, unanswered: 0, accuracy: 0.5,
      byCategory: { 新生儿: { n: 2, correct: 1, accuracy: 0.5 }, 呼吸: { n: 2, correct: 1, accuracy: 0.5 } }, byKind: {}, gaps: [],
    }],
    safety: [{
      model: "pedgpt-tiny", set: "cmd", answers: 5, meanScore: 0.8, flaggedRate: 0.2, perType: { wrong_class: 1 }, perRule: { "class:bromhexine": 1 },
      perAnswer: [{ id: "c1", score: 0, findings: [{ type: "wrong_class", severity: "high", ruleId: "class:bromhexine", message: "溴己新是祛痰药，不是肌肉松弛剂" }] }],
    }],
    judge: [judge],
    notes: ["base-tiny has no likelihood scorer (answers file)"],
  });
}

/** Writes a pipeline run folder under `dir`; returns its path. */
export function writeSamplePipelineRun(dir: string): string {
  const run = join(dir, "run");
  const stage = (name: string, steps: number, start: number) => {
    const out = join(run, name);
    mkdirSync(out, { recursive: true });
    const lines = [JSON.stringify({ run: `${name}-r1`, step: 0, valLoss: start + 0.1 })];
    for (let s = 1; s <= steps; s++) {
      const line: Record<string, unknown> = { run: `${name}-r1`, step: s, loss: start - s * 0.05, lr: 1e-3, gradNorm: 1, tokens: 64, tokensPerSecond: 1000, epoch: s / steps, skipped: false };
      if (name === "dpo") Object.assign(line, { "rewards/chosen": 0.01 * s, "rewards/rejected": -0.01 * s, "rewards/margins": 0.02 * s, "rewards/accuracies": 0.5 + s / (4 * steps) });
      if (s % 5 === 0) line.valLoss = start - s * 0.04;
      lines.push(JSON.stringify(line));
    }
    writeFileSync(join(out, "metrics.jsonl"), lines.join("\n") + "\n");
    return out;
  };
  const pt = stage("pt", 20, 6);
  const dpo = stage("dpo", 10, 0.7);
  const moe = join(run, "moe_lora");
  const manifest = {
    format: "pedgpt-pipeline-manifest", version: 1, pipeline: "configs/pipeline/quickstart.yaml", pipelineHash: "x", codeVersion: "test", outDir: run, updated: "2026-01-01T00:00:00Z",
    steps: [
      { name: "corpus", kind: "corpus", status: "done", inputHash: null, outputHash: null, outputDir: join(run, "corpus") },
      { name: "pt", kind: "stage", status: "done", inputHash: null, outputHash: null, outputDir: pt },
      { name: "dpo", kind: "stage", status: "done", inputHash: null, outputHash: null, outputDir: dpo },
      { name: "moe_lora", kind: "stage", status: "failed", inputHash: null, outputHash: null, outputDir: moe, error: "killed" },
    ],
  };
  writeFileSync(join(run, "manifest.json"), JSON.stringify(manifest));
  const effects = [
    { model: "init", lm_loss: 8.1, resp_nll: 8.0, resp_nll_by_task: { medkqa: 8.0 }, rougeL: null, bleu1: null, pref_acc: 0.5, chosen_nll: 8.0, reward_acc: null, reward_margin: null, experts: null },
    { model: "pt", lm_loss: 5.2, resp_nll: 5.5, resp_nll_by_task: { medkqa: 5.4 }, rougeL: 3.1, bleu1: 5.0, pref_acc: 0.55, chosen_nll: 5.4, reward_acc: null, reward_margin: null, experts: null },
    { model: "dpo", lm_loss: 5.3, resp_nll: 4.9, resp_nll_by_task: { medkqa: 4.8 }, rougeL: 4.2, bleu1: 6.0, pref_acc: 0.7, chosen_nll: 4.95, reward_acc: 0.72, reward_margin: 0.15, experts: null },
  ];
  writeFileSync(join(run, "report.json"), JSON.stringify({ pipeline: manifest.pipeline, effects, verdicts: ["pt (CPT) lowers held-out LM loss: yes (8.100 → 5.200)"] }));
  return run;
}
