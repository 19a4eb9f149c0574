/**
 * `pedgpt adapter info | merge | import-seed` and `pedgpt model logprobs --adapter` on a tiny model
 * and adapters written to temporary directories.
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import { Command } from "commander";
import { afterEach, describe, expect, it, vi } from "vitest";
import { tempDir } from "../../../test/helpers/tempdir.js";
import { noGrad } from "../../engine/index.js";
import { LORA_DEFAULTS, LoraAdapter, saveAdapter } from "../../model/adapters/index.js";
import { fileTensors } from "../../model/adapters/io.js";
import { CausalLM, loadModel, parseConfig, saveModel } from "../../model/index.js";
import { Rng } from "../../model/init.js";
import { writeSafetensors } from "../../model/io/safetensors.js";
import { trainBpeTokenizer } from "../../tokenizer/bpe_train.js";
import { register as registerAdapter } from "./adapter.js";
import { register as registerModel } from "./model.js";

const CFG = {
  architectures: ["LlamaForCausalLM"], vocab_size: 40, hidden_size: 16, intermediate_size: 24, num_hidden_layers: 2,
  num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 32, rms_norm_eps: 1e-6, tie_word_embeddings: false,
  initializer_range: 0.2,
};

async function run(args: string[]): Promise<string> {
  const program = new Command().exitOverride();
  registerModel(program);
  registerAdapter(program);
  const logs: string[] = [];
  const spy = vi.spyOn(console, "log").mockImplementation((...a: unknown[]) => void logs.push(a.join(" ")));
  try {
    await program.parseAsync(["node", "pedgpt", ...args]);
  } finally {
    spy.mockRestore();
  }
  return logs.join("\n");
}

afterEach(() => vi.restoreAllMocks());

async function setup(experts: number) {
  const root = tempDir("cli-adapter-");
  const model = new CausalLM(parseConfig(CFG, "test"), { seed: 1 });
  await saveModel(model, path.join(root, "base"));
  const a = LoraAdapter.create(model, { ...LORA_DEFAULTS, r: 4, alpha: 8, experts }, { seed: 2 });
  const rng = new Rng(3);
  for (const t of a.parameters()) for (let i = 0; i < t.size; i++) t.data[i] += 0.2 * rng.normal();
  await saveAdapter(a, path.join(root, "adapter"));
  return { root, model, a };
}

describe("pedgpt adapter", () => {
  it("info describes an adapter, and with --base checks it and gives the trainable share", async () => {
    const { root } = await setup(3);
    const plain = await run(["adapter", "info", path.join(root, "adapter"), "--json"]);
    expect(JSON.parse(plain)).toMatchObject({ kind: "moe-lora", r: 4, alpha: 8, experts: 3, modules: 14 });
    const checked = JSON.parse(await run(["adapter", "info", path.join(root, "adapter"), "--base", path.join(root, "base"), "--json"]));
    expect(checked.trainableShare).toBeGreaterThan(0);
    expect(checked.mergeable).toMatch(/expert 0 only/);
  });

  it("merge writes a model equal to base + adapter; a MoE-LoRA needs --universal-only", async () => {
    const { root, model, a } = await setup(1);
    await run(["adapter", "merge", path.join(root, "adapter"), "--base", path.join(root, "base"), "--out", path.join(root, "merged")]);
    const merged = await loadModel(path.join(root, "merged"));
    const ids = Int32Array.from([3, 7, 11, 2, 9]);
    a.attach(model);
    const want = noGrad(() => Float32Array.from(model.forward({ ids, B: 1, T: 5 }).data));
    const got = noGrad(() => Float32Array.from(merged.forward({ ids, B: 1, T: 5 }).data));
    let d = 0;
    for (let i = 0; i < want.length; i++) d = Math.max(d, Math.abs(want[i]! - got[i]!));
    expect(d).toBeLessThan(1e-5);
    await expect(run(["adapter", "merge", path.join(root, "adapter"), "--base", path.join(root, "base"), "--out", path.join(root, "merged")])).rejects.toThrow(/exists and is not empty/);
    const moe = await setup(3);
    await expect(run(["adapter", "merge", path.join(moe.root, "adapter"), "--base", path.join(moe.root, "base"), "--out", path.join(moe.root, "m")])).rejects.toThrow(/cannot be merged.*--universal-only/);
    const out = await run(["adapter", "merge", path.join(moe.root, "adapter"), "--base", path.join(moe.root, "base"), "--out", path.join(moe.root, "m"), "--universal-only"]);
    expect(out).toMatch(/merged expert 0 of a MoE-LoRA/);
  });

  it("import-seed converts the seed's PEFT layout only with a router policy", async () => {
    const { root, model, a } = await setup(3);
    const seed = path.join(root, "seed");
    await fs.mkdir(seed);
    await fs.writeFile(path.join(seed, "adapter_config.json"), JSON.stringify({ peft_type: "LORA", r: 4, lora_alpha: 8, lora_dropout: 0, lora_nums: 3, target_modules: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"], bias: "none" }));
    await writeSafetensors(path.join(seed, "adapter_model.safetensors"), fileTensors(a).filter((t) => /lora_moe_[AB]$/.test(t.name)));
    await expect(run(["adapter", "import-seed", seed, "--base", path.join(root, "base"), "--out", path.join(root, "imported")])).rejects.toThrow(/router weights .* absent/);
    await expect(run(["adapter", "import-seed", seed, "--base", path.join(root, "base"), "--out", path.join(root, "imported"), "--router-policy", "random"])).rejects.toThrow(/--router-policy must be "zero"/);
    const out = await run(["adapter", "import-seed", seed, "--base", path.join(root, "base"), "--out", path.join(root, "imported"), "--router-policy", "zero"]);
    expect(out).toMatch(/imported peft layout .* 3 experts, r 4, alpha 8, 14 modules, routers policy zero/);
    const cfg = JSON.parse(await fs.readFile(path.join(root, "imported", "adapter_config.json"), "utf8"));
    expect(cfg.pedgpt.router_policy).toBe("zero");
    void model;
  });
});

describe("pedgpt model logprobs", () => {
  it("prints per-token log-probabilities, with and without an adapter", async () => {
    const { root, model, a } = await setup(3);
    const base = JSON.parse(await run(["model", "logprobs", path.join(root, "base"), "--ids", "3,7,11,2", "--json"]));
    expect(base.tokens).toHaveLength(4);
    expect(base.tokens[0].logprob).toBeNull();
    expect(base.scored).toBe(3);
    // Independent check: log-softmax of the logits at the previous position.
    const logits = noGrad(() => Float32Array.from(model.forward({ ids: Int32Array.from([3, 7, 11, 2]), B: 1, T: 4 }).data));
    const V = 40;
    const ids = [3, 7, 11, 2];
    for (let t = 1; t < 4; t++) {
      const row = logits.subarray((t - 1) * V, t * V);
      const mx = Math.max(...row);
      const lse = mx + Math.log(row.reduce((s, v) => s + Math.exp(v - mx), 0));
      expect(base.tokens[t].logprob).toBeCloseTo(row[ids[t]!]! - lse, 5);
    }
    const adapted = JSON.parse(await run(["model", "logprobs", path.join(root, "base"), "--adapter", path.join(root, "adapter"), "--ids", "3,7,11,2", "--json"]));
    expect(Math.abs(adapted.sum - base.sum)).toBeGreaterThan(1e-4);
    const again = JSON.parse(await run(["model", "logprobs", path.join(root, "base"), "--adapter", path.join(root, "adapter"), "--ids", "3,7,11,2", "--json"]));
    expect(again.sum).toBe(adapted.sum); // no router noise at inference
    const text = await run(["model", "logprobs", path.join(root, "base"), "--ids", "3,7,11,2"]);
    expect(text).toMatch(/sum -?\d+\.\d{5} over 3 tokens/);
    await expect(run(["model", "logprobs", path.join(root, "base")])).rejects.toThrow(/exactly one of --ids or --text/);
    void a;
  });

  it("encodes --text with the model's tokenizer and names each token", async () => {
    const root = tempDir("cli-logprobs-");
    const tok = trainBpeTokenizer(["宝宝发热怎么办", "孩子咳嗽三天了", "发热 咳嗽 宝宝"], { vocabSize: 300 });
    const model = new CausalLM(parseConfig({ ...CFG, vocab_size: tok.vocabSize }, "test"), { seed: 1 });
    await saveModel(model, root);
    await fs.writeFile(path.join(root, "tokenizer.json"), JSON.stringify(tok.tokenizerJson));
    await fs.writeFile(path.join(root, "tokenizer_config.json"), JSON.stringify(tok.tokenizerConfig));
    const r = JSON.parse(await run(["model", "logprobs", root, "--text", "宝宝发热", "--json"]));
    expect(r.tokens.length).toBeGreaterThanOrEqual(2);
    expect(r.tokens[0].token).toBe("<s>"); // BOS added as the tokenizer config says
    expect(r.tokens.every((t: { token: string | null }) => typeof t.token === "string")).toBe(true);
    expect(r.sum).toBeCloseTo(r.tokens.slice(1).reduce((x: number, t: { logprob: number }) => x + t.logprob, 0), 4);
  });
});
