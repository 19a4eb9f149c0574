/**
 * Documents packed into one sequence with `ModelInput.segmentIds` (and positions restarting per
 * document) behave exactly like the same documents run one by one: logits, per-token losses and every
 * parameter's gradient, for each architecture (RoPE and ALiBi). Also the bad inputs of the option.
 */
import { describe, expect, it } from "vitest";
import { noGrad, sum, Tape, type Tensor } from "../engine/index.js";
import { CausalLM, ModelInputError, parseConfig, presetConfig } from "./index.js";

const small = { hidden_size: 32, intermediate_size: 48, num_hidden_layers: 2, vocab_size: 50, max_position_embeddings: 64, model_max_length: 64 };

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** Two packed rows of documents (lengths per row), token ids from a fixed formula. */
const layout = [[5, 3, 6], [9, 1, 4]];
const T = 14;
const tokens = (row: number, t: number) => (7 * row + 3 * t * t + 1) % 50;

function packed(): { ids: Int32Array; positions: Int32Array; segmentIds: Int32Array; labels: Int32Array } {
  const B = layout.length;
  const ids = new Int32Array(B * T), positions = new Int32Array(B * T), segmentIds = new Int32Array(B * T), labels = new Int32Array(B * T);
  layout.forEach((docs, b) => {
    let t = 0;
    docs.forEach((len, d) => {
      for (let p = 0; p < len; p++, t++) {
        ids[b * T + t] = tokens(b, t);
        positions[b * T + t] = p;
        segmentIds[b * T + t] = d;
        // labels are shifted inside the loss: a document's first token is never a target of the one before
        labels[b * T + t] = p === 0 ? -100 : tokens(b, t);
      }
    });
  });
  return { ids, positions, segmentIds, labels };
}

function grads(model: CausalLM): Float32Array[] {
  return model.parameters().map((p) => (p.grad ? p.grad.slice() : new Float32Array(p.size)));
}

for (const preset of ["tiny-llama", "tiny-qwen2", "tiny-baichuan", "tiny-baichuan-alibi"]) {
  describe(`packed documents, ${preset}`, () => {
    it("logits, token losses and gradients equal those of each document run alone", () => {
      const model = new CausalLM(parseConfig(presetConfig(preset, small), preset), { seed: 3 });
      const V = model.config.vocabSize;
      const pk = packed();
      const B = layout.length;
      const logits = noGrad(() => model.forward({ ids: pk.ids, B, T, positions: pk.positions, segmentIds: pk.segmentIds })).data.slice();

      const tape = new Tape();
      for (const p of model.parameters()) p.grad = null;
      const packedLoss = tape.run(() => {
        const out = model.loss({ ids: pk.ids, B, T, positions: pk.positions, segmentIds: pk.segmentIds, labels: pk.labels });
        return { total: sum(out.tokenLosses), tokens: out.tokenLosses.data.slice() };
      });
      tape.backward(packedLoss.total);
      const packedGrads = grads(model);

      for (const p of model.parameters()) p.grad = null;
      let worstLogit = 0, worstLoss = 0;
      layout.forEach((docs, b) => {
        let start = 0;
        for (const len of docs) {
          const ids = pk.ids.slice(b * T + start, b * T + start + len);
          const alone = noGrad(() => model.forward({ ids, B: 1, T: len })).data;
          worstLogit = Math.max(worstLogit, maxDiff(alone, logits.subarray((b * T + start) * V, (b * T + start + len) * V)));
          const labels = pk.labels.slice(b * T + start, b * T + start + len);
          const single = tape.run(() => {
            const out = model.loss({ ids, B: 1, T: len, labels });
            return { total: sum(out.tokenLosses) as Tensor, tokens: out.tokenLosses.data.slice() };
          });
          tape.backward(single.total); // gradients add up over the documents
          // the packed row's last position of a document has no target (next label is -100): 0 there too
          worstLoss = Math.max(worstLoss, maxDiff(single.tokens, packedLoss.tokens.subarray(b * T + start, b * T + start + len)));
          start += len;
        }
      });
      expect(worstLogit, "logits").toBeLessThan(2e-5);
      expect(worstLoss, "token losses").toBeLessThan(2e-5);
      const separate = grads(model);
      packedGrads.forEach((g, i) => {
        const scale = Math.max(1e-3, ...Array.from(separate[i]!, Math.abs));
        expect(maxDiff(g, separate[i]!) / scale, model.parameters()[i]!.name).toBeLessThan(1e-4);
      });
    });
  });
}

describe("segmentIds input checks", () => {
  const model = new CausalLM(parseConfig(presetConfig("tiny-llama", small), "tiny-llama"), { seed: 1 });
  it("a wrong length is a ModelInputError naming the expected size", () => {
    expect(() => noGrad(() => model.forward({ ids: Int32Array.from([1, 2, 3]), B: 1, T: 3, segmentIds: Int32Array.from([0, 0]) }))).toThrow(
      /segmentIds has 2 entries, expected 3/,
    );
  });
  it("is refused together with a KV cache", () => {
    const cache = model.newCache(1, 8);
    let err: unknown;
    try {
      noGrad(() => model.forward({ ids: Int32Array.from([1, 2]), B: 1, T: 2, segmentIds: Int32Array.from([0, 0]) }, { cache }));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ModelInputError);
    expect((err as Error).message).toMatch(/segmentIds .* KV cache/);
  });
});
