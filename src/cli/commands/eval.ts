/**
 * `pedgpt eval metrics …` (paper-compatible generation metrics), `eval exam …` (exam accuracy),
 * `eval generate` (answers for a test set), `eval run EVAL.yaml` (models side by side) and
 * `eval judge` (pairwise LLM judge). Option parsing, file reading, progress and table printing
 * only; the work is in src/eval. Other evaluation subcommands may attach to the same `eval` group
 * through `evalGroup(program)`.
 */
import { join } from "node:path";
import { InvalidArgumentError, type Command } from "commander";
import { LlmClient } from "../../llm/client.js";
import { describeError, readUserFile } from "../../util/errors.js";
import { checkOutputFile, writeFileAtomic } from "../../util/atomic.js";
import { SET_FORMATS, readTestSet, type SetFormat } from "../../eval/generate/sets.js";
import { EndpointBackend, loadAnswerBackend, type AnswerBackend } from "../../eval/generate/backend.js";
import { generateAnswers, readAnswers, resolveSettings, type GenerateProgress } from "../../eval/generate/generate.js";
import { loadEvalConfig } from "../../eval/run/config.js";
import { runEvaluation, writeResults } from "../../eval/run/run.js";
import { runJudge } from "../../eval/judge/judge.js";
import type { EvalResults, JudgeResults } from "../../eval/run/results.js";
import { PAPER_METRICS, evaluatePairs, joinPairs, type MetricsMode, type MetricsReport } from "../../eval/metrics/index.js";
import { buildPrompt, parseExamJsonl, parsePredictionsJsonl, scoreExam, selectShots, type ExamReport } from "../../eval/exam/index.js";

/** The shared `eval` command group (created once, reused by every area that adds to it). */
export function evalGroup(program: Command): Command {
  return program.commands.find((c) => c.name() === "eval") ?? program.command("eval").description("evaluate model outputs");
}

async function readText(file: string, what: string): Promise<string> {
  try {
    return await readUserFile(file, "utf8");
  } catch (e) {
    throw new Error(`cannot read the ${what} file: ${describeError(e)}`);
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

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => width(row[c] ?? ""))));
  return rows.map((row) => row.map((cell, c) => pad(cell, widths[c]!)).join("  ").trimEnd());
}

const METRIC_COLUMNS = ["rouge1", "rouge2", "rougeL", "bleu1", "bleu2", "bleu3", "bleu4", "gleu", "distinct1", "distinct2"];

/** The paper's table per set (and per department), exam accuracy and safety, one row per model. */
export function formatRunTables(r: EvalResults): string {
  const out: string[] = [];
  const head = ["model", ...METRIC_COLUMNS.map((m) => LABELS[m]!), "scored", "gaps"];
  for (const set of r.sets) {
    const rows = r.generation.filter((g) => g.set === set.name);
    if (rows.length) {
      out.push(`\n== ${set.name} (${set.format}, ${set.items} items) ==`);
      out.push(...table([head, ...rows.map((g) => [g.model, ...METRIC_COLUMNS.map((m) => (g.means[m] ?? 0).toFixed(2)), `${g.scored}/${g.items}`, String(g.gaps.length)])]));
      const tasks = rows.flatMap((g) => (g.byTask.length > 1 ? g.byTask.map((t) => [g.model, t.task, String(t.n), ...METRIC_COLUMNS.map((m) => (t.means[m] ?? 0).toFixed(2))]) : []));
      if (tasks.length) {
        out.push(`-- ${set.name} by task --`);
        out.push(...table([["model", "task", "n", ...METRIC_COLUMNS.map((m) => LABELS[m]!)], ...tasks]));
      }
      const depts = rows.flatMap((g) => g.byDepartment.map((d) => [g.model, d.department, String(d.n), ...METRIC_COLUMNS.map((m) => (d.means[m] ?? 0).toFixed(2))]));
      if (depts.length) {
        out.push(`-- ${set.name} by department --`);
        out.push(...table([["model", "department", "n", ...METRIC_COLUMNS.map((m) => LABELS[m]!)], ...depts]));
      }
    }
    const exams = r.exam.filter((e) => e.set === set.name);
    if (exams.length) {
      out.push(`-- ${set.name} exam accuracy --`);
      const cats = [...new Set(exams.flatMap((e) => Object.keys(e.byCategory)))].sort();
      out.push(...table([["model", "method", "items", "answered", "accuracy %", ...cats], ...exams.map((e) => [e.model, e.method, String(e.items), String(e.answered), (100 * e.accuracy).toFixed(2), ...cats.map((c) => (e.byCategory[c] ? (100 * e.byCategory[c]!.accuracy).toFixed(1) : "-"))])]));
    }
  }
  if (r.safety.length) {
    out.push("\n== safety ==");
    out.push(...table([["model", "set", "answers", "mean score", "flagged %"], ...r.safety.map((x) => [x.model, x.set, String(x.answers), x.meanScore.toFixed(4), (100 * x.flaggedRate).toFixed(1)])]));
  }
  for (const j of r.judge) {
    out.push(`\n== judge: ${j.modelA.name} vs ${j.modelB.name} on ${j.set ?? j.questions} ==`);
    out.push(formatJudgeTable(j));
  }
  for (const n of r.notes) out.push(`note: ${n}`);
  return out.join("\n").replace(/^\n/, "");
}

export function formatJudgeTable(r: JudgeResults): string {
  const pct = (x: number) => (100 * x).toFixed(1);
  const ci = (c: { low: number; high: number }) => `[${pct(c.low)}, ${pct(c.high)}]`;
  const lines = [`judge: ${r.judge.model} at ${r.judge.baseUrl}   A = ${r.modelA.name}   B = ${r.modelB.name}   items: ${r.items}`];
  lines.push(...table([["dimension", "n", "win", "tie", "loss", "win %", "95% CI", "tie %", "loss %", "95% CI"], ...r.perDimension.map((d) => [d.dimension, String(d.n), String(d.win), String(d.tie), String(d.loss), pct(d.winRate), ci(d.ci.win), pct(d.tieRate), pct(d.lossRate), ci(d.ci.loss)])]));
  const b = r.positionBias;
  lines.push(`position bias: the answer shown first won ${b.preferredFirst} of ${b.decided} decided verdicts (${pct(b.firstRate)}% ${ci(b.ci)}; 50% = none); both orders agreed on ${b.consistent} of ${b.pairs} (${pct(b.consistencyRate)}%)`);
  if (r.gaps.length) lines.push(`not judged (no answer): ${r.gaps.length} — ${r.gaps.slice(0, 5).map((g) => `${g.id} (${g.model} ${g.reason})`).join(", ")}${r.gaps.length > 5 ? ", …" : ""}`);
  if (r.failures.length) lines.push(`failed judge calls (not counted; retried on the next run): ${r.failures.length} — ${r.failures.slice(0, 5).map((f) => `${f.id}/${f.order}`).join(", ")}${r.failures.length > 5 ? ", …" : ""}`);
  return lines.join("\n");
}

function num(name: string, min: number, max = Infinity) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be a number in [${min}, ${max}], got "${v}"`);
    return n;
  };
}

function setFormat(v: string): SetFormat | "auto" {
  if (v !== "auto" && !(SET_FORMATS as readonly string[]).includes(v)) throw new InvalidArgumentError(`--format must be auto or one of ${SET_FORMATS.join(", ")}, got "${v}"`);
  return v as SetFormat | "auto";
}

/** A progress line on stderr (rewritten in place on a terminal, every 10% otherwise). */
function progressPrinter(label: string): (p: GenerateProgress) => void {
  let last = 0;
  let lastDecile = -1;
  return (p) => {
    const now = Date.now();
    const decile = Math.floor((10 * p.done) / Math.max(1, p.total));
    const final = p.done === p.total;
    if (process.stderr.isTTY ? now - last < 500 && !final : decile === lastDecile && !final) return;
    last = now;
    lastDecile = decile;
    const eta = p.answersPerSecond > 0 ? `, ETA ${Math.ceil((p.total - p.done) / p.answersPerSecond)} s` : "";
    const line = `${label}: ${p.done}/${p.total} answers${p.resumed ? ` (${p.resumed} from the journal)` : ""}, ${p.answersPerSecond.toFixed(2)} answers/s${eta}`;
    process.stderr.write(process.stderr.isTTY ? `\r${line}${final ? "\n" : ""}` : `${line}\n`);
  };
}

/** Runs `work` with an AbortSignal that Ctrl-C fires (the work then stops at the next item and can be resumed). */
async function interruptible<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ctrl = new AbortController();
  const onSigint = () => {
    process.stderr.write("\ninterrupt: finishing the answers in flight; rerun the same command to resume\n");
    ctrl.abort();
  };
  process.once("SIGINT", onSigint);
  try {
    return await work(ctrl.signal);
  } finally {
    process.off("SIGINT", onSigint);
  }
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
      if (o.out) await checkOutputFile(o.out);
      const pairs = joinPairs(await readText(o.pred, "predictions"), o.pred, await readText(o.ref, "references"), o.ref, { predField: o.predField, refField: o.refField });
      // An empty file would otherwise be reported as scores of 0.00.
      if (pairs.length === 0) throw new Error(`${o.pred} and ${o.ref}: no prediction/reference pairs; nothing to score`);
      const report = evaluatePairs(pairs, { mode: o.mode, resamples: o.resamples, seed: o.seed });
      console.log(formatMetricsTable(report));
      if (o.out) {
        await writeFileAtomic(o.out, JSON.stringify(report, null, 1) + "\n");
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
      if (o.out) await checkOutputFile(o.out);
      const gold = parseExamJsonl(await readText(o.gold, "gold"), o.gold);
      if (gold.items.length === 0) throw new Error(`${o.gold}: no multiple-choice or true/false items${gold.skipped ? ` (${gold.skipped} other records skipped)` : ""}; nothing to score`);
      const preds = parsePredictionsJsonl(await readText(o.pred, "predictions"), o.pred);
      const report = scoreExam(gold.items, preds, { predFile: o.pred, allowMissing: o.allowMissing });
      if (gold.skipped > 0) console.log(`skipped ${gold.skipped} gold record(s) that are not multiple-choice or true/false items (pairing, essay, case analysis)`);
      console.log(formatExamTable(report));
      if (o.out) {
        await writeFileAtomic(o.out, JSON.stringify(report, null, 1) + "\n");
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
      if (o.out) await checkOutputFile(o.out);
      const gold = parseExamJsonl(await readText(o.gold, "gold"), o.gold);
      const pool = o.pool ? parseExamJsonl(await readText(o.pool, "pool"), o.pool).items : gold.items;
      const lines = gold.items.map((item) => JSON.stringify({ id: item.id, prompt: buildPrompt(item, { shots: o.shots > 0 ? selectShots(pool, item, o.shots) : [] }) }));
      await writeFileAtomic(o.out, lines.join("\n") + (lines.length ? "\n" : ""));
      console.log(`wrote ${lines.length} prompts (${o.shots}-shot) to ${o.out}${gold.skipped ? `; skipped ${gold.skipped} records that are not exam items` : ""}`);
    });
  group
    .command("generate")
    .description("answers for a test set from one model (engine checkpoint, llama.cpp GGUF or an OpenAI-compatible endpoint), batched and resumable")
    .requiredOption("--set <file>", `test set (${SET_FORMATS.join(", ")})`)
    .option("--format <name>", "test set format (auto: from the file name and first record)", setFormat, "auto" as SetFormat | "auto")
    .requiredOption("--model <path>", "checkpoint directory (engine), GGUF file (llama.cpp), or model name at --base-url (openai)")
    .option("--backend <name>", "engine | llama.cpp | openai", (v: string) => {
      if (v !== "engine" && v !== "llama.cpp" && v !== "openai") throw new InvalidArgumentError(`--backend must be engine, llama.cpp or openai, got "${v}"`);
      return v;
    }, "engine")
    .option("--base-url <url>", "with --backend openai: the OpenAI-compatible endpoint")
    .option("--api-key-env <var>", "with --backend openai: environment variable holding the API key", "OPENAI_API_KEY")
    .requiredOption("--out <jsonl>", "answers file (its journal and meta file are written beside it)")
    .option("--template <id>", "chat template (must match the recorded one unless --force-template)")
    .option("--force-template", "use --template even if the model recorded another")
    .option("--batch-size <n>", "requests in flight (decoded together by the engine)", int("--batch-size", 1), 8)
    .option("--max-new-tokens <n>", "most new tokens per answer", int("--max-new-tokens", 1), 256)
    .option("--temperature <t>", "0 = greedy", num("--temperature", 0, 2), 0)
    .option("--top-p <p>", "nucleus mass (1 = off)", num("--top-p", 0, 1), 1)
    .option("--top-k <k>", "top-k (0 = off)", int("--top-k", 0), 0)
    .option("--seed <n>", "seed of item 0 (item i uses seed + i)", int("--seed", 0), 0)
    .option("--stop <s...>", "stop strings")
    .option("--context-size <n>", "tokens per sequence (prompt + answer)", int("--context-size", 2))
    .option("--limit <n>", "answer only the first n items", int("--limit", 1))
    .option("--retry-failed", "redo items whose journaled outcome is an error")
    .action(async (o: { set: string; format: SetFormat | "auto"; model: string; backend: "engine" | "llama.cpp" | "openai"; baseUrl?: string; apiKeyEnv: string; out: string; template?: string; forceTemplate?: boolean; batchSize: number; maxNewTokens: number; temperature: number; topP: number; topK: number; seed: number; stop?: string[]; contextSize?: number; limit?: number; retryFailed?: boolean }) => {
      const settings = { batchSize: o.batchSize, maxNewTokens: o.maxNewTokens, temperature: o.temperature, topP: o.topP, topK: o.topK, seed: o.seed, ...(o.stop ? { stop: o.stop } : {}) };
      resolveSettings(settings); // every setting checked before the set is read or the model loaded
      if ((o.backend === "openai") !== (o.baseUrl !== undefined)) throw new InvalidArgumentError("--base-url is required with --backend openai and only used with it");
      const set = await readTestSet(o.set, { format: o.format });
      if (o.limit !== undefined) set.items = set.items.slice(0, o.limit);
      const skipped = Object.entries(set.skipped);
      console.log(`${set.path}: ${set.items.length} items (${set.format})${skipped.length ? `; skipped ${skipped.map(([k, v]) => `${v} ${k}`).join(", ")}` : ""}`);
      const apiKey = process.env[o.apiKeyEnv];
      const backend: AnswerBackend =
        o.backend === "openai"
          ? new EndpointBackend(new LlmClient({ baseUrl: o.baseUrl!, model: o.model, ...(apiKey ? { apiKey } : {}), concurrency: o.batchSize, cacheDir: `${o.out}.cache` }))
          : await loadAnswerBackend(o.model, { backend: o.backend, parallel: o.batchSize, ...(o.template ? { template: o.template } : {}), ...(o.forceTemplate ? { forceTemplate: true } : {}), ...(o.contextSize ? { contextSize: o.contextSize } : {}) });
      try {
        const r = await interruptible((signal) => generateAnswers(set, backend, { out: o.out, settings, signal, onProgress: progressPrinter(backend.info.id), ...(o.retryFailed ? { retryFailed: true } : {}) }));
        console.log(`wrote ${o.out} (${r.meta.answered} answers, ${r.meta.failed} failed, ${r.generated} generated in this run) and ${o.out}.meta.json`);
        if (r.meta.failed > 0) {
          for (const l of r.lines.filter((x) => x.error !== undefined).slice(0, 5)) console.log(`  failed ${l.id}: ${l.error}`);
          process.exitCode = 1;
        }
      } finally {
        await backend.close();
      }
    });
  group
    .command("run <config>")
    .description("several models side by side (EVAL.yaml): the paper's metrics per set and department, exam accuracy, safety")
    .action(async (file: string) => {
      const cfg = loadEvalConfig(file);
      const printers = new Map<string, (p: GenerateProgress) => void>();
      const onProgress = (m: string, s: string, p: GenerateProgress) => {
        const key = `${m}/${s}`;
        if (!printers.has(key)) printers.set(key, progressPrinter(key));
        printers.get(key)!(p);
      };
      const r = await interruptible((signal) => runEvaluation(cfg, { configFile: file, signal, log: (l) => console.log(l), onProgress }));
      console.log(formatRunTables(r));
      console.log(`wrote ${await writeResults(cfg, r)}`);
    });
  group
    .command("judge")
    .description("pairwise LLM judge (both orders, four dimensions) over any OpenAI-compatible endpoint")
    .requiredOption("--questions <file>", "the test set the answers belong to")
    .option("--format <name>", "test set format", setFormat, "auto" as SetFormat | "auto")
    .requiredOption("--a <jsonl>", "answers of model A (whose wins are counted)")
    .requiredOption("--b <jsonl>", "answers of model B")
    .option("--name-a <name>", "name of model A", "A")
    .option("--name-b <name>", "name of model B", "B")
    .requiredOption("--base-url <url>", "OpenAI-compatible endpoint, e.g. http://127.0.0.1:8000/v1 (pedgpt serve included)")
    .requiredOption("--judge-model <name>", "model name sent to the endpoint")
    .option("--api-key-env <var>", "environment variable holding the API key", "OPENAI_API_KEY")
    .requiredOption("--out <json>", "judge results (with every raw judgement)")
    .option("--work <dir>", "journal and cache folder (defaults to <out>.work)")
    .option("--temperature <t>", "judge temperature", num("--temperature", 0, 2), 0)
    .option("--timeout-ms <n>", "per-request timeout", int("--timeout-ms", 1), 60000)
    .option("--max-retries <n>", "retries per call (timeouts, 5xx, unparseable replies)", int("--max-retries", 0), 3)
    .option("--concurrency <n>", "judge calls in flight", int("--concurrency", 1), 4)
    .option("--rpm <n>", "requests per minute (0 = unlimited)", int("--rpm", 0), 0)
    .option("--allow-missing", "judge the items both models answered and list the rest")
    .action(async (o: { questions: string; format: SetFormat | "auto"; a: string; b: string; nameA: string; nameB: string; baseUrl: string; judgeModel: string; apiKeyEnv: string; out: string; work?: string; temperature: number; timeoutMs: number; maxRetries: number; concurrency: number; rpm: number; allowMissing?: boolean }) => {
      if (o.nameA === o.nameB) throw new InvalidArgumentError(`--name-a and --name-b must differ (both "${o.nameA}")`);
      const set = await readTestSet(o.questions, { format: o.format });
      const a = { name: o.nameA, file: o.a, answers: readAnswers(o.a) };
      const b = { name: o.nameB, file: o.b, answers: readAnswers(o.b) };
      const workDir = o.work ?? `${o.out}.work`;
      const apiKey = process.env[o.apiKeyEnv];
      const client = new LlmClient({ baseUrl: o.baseUrl, model: o.judgeModel, ...(apiKey ? { apiKey } : {}), cacheDir: join(workDir, "cache"), timeoutMs: o.timeoutMs, maxRetries: o.maxRetries, concurrency: o.concurrency, requestsPerMinute: o.rpm });
      let last = 0;
      const r = await interruptible((signal) =>
        runJudge(set, a, b, {
          client,
          workDir,
          temperature: o.temperature,
          concurrency: o.concurrency,
          signal,
          ...(o.allowMissing ? { allowMissing: true } : {}),
          onProgress: (done, total) => {
            if (Date.now() - last < 1000 && done !== total) return;
            last = Date.now();
            process.stderr.write(`judge: ${done}/${total} calls\n`);
          },
        }),
      );
      console.log(formatJudgeTable(r));
      await writeFileAtomic(o.out, JSON.stringify(r, null, 1) + "\n");
      console.log(`wrote ${o.out} (${r.judgements.length} judgements, ${r.failures.length} failed)`);
      if (r.failures.length > 0) process.exitCode = 1;
    });
}
