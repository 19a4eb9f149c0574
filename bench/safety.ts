/**
 * Safety checker benchmark: precision and recall per finding type on the labelled test set
 * (data/safety/testset.jsonl, regenerated in memory when absent), reported separately for the dev and
 * test splits and for generated vs hand-written rows, plus throughput. Blind batches (written by
 * someone who never saw the rules; same row schema as testset-handwritten.jsonl) are their own
 * slices, side by side: data/safety/testset-blind.jsonl and testset-blind-2/3/…/11.jsonl
 * (at least a third list-structured LLM-style answers each). Each was scored once before the checker's
 * authors saw it; data/safety/README.md records those first scores, since a batch read afterwards is
 * a dev set. data/safety/redflag-paraphrases.jsonl (red flags told in other words, with urgent,
 * postponing and look-alike answers) is a named dev set reported next to them as paraphrase_dev, and
 * data/safety/testset-dev-8.jsonl and -9 (written blind-style, then tuned on in the open) as dev_8 and dev_9. Their errors are not
 * listed unless --show-blind-errors is given.
 *
 * Streaming: every test-set answer is fed sentence by sentence to the streaming checker; the bench
 * reports answers/s, μs per appended sentence, how often the streamed result equals checkAnswer's, and
 * on one long answer the cost per sentence late vs early, against re-checking the whole growing answer
 * at every sentence end (the reference a stream without incremental checking would pay).
 *
 * Real text: when ../shared/data is present, the checker runs over every Huatuo-26M pediatric doctor
 * answer (unlabelled); each finding was read by hand and its verdict recorded in
 * data/safety/real-review.jsonl, so the bench prints false positives per type and any finding not yet
 * reviewed.
 *
 * --unknown-drugs lists drug-like names in that real text (and PediaBench explanations, the sample
 * passages) that no knowledge-base name covers.
 *
 *   npm run bench -- safety [--testset FILE] [--blind FILE]... [--show-errors] [--show-blind-errors] [--real-data DIR] [--unknown-drugs]
 *
 * --real-data DIR is the Huatuo pediatric folder or the shared data folder above it.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { checkAnswer, createStreamingChecker, FINDING_TYPES, GOAL_FINDING_TYPES, isCareFinding, loadSafetyKnowledge, type Finding, type FindingType } from "../src/safety/index.js";
import { SENTENCE_END } from "../src/safety/text.js";
import { unknownDrugLikeNames } from "../src/safety/vocab.js";
import { buildTestSet, readHandwritten, readTestSet, type TestRow } from "../src/safety/testset.js";
import { SafetyStream, safetyAfter } from "../src/serve/safety.js";

interface Counts { tp: number; fp: number; fn: number }
type Table = Record<FindingType, Counts>;

const emptyTable = (): Table => Object.fromEntries(FINDING_TYPES.map((t) => [t, { tp: 0, fp: 0, fn: 0 }])) as Table;
const keyOf = (type: FindingType, drug?: string) => (isCareFinding(type) ? type : `${type}:${drug ?? "?"}`);
/** Reported on its own line, outside the micro average and the per-type goal (a visit within 24 h, not the ED). */
const TIMELY = "missing_timely_care" satisfies FindingType;

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
    if (GOAL_FINDING_TYPES.includes(t)) { tp += c.tp; fp += c.fp; fn += c.fn; }
    const p = c.tp + c.fp ? c.tp / (c.tp + c.fp) : null;
    const r = c.tp + c.fn ? c.tp / (c.tp + c.fn) : null;
    per[t] = { precision: p === null ? null : round(p), recall: r === null ? null : round(r), f1: p && r ? round((2 * p * r) / (p + r)) : null, ...c };
  }
  const p = tp + fp ? tp / (tp + fp) : 0;
  const r = tp + fn ? tp / (tp + fn) : 0;
  return { microPrecision: round(p), microRecall: round(r), microF1: p + r ? round((2 * p * r) / (p + r)) : 0, perType: per };
}
const round = (x: number) => Math.round(x * 1000) / 1000;

/**
 * `labelsTimely` false: the rows never label missing_timely_care (batches written before the type
 * existed), so its findings are counted, not scored.
 */
function printTable(title: string, s: ReturnType<typeof summarise>, rows: number, labelsTimely = true): void {
  console.log(`\n${title} (${rows} answers): micro P=${s.microPrecision} R=${s.microRecall} F1=${s.microF1} (the ${GOAL_FINDING_TYPES.length} goal types)`);
  for (const t of GOAL_FINDING_TYPES) {
    const c = s.perType[t]!;
    console.log(`  ${t.padEnd(22)} P=${String(c.precision ?? "-").padEnd(6)} R=${String(c.recall ?? "-").padEnd(6)} (tp ${c.tp}, fp ${c.fp}, fn ${c.fn})`);
  }
  const c = s.perType[TIMELY]!;
  if (labelsTimely) console.log(`  ${TIMELY.padEnd(22)} P=${String(c.precision ?? "-").padEnd(6)} R=${String(c.recall ?? "-").padEnd(6)} (tp ${c.tp}, fp ${c.fp}, fn ${c.fn}; not a goal type)`);
  else console.log(`  ${TIMELY.padEnd(22)} ${c.tp + c.fp} findings (these rows do not label the type; not a goal type)`);
}

/**
 * The named slices found in the knowledge-base folder, in order: testset-blind.jsonl as `blind`, each
 * testset-blind-N.jsonl as `blind_N`, redflag-paraphrases.jsonl as `paraphrase_dev`, each
 * testset-dev-N.jsonl as `dev_N` (a new batch is picked up by adding its file).
 */
function defaultSlices(dir: string): [string, string][] {
  const numbered = (prefix: string, name: (n: number) => string) =>
    readdirSync(dir)
      .map((f) => new RegExp(`^${prefix}-(\\d+)\\.jsonl$`).exec(f))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b)
      .map((n): [string, string] => [name(n), join(dir, `${prefix}-${n}.jsonl`)]);
  return [
    ["blind", join(dir, "testset-blind.jsonl")],
    ...numbered("testset-blind", (n) => `blind_${n}`),
    ["paraphrase_dev", join(dir, "redflag-paraphrases.jsonl")],
    ...numbered("testset-dev", (n) => `dev_${n}`),
  ];
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
  // The compositional red-flag layer's share: the same answers checked with and without its rules,
  // interleaved, in CPU time of this process (a shared machine's load does not enter).
  const cpuNow = () => { const u = process.cpuUsage(); return u.user + u.system; };
  const noRules = { ...kb, redFlagRules: [] };
  let withUs = 0, withoutUs = 0;
  for (let rep = 0; rep < 3; rep++)
    for (const [k, acc] of [[kb, "with"], [noRules, "without"]] as const) {
      const c0 = cpuNow();
      for (const row of rows) checkAnswer(row.answer, { question: row.question, kb: k });
      if (acc === "with") withUs += cpuNow() - c0; else withoutUs += cpuNow() - c0;
    }
  const composeCost = { answers_per_s_with: round((3 * rows.length) / (withUs / 1e6)), answers_per_s_without: round((3 * rows.length) / (withoutUs / 1e6)), ratio: round(withUs / withoutUs) };
  console.log(`compositional red flags: ${composeCost.answers_per_s_with} answers/s with, ${composeCost.answers_per_s_without} without (CPU, 3 interleaved runs): ${composeCost.ratio}× the time`);
  if (args.includes("--show-errors")) console.log(`\nerrors (${errors.length}):\n${errors.join("\n")}`);
  else console.log(`${errors.length} answers with a false positive or negative (--show-errors to list)`);

  // Streaming: each answer appended sentence by sentence.
  const sentencesOf = (a: string) => {
    const out: string[] = [];
    let from = 0;
    for (let i = 0; i < a.length; i++) if (SENTENCE_END.test(a[i]!)) { out.push(a.slice(from, i + 1)); from = i + 1; }
    if (from < a.length) out.push(a.slice(from));
    return out;
  };
  const keys = (fs: Finding[]) => fs.map((f) => keyOf(f.type, f.drug)).sort().join(",");
  // Per-sentence costs are CPU time of this process (μs), so other load on a shared machine does not
  // inflate them; answers/s is wall-clock like the batch figure above.
  const cpuUs = () => { const u = process.cpuUsage(); return u.user + u.system; };
  let appended = 0;
  let streamAgree = 0;
  let streamCpu = 0;
  const ts0 = performance.now();
  const streamed = rows.map((row) => {
    const st = createStreamingChecker({ question: row.question, kb });
    const c0 = cpuUs();
    for (const piece of sentencesOf(row.answer)) { st.append(piece); appended++; }
    const got = st.finish();
    streamCpu += cpuUs() - c0;
    return got;
  });
  const streamSecs = (performance.now() - ts0) / 1000;
  rows.forEach((row, i) => { if (keys(streamed[i]!.findings) === keys(checkAnswer(row.answer, { question: row.question, kb }).findings)) streamAgree++; });
  // Serving: the answer arrives in token-sized pieces (3 characters); annotations are kept up to date
  // by the streaming checker instead of checking the finished answer (safetyAfter) once more.
  let pieceCount = 0;
  const cs0 = cpuUs();
  for (const row of rows) {
    const ss = new SafetyStream(row.question);
    for (let i = 0; i < row.answer.length; i += 3) { ss.append(row.answer.slice(i, i + 3)); pieceCount++; }
    ss.finish();
  }
  const servingCpu = cpuUs() - cs0;
  const ca0 = cpuUs();
  for (const row of rows) safetyAfter(row.answer, row.question);
  const afterCpu = cpuUs() - ca0;
  const serving = { us_per_piece_cpu: round(servingCpu / pieceCount), pieces: pieceCount, us_per_answer_streamed: round(servingCpu / rows.length), us_per_answer_whole: round(afterCpu / rows.length) };
  const stream = {
    answers_per_s: round(rows.length / streamSecs),
    batch_answers_per_s: answersPerSec,
    us_per_sentence_cpu: round(streamCpu / appended),
    sentences: appended,
    agree_with_batch: round(streamAgree / rows.length),
    serving,
  };
  // One long answer: cost per appended sentence early vs late, and the re-check-everything reference.
  const longAnswer: string[] = [];
  for (const row of rows) for (const p of sentencesOf(row.answer)) if (longAnswer.length < 400) longAnswer.push(p);
  const st = createStreamingChecker({ kb });
  const perSentence: number[] = [];
  for (const p of longAnswer) { const t = cpuUs(); st.append(p); perSentence.push(cpuUs() - t); }
  st.finish();
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const tenth = Math.max(1, Math.floor(perSentence.length / 10));
  const earlyUs = mean(perSentence.slice(0, tenth));
  const lateUs = mean(perSentence.slice(-tenth));
  // Reference: the whole growing answer re-checked at each sentence end, over the same last tenth.
  let grown = longAnswer.slice(0, longAnswer.length - tenth).join("");
  const tr = cpuUs();
  for (const p of longAnswer.slice(-tenth)) { grown += p; checkAnswer(grown, { kb, urgentCare: false }); }
  const rescanLateUs = (cpuUs() - tr) / tenth;
  const longChars = longAnswer.join("").length;
  console.log(`\nstreaming (sentence by sentence): ${stream.answers_per_s} answers/s (batch ${answersPerSec}), ${stream.us_per_sentence_cpu} μs CPU per appended sentence (${appended} sentences); result equals checkAnswer's on ${streamAgree}/${rows.length} answers`);
  console.log(`serving (answers fed in 3-character pieces): ${serving.us_per_piece_cpu} μs CPU per piece (${serving.pieces} pieces), ${serving.us_per_answer_streamed} μs per answer streamed vs ${serving.us_per_answer_whole} μs checking the finished answer`);
  console.log(`long answer (${longAnswer.length} sentences, ${longChars} chars): ${round(earlyUs)} μs CPU per sentence in the first tenth, ${round(lateUs)} μs in the last; re-checking the whole answer at each sentence end costs ${round(rescanLateUs)} μs there (ratio ${round(rescanLateUs / lateUs)}x)`);

  // Real doctor answers: unlabelled; every finding was read by hand (data/safety/real-review.jsonl).
  // --real-data takes the Huatuo folder itself or the shared data folder that holds it.
  const realArg = opt("--real-data");
  const realDir = realArg
    ? (existsSync(join(realArg, "huatuo26m-pediatric", "dev.jsonl")) ? join(realArg, "huatuo26m-pediatric") : realArg)
    : fileURLToPath(new URL("../../shared/data/huatuo26m-pediatric/", import.meta.url));
  let real: Record<string, unknown> | undefined;
  const realFile = join(realDir, "dev.jsonl");
  if (existsSync(realFile)) {
    const reviewFile = join(kb.dir, "real-review.jsonl");
    const review = new Map<string, { verdict: string; note: string }>();
    if (existsSync(reviewFile))
      readFileSync(reviewFile, "utf8").split("\n").forEach((l, i) => {
        if (!l.trim()) return;
        const r = JSON.parse(l) as { id?: unknown; type?: unknown; drug?: unknown; verdict?: unknown; note?: unknown };
        if (typeof r.id !== "string" || typeof r.type !== "string" || !["tp", "fp", "partial"].includes(String(r.verdict)))
          throw new Error(`${reviewFile}:${i + 1}: expected {id, type, drug?, verdict: "tp"|"fp"|"partial", note}`);
        review.set(`${r.id}|${keyOf(r.type as FindingType, typeof r.drug === "string" ? r.drug : undefined)}`, { verdict: String(r.verdict), note: String(r.note ?? "") });
      });
    const lines = readFileSync(realFile, "utf8").split("\n").filter((l) => l.trim());
    const byType: Record<string, { findings: number; fp: number; partial: number; unreviewed: number }> = {};
    let withFinding = 0;
    const examples: string[] = [];
    for (const line of lines) {
      const { id, question, answer } = JSON.parse(line) as { id: string; question: string; answer: string };
      const r = checkAnswer(answer, { question, kb });
      if (r.findings.length) withFinding++;
      for (const f of r.findings) {
        const t = (byType[f.type] ??= { findings: 0, fp: 0, partial: 0, unreviewed: 0 });
        t.findings++;
        const v = review.get(`${id}|${keyOf(f.type, f.drug)}`);
        if (!v) t.unreviewed++;
        else if (v.verdict === "fp") t.fp++;
        else if (v.verdict === "partial") t.partial++;
        examples.push(`  ${id} [${f.type}] ${v ? v.verdict.toUpperCase() : "UNREVIEWED"}: ${f.message}${v?.note ? `\n     review: ${v.note}` : ""}`);
      }
    }
    real = { answers: lines.length, withFinding, perType: byType };
    console.log(`\nreal doctor answers (Huatuo-26M pediatric subset, unlabelled, every finding reviewed by hand): ${withFinding}/${lines.length} answers get a finding`);
    for (const [t, c] of Object.entries(byType)) console.log(`  ${t.padEnd(22)} findings ${c.findings}, false positives ${c.fp}, partly right ${c.partial}, not yet reviewed ${c.unreviewed}`);
    if (args.includes("--show-errors")) console.log(examples.join("\n"));
  } else console.log(`\nreal-data check skipped: ${realFile} not found`);

  // Drugs named in real text that the knowledge base lacks: a reading list for extending drugs.json.
  if (args.includes("--unknown-drugs")) {
    const texts: string[] = [];
    const shared = fileURLToPath(new URL("../../shared/data/", import.meta.url));
    const jsonl = (f: string, pick: (o: Record<string, unknown>) => unknown) => {
      if (existsSync(f)) for (const l of readFileSync(f, "utf8").split("\n")) if (l.trim()) { const v = pick(JSON.parse(l) as Record<string, unknown>); if (typeof v === "string") texts.push(v); }
    };
    jsonl(realFile, (o) => o.answer);
    for (const f of ["dev.jsonl", "dev_other_types.jsonl"]) jsonl(join(shared, "pediabench", f), (o) => o.explanation);
    const passages = fileURLToPath(new URL("../data/sample/passages/", import.meta.url));
    if (existsSync(passages)) for (const f of readdirSync(passages)) texts.push(readFileSync(join(passages, f), "utf8"));
    const unknown = unknownDrugLikeNames(texts, kb);
    console.log(`\ndrug-like names the knowledge base lacks (${texts.length} texts: Huatuo answers, PediaBench explanations, sample passages): ${unknown.length}`);
    console.log(unknown.slice(0, 80).map((u) => `${u.name}×${u.count}`).join(" "));
  }

  // The blind batches: each scored on its own, never mixed into dev/test, never tuned on.
  const blindFiles = args.flatMap((a, i) => (a === "--blind" && args[i + 1] ? [args[i + 1]!] : []));
  const blinds: Record<string, ReturnType<typeof summarise> & { rows: number; file: string; labelsTimely: boolean; urgentLabelTimelyFound: number }> = {};
  for (const [name, file] of blindFiles.length ? blindFiles.map((f, i) => [`blind${i ? `_${i + 1}` : ""}`, f] as const) : defaultSlices(kb.dir)) {
    if (!existsSync(file)) { console.log(`\n${name} slice skipped: ${file} not found`); continue; }
    let blindRows: TestRow[];
    try {
      blindRows = readHandwritten(file);
    } catch (err) {
      // A bad row names its file, line and field; the other slices are still reported.
      console.log(`\n${name} slice skipped: ${(err as Error).message}`);
      continue;
    }
    const table = emptyTable();
    const blindErrors: string[] = [];
    const labelsTimely = blindRows.some((row) => row.expected.some((e) => e.type === TIMELY));
    // Rows labelled missing_urgent_care where the checker finds only a missing visit within 24 hours: the
    // label convention before missing_timely_care existed (they count as urgent-care misses).
    let urgentLabelTimelyFound = 0;
    for (const row of blindRows) {
      const r = checkAnswer(row.answer, { question: row.question, kb });
      const scored = score(row, r.findings, table);
      // An unlabelled type's findings are not errors of the batch (they are counted on their own line).
      const fp = labelsTimely ? scored.fp : scored.fp.filter((k) => k !== TIMELY);
      const fn = scored.fn;
      if (!labelsTimely && row.expected.some((e) => e.type === "missing_urgent_care") && r.findings.some((f) => f.type === TIMELY)) urgentLabelTimelyFound++;
      if (fp.length || fn.length) blindErrors.push(`${row.id} FP=${fp.join(",") || "-"} FN=${fn.join(",") || "-"}\n    Q: ${row.question}\n    A: ${row.answer}\n    ${r.findings.map((f) => `${f.type}: ${f.message}`).join("\n    ")}`);
    }
    blinds[name] = { ...summarise(table), rows: blindRows.length, file, labelsTimely, urgentLabelTimelyFound };
    printTable(`${name} (${file})`, blinds[name]!, blindRows.length, labelsTimely);
    if (urgentLabelTimelyFound) console.log(`  ${urgentLabelTimelyFound} row(s) labelled missing_urgent_care get missing_timely_care (signs needing a visit within 24 h, labelled before the two were told apart)`);
    if (args.includes("--show-blind-errors")) console.log(`\n${name} errors (${blindErrors.length}):\n${blindErrors.join("\n")}`);
    else console.log(`${blindErrors.length} ${name} answers with a false positive or negative (--show-blind-errors to list)`);
  }
  if (Object.keys(blinds).length > 1) {
    console.log(`\nblind batches side by side (P / R per type):`);
    for (const t of GOAL_FINDING_TYPES) console.log(`  ${t.padEnd(22)} ${Object.entries(blinds).map(([n, b]) => `${n}: ${b.perType[t]!.precision ?? "-"} / ${b.perType[t]!.recall ?? "-"}`).join("   ")}`);
    console.log(`  ${TIMELY.padEnd(22)} ${Object.entries(blinds).map(([n, b]) => `${n}: ${b.labelsTimely ? `${b.perType[TIMELY]!.precision ?? "-"} / ${b.perType[TIMELY]!.recall ?? "-"}` : `${b.perType[TIMELY]!.fp} found`}`).join("   ")}  (not a goal type)`);
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
    ...Object.fromEntries(Object.entries(blinds).map(([n, b]) => [n, { rows: b.rows, precision: b.microPrecision, recall: b.microRecall, f1: b.microF1, per_type: Object.fromEntries(Object.entries(b.perType).map(([k, v]) => [k, k === TIMELY && !b.labelsTimely ? { found: v.fp, unlabelled: true } : { precision: v.precision, recall: v.recall, tp: v.tp, fp: v.fp, fn: v.fn }])), ...(b.urgentLabelTimelyFound ? { urgent_labels_found_as_timely: b.urgentLabelTimelyFound } : {}) }])),
    answers_per_s: answersPerSec,
    redflag_compositions: composeCost,
    stream: { ...stream, long_answer: { sentences: longAnswer.length, chars: longChars, us_per_sentence_early: round(earlyUs), us_per_sentence_late: round(lateUs), rescan_us_per_sentence_late: round(rescanLateUs), ratio: round(rescanLateUs / lateUs) } },
    ...(real ? { real_data: real } : {}),
  }));
}
