/**
 * Data sources over tokenized datasets: padding and masks, positions restarting per segment, packed
 * rows giving exactly the per-token losses of the examples run alone (nothing crosses a boundary),
 * pair batches in the seed's order with their reference log-probs, and the on-disk reference cache.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir } from "../../../test/helpers/tempdir.js";
import { Tape } from "../../engine/index.js";
import { CausalLM, parseConfig } from "../../model/index.js";
import { DatasetWriter, TokenDataset } from "../data/format.js";
import { collateRows, pairsSource, referenceLogps, rowsSource } from "./batch.js";
import { packSupervised } from "./prepare.js";
import { sequenceLogps } from "./preference.js";

const tmp = tempDir("pedgpt-batch-");
const I = -100;
const cfg = {
  architectures: ["LlamaForCausalLM"], vocab_size: 40, hidden_size: 16, intermediate_size: 24, num_hidden_layers: 2,
  num_attention_heads: 2, num_key_value_heads: 1, max_position_embeddings: 64, rms_norm_eps: 1e-6, tie_word_embeddings: false,
  bos_token_id: 1, eos_token_id: 2, pad_token_id: 0,
};
const model = new CausalLM(parseConfig(cfg, "test"), { seed: 7 });

const examples = [
  { ids: [1, 10, 11, 12, 13, 2], labels: [I, I, I, 12, 13, 2] },
  { ids: [1, 20, 21, 2], labels: [I, I, 21, 2] },
  { ids: [1, 30, 31, 32, 2], labels: [I, I, 31, 32, 2] },
];

async function writeSet(name: string, kind: "sft" | "pairs", rows: { ids: number[]; labels: number[]; segments?: number[] }[], segments = false): Promise<TokenDataset> {
  const w = await DatasetWriter.open(join(tmp, name), kind, { segments });
  for (const r of rows) w.add(r);
  w.finish();
  return new TokenDataset(join(tmp, name));
}

describe("rows as LossInput", () => {
  it("right-pads with the pad id, mask 0 and label -100", async () => {
    const ds = await writeSet("plain", "sft", examples);
    const x = collateRows(ds, [1, 0], 0);
    expect([x.B, x.T]).toEqual([2, 6]);
    expect(Array.from(x.ids.subarray(0, 6))).toEqual([1, 20, 21, 2, 0, 0]);
    expect(Array.from(x.attentionMask!.subarray(0, 6))).toEqual([1, 1, 1, 1, 0, 0]);
    expect(Array.from(x.labels.subarray(0, 6))).toEqual([I, I, 21, 2, I, I]);
    expect(x.segmentIds).toBeUndefined();
    expect(rowsSource(ds, { padId: 0 }).maxSequenceLength).toBe(6);
  });

  it("a packed row gives the same per-token losses as its examples alone", async () => {
    const packed = packSupervised(examples, 16);
    expect(packed).toHaveLength(1);
    const ds = await writeSet("packed", "sft", packed, true);
    const x = collateRows(ds, [0], 0);
    expect(Array.from(x.positions!)).toEqual([0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 0, 1, 2, 3, 4]);
    const tape = new Tape();
    const together = Array.from(tape.infer(() => model.loss(x)).tokenLosses.data);
    let at = 0;
    for (const ex of examples) {
      const alone = tape.infer(() => model.loss({ ids: Int32Array.from(ex.ids), B: 1, T: ex.ids.length, labels: Int32Array.from(ex.labels.map((l, i) => (i === 0 ? I : l))) }));
      const a = Array.from(alone.tokenLosses.data);
      // Position ex.length−1 of each example predicts across the boundary in the packed row: not counted.
      for (let t = 0; t < ex.ids.length - 1; t++) expect(together[at + t]).toBeCloseTo(a[t]!, 5);
      expect(together[at + ex.ids.length - 1]).toBe(0);
      at += ex.ids.length;
    }
  });
});

const pairRows = [
  { ids: [1, 5, 6, 7, 2], labels: [I, I, 6, 7, 2] },
  { ids: [1, 5, 8, 2], labels: [I, I, 8, 2] },
  { ids: [1, 9, 10, 2], labels: [I, I, 10, 2] },
  { ids: [1, 9, 11, 12, 13, 2], labels: [I, I, 11, 12, 13, 2] },
];
const pairsSet = await writeSet("pairs", "pairs", pairRows);
const notPairsSet = await writeSet("notpairs", "sft", examples);

describe("preference pairs", () => {
  const ds = pairsSet;

  it("batches all chosen rows, then all rejected rows, with their reference log-probs", () => {
    const ref = Float64Array.from([-1, -2, -3, -4]);
    const src = pairsSource(ds, { padId: 0, refLogps: ref });
    expect(src.size).toBe(2);
    const b = src.batch([1, 0]);
    expect(b.pairs).toBe(2);
    expect(Array.from(b.input.ids.subarray(0, 4))).toEqual([1, 9, 10, 2]); // chosen of pair 1
    expect(Array.from(b.input.ids.subarray(6, 10))).toEqual([1, 5, 6, 7]); // chosen of pair 0
    expect(Array.from(b.input.ids.subarray(12, 18))).toEqual([1, 9, 11, 12, 13, 2]); // rejected of pair 1
    expect(Array.from(b.refLogps!)).toEqual([-3, -1, -4, -2]);
    expect(() => pairsSource(notPairsSet, { padId: 0 })).toThrow(/needs a pairs dataset/);
  });

  it("computes reference log-probs once and reads them from the cache after", () => {
    const cacheDir = join(tmp, "cache");
    const a = referenceLogps(model, ds, { cacheDir, padId: 0, batchSize: 3 });
    expect(a.cached).toBe(false);
    const direct = sequenceLogps(model, collateRows(ds, [0, 1, 2, 3], 0), new Tape());
    a.logps.forEach((v, i) => expect(v).toBeCloseTo(direct[i]!, 5));
    const b = referenceLogps(model, ds, { cacheDir, padId: 0 });
    expect(b.cached).toBe(true);
    expect(b.cacheFile).toBe(a.cacheFile);
    expect(Array.from(b.logps)).toEqual(Array.from(a.logps));
    const other = new CausalLM(parseConfig(cfg, "test"), { seed: 8 });
    expect(referenceLogps(other, ds, { cacheDir, padId: 0 }).cacheFile).not.toBe(a.cacheFile);
  });
});
