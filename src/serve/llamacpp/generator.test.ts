/**
 * llama.cpp generation on an exported tiny model: greedy decoding must follow our model's argmax
 * step by step; seeded sampling is reproducible; stop tokens, abort, concurrency over the sequence
 * pool and context limits behave as documented.
 */
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { noGrad, withBackend } from "../../engine/index.js";
import { referenceKernels } from "../../engine/kernels/index.js";
import { parseConfig } from "../../model/architectures.js";
import { CausalLM } from "../../model/model.js";
import { exportGguf, memoryTensorSource } from "../../model/io/gguf_export.js";
import { LlamaCppGenerator } from "./generator.js";

let tmp: string;
let model: CausalLM;
let gen: LlamaCppGenerator;
beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), "pedgpt-gen-"));
  const raw = { architectures: ["Qwen2ForCausalLM"], vocab_size: 64, hidden_size: 32, intermediate_size: 64, num_attention_heads: 4, num_key_value_heads: 2, num_hidden_layers: 2, rms_norm_eps: 1e-6, max_position_embeddings: 64, hidden_act: "silu" };
  model = new CausalLM(parseConfig(raw, "test"), { seed: 5 });
  // Larger-than-init weights so the argmax is decisive (no near-ties between the two engines).
  let s = 12345;
  for (const p of model.params.list) {
    for (let i = 0; i < p.data.length; i++) {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      const u = s / 2 ** 32 - 0.5;
      p.data[i] = p.shape.length === 1 ? 1 + 0.5 * u : (3 * u) / Math.sqrt(p.shape[1]!);
    }
    p.version++;
  }
  const file = path.join(tmp, "m.gguf");
  await exportGguf(file, model.config, memoryTensorSource(new Map(model.params.list.map((p) => [p.name, { shape: p.shape, data: p.data }]))), { vocab: { kind: "synthetic" }, templateId: "qwen" });
  gen = await LlamaCppGenerator.load(file, { contextSize: 64, parallel: 2, threads: 1 });
});
afterAll(async () => {
  await gen?.dispose();
  await fs.rm(tmp, { recursive: true, force: true });
});

function ourGreedy(prompt: number[], n: number): number[] {
  const seq = [...prompt];
  const out: number[] = [];
  withBackend(referenceKernels, () => {
    for (let k = 0; k < n; k++) {
      const logits = noGrad(() => model.forward({ ids: Int32Array.from(seq), B: 1, T: seq.length }, { lastOnly: true })).clone().data;
      let best = 0;
      for (let v = 1; v < logits.length; v++) if (logits[v]! > logits[best]!) best = v;
      if (gen.isEndToken(best)) break;
      out.push(best);
      seq.push(best);
    }
  });
  return out;
}

async function collect(it: AsyncGenerator<number>): Promise<number[]> {
  const out: number[] = [];
  for await (const t of it) out.push(t);
  return out;
}

describe("LlamaCppGenerator", () => {
  it("exposes the template id recorded at export", () => {
    expect(gen.templateId).toBe("qwen");
    expect(gen.chatTemplate).toBeNull();
  });

  it("greedy decoding follows our model's argmax", async () => {
    const prompt = [5, 9, 33, 2];
    const theirs = await collect(gen.generate(prompt, { maxTokens: 12 }));
    expect(theirs).toEqual(ourGreedy(prompt, 12));
    expect(theirs.length).toBeGreaterThan(3);
  });

  it("seeded sampling is reproducible; stop tokens end generation", async () => {
    const opts = { maxTokens: 10, temperature: 0.9, topK: 20, topP: 0.95, seed: 42 };
    const a = await collect(gen.generate([7, 7, 1], opts));
    const b = await collect(gen.generate([7, 7, 1], opts));
    expect(a).toEqual(b);
    const greedy = await collect(gen.generate([5, 9, 33, 2], { maxTokens: 12 }));
    const stopped = await collect(gen.generate([5, 9, 33, 2], { maxTokens: 12, stopTokens: [greedy[2]!] }));
    expect(stopped).toEqual(greedy.slice(0, greedy.indexOf(greedy[2]!)));
  });

  it("runs concurrent requests on separate sequences with the same results", async () => {
    const p1 = [3, 4, 5];
    const p2 = [40, 41, 12, 13];
    const [a, b, c] = await Promise.all([
      collect(gen.generate(p1, { maxTokens: 8 })),
      collect(gen.generate(p2, { maxTokens: 8 })),
      collect(gen.generate(p1, { maxTokens: 8 })), // waits for a free sequence
    ]);
    expect(a).toEqual(ourGreedy(p1, 8));
    expect(b).toEqual(ourGreedy(p2, 8));
    expect(c).toEqual(a);
  });

  it("stops on abort and refuses requests beyond the context", async () => {
    const ctl = new AbortController();
    const out: number[] = [];
    for await (const t of gen.generate([5, 9, 33, 2], { maxTokens: 12, signal: ctl.signal })) {
      out.push(t);
      ctl.abort();
    }
    expect(out.length).toBe(1);
    await expect(collect(gen.generate(Array.from({ length: 60 }, (_, i) => i + 1), { maxTokens: 10 }))).rejects.toThrow(/exceed the context size 64/);
  });
});
