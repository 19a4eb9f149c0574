/**
 * Safety checker benchmark: precision and recall per finding type on the labelled test set
 * (data/safety/testset.jsonl, regenerated in memory when absent), reported separately for the dev and
 * test splits and for generated vs hand-written rows, plus throughput. When ../shared/data is present
 * it also runs the checker over real pediatric doctor answers (Huatuo-26M subset, unlabelled) and
 * reports how often it fires there, as a rough false-alarm indicator, printing examples to inspect.
 * A blind batch (data/safety/testset-blind.jsonl, written by someone who never saw the rules; same row
 * schema as testset-handwritten.jsonl) is its own slice: never tuned on, so it shows how the rules
 * carry over to unseen phrasing. Its errors are not listed unless --show-blind-errors is given.
 *
 *   npm run bench -- safety [--testset FILE] [--blind FILE] [--show-errors] [--show-blind-errors] [--real-data DIR]
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { checkAnswer, FINDING_TYPES, loadSafetyKnowledge, type Finding, type FindingType } from "../src/safety/index.js";
import { buildTestSet, readHandwritten, readTestSet, type TestRow } from "../src/safety/testset.js";

interface Counts { tp: number; fp: number; fn: number }
type Table = Record<FindingType, Counts>;

const emptyTable = (): Table => Object.fromEntries(FINDING_TYPES.map((t) => [t, { tp: 0, fp: 0, fn: 0 }])) as Table;
const keyOf = (type: FindingType, drug?: string) => (type === "missing_urgent_care" ? type : `${type}:${drug ?? "?"}`);

function score(row: TestRow, findings: Finding[], table: Table): { fp: string[]; fn: string[] } {
  const expected = new Map<string, number>();
  for (const e of row.expected) expected.set(keyOf(e.type, e.drug), (expected.get(keyOf(e.type, e.drug)) ?? 0) + 1);
  const got = new Map<string, number>();
  for (const f of findings) got.set(keyOf(f.type, f.drug), 1);
  const fp: string[] = [];
  const fn: string[] = [];
  for (const [k] of got) {
    const type = k.split(":")[0] as FindingType;
    if (expected.has(k)) table[type].tp++;
    else { table[type].fp++; fp.push(k); }
  }
  for (const [k] of expected) {
    if (!got.has(k)) { table[k.split(":")[0] as FindingType].fn++; fn.push(k); }
  }
  return { fp, fn };
}

function summarise(table: Table) {
  const per: Record<string, { precision: number | null; recall: number | null; f1: number | null; tp: number; fp: number; fn: number }> = {};
  let tp = 0, fp = 0, fn = 0;
  for (const t of FINDING_TYPES) {
    const c = table[t];
    tp += c.tp; fp += c.fp; fn += c.fn;
    const p = c.tp + c.fp ? c.tp / (c.tp + c.fp) : null;
    const r = c.tp + c.fn ? c.tp / (c.tp + c.fn) : null;
    per[t] = { precision: p === null ? null : round(p), recall: r === null ? null : round(r), f1: p && r ? round((2 * p * r) / (p + r)) : null, ...c };
  }
  const p = tp + fp ? tp / (tp + fp) : 0;
  const r = tp + fn ? tp / (tp + fn) : 0;
  return { microPrecision: round(p), microRecall: round(r), microF1: p + r ? round((2 * p * r) / (p + r)) : 0, perType: per };
}
const round = (x: number) => Math.round(x * 1000) / 1000;

function printTable(title: string, s: ReturnType<typeof summarise>, rows: number): void {
  console.log(`\n${title} (${rows} answers): micro P=${s.microPrecision} R=${s.microRecall} F1=${s.microF1}`);
  for (const [t, c] of Object.entries(s.perType))
    console.log(`  ${t.padEnd(22)} P=${String(c.precision ?? "-").padEnd(6)} R=${String(c.recall ?? "-").padEnd(6)} (tp ${c.tp}, fp ${c.fp}, fn ${c.fn})`);
}

export default async function main(args: string[]): Promise<void> {
  const opt = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const kb = loadSafetyKnowledge();
  const file = opt("--testset") ?? join(kb.dir, "testset.jsonl");
  const rows = existsSync(file) ? readTestSet(file) : buildTestSet(kb);
  console.log(`safety bench: ${rows.length} labelled answers from ${existsSync(file) ? file : "the in-memory generator"} (knowledge base ${kb.kbVersion}: ${kb.drugs.length} drugs, ${kb.redFlags.length} red flags)`);

  const tables: Record<string, Table> = { dev: emptyTable(), test: emptyTable(), "test/generated": emptyTable(), "test/handwritten": emptyTable(), "dev/generated": emptyTable(), "dev/handwritten": emptyTable() };
  const errors: string[] = [];
  const t0 = performance.now();
  for (const row of rows) {
    const r = checkAnswer(row.answer, { question: row.question, kb });
    const { fp, fn } = score(row, r.findings, tables[row.split]!);
    score(row, r.findings, tables[`${row.split}/${row.source}`]!);
    if (fp.length || fn.length) errors.push(`${row.id} [${row.split}] FP=${fp.join(",") || "-"} FN=${fn.join(",") || "-"}\n    Q: ${row.question}\n    A: ${row.answer}\n    ${r.findings.map((f) => `${f.type}: ${f.message}`).join("\n    ")}`);
  }
  const secs = (performance.now() - t0) / 1000;
  const answersPerSec = round(rows.length / secs);

  const summaries: Record<string, ReturnType<typeof summarise>> = {};
  for (const [name, t] of Object.entries(tables)) {
    summaries[name] = summarise(t);
    const n = rows.filter((r) => name.includes("/") ? `${r.split}/${r.source}` === name : r.split === name).length;
    printTable(name, summaries[name]!, n);
  }
  console.log(`\nthroughput: ${answersPerSec} answers/s (${rows.length} answers in ${secs.toFixed(2)} s, one core)`);
  if (args.includes("--show-errors")) console.log(`\nerrors (${errors.length}):\n${errors.join("\n")}`);
  else console.log(`${errors.length} answers with a false positive or negative (--show-errors to list)`);

  // Real doctor answers: unlabelled, so only a firing rate; examples printed for manual review.
  const realDir = opt("--real-data") ?? fileURLToPath(new URL("../../shared/data/huatuo26m-pediatric/", import.meta.url));
  let real: Record<string, unknown> | undefined;
  const realFile = join(realDir, "dev.jsonl");
  if (existsSync(realFile)) {
    const lines = readFileSync(realFile, "utf8").split("\n").filter((l) => l.trim());
    const byType: Record<string, number> = {};
    let withFinding = 0;
    const examples: string[] = [];
    for (const line of lines) {
      const { question, answer } = JSON.parse(line) as { question: string; answer: string };
      const r = checkAnswer(answer, { question, kb });
      if (r.findings.length) withFinding++;
      for (const f of r.findings) {
        byType[f.type] = (byType[f.type] ?? 0) + 1;
        if (examples.length < 12) examples.push(`  [${f.type}] ${f.message}\n     Q: ${question.slice(0, 80)}\n     A: …${answer.slice(Math.max(0, f.evidence.start - 30), f.evidence.end + 30)}…`);
      }
    }
    real = { answers: lines.length, withFinding, perType: byType };
    console.log(`\nreal doctor answers (Huatuo-26M pediatric subset, unlabelled): ${withFinding}/${lines.length} answers get a finding; by type ${JSON.stringify(byType)}`);
    if (args.includes("--show-errors")) console.log(examples.join("\n"));
  } else console.log(`\nreal-data check skipped: ${realFile} not found`);

  // The blind batch: scored on its own, never mixed into dev/test.
  const blindFile = opt("--blind") ?? join(kb.dir, "testset-blind.jsonl");
  let blind: (ReturnType<typeof summarise> & { rows: number }) | undefined;
  let blindRows: TestRow[] | undefined;
  if (existsSync(blindFile)) {
    try {
      blindRows = readHandwritten(blindFile);
    } catch (err) {
      // A bad row names its file, line and field; the other slices are still reported.
      console.log(`\nblind slice skipped: ${(err as Error).message}`);
    }
  } else console.log(`\nblind slice skipped: ${blindFile} not found`);
  if (blindRows) {
    const table = emptyTable();
    const blindErrors: string[] = [];
    for (const row of blindRows) {
      const r = checkAnswer(row.answer, { question: row.question, kb });
      const { fp, fn } = score(row, r.findings, table);
      if (fp.length || fn.length) blindErrors.push(`${row.id} FP=${fp.join(",") || "-"} FN=${fn.join(",") || "-"}\n    Q: ${row.question}\n    A: ${row.answer}`);
    }
    blind = { ...summarise(table), rows: blindRows.length };
    printTable(`blind (${blindFile})`, blind, blindRows.length);
    if (args.includes("--show-blind-errors")) console.log(`\nblind errors (${blindErrors.length}):\n${blindErrors.join("\n")}`);
    else console.log(`${blindErrors.length} blind answers with a false positive or negative (--show-blind-errors to list)`);
  }

  const test = summaries.test!;
  const dev = summaries.dev!;
  console.log(JSON.stringify({
    bench: "safety", metric: "micro-F1", ours: test.microF1, reference: null, ratio: null,
    split: "test", rows: rows.length,
    test: { precision: test.microPrecision, recall: test.microRecall, f1: test.microF1 },
    dev: { precision: dev.microPrecision, recall: dev.microRecall, f1: dev.microF1 },
    test_handwritten: { precision: summaries["test/handwritten"]!.microPrecision, recall: summaries["test/handwritten"]!.microRecall, f1: summaries["test/handwritten"]!.microF1 },
    per_type: Object.fromEntries(Object.entries(test.perType).map(([k, v]) => [k, { precision: v.precision, recall: v.recall, dev_precision: dev.perType[k]!.precision, dev_recall: dev.perType[k]!.recall }])),
    ...(blind ? { blind: { rows: blind.rows, precision: blind.microPrecision, recall: blind.microRecall, f1: blind.microF1, per_type: Object.fromEntries(Object.entries(blind.perType).map(([k, v]) => [k, { precision: v.precision, recall: v.recall }])) } } : {}),
    answers_per_s: answersPerSec,
    ...(real ? { real_data: real } : {}),
  }));
}
