/**
 * Header-driven tabular reading shared by the KG and CMD readers: CSV/TSV through the streaming
 * RFC 4180 parser, or JSON Lines objects, mapped to named columns (with accepted aliases). Rows with
 * the wrong number of fields, parser errors, undecodable bytes or empty required fields are reported
 * to the sink with their line; everything else is yielded.
 */
import { extname } from "node:path";
import { readCsv } from "../io/csv.js";
import type { EncodingOption, TextEncodingName } from "../io/encoding.js";
import { readJsonRecords } from "../io/json.js";
import { CorpusError, type IssueSink, type Located } from "../errors.js";

export type TableFormat = "csv" | "tsv" | "jsonl";

export interface TableSpec<K extends string> {
  stage: string;
  /** Canonical column names and the header spellings accepted for each (compared case-insensitively). */
  columns: Record<K, string[]>;
  /** Columns that must be non-empty after trimming. */
  required: K[];
  /** Message used when a required field is empty (e.g. "empty answer"). */
  emptyReason?: (column: K) => string;
}

export function tableFormatOf(file: string, format?: TableFormat): TableFormat {
  if (format) return format;
  const ext = extname(file).toLowerCase();
  if (ext === ".tsv" || ext === ".tab") return "tsv";
  if (ext === ".jsonl" || ext === ".json" || ext === ".ndjson") return "jsonl";
  return "csv";
}

export interface TableReadInfo {
  encoding?: TextEncodingName;
}

export async function* readTable<K extends string>(
  file: string,
  spec: TableSpec<K>,
  sink: IssueSink,
  opts: { format?: TableFormat; encoding?: EncodingOption; info?: TableReadInfo } = {},
): AsyncGenerator<Located<Record<K, string>>> {
  const keys = Object.keys(spec.columns) as K[];
  const format = tableFormatOf(file, opts.format);
  const check = (rec: Record<K, string>, line: number, raw: string): boolean => {
    for (const k of spec.required) {
      if (rec[k].trim() === "") {
        sink.report({ file, line, stage: spec.stage, reason: spec.emptyReason?.(k) ?? `empty required field "${k}"`, excerpt: raw });
        return false;
      }
    }
    return true;
  };
  if (format === "jsonl") {
    const { items } = await readJsonRecords(file, opts.encoding ?? "auto");
    for await (const item of items) {
      if (!item.ok) {
        sink.report({ file, line: item.line, stage: spec.stage, reason: item.reason, excerpt: item.excerpt });
        continue;
      }
      const v = item.value;
      const rec = {} as Record<K, string>;
      let bad: string | undefined;
      if (Array.isArray(v)) {
        if (v.length !== keys.length) bad = `expected an array of ${keys.length} values (${keys.join(", ")}), got ${v.length}`;
        else keys.forEach((k, i) => (rec[k] = typeof v[i] === "string" ? (v[i] as string) : String(v[i] ?? "")));
      } else if (v !== null && typeof v === "object") {
        const obj = v as Record<string, unknown>;
        const lower = new Map(Object.keys(obj).map((k) => [k.toLowerCase(), k]));
        for (const k of keys) {
          const found = [k, ...spec.columns[k]].map((a) => lower.get(a.toLowerCase())).find((x) => x !== undefined);
          const val = found === undefined ? undefined : obj[found];
          if (val !== undefined && val !== null && typeof val !== "string" && typeof val !== "number") {
            bad = `field "${k}" must be a string, got ${typeof val}`;
            break;
          }
          rec[k] = val === undefined || val === null ? "" : String(val);
        }
      } else {
        bad = `expected an object with fields ${keys.join(", ")}, got ${v === null ? "null" : typeof v}`;
      }
      if (bad) {
        sink.report({ file, line: item.line, stage: spec.stage, reason: bad, excerpt: JSON.stringify(v) });
        continue;
      }
      if (check(rec, item.line, JSON.stringify(v))) yield { value: rec, file, line: item.line };
    }
    return;
  }
  const { rows, encoding } = await readCsv(file, { delimiter: format === "tsv" ? "\t" : ",", encoding: opts.encoding ?? "auto" });
  if (opts.info) opts.info.encoding = encoding;
  let index: number[] | undefined;
  let width = 0;
  for await (const row of rows) {
    const raw = row.fields.join(format === "tsv" ? "\t" : ",");
    if (!index) {
      const header = row.fields.map((f) => f.trim().toLowerCase());
      const idx: number[] = [];
      const missing: string[] = [];
      for (const k of keys) {
        const i = header.findIndex((h) => h === k.toLowerCase() || spec.columns[k].some((a) => a.toLowerCase() === h));
        if (i < 0) missing.push(k);
        idx.push(i);
      }
      if (missing.length > 0) {
        throw new CorpusError(`${file}:${row.line}: header must name the columns ${keys.join(", ")}; missing ${missing.join(", ")} (found: ${row.fields.join(", ")})`);
      }
      index = idx;
      width = row.fields.length;
      continue;
    }
    if (row.error) {
      sink.report({ file, line: row.line, stage: spec.stage, reason: `malformed CSV row: ${row.error}`, excerpt: raw });
      continue;
    }
    if (row.fields.length !== width) {
      sink.report({ file, line: row.line, stage: spec.stage, reason: `expected ${width} fields as in the header, got ${row.fields.length}`, excerpt: raw });
      continue;
    }
    if (row.fields.some((f) => f.includes("\uFFFD"))) {
      sink.report({ file, line: row.line, stage: spec.stage, reason: "row contains an undecodable byte sequence (U+FFFD after decoding); check the file encoding", excerpt: raw });
      continue;
    }
    const rec = {} as Record<K, string>;
    keys.forEach((k, j) => (rec[k] = row.fields[index![j]!]!));
    if (check(rec, row.line, raw)) yield { value: rec, file, line: row.line };
  }
  if (!index) throw new CorpusError(`${file}: empty file; expected a header naming ${keys.join(", ")}`);
}
