/**
 * `pedgpt corpus validate <file>`: detect what a file is (passages, KG triples, CMD CSV,
 * consultations, Alpaca, ShareGPT, preference pairs, CPT `{"text"}` lines, or a dataset_info.json
 * registry) and read it completely under the skip-and-report policy, so every bad record is listed
 * with file:line and reason. For a registry, each local dataset it lists is validated too. A folder is
 * validated through its dataset_info.json when it has one (a built corpus), else file by file, each
 * with its own detected format; a file whose format cannot be detected is reported, never skipped.
 */
import { open, readdir, stat } from "node:fs/promises";
import { basename, extname, join } from "node:path";
import { IssueSink, type BadRecord, CorpusError } from "./errors.js";
import { readCsv } from "./io/csv.js";
import type { EncodingOption } from "./io/encoding.js";
import { readJsonRecords } from "./io/json.js";
import { readCmd } from "./readers/cmd.js";
import { readConsultations } from "./readers/dialogues.js";
import { readAlpaca, readPreference, readSharegpt } from "./readers/instructions.js";
import { readTriples } from "./readers/kg.js";
import { readPassages } from "./readers/passages.js";
import { entryFile, entryKind, readRegistry } from "./readers/registry.js";

export const FILE_FORMATS = ["passages", "kg", "cmd", "dialogues", "alpaca", "sharegpt", "preference", "sharegpt-preference", "cpt", "registry"] as const;
export type FileFormat = (typeof FILE_FORMATS)[number];

export interface ValidationReport {
  file: string;
  /** "folder": a folder validated file by file (see `datasets`). */
  format: FileFormat | "folder";
  encoding?: string;
  records: number;
  bad: BadRecord[];
  /** For registries: one report per listed dataset. */
  datasets?: ValidationReport[];
  /** Things not validated and why (e.g. hub-only registry entries). */
  notes?: string[];
}

async function firstJsonValue(file: string, encoding: EncodingOption): Promise<{ container: string; value: unknown } | undefined> {
  const { container, items } = await readJsonRecords(file, encoding);
  for await (const it of items) {
    if (it.ok) return { container, value: it.value };
  }
  return undefined;
}

export async function detectFormat(file: string, encoding: EncodingOption = "auto"): Promise<FileFormat> {
  const st = await stat(file);
  if (st.isDirectory()) return "passages";
  const ext = extname(file).toLowerCase();
  if ([".md", ".markdown", ".txt"].includes(ext)) return "passages";
  if (ext === ".csv" || ext === ".tsv") {
    const { rows } = await readCsv(file, { delimiter: ext === ".tsv" ? "\t" : ",", encoding });
    const first = await rows.next();
    await rows.return(undefined);
    const header = first.done ? [] : first.value.fields.map((f) => f.trim().toLowerCase());
    if (header.includes("relation") || header.includes("关系")) return "kg";
    if (header.includes("ask") || header.includes("answer")) return "cmd";
    if (header.includes("chosen") && header.includes("rejected")) return "preference";
    if (header.includes("instruction") || header.includes("output")) return "alpaca";
    throw new CorpusError(`${file}: cannot tell the CSV format from its header (${header.join(", ")}); expected head,relation,tail, department,title,ask,answer, or Alpaca columns`);
  }
  if (basename(file) === "dataset_info.json") return "registry";
  // JSON: peek at the first object's keys.
  const fh = await open(file, "r");
  const buf = Buffer.alloc(64);
  await fh.read(buf, 0, 64, 0);
  await fh.close();
  const head = buf.toString("utf8").trimStart();
  const first = await firstJsonValue(file, encoding);
  if (!first) throw new CorpusError(`${file}: no valid JSON record found to detect the format from; pass --format`);
  const v = first.value as Record<string, unknown>;
  if (first.container === "jsonl" && head.startsWith("{") && v && typeof v === "object" && !Array.isArray(v)) {
    // A whole-file object (dataset_info.json under another name).
    const vals = Object.values(v);
    if (vals.length > 0 && vals.every((e) => e && typeof e === "object" && ("file_name" in (e as object) || "hf_hub_url" in (e as object)))) return "registry";
  }
  if (Array.isArray(v)) return "kg";
  if (v === null || typeof v !== "object") throw new CorpusError(`${file}: records must be JSON objects`);
  if ("turns" in v) return "dialogues";
  if ("head" in v && "relation" in v) return "kg";
  if (("conversations" in v || "messages" in v) && "chosen" in v) return "sharegpt-preference";
  if ("conversations" in v || "messages" in v) return "sharegpt";
  if ("chosen" in v && "rejected" in v) return "preference";
  if ("instruction" in v || "output" in v) return "alpaca";
  if ("ask" in v && "answer" in v) return "cmd";
  if ("text" in v && Object.keys(v).length <= 3) return "cpt";
  throw new CorpusError(`${file}: cannot detect the format from the first record's fields (${Object.keys(v).join(", ")}); pass --format`);
}

/** Column mapping and tags of a registry entry (LLaMA-Factory names), used when validating its file. */
export interface ValidateOptions {
  columns?: Record<string, string>;
  tags?: Record<string, string>;
  /** Text encoding of the files; "auto" (default) detects UTF-8/UTF-16 BOM/GB18030. */
  encoding?: EncodingOption;
}

/** Files of a built corpus folder that are reports of the build, not datasets. */
const BUILD_REPORTS = new Set(["stats.json", "stats.txt", "bad_records.jsonl"]);

async function listDataFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
    if (e.name.startsWith(".")) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listDataFiles(p)));
    else if (e.isFile() && !/^readme\./i.test(e.name)) out.push(p);
  }
  return out;
}

/** A folder without a forced format: through its dataset_info.json, else each file by its own format. */
async function validateFolder(dir: string, encoding: EncodingOption): Promise<ValidationReport> {
  const registry = join(dir, "dataset_info.json");
  if (await stat(registry).then((s) => s.isFile(), () => false)) {
    const r = await validateFile(registry, "registry", { encoding });
    const present = (await readdir(dir)).filter((n) => BUILD_REPORTS.has(n)).sort();
    if (present.length) (r.notes ??= []).push(`build reports, not datasets: ${present.join(", ")}`);
    return r;
  }
  const files = await listDataFiles(dir);
  if (files.length === 0) throw new CorpusError(`${dir}: an empty folder; nothing to validate`);
  const report: ValidationReport = { file: dir, format: "folder", records: 0, bad: [], datasets: [] };
  for (const f of files) {
    if (BUILD_REPORTS.has(basename(f))) {
      (report.notes ??= []).push(`${f}: a build report, not a dataset`);
      continue;
    }
    try {
      const sub = await validateFile(f, await detectFormat(f, encoding), { encoding });
      report.datasets!.push(sub);
      report.records += sub.records;
    } catch (err) {
      report.bad.push({ file: f, line: 1, stage: "detect", reason: (err as Error).message.replace(`${f}: `, "") });
    }
  }
  return report;
}

export async function validateFile(file: string, format?: FileFormat, opts: ValidateOptions = {}): Promise<ValidationReport> {
  const encoding = opts.encoding ?? "auto";
  if (format === undefined && (await stat(file)).isDirectory()) return validateFolder(file, encoding);
  const cols = opts.columns ?? {};
  const tags = opts.tags ?? {};
  const fmt = format ?? (await detectFormat(file, encoding));
  const sink = new IssueSink("skip-and-report");
  let records = 0;
  const count = async (it: AsyncIterable<unknown>) => {
    for await (const _ of it) records++;
  };
  const report: ValidationReport = { file, format: fmt, records: 0, bad: [] };
  switch (fmt) {
    case "passages":
      await count(readPassages(file, sink, encoding));
      break;
    case "kg":
      await count(readTriples(file, sink, { encoding }));
      break;
    case "cmd": {
      const info: { encoding?: string } = {};
      await count(readCmd(file, sink, { info: info as never, encoding }));
      if (info.encoding) report.encoding = info.encoding;
      break;
    }
    case "dialogues":
      await count(readConsultations(file, sink, encoding));
      break;
    case "alpaca":
      await count(readAlpaca(file, sink, { columns: cols as never, encoding }));
      break;
    case "sharegpt":
      await count(readSharegpt(file, sink, { columns: cols, tags, encoding }));
      break;
    case "preference":
      await count(readPreference(file, sink, Object.keys(cols).length ? { columns: cols, encoding } : { encoding }));
      break;
    case "sharegpt-preference":
      await count(readPreference(file, sink, { formatting: "sharegpt", columns: cols, tags, encoding }));
      break;
    case "cpt": {
      const { items } = await readJsonRecords(file, encoding);
      for await (const it of items) {
        if (!it.ok) sink.report({ file, line: it.line, stage: "cpt", reason: it.reason, excerpt: it.excerpt });
        else if (typeof (it.value as { text?: unknown })?.text !== "string" || ((it.value as { text: string }).text.trim() === "")) {
          sink.report({ file, line: it.line, stage: "cpt", reason: 'expected {"text": non-empty string}', excerpt: JSON.stringify(it.value) });
        } else records++;
      }
      break;
    }
    case "registry": {
      const reg = await readRegistry(file);
      report.datasets = [];
      for (const [name, e] of Object.entries(reg)) {
        records++;
        if (!e.file_name) {
          (report.notes ??= []).push(`dataset "${name}" has no local file_name (hub/script dataset): not validated offline`);
          continue;
        }
        const kind = entryKind(e);
        const sub: FileFormat = kind === "alpaca-preference" ? "preference" : kind === "pretrain" ? "cpt" : kind;
        try {
          const columns: Record<string, string> = {};
          for (const [k, v] of Object.entries(e.columns ?? {})) if (typeof v === "string") columns[k] = v;
          const t: Record<string, string> = {};
          for (const [k, v] of Object.entries(e.tags ?? {})) if (typeof v === "string") t[k] = v;
          report.datasets.push(await validateFile(entryFile(file, name, e), sub, { columns, tags: t, encoding }));
        } catch (err) {
          sink.report({ file, line: 1, stage: "registry", reason: `dataset "${name}": ${(err as Error).message}` });
        }
      }
      break;
    }
  }
  report.records = records;
  report.bad = sink.issues;
  return report;
}

export function totalBad(r: ValidationReport): number {
  return r.bad.length + (r.datasets ?? []).reduce((a, d) => a + totalBad(d), 0);
}
