/**
 * `pedgpt eval metrics …` (paper-compatible generation metrics) and `pedgpt eval exam …` (exam
 * accuracy). Option parsing, file reading and table printing only; the work is in src/eval.
 * Other evaluation subcommands may attach to the same `eval` group through `evalGroup(program)`.
 */
import { readFile, writeFile } from "node:fs/promises";
import { InvalidArgumentError, type Command } from "commander";
import { PAPER_METRICS, evaluatePairs, joinPairs, type MetricsMode, type MetricsReport } from "../../eval/metrics/index.js";
import { buildPrompt, parseExamJsonl, parsePredictionsJsonl, scoreExam, selectShots, type ExamReport } from "../../eval/exam/index.js";

/** The shared `eval` command group (created once, reused by every area that adds to it). */
export function evalGroup(program: Command): Command {
  return program.commands.find((c) => c.name() === "eval") ?? program.command("eval").description("evaluate model outputs");
}

async function readText(file: string, what: string): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch (e) {
    throw new Error(`cannot read ${what} file ${file}: ${(e as Error).message}`);
  }
}

function mode(v: string): MetricsMode {
  if (v !== "paper" && v !== "standard") throw new InvalidArgumentError(`--mode must be paper or standard, got "${v}"`);
  return v;
}

function int(name: string, min: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer >= ${min}, got "${v}"`);
    return n;
  };
}

/** Terminal columns of a string: CJK and full-width characters take two. */
function width(s: string): number {
  let w = 0;
  for (const ch of s) w += /[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]/.test(ch) ? 2 : 1;
  return w;
}

function pad(s: string, n: number): string {
  return s + " ".repeat(Math.max(0, n - width(s)));
}

const LABELS: Record<string, string> = {
  rouge1: "ROUGE-1", rouge2: "ROUGE-2", rougeL: "ROUGE-L", bleu1: "BLEU-1", bleu2: "BLEU-2", bleu3: "BLEU-3", bleu4: "BLEU-4",
  gleu: "GLEU", distinct1: "Distinct-1", distinct2: "Distinct-2",
};

export function formatMetricsTable(r: MetricsReport): string {
  const lines: string[] = [];
  lines.push(`mode: ${r.mode}   segmenter: ${r.segmenter.name} ${r.segmenter.version}`);
  lines.push(`pairs: ${r.pairs}   empty hypotheses (scored 0): ${r.emptyHypotheses}   ROUGE undefined in the rouge package (scored 0): ${r.rougeUndefined}`);
  const std = r.standard;
  const head = std ? ["metric", "mean", "95% CI", "char-level", "char 95% CI"] : ["metric", "mean"];
  const rows: string[][] = [head];
  for (const m of PAPER_METRICS) {
    const row = [LABELS[m]!, r.means[m].toFixed(2)];
    if (std) {
      const ci = std.intervals[m]!;
      const cci = std.intervals[`char_${m}`]!;
      row.push(`[${ci.low.toFixed(2)}, ${ci.high.toFixed(2)}]`, std.charMeans[m].toFixed(2), `[${cci.low.toFixed(2)}, ${cci.high.toFixed(2)}]`);
    }
    rows.push(row);
  }
  const widths = head.map((_, c) => Math.max(...rows.map((row) => width(row[c]!))));
  for (const row of rows) lines.push(row.map((cell, c) => pad(cell, widths[c]!)).join("  ").trimEnd());
  if (std) {
    const ci = std.intervals.corpusBleu!;
    lines.push(`corpus BLEU (${std.corpusBleu.tokenizer}): ${std.corpusBleu.score.toFixed(2)} [${ci.low.toFixed(2)}, ${ci.high.toFixed(2)}]  BP ${std.corpusBleu.bp.toFixed(4)}`);
    lines.push(`corpus Distinct-1/2 (Li et al.): ${std.corpusDistinct1.toFixed(2)} / ${std.corpusDistinct2.toFixed(2)}   bootstrap: ${std.bootstrap.resamples} resamples, seed ${std.bootstrap.seed}`);
  }
  return lines.join("\n");
}

export function formatExamTable(r: ExamReport): string {
  const pct = (x: number) => (100 * x).toFixed(2);
  const lines = [`items: ${r.items}   answered: ${r.answered}   unanswered (scored wrong): ${r.unanswered}   accuracy: ${pct(r.accuracy)}%`];
  const rows: string[][] = [["group", "n", "correct", "accuracy %"]];
  for (const [k, a] of Object.entries(r.byKind)) rows.push([`kind: ${k}`, String(a.n), String(a.correct), pct(a.accuracy)]);
  for (const [k, a] of Object.entries(r.byCategory)) rows.push([k, String(a.n), String(a.correct), pct(a.accuracy)]);
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => width(row[c]!))));
  for (const row of rows) lines.push(row.map((cell, c) => pad(cell, widths[c]!)).join("  ").trimEnd());
  lines.push(`extraction: ${Object.entries(r.methods).map(([k, v]) => `${k} ${v}`).join(", ")}`);
  return lines.join("\n");
}

export function register(program: Command): void {
  const group = evalGroup(program);
  group
    .command("metrics")
    .description("paper-compatible ROUGE/BLEU/GLEU/Distinct on jieba tokens (Python jieba 0.42.1, NLTK 3.8, rouge 1.0.1 semantics)")
    .requiredOption("--pred <jsonl>", "predictions, one JSON object per line (id?, response|prediction|output|hyp|text|answer)")
    .requiredOption("--ref <jsonl>", "references, one JSON object per line (id?, reference|ref|answer|output|text)")
    .option("--mode <mode>", "paper | standard (adds char-level, corpus BLEU, corpus Distinct, 95% CIs)", mode, "paper" as MetricsMode)
    .option("--pred-field <name>", "text field of the predictions")
    .option("--ref-field <name>", "text field of the references")
    .option("--resamples <n>", "bootstrap resamples in standard mode", int("--resamples", 10), 1000)
    .option("--seed <n>", "bootstrap seed", int("--seed", 0), 12345)
    .option("--out <file>", "write the report with per-sample scores as JSON")
    .action(async (o: { pred: string; ref: string; mode: MetricsMode; predField?: string; refField?: string; resamples: number; seed: number; out?: string }) => {
      const pairs = joinPairs(await readText(o.pred, "predictions"), o.pred, await readText(o.ref, "references"), o.ref, { predField: o.predField, refField: o.refField });
      const report = evaluatePairs(pairs, { mode: o.mode, resamples: o.resamples, seed: o.seed });
      console.log(formatMetricsTable(report));
      if (o.out) {
        await writeFile(o.out, JSON.stringify(report, null, 1) + "\n");
        console.log(`wrote ${o.out}`);
      }
    });
  group
    .command("exam")
    .description("exam accuracy on multiple-choice and true/false items (PediaBench or generic records)")
    .requiredOption("--pred <jsonl>", 'predictions: {"id", "response"} or {"id", "responses": [...]} (voting) or {"id", "answer"}')
    .requiredOption("--gold <jsonl>", "gold items (PediaBench fields, or id/type/question/options/answer/multi/category)")
    .option("--allow-missing", "score gold items without a prediction as unanswered instead of failing")
    .option("--out <file>", "write the report with per-item results as JSON")
    .action(async (o: { pred: string; gold: string; allowMissing?: boolean; out?: string }) => {
      const gold = parseExamJsonl(await readText(o.gold, "gold"), o.gold);
      const preds = parsePredictionsJsonl(await readText(o.pred, "predictions"), o.pred);
      const report = scoreExam(gold.items, preds, { predFile: o.pred, allowMissing: o.allowMissing });
      if (gold.skipped > 0) console.log(`skipped ${gold.skipped} gold record(s) that are not multiple-choice or true/false items (pairing, essay, case analysis)`);
      console.log(formatExamTable(report));
      if (o.out) {
        await writeFile(o.out, JSON.stringify(report, null, 1) + "\n");
        console.log(`wrote ${o.out}`);
      }
    });
  group
    .command("exam-prompts")
    .description("write the zero- or few-shot prompt of every exam item as JSONL ({id, prompt}) for a model to answer")
    .requiredOption("--gold <jsonl>", "exam items (PediaBench fields or the generic schema)")
    .requiredOption("--out <jsonl>", "where to write the prompts")
    .option("--shots <n>", "worked examples per prompt (same kind, same category first)", int("--shots", 0), 0)
    .option("--pool <jsonl>", "items to draw the examples from (defaults to --gold; an item is never its own example)")
    .action(async (o: { gold: string; out: string; shots: number; pool?: string }) => {
      const gold = parseExamJsonl(await readText(o.gold, "gold"), o.gold);
      const pool = o.pool ? parseExamJsonl(await readText(o.pool, "pool"), o.pool).items : gold.items;
      const lines = gold.items.map((item) => JSON.stringify({ id: item.id, prompt: buildPrompt(item, { shots: o.shots > 0 ? selectShots(pool, item, o.shots) : [] }) }));
      await writeFile(o.out, lines.join("\n") + (lines.length ? "\n" : ""));
      console.log(`wrote ${lines.length} prompts (${o.shots}-shot) to ${o.out}${gold.skipped ? `; skipped ${gold.skipped} records that are not exam items` : ""}`);
    });
}
