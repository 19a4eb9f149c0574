/**
 * `pedgpt corpus build`: reads every configured source, cleans (normalise, PII, filters), removes
 * exact and near duplicates across sources, builds the MedKQ&A / EviDiag / TreRecom task sets
 * (templates, optionally LLM-assisted), splits train/test without near-duplicate leakage, and writes
 * Alpaca + ShareGPT files, the hybrid CPT corpus (`{"text"}` per line, one document each, ready for
 * EOS packing), DFPO pairs, `dataset_info.json` for LLaMA-Factory, `bad_records.jsonl` and the
 * statistics (JSON + table).
 *
 * Reading, cleaning and dedup stream; the built task records and CPT documents are held in memory
 * because the leakage-free split needs all of them at once (instruction sets are hundreds of MB at
 * most; the GB-scale streaming path is what `bench/corpus.ts` measures).
 */
import { existsSync } from "node:fs";
import { readdir, readFile, stat as fsStat } from "node:fs/promises";
import { dirname, join, relative, sep } from "node:path";
import { Deduper } from "./clean/dedup.js";
import { FilterCounter, qualityCheck } from "./clean/filters.js";
import { normalizeText } from "./clean/normalize.js";
import { emptyPiiCounts, scrubPii } from "./clean/pii.js";
import { resolveIn, type BuildConfig, type LoadedConfig, type SourceConfig } from "./config.js";
import { BadRecordError, CorpusConfigError, CorpusError, IssueSink, type ErrorPolicy, type Located } from "./errors.js";
import { readJsonRecords } from "./io/json.js";
import { LlmClient } from "../llm/client.js";
import { llmPreferencePairs, llmSectionQa, llmTripleQa, type DfpoPair, type HeadFacts } from "./llm/generate.js";
import { flattenRecord, recordText, toAlpaca, toSharegpt } from "./output/formats.js";
import { checkLeakage, splitWithoutLeakage, type Side, type SplitReport } from "./output/split.js";
import { Counter, LengthDist, renderCounts, renderDistributions, renderTable, type Distribution } from "./output/stats.js";
import { JsonlWriter, writeFileAtomic, writeJsonAtomic } from "./output/writer.js";
import { checkOutputDir, writeOutputDir, type OutputDirOptions } from "../util/atomic.js";
import { readCmd } from "./readers/cmd.js";
import { readConsultations } from "./readers/dialogues.js";
import { readAlpaca, readPreference, readSharegpt } from "./readers/instructions.js";
import { readTriples } from "./readers/kg.js";
import { readPassages } from "./readers/passages.js";
import { entryFile, entryKind, readRegistry, writeRegistry, type DatasetRegistry } from "./readers/registry.js";
import type { InstructionExample, Message, PassageSection, PreferencePair } from "./readers/types.js";
import { fromCmdRow, fromConsultation, fromInstruction, fromPassageSection, passageText, recordId, TripleGroups, type SourceInfo } from "./tasks/templates.js";
import { TASKS, type TaskLabel, type TaskRecord } from "./tasks/types.js";
import { loadTokenCounter, type TokenCounter } from "./tokens.js";

export interface BuildOptions {
  /** Overrides the config's outDir (resolved against the working directory). */
  outDir?: string;
  /** Overrides the config's onError policy. */
  policy?: ErrorPolicy;
  onProgress?: (message: string) => void;
  signal?: AbortSignal;
}

export interface SourceStats {
  kind: string;
  read: number;
  badRecords: number;
  filtered: number;
  exactDups: number;
  nearDups: number;
  records: number;
  cptDocuments: number;
  preferencePairs: number;
}

export interface CorpusStats {
  format: "pedgpt-corpus-stats";
  version: 1;
  name: string;
  sources: Record<string, SourceStats>;
  badRecords: { total: number; byStage: Record<string, number> };
  filters: Record<string, number>;
  pii: Record<string, number>;
  dedup: Record<string, { seen: number; kept: number; exactDups: number; nearDups: number; dedupRate: number }>;
  records: {
    total: number;
    byTask: Record<string, number>;
    bySource: Record<string, number>;
    byDepartment: Record<string, number>;
    byAgeGroup: Record<string, number>;
    byGenerator: Record<string, number>;
    byTaskSplit: Record<string, number>;
    turns: Distribution;
  };
  lengths: { unit: "chars"; byField: Record<string, Distribution> };
  tokens: { tokenizer: string; byField: Record<string, Distribution> } | null;
  split: SplitReport;
  cpt: { documents: number; plainDocuments: number; instructionDocuments: number; chars: number; bytes: number; instructionShare: number; targetInstructionShare: number; excludedTestText: number };
  dfpo: { fromFiles: number; fromLlm: number; train: number; test: number };
  llm: Record<string, number> | null;
  outputs: Record<string, number>;
}

export interface BuildResult {
  outDir: string;
  stats: CorpusStats;
  table: string;
}

const TASK_SLUG: Record<TaskLabel, string> = { "MedKQ&A": "medkqa", EviDiag: "evidiag", TreRecom: "trerecom", general: "general" };

interface CptDoc {
  text: string;
  /** The task record made from the same text (for excluding test-split text). */
  recordId?: string;
}

function posix(p: string): string {
  return p.split(sep).join("/");
}

/** Deterministic order key. */
function orderKey(seed: number, id: string): string {
  return recordId([String(seed), id]);
}

const LLM_WORK_DIR = "llm";

/**
 * Whether `dir` is an earlier corpus build (its stats.json says so), or holds only the LLM cache of
 * a build that did not finish: the folders a rebuild may replace.
 */
export async function isCorpusBuildDir(dir: string): Promise<boolean> {
  const names = await readdir(dir);
  if (names.every((n) => n === LLM_WORK_DIR)) return true;
  try {
    const s = JSON.parse(await readFile(join(dir, "stats.json"), "utf8")) as { format?: unknown };
    return s.format === "pedgpt-corpus-stats";
  } catch {
    return false;
  }
}

export async function buildCorpus(loaded: LoadedConfig, opts: BuildOptions = {}): Promise<BuildResult> {
  const cfg: BuildConfig = loaded.config;
  const base = loaded.baseDir;
  const outDir = opts.outDir ? resolveIn(process.cwd(), opts.outDir) : resolveIn(base, cfg.outDir);
  const progress = opts.onProgress ?? (() => {});
  const sink = new IssueSink(opts.policy ?? cfg.onError);
  const filters = new FilterCounter();
  const pii = emptyPiiCounts();
  const recDedup = new Deduper(cfg.dedup);
  const cptDedup = new Deduper(cfg.dedup);
  const prefDedup = new Deduper({ ...cfg.dedup, near: false });
  const perSource: Record<string, SourceStats> = {};
  const records: TaskRecord[] = [];
  const cptDocs: CptDoc[] = [];
  const prefPairs: DfpoPair[] = [];
  const llmSections: { sec: Located<PassageSection>; info: SourceInfo }[] = [];
  const llmHeads: { heads: HeadFacts[]; info: SourceInfo }[] = [];
  // Refused before any work: a folder that is not an earlier build, or one that holds an input.
  const inputs = [loaded.file, ...cfg.sources.map((src) => resolveIn(base, src.path)), ...(cfg.tokenizer ? [resolveIn(base, cfg.tokenizer)] : [])];
  const outputOpts: OutputDirOptions = { kind: "corpus build folder", overwrite: true, isKind: isCorpusBuildDir, inputs, carry: [LLM_WORK_DIR] };
  await checkOutputDir(outDir, outputOpts);
  const displayInBase = (file: string) => posix(relative(base, file));
  const tokenizer: TokenCounter | null = cfg.tokenizer ? await loadTokenCounter(resolveIn(base, cfg.tokenizer)) : null;

  const clean = (s: string, names: boolean): string => {
    let t = cfg.clean.normalize ? normalizeText(s) : s;
    if (cfg.clean.pii) t = scrubPii(t, { names }, pii);
    return t;
  };
  const cleanMessages = (ms: Message[], names: boolean): Message[] => ms.map((m) => ({ role: m.role, content: clean(m.content, names) }));

  const stat = (name: string, kind: string): SourceStats =>
    (perSource[name] ??= { kind, read: 0, badRecords: 0, filtered: 0, exactDups: 0, nearDups: 0, records: 0, cptDocuments: 0, preferencePairs: 0 });

  /** Filter + dedup a record; returns whether it was kept. */
  const addRecord = (r: TaskRecord, st: SourceStats): boolean => {
    for (const m of r.messages) {
      if (m.role === "user" && m.content.length < cfg.clean.minPromptChars) {
        filters.add("record", "prompt-too-short");
        st.filtered++;
        return false;
      }
      if (m.content.trim() === "") {
        filters.add("record", m.role === "assistant" ? "empty-response-after-cleaning" : "empty-prompt-after-cleaning");
        st.filtered++;
        return false;
      }
    }
    const answer = r.messages.filter((m) => m.role === "assistant").map((m) => m.content).join("\n");
    // General instructions (translation, code, …) may legitimately answer in another language.
    const reason = qualityCheck(answer, r.task === "general" ? { ...cfg.clean.filters, minCjkRatio: 0 } : cfg.clean.filters);
    if (reason) {
      filters.add("record", reason);
      st.filtered++;
      return false;
    }
    const dup = recDedup.check(recordText(r));
    if (dup) {
      if (dup.kind === "exact") st.exactDups++;
      else st.nearDups++;
      return false;
    }
    records.push(r);
    st.records++;
    return true;
  };

  const addCpt = (text: string, st: SourceStats, recId?: string): void => {
    const reason = qualityCheck(text, cfg.clean.filters);
    if (reason) {
      filters.add("cpt", reason);
      return;
    }
    if (cptDedup.check(text)) return;
    cptDocs.push(recId ? { text, recordId: recId } : { text });
    st.cptDocuments++;
  };

  const addPair = (p: PreferencePair, provenance: string, st: SourceStats, label: string): void => {
    const prompt = cleanMessages(p.prompt, false);
    const chosen = clean(p.chosen, false);
    const rejected = clean(p.rejected, false);
    for (const [what, t] of [["chosen", chosen], ["rejected", rejected]] as const) {
      // Rejected answers are terse by design: only the minimum length is relaxed for them.
      const reason = qualityCheck(t, what === "rejected" ? { ...cfg.clean.filters, minChars: 2 } : cfg.clean.filters);
      if (reason) {
        filters.add(`preference-${what}`, reason);
        st.filtered++;
        return;
      }
    }
    const last = prompt[prompt.length - 1]!.content;
    if (prefDedup.check(`${last}\n${chosen}`)) {
      st.exactDups++;
      return;
    }
    const history: [string, string][] = [];
    for (let i = 0; i + 1 < prompt.length - 1; i += 2) history.push([prompt[i]!.content, prompt[i + 1]!.content]);
    const pair: DfpoPair & { history?: [string, string][]; system?: string } = { prompt: last, chosen, rejected, source: label, provenance, generator: "passthrough" };
    if (typeof p.extra.task === "string") pair.task = p.extra.task;
    if (history.length) pair.history = history;
    if (p.system) pair.system = p.system;
    prefPairs.push(pair);
    st.preferencePairs++;
  };

  const readInstructions = async (it: AsyncIterable<Located<InstructionExample>>, task: TaskLabel | "auto", info: SourceInfo, st: SourceStats) => {
    for await (const ex of it) {
      st.read++;
      const v = { ...ex.value, messages: cleanMessages(ex.value.messages, false) };
      if (v.system) v.system = clean(v.system, false);
      addRecord(fromInstruction({ ...ex, value: v }, task, info), st);
    }
  };

  for (const [i, src] of cfg.sources.entries()) {
    const path = resolveIn(base, src.path);
    if (!existsSync(path)) throw new CorpusConfigError(`${loaded.file}: sources.${i}.path: "${src.path}" (source "${src.name}") does not exist (resolved to ${path})`);
  }
  for (const [i, src] of cfg.sources.entries()) {
    if (opts.signal?.aborted) throw new CorpusError("build interrupted before reading all sources");
    const path = resolveIn(base, src.path);
    const st = stat(src.name, src.kind);
    const before = sink.count;
    const root = (await fsStat(path)).isDirectory() ? path : dirname(path);
    const display = (file: string) => `${src.name}/${posix(relative(root, file))}`;
    const info: SourceInfo = { source: src.label ?? src.name, display, ...(src.department ? { department: src.department } : {}), ...(src.ageGroup ? { ageGroup: src.ageGroup } : {}) };
    progress(`reading ${src.kind} source "${src.name}" (${display(path)})`);
    try {
      await readSource(src, path, info, st);
    } catch (err) {
      // The encoding hint of the readers, made concrete: in a build the encoding is a config field.
      if (err instanceof CorpusError && !(err instanceof BadRecordError) && err.message.includes("pass the encoding explicitly")) {
        throw new CorpusConfigError(err.message.replace("pass the encoding explicitly", `set "encoding" of source "${src.name}" (sources.${i}.encoding in ${loaded.file})`), { cause: err });
      }
      throw err;
    }
    st.badRecords = sink.count - before;
    progress(`  ${src.name}: ${st.read} read, ${st.records} records, ${st.cptDocuments} CPT docs, ${st.preferencePairs} pairs, ${st.badRecords} bad, ${st.filtered} filtered, ${st.exactDups + st.nearDups} duplicates`);
  }

  async function readSource(src: SourceConfig, path: string, info: SourceInfo, st: SourceStats): Promise<void> {
    switch (src.kind) {
      case "passages":
        for await (const sec of readPassages(path, sink, src.encoding)) {
          st.read++;
          const v: PassageSection = { ...sec.value, title: clean(sec.value.title, false), section: clean(sec.value.section, false), paragraphs: sec.value.paragraphs.map((p) => clean(p, false)).filter((p) => p.length > 0) };
          if (v.paragraphs.length === 0) {
            filters.add("passage", "empty-after-cleaning");
            st.filtered++;
            continue;
          }
          const located = { ...sec, value: v };
          let recId: string | undefined;
          if (src.tasks) {
            const r = fromPassageSection(located, info);
            if (addRecord(r, st)) recId = r.id;
            if (cfg.llm && cfg.llm.questionsPerSection > 0) llmSections.push({ sec: located, info });
          }
          if (src.cpt) addCpt(passageText(v), st, recId);
        }
        return;
      case "kg": {
        const groups = new TripleGroups();
        for await (const t of readTriples(path, sink, { ...(src.format ? { format: src.format } : {}), encoding: src.encoding })) {
          st.read++;
          const v = { head: clean(t.value.head, false), relation: clean(t.value.relation, false), tail: clean(t.value.tail, false) };
          if (!v.head || !v.relation || !v.tail) {
            filters.add("kg", "empty-after-cleaning");
            st.filtered++;
            continue;
          }
          groups.add({ ...t, value: v });
        }
        for (const r of groups.records(info)) {
          const kept = src.tasks ? addRecord(r, st) : false;
          if (src.cpt) addCpt(r.messages[1]!.content, st, kept ? r.id : undefined);
        }
        if (src.tasks && cfg.llm && cfg.llm.questionsPerHead > 0) llmHeads.push({ heads: [...groups.heads(info)], info });
        return;
      }
      case "dialogues":
        for await (const c of readConsultations(path, sink, src.encoding)) {
          st.read++;
          const v = { ...c.value, turns: c.value.turns.map((t) => ({ role: t.role, text: clean(t.text, true) })) };
          if (v.title) v.title = clean(v.title, true);
          if (v.advice) v.advice = clean(v.advice, true);
          if (v.diagnosis) v.diagnosis = clean(v.diagnosis, true);
          for (const r of fromConsultation({ ...c, value: v }, info)) addRecord(r, st);
        }
        return;
      case "cmd":
        for await (const row of readCmd(path, sink, { ...(src.format ? { format: src.format } : {}), encoding: src.encoding })) {
          st.read++;
          const v = { department: clean(row.value.department, false), title: clean(row.value.title, true), ask: clean(row.value.ask, true), answer: clean(row.value.answer, true) };
          addRecord(fromCmdRow({ ...row, value: v }, info), st);
        }
        return;
      case "alpaca":
        await readInstructions(readAlpaca(path, sink, { ...(src.columns ? { columns: { ...src.columns } as never } : {}), encoding: src.encoding }), src.task, info, st);
        return;
      case "sharegpt":
        await readInstructions(readSharegpt(path, sink, { ...(src.columns ? { columns: src.columns } : {}), ...(src.tags ? { tags: src.tags } : {}), encoding: src.encoding }), src.task, info, st);
        return;
      case "preference":
        for await (const p of readPreference(path, sink, { formatting: src.formatting, encoding: src.encoding })) {
          st.read++;
          addPair(p.value, `${info.display(p.file)}:L${p.line}`, st, info.source);
        }
        return;
      case "registry": {
        const reg = await readRegistry(path);
        for (const [name, entry] of Object.entries(reg)) {
          if (src.include && !src.include.includes(name)) continue;
          const file = entryFile(path, name, entry);
          const kind = entryKind(entry);
          const sub = stat(`${src.name}/${name}`, `registry:${kind}`);
          const subInfo = { ...info, source: src.label ?? name };
          const b = sink.count;
          const cols = entry.columns ?? {};
          if (kind === "alpaca") {
            const c: Record<string, string> = {};
            for (const k of ["prompt", "query", "response", "history", "system"] as const) if (cols[k]) c[k] = cols[k]!;
            await readInstructions(readAlpaca(file, sink, { columns: c as never, encoding: src.encoding }), src.task, subInfo, sub);
          } else if (kind === "sharegpt") {
            const c: Record<string, string> = {};
            for (const k of ["messages", "system"] as const) if (cols[k]) c[k] = cols[k]!;
            await readInstructions(readSharegpt(file, sink, { columns: c, tags: entry.tags ?? {}, encoding: src.encoding }), src.task, subInfo, sub);
          } else if (kind === "pretrain") {
            const { items } = await readJsonRecords(file, src.encoding);
            for await (const item of items) {
              sub.read++;
              const text = item.ok ? (item.value as { text?: unknown })?.text : undefined;
              if (!item.ok || typeof text !== "string") {
                sink.report({ file, line: item.line, stage: "pretrain", reason: item.ok ? `expected {"${cols.prompt ?? "text"}": string}` : item.reason, excerpt: item.ok ? JSON.stringify(item.value) : item.excerpt });
                continue;
              }
              addCpt(clean(text, false), sub);
            }
          } else {
            const c: Record<string, string> = {};
            for (const [k, v] of Object.entries(cols)) if (typeof v === "string") c[k] = v;
            for await (const p of readPreference(file, sink, { formatting: kind === "sharegpt-preference" ? "sharegpt" : "alpaca", columns: c, tags: entry.tags ?? {}, encoding: src.encoding })) {
              sub.read++;
              addPair(p.value, `${subInfo.display(p.file)}:L${p.line}`, sub, subInfo.source);
            }
          }
          sub.badRecords = sink.count - b;
          st.read += sub.read;
        }
        return;
      }
    }
  }

  // LLM-assisted generation (optional).
  let client: LlmClient | null = null;
  // The LLM cache is resumable work: it lives in the output folder across builds (carried at the swap).
  const llmWork = join(outDir, LLM_WORK_DIR);
  if (cfg.llm && (cfg.llm.questionsPerSection > 0 || cfg.llm.questionsPerHead > 0 || cfg.llm.preferencePairs > 0)) {
    const l = cfg.llm;
    const apiKey = l.apiKeyEnv ? process.env[l.apiKeyEnv] : undefined;
    client = new LlmClient({ baseUrl: l.baseUrl, model: l.model, ...(apiKey ? { apiKey } : {}), cacheDir: join(llmWork, "cache"), timeoutMs: l.timeoutMs, maxRetries: l.maxRetries, requestsPerMinute: l.requestsPerMinute, concurrency: l.concurrency });
    if (l.questionsPerSection > 0 && llmSections.length > 0) {
      const chosen = l.maxSections > 0 ? [...llmSections].sort((a, b) => orderKey(cfg.seed, `${a.sec.file}:${a.sec.line}`).localeCompare(orderKey(cfg.seed, `${b.sec.file}:${b.sec.line}`))).slice(0, l.maxSections) : llmSections;
      const bySource = new Map<string, typeof chosen>();
      for (const s of chosen) bySource.set(s.info.source, [...(bySource.get(s.info.source) ?? []), s]);
      for (const [, group] of bySource) {
        progress(`LLM question writing for ${group.length} sections (${l.model})`);
        const recs = await llmSectionQa(client, group.map((g) => g.sec), l.questionsPerSection, group[0]!.info, { workDir: llmWork, concurrency: l.concurrency, ...(opts.signal ? { signal: opts.signal } : {}), onProgress: (w, d, t) => progress(`  ${w}: ${d}/${t}`) });
        const st = stat("llm-questions", "llm");
        for (const r of recs) {
          st.read++;
          addRecord({ ...r, messages: cleanMessages(r.messages, false) }, st);
        }
      }
    }
    for (const { heads, info } of llmHeads) {
      const chosen = l.maxHeads > 0 ? [...heads].sort((a, b) => orderKey(cfg.seed, a.provenance).localeCompare(orderKey(cfg.seed, b.provenance))).slice(0, l.maxHeads) : heads;
      progress(`LLM question writing for ${chosen.length} KG entities of "${info.source}" (${l.model})`);
      const recs = await llmTripleQa(client, chosen, l.questionsPerHead, info, { workDir: llmWork, concurrency: l.concurrency, ...(opts.signal ? { signal: opts.signal } : {}), onProgress: (w, d, t) => progress(`  ${w}: ${d}/${t}`) });
      const st = stat("llm-kg-questions", "llm");
      for (const r of recs) {
        st.read++;
        addRecord({ ...r, messages: cleanMessages(r.messages, false) }, st);
      }
    }
  }

  // Split: SFT records and preference pairs together, so no DFPO pair near-duplicates an SFT test
  // record (or the other way round).
  const filePairs = prefPairs.length;
  progress(`splitting ${records.length} records and ${filePairs} preference pairs (test fraction ${cfg.split.testFraction}, leak threshold ${cfg.split.leakThreshold})`);
  const pairItem = (p: DfpoPair, i: number) => ({ id: `pair:${recordId([String(i), p.prompt, p.chosen])}`, text: `${p.prompt}\n${p.chosen}`, prompt: p.prompt });
  const items = [...records.map((r) => ({ id: r.id, text: recordText(r), prompt: lastUser(r.messages) })), ...prefPairs.map(pairItem)];
  const split = splitWithoutLeakage(items, { testFraction: cfg.split.testFraction, seed: cfg.seed, leakThreshold: cfg.split.leakThreshold, ngram: cfg.dedup.ngram });
  if (split.leaks.length > 0) throw new CorpusError(`leakage check failed after repair: ${split.leaks.length} test items still near-duplicate train items (first: ${JSON.stringify(split.leaks[0])})`);
  const sideOf = new Map(records.map((r, i) => [r.id, split.sides[i]!]));
  const pairSides: Side[] = prefPairs.map((_, i) => split.sides[records.length + i]!);
  progress(`  train ${split.report.train}, test ${split.report.test}, ${split.report.groups} groups, check ${split.report.check.method} over ${split.report.check.pairsCompared} pairs: ${split.report.check.violations} violations (${split.report.repaired} repaired)`);

  // LLM preference pairs from train records.
  if (client && cfg.llm && cfg.llm.preferencePairs > 0) {
    const candidates = records
      .filter((r) => sideOf.get(r.id) === "train" && r.task !== "general" && r.messages.length === 2)
      .sort((a, b) => orderKey(cfg.seed, a.id).localeCompare(orderKey(cfg.seed, b.id)))
      .slice(0, cfg.llm.preferencePairs);
    progress(`LLM preference pairs for ${candidates.length} records`);
    const pairs = await llmPreferencePairs(client, candidates, { workDir: llmWork, concurrency: cfg.llm.concurrency, ...(opts.signal ? { signal: opts.signal } : {}), onProgress: (w, d, t) => progress(`  ${w}: ${d}/${t}`) });
    const st = stat("llm-preference", "llm");
    for (const p of pairs) {
      st.read++;
      addPair({ prompt: [{ role: "user", content: p.prompt }], chosen: p.chosen, rejected: p.rejected, extra: p.task ? { task: p.task } : {} }, p.provenance, st, p.source);
      const last = prefPairs[prefPairs.length - 1];
      if (last && last.provenance === p.provenance && pairSides.length < prefPairs.length) {
        last.generator = p.generator;
        pairSides.push("train"); // made from a train record
      }
    }
    // Verify again with the generated pairs included.
    const all = [...items, ...prefPairs.slice(filePairs).map((p, i) => pairItem(p, filePairs + i))];
    const again = checkLeakage(all, [...split.sides, ...pairSides.slice(filePairs)], { leakThreshold: cfg.split.leakThreshold, ngram: cfg.dedup.ngram });
    if (again.leaks.length > 0) throw new CorpusError(`leakage check failed after LLM preference generation: ${again.leaks.length} violations (first: ${JSON.stringify(again.leaks[0])})`);
  }

  // Outputs: written into a fresh sibling folder that replaces the old build only when complete, so a
  // failed or killed build (or a full disk) leaves the previous build as it was.
  const { stats, table } = await writeOutputDir(outDir, outputOpts, async (stage) => {
    // Outputs.
    const outputs: Record<string, number> = {};
    const registry: DatasetRegistry = {};
    const sftDir = join(stage, "sft");
    const ordered = [...records].sort((a, b) => orderKey(cfg.seed, a.id).localeCompare(orderKey(cfg.seed, b.id)));
    const byTaskSplit = new Counter();
    for (const task of [...TASKS, "general"] as TaskLabel[]) {
      for (const side of ["train", "test"] as const) {
        const sel = ordered.filter((r) => r.task === task && sideOf.get(r.id) === side);
        byTaskSplit.add(`${task}/${side}`, sel.length);
        if (sel.length === 0) continue;
        const slug = `${TASK_SLUG[task]}_${side}`;
        if (cfg.outputs.alpaca) {
          const w = await JsonlWriter.open(join(sftDir, `${slug}.alpaca.jsonl`));
          for (const r of sel) await w.write(toAlpaca(r));
          await w.close();
          outputs[`sft/${slug}.alpaca.jsonl`] = w.count;
          registry[`pedcorpus_${slug}_alpaca`] = { file_name: `sft/${slug}.alpaca.jsonl`, formatting: "alpaca", columns: { prompt: "instruction", query: "input", response: "output", history: "history", system: "system" } };
        }
        if (cfg.outputs.sharegpt) {
          const w = await JsonlWriter.open(join(sftDir, `${slug}.sharegpt.jsonl`));
          for (const r of sel) await w.write(toSharegpt(r));
          await w.close();
          outputs[`sft/${slug}.sharegpt.jsonl`] = w.count;
          registry[`pedcorpus_${slug}_sharegpt`] = { file_name: `sft/${slug}.sharegpt.jsonl`, formatting: "sharegpt", columns: { messages: "conversations", system: "system" }, tags: { role_tag: "from", content_tag: "value", user_tag: "human", assistant_tag: "gpt" } };
        }
      }
    }

    // CPT: plain documents (minus text whose record is in test) + flattened train instructions up to the target share.
    progress("writing the hybrid CPT corpus");
    const plain = cfg.cpt.excludeTestText ? cptDocs.filter((d) => !d.recordId || sideOf.get(d.recordId) !== "test") : cptDocs;
    const excludedTestText = cptDocs.length - plain.length;
    const plainChars = plain.reduce((a, d) => a + d.text.length, 0);
    const share = cfg.cpt.instructionShare;
    const targetInstrChars = share > 0 ? (plainChars * share) / (1 - share) : 0;
    const instrDocs: string[] = [];
    let instrChars = 0;
    for (const r of ordered) {
      if (instrChars >= targetInstrChars) break;
      if (sideOf.get(r.id) !== "train") continue;
      const t = flattenRecord(r);
      instrDocs.push(t);
      instrChars += t.length;
    }
    const cptAll = [...plain.map((d, i) => ({ k: orderKey(cfg.seed, `p${i}`), text: d.text })), ...instrDocs.map((t, i) => ({ k: orderKey(cfg.seed, `i${i}`), text: t }))].sort((a, b) => a.k.localeCompare(b.k));
    let cptBytes = 0;
    if (cptAll.length > 0) {
      const cptW = await JsonlWriter.open(join(stage, "cpt", "pedcorpus_cpt.jsonl"));
      for (const d of cptAll) await cptW.write({ text: d.text });
      await cptW.close();
      cptBytes = cptW.bytes;
      outputs["cpt/pedcorpus_cpt.jsonl"] = cptW.count;
      registry["pedcorpus_cpt"] = { file_name: "cpt/pedcorpus_cpt.jsonl", columns: { prompt: "text" } };
    } else {
      progress("  no plain-text sources: no CPT corpus written");
    }

    // DFPO pairs, on the sides the joint split gave them.
    let dfpoTrain = 0;
    let dfpoTest = 0;
    if (prefPairs.length > 0) {
      for (const side of ["train", "test"] as const) {
        const sel = prefPairs.filter((_, i) => pairSides[i] === side);
        if (sel.length === 0) continue; // no empty files: LLaMA-Factory cannot load them
        const w = await JsonlWriter.open(join(stage, "dfpo", `dfpo_${side}.jsonl`));
        for (const pair of sel) {
          const p = pair as DfpoPair & { history?: [string, string][]; system?: string };
          await w.write({ prompt: p.prompt, input: "", chosen: p.chosen, rejected: p.rejected, history: p.history ?? [], system: p.system ?? "", task: p.task ?? "", source: p.source, provenance: p.provenance, generator: p.generator });
        }
        await w.close();
        outputs[`dfpo/dfpo_${side}.jsonl`] = w.count;
        if (side === "train") dfpoTrain = w.count;
        else dfpoTest = w.count;
        registry[`pedcorpus_dfpo_${side}`] = { file_name: `dfpo/dfpo_${side}.jsonl`, ranking: true, formatting: "alpaca", columns: { prompt: "prompt", query: "input", chosen: "chosen", rejected: "rejected", history: "history", system: "system" } };
      }
    }
    await writeRegistry(join(stage, "dataset_info.json"), registry);

    // Bad records report (always written, empty when none).
    const bad = await JsonlWriter.open(join(stage, "bad_records.jsonl"));
    for (const b of sink.issues) await bad.write({ ...b, file: displayInBase(b.file) });
    await bad.close();

    // Statistics.
    const lens: Record<string, LengthDist> = {};
    const toks: Record<string, LengthDist> = {};
    const add = (m: Record<string, LengthDist>, k: string, n: number) => (m[k] ??= new LengthDist()).add(n);
    const byTask = new Counter();
    const bySource = new Counter();
    const byDept = new Counter();
    const byAge = new Counter();
    const byGen = new Counter();
    const turns = new LengthDist();
    for (const r of records) {
      byTask.add(r.task);
      bySource.add(r.source);
      byDept.add(r.department ?? "(unknown)");
      byAge.add(r.ageGroup ?? "(unknown)");
      byGen.add(r.generator.startsWith("llm:") ? "llm" : r.generator);
      turns.add(r.messages.length / 2);
      const prompt = r.messages.filter((m) => m.role === "user").map((m) => m.content).join("\n");
      const resp = r.messages.filter((m) => m.role === "assistant").map((m) => m.content).join("\n");
      add(lens, `${r.task} prompt`, prompt.length);
      add(lens, `${r.task} response`, resp.length);
      if (tokenizer) {
        add(toks, `${r.task} prompt`, tokenizer.count(prompt));
        add(toks, `${r.task} response`, tokenizer.count(resp));
      }
    }
    for (const d of cptAll) {
      add(lens, "CPT document", d.text.length);
      if (tokenizer) add(toks, "CPT document", tokenizer.count(d.text));
    }
    for (const p of prefPairs) {
      add(lens, "DFPO chosen", p.chosen.length);
      add(lens, "DFPO rejected", p.rejected.length);
    }
    const summarize = (m: Record<string, LengthDist>) => Object.fromEntries(Object.entries(m).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, v.summary()]));
    const cptChars = cptAll.reduce((a, d) => a + d.text.length, 0);
    const stats: CorpusStats = {
      format: "pedgpt-corpus-stats",
      version: 1,
      name: cfg.name,
      sources: perSource,
      badRecords: { total: sink.count, byStage: sink.countsByStage() },
      filters: filters.toJSON(),
      pii: { ...pii },
      dedup: { records: recDedup.stats(), cpt: cptDedup.stats(), preference: prefDedup.stats() },
      records: { total: records.length, byTask: byTask.toJSON(), bySource: bySource.toJSON(), byDepartment: byDept.toJSON(), byAgeGroup: byAge.toJSON(), byGenerator: byGen.toJSON(), byTaskSplit: byTaskSplit.toJSON(), turns: turns.summary() },
      lengths: { unit: "chars", byField: summarize(lens) },
      tokens: tokenizer ? { tokenizer: tokenizer.name, byField: summarize(toks) } : null,
      split: split.report,
      cpt: {
        documents: cptAll.length,
        plainDocuments: plain.length,
        instructionDocuments: instrDocs.length,
        chars: cptChars,
        bytes: cptBytes,
        instructionShare: cptChars ? Math.round((instrChars / cptChars) * 1000) / 1000 : 0,
        targetInstructionShare: share,
        excludedTestText,
      },
      dfpo: { fromFiles: prefPairs.filter((p) => !p.generator.startsWith("llm:")).length, fromLlm: prefPairs.filter((p) => p.generator.startsWith("llm:")).length, train: dfpoTrain, test: dfpoTest },
      llm: client ? { ...client.stats } : null,
      outputs,
    };
    const table = renderStats(stats);
    await writeJsonAtomic(join(stage, "stats.json"), stats);
    await writeFileAtomic(join(stage, "stats.txt"), table + "\n");
    return { stats, table };
  });
  progress(`wrote ${Object.keys(stats.outputs).length} data files, dataset_info.json, stats.json/stats.txt and bad_records.jsonl (${sink.count} bad records) to ${outDir}`);
  return { outDir, stats, table };
}

function lastUser(ms: Message[]): string {
  for (let i = ms.length - 1; i >= 0; i--) if (ms[i]!.role === "user") return ms[i]!.content;
  return "";
}

/** The readable table form of the statistics (also what `pedgpt corpus stats` prints). */
export function renderStats(s: CorpusStats): string {
  const parts: string[] = [];
  parts.push(`PedCorpus build "${s.name}": ${s.records.total} task records, ${s.cpt.documents} CPT documents, ${s.dfpo.train + s.dfpo.test} DFPO pairs`);
  parts.push(
    renderTable(
      "Sources",
      ["source", "kind", "read", "bad", "filtered", "exact dup", "near dup", "records", "CPT docs", "pairs"],
      Object.entries(s.sources).map(([k, v]) => [k, v.kind, v.read, v.badRecords, v.filtered, v.exactDups, v.nearDups, v.records, v.cptDocuments, v.preferencePairs]),
    ),
  );
  parts.push(renderCounts("Records by task", s.records.byTask));
  parts.push(renderCounts("Records by task and split", s.records.byTaskSplit));
  parts.push(renderCounts("Records by source", s.records.bySource));
  parts.push(renderCounts("Records by department", s.records.byDepartment));
  parts.push(renderCounts("Records by age group", s.records.byAgeGroup));
  parts.push(renderDistributions("Lengths (characters)", s.lengths.byField));
  if (s.tokens) parts.push(renderDistributions(`Lengths (tokens, ${s.tokens.tokenizer})`, s.tokens.byField));
  parts.push(
    renderTable(
      "Deduplication",
      ["stream", "seen", "kept", "exact", "near", "rate"],
      Object.entries(s.dedup).map(([k, d]) => [k, d.seen, d.kept, d.exactDups, d.nearDups, `${(100 * d.dedupRate).toFixed(2)}%`]),
    ),
  );
  if (Object.keys(s.filters).length) parts.push(renderCounts("Filter reasons", s.filters));
  parts.push(renderCounts("Bad records by stage", s.badRecords.byStage));
  parts.push(renderCounts("PII replaced", s.pii));
  parts.push(
    renderTable("Split (near-duplicate aware; SFT records and DFPO pairs together)", ["train", "test", "DFPO train", "DFPO test", "groups", "linked", "check", "pairs compared", "violations", "repaired"], [
      [s.split.train, s.split.test, s.dfpo.train, s.dfpo.test, s.split.groups, s.split.linkedRecords, s.split.check.method, s.split.check.pairsCompared, s.split.check.violations, s.split.repaired],
    ]),
  );
  parts.push(
    renderTable("CPT corpus", ["documents", "plain", "instructions", "chars", "MB", "instr. share", "target", "test text left out"], [
      [s.cpt.documents, s.cpt.plainDocuments, s.cpt.instructionDocuments, s.cpt.chars, (s.cpt.bytes / 1e6).toFixed(2), s.cpt.instructionShare, s.cpt.targetInstructionShare, s.cpt.excludedTestText],
    ]),
  );
  if (s.llm) parts.push(renderCounts("LLM client", s.llm));
  parts.push(renderTable("Output files", ["file", "records"], Object.entries(s.outputs)));
  return parts.join("\n\n");
}
