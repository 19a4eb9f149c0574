/**
 * From LLaMA-Factory dataset names to a tokenized dataset on disk (../data/format.ts): resolves names
 * in `dataset_info.json`, reads each file with the corpus readers (bad rows reported and counted, never
 * silently dropped), renders and truncates with ./prepare.ts and writes the rows.
 *
 * Not here: batching (./batch.ts) or training.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { basename } from "node:path";
import {
  entryFile,
  entryKind,
  IssueSink,
  readAlpaca,
  readJsonRecords,
  readPreference,
  readRegistry,
  readSharegpt,
  type BadRecord,
  type DatasetEntry,
} from "../../corpus/index.js";
import type { Tokenizer } from "../../tokenizer/index.js";
import { DatasetWriter, type DatasetKind, type DatasetMeta } from "../data/format.js";
import { DataPrepError, encodePair, encodeSupervised, packPretrain, packSupervised, type Conversation, type TokenRow } from "./prepare.js";

export interface PrepareOptions {
  kind: DatasetKind;
  /** dataset names from the registry */
  datasets: string[];
  /** path of dataset_info.json */
  registry: string;
  tokenizer: Tokenizer;
  /** identifies the tokenizer in meta.json (e.g. sha256 of tokenizer.json) */
  tokenizerHash: string;
  template: string;
  cutoffLen: number;
  /** pt: keep attention and positions inside each document; sft: pack short examples */
  packing?: boolean;
  /** pt only: per-document segments (attention and positions restart at each document) */
  perDocument?: boolean;
  /** keep at most this many examples per dataset (LLaMA-Factory max_samples) */
  maxSamples?: number;
  outDir: string;
  overwrite?: boolean;
}

/** What preparation did, row by row: written into meta.json ("info") and the stage report. */
export interface PrepareCounts {
  read: number;
  written: number;
  /** rows rejected by the readers (bad JSON, chosen = rejected, empty answer, …), by reason */
  badRows: number;
  badReasons: Record<string, number>;
  truncated: number;
  promptTruncated: number;
  responseTruncated: number;
  droppedTurns: number;
  droppedTokens: number;
  emptyDocuments: number;
}

export interface PreparedDataset {
  meta: DatasetMeta;
  counts: PrepareCounts;
  /** the first bad rows (file:line and reason), for the report */
  badExamples: BadRecord[];
}

function fileHash(file: string): string {
  return createHash("sha256").update(readFileSync(file)).digest("hex");
}

/** Resolves dataset names to entries, with a clear error for a missing name or a kind that does not fit. */
export async function resolveDatasets(registryFile: string, names: readonly string[], kind: DatasetKind): Promise<{ name: string; entry: DatasetEntry; file: string }[]> {
  if (!existsSync(registryFile)) throw new DataPrepError(`${registryFile}: dataset_info.json not found (dataset_dir must point at the folder holding it)`);
  const reg = await readRegistry(registryFile);
  if (names.length === 0) throw new DataPrepError(`no dataset given (recipe key "dataset")`);
  return names.map((name) => {
    const entry = reg[name];
    if (!entry) {
      const known = Object.keys(reg);
      throw new DataPrepError(`dataset "${name}" is not in ${registryFile}; it lists: ${known.slice(0, 20).join(", ")}${known.length > 20 ? ", …" : ""}`);
    }
    const k = entryKind(entry);
    const want = kind === "pt" ? ["pretrain"] : kind === "sft" ? ["alpaca", "sharegpt"] : ["alpaca-preference", "sharegpt-preference"];
    if (!want.includes(k)) {
      const what = kind === "pairs" ? "preference pairs (\"ranking\": true)" : kind === "sft" ? "instructions or conversations" : "text";
      throw new DataPrepError(`dataset "${name}" in ${registryFile} holds ${k} data, but this stage needs ${what}`);
    }
    const file = entryFile(registryFile, name, entry);
    if (!existsSync(file)) throw new DataPrepError(`dataset "${name}": file ${file} not found`);
    return { name, entry, file };
  });
}

/** Text of one pre-training record: the mapped column (default "text"). */
async function* pretrainTexts(file: string, entry: DatasetEntry, sink: IssueSink): AsyncGenerator<string> {
  const col = entry.columns?.prompt ?? "text";
  const { items } = await readJsonRecords(file);
  for await (const it of items) {
    if (!it.ok) {
      sink.report({ file, line: it.line, stage: "pt", reason: it.reason, excerpt: it.excerpt });
      continue;
    }
    const v = it.value as Record<string, unknown> | null;
    const text = v !== null && typeof v === "object" ? v[col] : undefined;
    if (typeof text !== "string" || text.trim() === "") {
      sink.report({ file, line: it.line, stage: "pt", reason: `expected a non-empty string in column "${col}"`, excerpt: JSON.stringify(v) });
      continue;
    }
    yield text;
  }
}

function conversationOf(system: string | undefined, messages: { role: string; content: string }[]): Conversation {
  return { ...(system ? { system } : {}), messages: messages.map((m) => ({ role: m.role as "user" | "assistant", content: m.content })) };
}

/** Reads the named datasets, prepares rows for `kind` and writes one tokenized dataset. */
export async function prepareDataset(o: PrepareOptions): Promise<PreparedDataset> {
  if (!Number.isInteger(o.cutoffLen) || o.cutoffLen < 4) throw new DataPrepError(`cutoff_len must be an integer >= 4, got ${o.cutoffLen}`);
  if (o.tokenizer.eosId === null) throw new DataPrepError("the tokenizer has no EOS token, which every stage needs");
  const sources = await resolveDatasets(o.registry, o.datasets, o.kind);
  const sink = new IssueSink("skip-and-report");
  const counts: PrepareCounts = {
    read: 0, written: 0, badRows: 0, badReasons: {}, truncated: 0, promptTruncated: 0, responseTruncated: 0, droppedTurns: 0, droppedTokens: 0, emptyDocuments: 0,
  };
  const countBad = (reason: string) => {
    counts.badRows++;
    counts.badReasons[reason] = (counts.badReasons[reason] ?? 0) + 1;
  };
  const segments = o.kind === "pt" ? o.perDocument === true : o.kind === "sft" && o.packing === true;
  const writer = await DatasetWriter.open(o.outDir, o.kind, { segments, overwrite: o.overwrite });
  try {
    if (o.kind === "pt") {
      const docs: number[][] = [];
      for (const s of sources) {
        let n = 0;
        for await (const text of pretrainTexts(s.file, s.entry, sink)) {
          if (o.maxSamples !== undefined && n >= o.maxSamples) break;
          docs.push(o.tokenizer.encode(text, { addSpecialTokens: false }));
          n++;
        }
        counts.read += n;
      }
      const packed = packPretrain(docs, { blockSize: o.cutoffLen, eosId: o.tokenizer.eosId, perDocument: o.perDocument });
      counts.droppedTokens = packed.droppedTokens;
      counts.emptyDocuments = packed.emptyDocuments;
      for (const row of packed.rows) writer.add(row);
      // Every document read goes into the stream; only the tail of the last block is dropped (counted).
      counts.written = docs.length;
    } else if (o.kind === "sft") {
      const examples: TokenRow[] = [];
      for (const s of sources) {
        const fmt = entryKind(s.entry);
        const reader = fmt === "sharegpt"
          ? readSharegpt(s.file, sink, { columns: s.entry.columns as never, tags: s.entry.tags as never })
          : readAlpaca(s.file, sink, s.entry.columns ? { columns: { ...s.entry.columns } as never } : {});
        let n = 0;
        for await (const ex of reader) {
          if (o.maxSamples !== undefined && n >= o.maxSamples) break;
          n++;
          counts.read++;
          if (ex.value.messages.some((m) => m.role === "assistant" && m.content.trim() === "")) {
            countBad("empty assistant answer");
            sink.report({ file: ex.file, line: ex.line, stage: "sft", reason: "empty assistant answer" });
            continue;
          }
          const enc = encodeSupervised(o.tokenizer, o.template, conversationOf(ex.value.system, ex.value.messages), o.cutoffLen);
          if (enc.truncated) counts.truncated++;
          counts.droppedTurns += enc.droppedTurns;
          examples.push({ ids: enc.ids, labels: enc.labels });
        }
      }
      for (const row of o.packing ? packSupervised(examples, o.cutoffLen) : examples) writer.add(row);
      counts.written = examples.length;
    } else {
      for (const s of sources) {
        const fmt = entryKind(s.entry) === "sharegpt-preference" ? "sharegpt" : "alpaca";
        const reader = readPreference(s.file, sink, { formatting: fmt, columns: s.entry.columns as never, tags: s.entry.tags as never });
        let n = 0;
        for await (const p of reader) {
          if (o.maxSamples !== undefined && n >= o.maxSamples) break;
          n++;
          counts.read++;
          const enc = encodePair(o.tokenizer, o.template, { system: p.value.system, prompt: p.value.prompt.map((m) => ({ role: m.role, content: m.content })), chosen: p.value.chosen, rejected: p.value.rejected }, o.cutoffLen);
          if (enc.promptTruncated) counts.promptTruncated++;
          if (enc.responseTruncated) counts.responseTruncated++;
          if (enc.promptTruncated || enc.responseTruncated) counts.truncated++;
          writer.add(enc.chosen);
          writer.add(enc.rejected);
        }
      }
    }
    // Rows the readers rejected (parse errors, identical or empty answers) are counted by reason.
    for (const issue of sink.issues) if (issue.stage !== "sft" || issue.reason !== "empty assistant answer") countBad(issue.reason);
    counts.read += sink.issues.filter((i) => i.stage !== "sft" || i.reason !== "empty assistant answer").length;
    if (o.kind === "pairs") counts.written = writer.rows / 2;
    if (writer.rows === 0) throw new DataPrepError(`datasets ${o.datasets.join(", ")}: no usable row (${counts.badRows} bad rows${o.kind === "pt" ? `; ${counts.droppedTokens} tokens are fewer than one block of ${o.cutoffLen}` : ""})`);
    const meta = writer.finish({
      stage: o.kind,
      datasets: sources.map((s) => ({ name: s.name, file: basename(s.file), sha256: fileHash(s.file) })),
      tokenizer: o.tokenizerHash,
      template: o.template,
      cutoffLen: o.cutoffLen,
      packing: o.packing === true,
      perDocument: o.perDocument === true,
      counts,
    });
    return { meta, counts, badExamples: sink.issues.slice(0, 20) };
  } catch (e) {
    writer.abort();
    throw e;
  }
}

