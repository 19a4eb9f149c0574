/**
 * Object records from any file LLaMA-Factory accepts for instruction data: JSON arrays, JSON Lines,
 * and CSV/TSV with a header row (each row becomes an object keyed by the header). Used by the
 * Alpaca/ShareGPT/preference readers so a `dataset_info.json` entry may point at a CSV file.
 */
import { extname } from "node:path";
import { readCsv } from "./csv.js";
import type { EncodingOption } from "./encoding.js";
import { readJsonRecords, type JsonItem } from "./json.js";

export async function readObjectRecords(file: string, encoding: EncodingOption = "auto"): Promise<AsyncGenerator<JsonItem>> {
  const ext = extname(file).toLowerCase();
  if (ext !== ".csv" && ext !== ".tsv") return (await readJsonRecords(file, encoding)).items;
  const { rows } = await readCsv(file, { delimiter: ext === ".tsv" ? "\t" : ",", encoding });
  async function* gen(): AsyncGenerator<JsonItem> {
    let header: string[] | undefined;
    for await (const row of rows) {
      const raw = row.fields.join(ext === ".tsv" ? "\t" : ",");
      if (!header) {
        header = row.fields.map((f) => f.trim());
        continue;
      }
      if (row.error) yield { ok: false, line: row.line, reason: `malformed CSV row: ${row.error}`, excerpt: raw };
      else if (row.fields.length !== header.length) yield { ok: false, line: row.line, reason: `expected ${header.length} fields as in the header, got ${row.fields.length}`, excerpt: raw };
      else if (row.fields.some((f) => f.includes("\uFFFD"))) yield { ok: false, line: row.line, reason: "row contains an undecodable byte sequence (U+FFFD after decoding); check the file encoding", excerpt: raw };
      else yield { ok: true, line: row.line, value: Object.fromEntries(header.map((h, i) => [h, row.fields[i]!])) };
    }
  }
  return gen();
}
