/**
 * Serving with adapters and quantised weights. A LoRA saved by the adapters module is served by our
 * engine (adapter directory, attached in the worker) and by llama.cpp (base GGUF + the adapter exported
 * as LoRA GGUF): both give, token for token, the greedy answer of our model with the adapter attached
 * in this process, and it differs from the base model's. A MoE-LoRA (4 experts, per-token router) on
 * our engine matches the in-process oracle while other sequences share its decode steps. q8_0 weights
 * match the in-process model quantised the same way.
 */
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LORA_DEFAULTS, LoraAdapter, saveAdapter } from "../model/adapters/index.js";
import { generate } from "../model/generate.js";
import { Rng } from "../model/init.js";
import { exportLoraGguf } from "../model/io/gguf_lora.js";
import { openSafetensors } from "../model/io/safetensors.js";
import { quantizeForInference } from "../model/quantize.js";
import { loadTokenizer } from "../tokenizer/load.js";
import { renderChat } from "../tokenizer/templates.js";
import { makeServeModel, type ServeModel } from "../../test/helpers/serve_model.js";
import { tempDir } from "../../test/helpers/tempdir.js";
import { answerEndIds } from "./core.js";
import { generateText, type Generator } from "./generator.js";
import { openGenerator } from "./load.js";

const QS = ["孩子发烧38.5度怎么办", "宝宝咳嗽", "湿疹怎么护理"];
let m: ServeModel;
let dir: string;
const opened: Generator[] = [];
beforeAll(async () => {
  dir = tempDir("pedgpt-serve-adapters-");
  m = await makeServeModel(path.join(dir, "base"));
}, 60_000);
afterAll(async () => {
  for (const g of opened) await g.close();
});

async function open(model: string, o: Parameters<typeof openGenerator>[1]): Promise<Generator> {
  const g = await openGenerator(model, { contextSize: 256, parallel: 3, threads: 1, ...o });
  opened.push(g);
  return g;
}

/** A saved adapter with non-zero B (a fresh one leaves the model unchanged). */
async function makeAdapter(name: string, experts: number, seed: number): Promise<{ adapterDir: string; adapter: LoraAdapter }> {
  const adapter = LoraAdapter.create(m.model, { ...LORA_DEFAULTS, r: 4, alpha: 8, experts }, { seed });
  const rng = new Rng(seed + 1);
  for (const t of adapter.parameters()) {
    if (/lora_B\.weight|lora_moe_B|lora_route/.test(t.name)) for (let i = 0; i < t.size; i++) t.data[i] = 0.5 * rng.normal();
  }
  const adapterDir = path.join(dir, name);
  await saveAdapter(adapter, adapterDir);
  return { adapterDir, adapter };
}

/** Greedy answers of the in-process model (with whatever is attached to it now). */
function oracle(q: string, n: number): number[] {
  const tok = loadTokenizer(m.dir);
  const END = answerEndIds(tok, "qwen");
  const ids = renderChat(tok, "qwen", [{ role: "user", content: q }], "prompt").ids;
  return generate(m.model, ids, { maxNewTokens: n, eosTokenIds: END }).tokens.filter((t) => !END.includes(t));
}

async function answers(g: Generator, n: number): Promise<number[][]> {
  // All at once, so the sequences share decode steps.
  return Promise.all(
    QS.map(async (q) => {
      const tokens: number[] = [];
      for await (const e of g.generate({ messages: [{ role: "user", content: q }], temperature: 0, maxNewTokens: n })) if (e.type === "text") tokens.push(...e.tokens);
      return tokens;
    }),
  );
}

describe("serving adapters", () => {
  it("a LoRA gives the same greedy answers on our engine and on llama.cpp (LoRA GGUF) as in process", async () => {
    const { adapterDir, adapter } = await makeAdapter("lora", 1, 21);
    const base = QS.map((q) => oracle(q, 16));
    const detach = adapter.attach(m.model);
    adapter.eval();
    const want = QS.map((q) => oracle(q, 16));
    detach();
    expect(want).not.toEqual(base);

    const loraGguf = path.join(dir, "lora.gguf");
    const reader = await openSafetensors(path.join(adapterDir, "adapter_model.safetensors"));
    try {
      await exportLoraGguf(loraGguf, m.model.config, reader, { alpha: adapter.settings.alpha });
    } finally {
      await reader.close();
    }
    const engine = await open(m.dir, { adapters: [adapterDir] });
    expect(engine.info.adapters).toEqual(["lora"]);
    expect(engine.info.id).toBe("model+lora");
    expect(await answers(engine, 16)).toEqual(want);
    const llama = await open(m.gguf, { adapters: [loraGguf] });
    expect(await answers(llama, 16)).toEqual(want);
  });

  it("a MoE-LoRA (4 experts) on our engine matches the in-process model while batched", async () => {
    const { adapterDir, adapter } = await makeAdapter("moe", 4, 31);
    const detach = adapter.attach(m.model);
    adapter.eval();
    const want = QS.map((q) => oracle(q, 16));
    detach();
    const engine = await open(m.dir, { adapters: [adapterDir] });
    expect(await answers(engine, 16)).toEqual(want);
  });

  it("q8_0 weights on our engine match the in-process model quantised the same way", async () => {
    const q = quantizeForInference(m.model, "q8_0");
    let want: number[][];
    try {
      want = QS.map((x) => oracle(x, 16));
    } finally {
      q.remove();
    }
    const engine = await open(m.dir, { quantize: "q8_0" });
    expect(await answers(engine, 16)).toEqual(want);
    await expect(openGenerator(m.gguf, { quantize: "q8_0" })).rejects.toThrow(/--quantize is for our engine/);
  });

  it("refuses adapters of the wrong kind for the backend, and a missing adapter", async () => {
    await expect(openGenerator(m.dir, { adapters: [m.gguf] })).rejects.toThrow(/takes adapter directories/);
    await expect(openGenerator(m.gguf, { adapters: [m.dir] })).rejects.toThrow(/takes LoRA GGUF files/);
    await expect(openGenerator(m.dir, { adapters: [path.join(dir, "nope")] })).rejects.toThrow(/no such adapter/);
    const text = await generateText(await open(m.dir, {}), { messages: [{ role: "user", content: "你好" }], temperature: 0, maxNewTokens: 4 });
    expect(text.usage.completionTokens).toBeGreaterThan(0);
  });
});
