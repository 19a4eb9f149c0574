/**
 * `pedgpt eval report`: one self-contained HTML report (plus its data as JSON) over a pipeline run
 * folder, an `eval run` results file, judge results files, or several of them at once.
 */
import { dirname } from "node:path";
import type { Command } from "commander";
import { evalGroup } from "./eval.js";
import { evaluationReportInput, mergeReportInputs, pipelineReportInput, readEvalResults, readJudgeResults, writeReport, type ReportInput } from "../../eval/report/index.js";

interface ReportOptions {
  pipeline?: string;
  eval?: string;
  judge: string[];
  out?: string;
  title?: string;
}

export function register(program: Command): void {
  evalGroup(program)
    .command("report")
    .description("write report.html (self-contained: tables and SVG charts) and report-data.json for a run")
    .option("--pipeline <dir>", "a pipeline run folder (its manifest, stage metrics and effect table)")
    .option("--eval <results.json>", "results of `pedgpt eval run`")
    .option("--judge <results.json>", "results of `pedgpt eval judge` (repeatable)", (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option("--out <dir>", "output folder (defaults to the pipeline folder, or the results file's folder)")
    .option("--title <text>", "report title")
    .action(async (o: ReportOptions) => {
      if (!o.pipeline && !o.eval && o.judge.length === 0) throw new Error("eval report: give --pipeline DIR, --eval RESULTS.json or --judge RESULTS.json");
      const parts: ReportInput[] = [];
      if (o.pipeline) parts.push(pipelineReportInput(o.pipeline, o.title));
      if (o.eval || o.judge.length) {
        const results = o.eval ? readEvalResults(o.eval) : null;
        parts.push(evaluationReportInput(results, o.judge.map(readJudgeResults), [o.eval, ...o.judge].filter(Boolean).join(", "), o.title));
      }
      const input = parts.reduce((a, b) => mergeReportInputs(a, b));
      const out = o.out ?? o.pipeline ?? dirname(o.eval ?? o.judge[0]!);
      const written = await writeReport(input, out);
      console.log(`report: ${written.html}\ndata:   ${written.json}${input.gaps.length ? `\n${input.gaps.length} gap(s) marked in the report` : ""}`);
    });
}
