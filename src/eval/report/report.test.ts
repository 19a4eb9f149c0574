/**
 * The report's content: every number the run has appears, charts are drawn, missing data is marked
 * as a gap (never as zero), nothing refers to the network, and the JSON beside it holds the same data.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir } from "../../../test/helpers/tempdir.js";
import { sampleEvalResults, writeSamplePipelineRun } from "../../../test/helpers/report_run.js";
import { evaluationReportInput, mergeReportInputs, pipelineReportInput, readEvalResults, readTrainingCurve, ReportError, writeReport } from "./index.js";
import { niceTicks } from "./svg.js";

describe("report", () => {
  it("shows a pipeline run: loss curves per stage, the effect table, verdicts and the missing stage as a gap", async () => {
    const dir = tempDir("pedgpt-report-");
    const run = writeSamplePipelineRun(dir);
    const input = pipelineReportInput(run);
    expect(input.training.map((c) => c.stage)).toEqual(["pt", "dpo"]);
    expect(input.training[0]!.loss).toHaveLength(20);
    expect(input.training[0]!.valLoss.map((p) => p[0])).toEqual([0, 5, 10, 15, 20]);
    expect(Object.keys(input.training[1]!.scalars)).toContain("rewards/margins");
    expect(input.gaps.some((g) => g.includes("moe_lora") && g.includes("no metrics file"))).toBe(true);
    expect(input.gaps).toContain("step moe_lora is failed");
    const { html, json } = await writeReport(input, run);
    const page = readFileSync(html, "utf8");
    expect(page).toContain("Each stage's effect on held-out data");
    expect(page).toContain("5.200"); // pt's held-out LM loss in the effect table
    expect(page).toContain("resp_nll_by_task.medkqa");
    expect(page).toContain("pt (CPT) lowers held-out LM loss: yes");
    expect(page.match(/<svg /g)!.length).toBeGreaterThanOrEqual(4);
    expect(page).toContain('data-series="train"');
    expect(page).toContain("rewards/margins");
    expect(page).toContain("dpo: rewards");
    // rougeL of the init model was not measured: a marked n/a cell, not 0.
    expect(page).toMatch(/<td class="na">n\/a<\/td>/);
    // Self-contained: no script, no stylesheet or image fetched from anywhere.
    expect(page).not.toMatch(/<script|<link |src="http|href="http|url\(http/);
    const data = JSON.parse(readFileSync(json, "utf8"));
    expect(data.format).toBe("pedgpt-report-data");
    expect(data.effects.rows.find((r: { model: string }) => r.model === "pt").values[0]).toBe(5.2);
  });

  it("shows evaluation results: metrics per model and set and department, exam, safety findings, judge with position bias", async () => {
    const dir = tempDir("pedgpt-report-");
    const resultsFile = join(dir, "results.json");
    writeFileSync(resultsFile, JSON.stringify(sampleEvalResults()));
    const input = evaluationReportInput(readEvalResults(resultsFile), [], resultsFile);
    // base-tiny has no exam scores on "exam": a gap
    expect(input.gaps).toEqual(["model base-tiny has no scores on set exam"]);
    const { html } = await writeReport(input, dir);
    const page = readFileSync(html, "utf8");
    for (const s of ["Generation metrics", "儿科", "内科", "Exam accuracy", "新生儿", "Safety", "溴己新是祛痰药", "LLM judge", "usefulness", "Position bias", "33 of 60"]) expect(page).toContain(s);
    expect(page).toContain("<td>25.00</td>"); // pedgpt-tiny rougeL on cmd
    expect(page).toContain("5/6"); // scored of items: the failed item is visible
    expect(page).toContain("base-tiny has no likelihood scorer");
  });

  it("merges a pipeline run with its evaluation", () => {
    const dir = tempDir("pedgpt-report-");
    const run = writeSamplePipelineRun(dir);
    const merged = mergeReportInputs(pipelineReportInput(run), evaluationReportInput(sampleEvalResults(), [], "results.json"));
    expect(merged.training).toHaveLength(2);
    expect(merged.evaluation?.name).toBe("tiny-vs-base");
  });

  it("refuses what it cannot read, naming the file and the field", () => {
    const dir = tempDir("pedgpt-report-");
    expect(() => pipelineReportInput(dir)).toThrow(ReportError);
    expect(() => pipelineReportInput(dir)).toThrow(/no manifest.json/);
    const bad = join(dir, "bad.json");
    writeFileSync(bad, JSON.stringify({ ...sampleEvalResults(), generation: [{ model: 1 }] }));
    expect(() => readEvalResults(bad)).toThrow(/bad\.json: not an `eval run` results file: field generation\.0\.model/);
    const mixed = join(dir, "metrics.jsonl");
    writeFileSync(mixed, `${JSON.stringify({ run: "a", step: 1, loss: 1 })}\n${JSON.stringify({ run: "b", step: 1, loss: 2 })}\n`);
    expect(() => readTrainingCurve("sft", mixed)).toThrow(/holds 2 runs/);
  });

  it("chooses round axis ticks that cover the data", () => {
    expect(niceTicks(0, 1)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    const t = niceTicks(2.93, 8.07);
    expect(t[0]).toBeLessThanOrEqual(2.93);
    expect(t.at(-1)).toBeGreaterThanOrEqual(8.07);
    expect(niceTicks(5, 5).length).toBeGreaterThan(1);
  });
});
