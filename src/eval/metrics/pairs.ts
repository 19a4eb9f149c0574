/**
 * Joins a predictions JSONL and a references JSONL into metric pairs. Lines are objects; the text
 * field is given or found among common names (pred: response, prediction, output, hyp, text, answer;
 * ref: reference, ref, answer, output, text). With an "id" on every line of both files, pairs are
 * joined by id; otherwise by line number, and the files must have the same number of records. Every
 * problem names the file, the line and the field. A null text counts as an empty answer (reported).
 */
import type { MetricsPair } from "./evaluate.js";

export class PairsFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PairsFormatError";
  }
}

const PRED_FIELDS = ["response", "prediction", "output", "hyp", "text", "answer"];
const REF_FIELDS = ["reference", "ref", "answer", "output", "text"];

interface Row {
  line: number;
  id: string | null;
  text: string;
}

function readRows(text: string, file: string, field: string | undefined, candidates: string[]): Row[] {
  const rows: Row[] = [];
  text.split("\n").forEach((raw, i) => {
    if (raw.trim() === "") return;
    const where = `${file}:${i + 1}`;
    let rec: unknown;
    try {
      rec = JSON.parse(raw);
    } catch (e) {
      throw new PairsFormatError(`${where}: not valid JSON (${(e as Error).message})`);
    }
    if (rec === null || typeof rec !== "object" || Array.isArray(rec)) throw new PairsFormatError(`${where}: expected a JSON object`);
    const r = rec as Record<string, unknown>;
    const name = field ?? candidates.find((c) => c in r);
    if (!name || !(name in r)) throw new PairsFormatError(`${where}: no text field (looked for ${field ? `"${field}"` : candidates.map((c) => `"${c}"`).join(", ")})`);
    const v = r[name];
    if (v !== null && typeof v !== "string") throw new PairsFormatError(`${where}: field "${name}": expected a string, found ${typeof v}`);
    const id = r.id === undefined ? null : String(r.id);
    rows.push({ line: i + 1, id, text: v ?? "" });
  });
  return rows;
}

export interface ReadPairsOptions {
  predField?: string;
  refField?: string;
}

export function joinPairs(predText: string, predFile: string, refText: string, refFile: string, opts: ReadPairsOptions = {}): MetricsPair[] {
  const preds = readRows(predText, predFile, opts.predField, PRED_FIELDS);
  const refs = readRows(refText, refFile, opts.refField, REF_FIELDS);
  const allIds = preds.every((r) => r.id !== null) && refs.every((r) => r.id !== null) && preds.length > 0;
  if (!allIds) {
    if (preds.length !== refs.length) {
      throw new PairsFormatError(`${predFile} has ${preds.length} records but ${refFile} has ${refs.length}; without an "id" on every line they are paired by position and must have the same count`);
    }
    return preds.map((p, i) => ({ id: p.id ?? String(i + 1), hyp: p.text, ref: refs[i]!.text }));
  }
  const refById = new Map<string, Row>();
  for (const r of refs) {
    const prev = refById.get(r.id!);
    if (prev) throw new PairsFormatError(`${refFile}:${r.line}: duplicate id ${JSON.stringify(r.id)} (first at line ${prev.line})`);
    refById.set(r.id!, r);
  }
  const seen = new Map<string, number>();
  const out: MetricsPair[] = [];
  for (const p of preds) {
    const prev = seen.get(p.id!);
    if (prev) throw new PairsFormatError(`${predFile}:${p.line}: duplicate id ${JSON.stringify(p.id)} (first at line ${prev})`);
    seen.set(p.id!, p.line);
    const r = refById.get(p.id!);
    if (!r) throw new PairsFormatError(`${predFile}:${p.line}: id ${JSON.stringify(p.id)} has no reference in ${refFile}`);
    out.push({ id: p.id!, hyp: p.text, ref: r.text });
  }
  const missing = refs.filter((r) => !seen.has(r.id!));
  if (missing.length > 0) {
    throw new PairsFormatError(`${refFile}:${missing[0]!.line}: id ${JSON.stringify(missing[0]!.id)} has no prediction in ${predFile} (${missing.length} reference(s) without prediction)`);
  }
  return out;
}
