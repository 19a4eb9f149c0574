/**
 * Tokenized datasets (../data/format.ts) as the trainer's data sources:
 * - rows (pt blocks, SFT conversations, packed SFT rows) → the model's LossInput, right-padded to the
 *   longest row of the batch (pad id, attention mask 0, label -100); rows with segments get segment ids
 *   and positions that restart at each segment, so attention stays inside each document/example;
 * - preference pairs → a PairBatch: all chosen rows, then all rejected rows (the seed's order), with the
 *   reference log-probs of those rows when the loss needs them.
 * Also here: reference log-probs computed once per (reference model, data) and cached on disk.
 *
 * Not here: making rows (./prepare.ts), losses (./preference.ts, ../lm.ts).
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { IGNORE_INDEX, Tape } from "../../engine/index.js";
import type { CausalLM, LossInput } from "../../model/index.js";
import { writeFileAtomicSync } from "../../util/atomic.js";
import { TokenDataset } from "../data/format.js";
import type { DataSource } from "../trainer/objective.js";
import { sequenceLogps, type PairBatch } from "./preference.js";

/** Collates dataset rows into one right-padded LossInput. */
export function collateRows(ds: TokenDataset, rows: readonly number[], padId: number): LossInput {
  const B = rows.length;
  if (B === 0) throw new RangeError("collateRows: no rows");
  let T = 0;
  for (const r of rows) T = Math.max(T, ds.rowLength(r));
  const ids = new Int32Array(B * T).fill(padId);
  const labels = new Int32Array(B * T).fill(IGNORE_INDEX);
  const attentionMask = new Uint8Array(B * T);
  const seg = ds.meta.hasSegments ? new Int32Array(B * T) : null;
  const positions = ds.meta.hasSegments ? new Int32Array(B * T) : null;
  rows.forEach((r, b) => {
    const row = ds.row(r);
    const n = row.ids.length;
    ids.set(row.ids, b * T);
    labels.set(row.labels, b * T);
    attentionMask.fill(1, b * T, b * T + n);
    if (seg && positions && row.segments) {
      seg.set(row.segments, b * T);
      let p = 0;
      for (let t = 0; t < n; t++) {
        if (t > 0 && row.segments[t] !== row.segments[t - 1]) p = 0;
        positions[b * T + t] = p++;
      }
      // Padding joins the last segment: its queries then see real keys (no all-masked softmax row),
      // and as keys they are masked out and come after every real token.
      seg.fill(row.segments[n - 1]!, b * T + n, (b + 1) * T);
    }
  });
  const input: LossInput = { ids, B, T, labels, attentionMask };
  if (seg) {
    input.segmentIds = seg;
    input.positions = positions;
  }
  return input;
}

/** A dataset's rows (or a subset) as items for the trainer. */
export function rowsSource(ds: TokenDataset, o: { padId: number; rows?: readonly number[] }): DataSource<LossInput> {
  const rows = o.rows ?? Array.from({ length: ds.rows }, (_, i) => i);
  let longest = 0;
  for (const r of rows) longest = Math.max(longest, ds.rowLength(r));
  return {
    size: rows.length,
    maxSequenceLength: longest,
    batch: (indices) => collateRows(ds, indices.map((i) => rows[i]!), o.padId),
    fingerprint: () => `${ds.meta.contentHash}:${rows.length}:${createHash("sha256").update(Int32Array.from(rows)).digest("hex").slice(0, 16)}`,
  };
}

/** Preference pairs (or a subset, by pair index) as items; reference log-probs indexed by dataset row. */
export function pairsSource(ds: TokenDataset, o: { padId: number; pairs?: readonly number[]; refLogps?: Float64Array | null }): DataSource<PairBatch> {
  if (ds.meta.kind !== "pairs") throw new RangeError(`${ds.dir}: a preference stage needs a pairs dataset, this one is ${ds.meta.kind}`);
  const pairs = o.pairs ?? Array.from({ length: ds.rows / 2 }, (_, i) => i);
  const ref = o.refLogps ?? null;
  if (ref && ref.length !== ds.rows) throw new RangeError(`reference log-probs cover ${ref.length} rows, the dataset has ${ds.rows}`);
  let longest = 0;
  for (const p of pairs) longest = Math.max(longest, ds.rowLength(2 * p), ds.rowLength(2 * p + 1));
  return {
    size: pairs.length,
    maxSequenceLength: longest,
    batch(indices) {
      const K = indices.length;
      const chosen = indices.map((i) => 2 * pairs[i]!);
      const rejected = indices.map((i) => 2 * pairs[i]! + 1);
      const input = collateRows(ds, [...chosen, ...rejected], o.padId);
      let refLogps: Float64Array | null = null;
      if (ref) {
        refLogps = new Float64Array(2 * K);
        chosen.forEach((r, k) => (refLogps![k] = ref[r]!));
        rejected.forEach((r, k) => (refLogps![K + k] = ref[r]!));
      }
      return { input, pairs: K, refLogps, indices: indices.map((i) => pairs[i]!) };
    },
    fingerprint: () => `${ds.meta.contentHash}:${pairs.length}`,
  };
}

/** SHA-256 of a model's weights and config: the reference half of the log-prob cache key. */
export function modelHash(model: CausalLM): string {
  const h = createHash("sha256");
  h.update(JSON.stringify(model.config));
  for (const p of model.parameters()) {
    h.update(p.name);
    h.update(Buffer.from(p.data.buffer, p.data.byteOffset, p.data.byteLength));
  }
  return h.digest("hex");
}

export interface ReferenceLogps {
  /** per dataset row: SUM of response-token log-probs under the reference model */
  logps: Float64Array;
  cacheFile: string;
  /** true when read from the cache */
  cached: boolean;
  seconds: number;
}

/**
 * Reference log-probs of every row, computed once and cached as `<cacheDir>/ref-logps-<key>.f64`
 * (float64 little-endian, one per row) where key = sha256(reference model hash, dataset content hash).
 * `forward` runs the reference (e.g. the policy with its adapter disabled); defaults to `model`.
 */
export function referenceLogps(
  model: CausalLM,
  ds: TokenDataset,
  o: { cacheDir: string; padId: number; batchSize?: number; modelKey?: string; forward?: <T>(fn: () => T) => T; log?: (line: string) => void },
): ReferenceLogps {
  const started = performance.now();
  const key = createHash("sha256").update(o.modelKey ?? modelHash(model)).update(ds.meta.contentHash).digest("hex").slice(0, 32);
  const file = join(o.cacheDir, `ref-logps-${key}.f64`);
  if (existsSync(file)) {
    const buf = readFileSync(file);
    if (buf.length === ds.rows * 8) {
      const logps = new Float64Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length));
      return { logps, cacheFile: file, cached: true, seconds: (performance.now() - started) / 1000 };
    }
    o.log?.(`${file}: ${buf.length} bytes for ${ds.rows} rows; recomputing`);
  }
  const logps = new Float64Array(ds.rows);
  const bs = o.batchSize ?? 8;
  const tape = new Tape();
  const run = o.forward ?? (<T>(fn: () => T) => fn());
  for (let start = 0; start < ds.rows; start += bs) {
    const rows = Array.from({ length: Math.min(bs, ds.rows - start) }, (_, i) => start + i);
    const input = collateRows(ds, rows, o.padId);
    const lp = run(() => sequenceLogps(model, input, tape));
    logps.set(lp, start);
  }
  writeFileAtomicSync(file, new Uint8Array(logps.buffer));
  return { logps, cacheFile: file, cached: false, seconds: (performance.now() - started) / 1000 };
}
