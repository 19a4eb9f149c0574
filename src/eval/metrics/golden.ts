/**
 * Reader for the golden metric fixtures written by scripts/fixtures/metrics_gen_fixtures.py
 * (gzip JSONL: one header line, then one pair per line with Python tokens and scores). Shared by the
 * tests and the agreement check; not product code for users.
 */
import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import type { PaperScores } from "./paper.js";

export interface GoldenPair {
  i: number;
  kind: string;
  hyp: string;
  ref: string;
  hyp_tokens: string[];
  ref_tokens: string[];
  scores: PaperScores & { rouge_error: string | null };
}

export function readGolden(file: string): { header: Record<string, unknown>; pairs: GoldenPair[] } {
  const lines = gunzipSync(readFileSync(file)).toString("utf8").split("\n").filter((l) => l.length > 0);
  const header = JSON.parse(lines[0]!) as Record<string, unknown>;
  if (header.format !== "pedgpt-metrics-golden" || header.version !== 1) {
    throw new Error(`${file}: line 1: expected header {"format":"pedgpt-metrics-golden","version":1}, found ${lines[0]!.slice(0, 80)}`);
  }
  return { header, pairs: lines.slice(1).map((l) => JSON.parse(l) as GoldenPair) };
}
