/**
 * Adapters: stacked hooks, fresh-adapter identity, save/load round trips in PEFT layout, merge and
 * unmerge, the disable switch, inference determinism and training noise, checkpointed recomputation,
 * training through AdamW, router statistics, the GGUF export of a saved LoRA, and every bad input
 * (shapes, targets, peft_type, NaN, other base, missing routers) as a named error with nothing loaded.
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { AdamW, add, noGrad, Tape, zeroGrad } from "../../engine/index.js";
import { tempDir } from "../../../test/helpers/tempdir.js";
import { parseConfig } from "../architectures.js";
import { Rng } from "../init.js";
import { openGguf } from "../io/gguf.js";
import { exportLoraGguf } from "../io/gguf_lora.js";
import { openSafetensors, writeSafetensors } from "../io/safetensors.js";
import { CausalLM } from "../model.js";
import {
  AdapterBaseMismatchError,
  AdapterConfigError,
  AdapterMergeError,
  AdapterShapeError,
  AdapterTargetError,
  AdapterValueError,
  LORA_DEFAULTS,
  LoraAdapter,
  loadAdapter,
  saveAdapter,
  saveMerged,
  type AdapterSettings,
} from "./index.js";
import { loadModel } from "../checkpoint.js";

const LLAMA = {
  architectures: ["LlamaForCausalLM"], vocab_size: 40, hidden_size: 16, intermediate_size: 24, num_hidden_layers: 2,
  num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 32, rms_norm_eps: 1e-6, tie_word_embeddings: false,
};
const BAICHUAN = {
  architectures: ["BaichuanForCausalLM"], vocab_size: 40, hidden_size: 16, intermediate_size: 24, num_hidden_layers: 2,
  num_attention_heads: 4, model_max_length: 32, rms_norm_eps: 1e-6, tie_word_embeddings: false, position_embedding: "rope",
};

function model(raw: Record<string, unknown> = LLAMA, seed = 1): CausalLM {
  return new CausalLM(parseConfig(raw, "test"), { seed });
}

const B = 2;
const T = 6;
const ids = Int32Array.from({ length: B * T }, (_, i) => (i * 7 + 3) % 40);
const batch = { ids, B, T, labels: ids };

function logits(m: CausalLM): Float32Array {
  return noGrad(() => Float32Array.from(m.forward({ ids, B, T }).data));
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

/** An adapter with random (non-zero) B so it changes the model. */
function randomized(m: CausalLM, s: Partial<AdapterSettings>, seed = 3): LoraAdapter {
  const a = LoraAdapter.create(m, { ...LORA_DEFAULTS, r: 4, alpha: 8, ...s }, { seed });
  const rng = new Rng(seed + 100);
  for (const t of a.parameters()) for (let i = 0; i < t.size; i++) if (t.data[i] === 0 || t.name.includes("route")) t.data[i] = 0.3 * rng.normal();
  return a;
}

describe("stacked linear hooks", () => {
  it("run in order over the plain linear, skip modules they do not handle, and come off again", () => {
    const m = model();
    const base = logits(m);
    const seen: string[] = [];
    const removeLog = m.addLinearHook({ handles: () => true, wrap: (mod, x, next) => (seen.push(mod), next(x)) });
    const a = randomized(m, { targetModules: ["q_proj"] });
    const detach = a.attach(m);
    const adapted = logits(m);
    expect(maxDiff(adapted, base)).toBeGreaterThan(1e-4);
    expect(seen.slice(0, 7)).toEqual(["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"].map((n) => `model.layers.0.${n.includes("proj") && ["gate_proj", "up_proj", "down_proj"].includes(n) ? "mlp" : "self_attn"}.${n}`));
    removeLog();
    expect(maxDiff(logits(m), adapted)).toBe(0);
    detach();
    expect(maxDiff(logits(m), base)).toBe(0);
  });

  it("two adapters stack: the hooked model equals the base with both merged", () => {
    const m = model();
    const a = randomized(m, { targetModules: ["q_proj", "down_proj"] }, 3);
    const b = randomized(m, { targetModules: ["down_proj", "o_proj"], rsLora: true }, 4);
    a.attach(m);
    b.attach(m);
    const hooked = logits(m);
    const plain = model();
    a.merge(plain);
    b.merge(plain);
    expect(maxDiff(logits(plain), hooked)).toBeLessThan(1e-5);
    expect(maxDiff(logits(plain), logits(model()))).toBeGreaterThan(1e-3);
  });

  it("reach lm_head only when a hook asks for it", () => {
    const m = model();
    const base = logits(m);
    const a = randomized(m, { targetModules: ["lm_head"] });
    expect(a.modules).toEqual(["lm_head"]);
    a.attach(m);
    expect(maxDiff(logits(m), base)).toBeGreaterThan(1e-4);
    const tied = model({ ...LLAMA, tie_word_embeddings: true });
    expect(() => LoraAdapter.create(tied, { ...LORA_DEFAULTS, targetModules: ["lm_head"] })).toThrow(AdapterTargetError);
    expect(() => LoraAdapter.create(model(BAICHUAN), { ...LORA_DEFAULTS, targetModules: ["lm_head"] })).toThrow(/NormHead/);
  });
});

describe("LoRA and MoE-LoRA", () => {
  it("a fresh adapter (B = 0) leaves the model unchanged; target_modules all = every linear but lm_head", () => {
    for (const experts of [1, 4]) {
      const m = model(BAICHUAN);
      const base = logits(m);
      const a = LoraAdapter.create(m, { ...LORA_DEFAULTS, experts });
      expect(a.modules).toHaveLength(2 * 5);
      expect(a.modules.some((x) => x.endsWith("W_pack"))).toBe(true);
      a.attach(m);
      expect(maxDiff(logits(m), base)).toBe(0);
    }
  });

  it("PEFT init: A kaiming-uniform bounds (LoRA 1/√in, MoE 1/√(in·r)), B zeros", () => {
    const m = model();
    const lora = LoraAdapter.create(m, { ...LORA_DEFAULTS, r: 4 });
    const moe = LoraAdapter.create(m, { ...LORA_DEFAULTS, r: 4, experts: 3 });
    const st = lora.module("model.layers.0.mlp.down_proj");
    const bound = 1 / Math.sqrt(st.inF);
    expect(Math.max(...st.A.data.map(Math.abs))).toBeLessThanOrEqual(bound);
    expect(Math.max(...st.A.data.map(Math.abs))).toBeGreaterThan(0.8 * bound);
    expect(st.B.data.every((v) => v === 0)).toBe(true);
    const mt = moe.module("model.layers.0.mlp.down_proj");
    expect(Math.max(...mt.A.data.map(Math.abs))).toBeLessThanOrEqual(1 / Math.sqrt(mt.inF * 4));
    expect(mt.noise!.data.every((v) => v === 0)).toBe(true);
  });

  it("save → load round trip in PEFT layout gives identical logits (LoRA, rsLoRA and MoE-LoRA)", async () => {
    const dir = tempDir("adapter-rt-");
    for (const [i, s] of ([{ experts: 1 }, { experts: 1, rsLora: true, targetModules: ["q_proj", "v_proj"] }, { experts: 3, balanceLossCoef: 0.01 }] as Partial<AdapterSettings>[]).entries()) {
      const m = model();
      const a = randomized(m, s);
      const out = path.join(dir, `a${i}`);
      await saveAdapter(a, out);
      const cfg = JSON.parse(await fs.readFile(path.join(out, "adapter_config.json"), "utf8"));
      expect(cfg.peft_type).toBe("LORA");
      expect(cfg.r).toBe(4);
      expect(cfg.lora_alpha).toBe(8);
      expect(cfg.pedgpt.base_model_fingerprint).toMatch(/^fp1:/);
      const st = await openSafetensors(path.join(out, "adapter_model.safetensors"));
      const names = st.names();
      await st.close();
      if (s.experts === 1) {
        expect(cfg.lora_nums).toBeUndefined();
        expect(names).toContain("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight");
      } else {
        expect(cfg.lora_nums).toBe(3);
        expect(cfg.pedgpt.router.balance_loss_coef).toBe(0.01);
        for (const k of ["lora_moe_A", "lora_moe_B", "lora_route.weight", "w_noise"]) expect(names).toContain(`base_model.model.model.layers.1.mlp.up_proj.${k}`);
      }
      a.attach(m);
      const want = logits(m);
      const m2 = model();
      const b = await loadAdapter(out, m2);
      b.attach(m2);
      expect(maxDiff(logits(m2), want)).toBe(0);
      expect({ ...b.settings, targetModules: null }).toEqual({ ...a.settings, targetModules: null });
      expect(b.modules).toEqual(a.modules);
    }
  });

  it("merge = adapter in the hook; unmerge restores the base; the disable switch gives the base model", () => {
    const m = model();
    const base = logits(m);
    const w0 = Float32Array.from(m.params.get("model.layers.1.mlp.down_proj.weight").data);
    const a = randomized(m, {});
    a.attach(m);
    const adapted = logits(m);
    expect(maxDiff(a.withDisabled(() => logits(m)), base)).toBe(0);
    a.merge(m);
    expect(maxDiff(logits(m), adapted)).toBeLessThan(1e-5);
    expect(() => a.merge(m)).toThrow(AdapterMergeError);
    a.unmerge(m);
    expect(maxDiff(m.params.get("model.layers.1.mlp.down_proj.weight").data, w0)).toBeLessThan(1e-6);
    expect(maxDiff(logits(m), adapted)).toBeLessThan(1e-5);
  });

  it("MoE-LoRA: merging routed experts is refused; the universal expert merges and routed experts keep running", async () => {
    const m = model();
    const a = randomized(m, { experts: 4 });
    a.attach(m);
    const adapted = logits(m);
    expect(() => a.merge(m)).toThrow(/cannot be merged: experts 1\.\.3 are mixed per token/);
    a.merge(m, { universalOnly: true });
    expect(maxDiff(logits(m), adapted)).toBeLessThan(1e-5);
    a.unmerge(m);
    // A merged export holds expert 0 only.
    const dir = tempDir("adapter-merged-");
    await expect(saveMerged(m, a, path.join(dir, "x"))).rejects.toThrow(AdapterMergeError);
    await saveMerged(m, a, path.join(dir, "u"), { universalOnly: true });
    const merged = await loadModel(path.join(dir, "u"));
    const onlyUniversal = a.withDisabled(() => logits(m));
    expect(maxDiff(logits(merged), onlyUniversal)).toBeGreaterThan(1e-4); // expert 0 is in
    expect(maxDiff(logits(m), adapted)).toBeLessThan(1e-5); // the source model got its weights back (up to rounding)
  });

  it("inference is deterministic; training noise is drawn once per module and step from the caller's RNG", () => {
    const m = model();
    const a = randomized(m, { experts: 3 });
    a.attach(m);
    expect(maxDiff(logits(m), logits(m))).toBe(0);
    const evalOut = logits(m);
    a.train(new Rng(5));
    const s1a = logits(m);
    const s1b = logits(m); // same step: same ε
    a.nextStep();
    const s2 = logits(m);
    expect(maxDiff(s1a, s1b)).toBe(0);
    expect(maxDiff(s1a, s2)).toBeGreaterThan(1e-5);
    expect(maxDiff(s1a, evalOut)).toBeGreaterThan(1e-5);
    a.train(new Rng(5)); // the same RNG state reproduces the same noise
    expect(maxDiff(logits(m), s1a)).toBe(0);
    a.eval();
    expect(maxDiff(logits(m), evalOut)).toBe(0);
  });

  it("gradients with activation checkpointing equal those without (noise and dropout redrawn identically)", () => {
    const grads = (ckpt: boolean): Float32Array[] => {
      const m = model();
      const a = randomized(m, { experts: 3, dropout: 0.1 });
      a.attach(m);
      a.train(new Rng(9));
      m.gradientCheckpointing = ckpt;
      a.params.allocGrads();
      m.lossAndGrad(batch, new Tape());
      return a.parameters().map((p) => Float32Array.from(p.grad!));
    };
    const g0 = grads(false);
    const g1 = grads(true);
    g0.forEach((g, i) => expect(maxDiff(g, g1[i]!)).toBeLessThan(1e-6));
    expect(g0.some((g) => g.some((v) => v !== 0))).toBe(true);
  });

  it("trains with AdamW on the adapter alone (base frozen), with balance loss and router statistics", () => {
    const m = model({ ...LLAMA, initializer_range: 0.3 }); // a frozen head of std 0.02 could not express much
    const base = m.parameters().map((p) => Float32Array.from(p.data));
    const a = LoraAdapter.create(m, { ...LORA_DEFAULTS, r: 4, alpha: 8, experts: 3, balanceLossCoef: 0.01 }, { seed: 1 });
    a.attach(m);
    a.train(new Rng(2));
    a.params.allocGrads();
    const opt = new AdamW(a.parameters(), { lr: 1e-2, weightDecay: 0 });
    const tape = new Tape();
    const losses: number[] = [];
    for (let s = 0; s < 25; s++) {
      a.nextStep();
      zeroGrad(a.parameters());
      const loss = tape.run(() => {
        const l = m.loss(batch).loss;
        const bal = a.balanceLoss();
        expect(bal).not.toBeNull();
        return add(l, bal!);
      });
      tape.backward(loss);
      opt.step();
      losses.push(loss.item());
    }
    expect(losses.at(-1)!).toBeLessThan(losses[0]! - 0.5);
    m.parameters().forEach((p, i) => expect(maxDiff(p.data, base[i]!)).toBe(0));
    const stats = a.takeRouterStats();
    expect(stats).toHaveLength(14);
    for (const s of stats) {
      expect(s.meanGate.reduce((x, y) => x + y, 0)).toBeCloseTo(1, 5);
      expect(s.top1.reduce((x, y) => x + y, 0)).toBeCloseTo(1, 5);
      expect(s.entropy).toBeGreaterThanOrEqual(0);
      expect(s.entropy).toBeLessThanOrEqual(Math.log(2) + 1e-6);
    }
    expect(a.takeRouterStats()).toHaveLength(0);
  });

  it("the balance loss is refused under gradient checkpointing instead of silently giving no gradient", () => {
    const m = model();
    const a = LoraAdapter.create(m, { ...LORA_DEFAULTS, experts: 3, balanceLossCoef: 0.1 });
    a.attach(m);
    a.train(new Rng(1));
    m.gradientCheckpointing = true;
    const tape = new Tape();
    tape.run(() => m.loss(batch));
    expect(() => tape.record(() => a.balanceLoss())).toThrow(/gradient checkpointing/);
  });

  it("a saved LoRA exports to a llama.cpp LoRA GGUF; a MoE-LoRA is refused by name", async () => {
    const dir = tempDir("adapter-gguf-");
    const m = model();
    await saveAdapter(randomized(m, {}), path.join(dir, "lora"));
    const reader = await openSafetensors(path.join(dir, "lora", "adapter_model.safetensors"));
    const r = await exportLoraGguf(path.join(dir, "a.gguf"), m.config, reader, { alpha: 8 });
    await reader.close();
    expect(r.rank).toBe(4);
    expect(r.targets).toHaveLength(14);
    const g = await openGguf(path.join(dir, "a.gguf"));
    expect(g.tensors.size).toBe(28);
    await g.close();
    await saveAdapter(randomized(m, { experts: 3 }), path.join(dir, "moe"));
    const moe = await openSafetensors(path.join(dir, "moe", "adapter_model.safetensors"));
    await expect(exportLoraGguf(path.join(dir, "b.gguf"), m.config, moe, { alpha: 8 })).rejects.toThrow(/token-routed experts cannot be exported to llama\.cpp/);
    await moe.close();
  });
});


describe("bad adapter input: a named error, nothing loaded", () => {
  async function saved(s: Partial<AdapterSettings> = {}): Promise<{ dir: string; m: CausalLM }> {
    const dir = path.join(tempDir("adapter-bad-"), "a");
    const m = model();
    await saveAdapter(randomized(m, s), dir);
    return { dir, m };
  }
  async function editConfig(dir: string, f: (c: Record<string, unknown>) => void): Promise<void> {
    const file = path.join(dir, "adapter_config.json");
    const c = JSON.parse(await fs.readFile(file, "utf8"));
    f(c);
    await fs.writeFile(file, JSON.stringify(c));
  }

  it("shapes that do not fit the base", async () => {
    const { dir } = await saved();
    const wider = model({ ...LLAMA, intermediate_size: 32 }, 1);
    await expect(loadAdapter(dir, wider, { force: true })).rejects.toThrow(AdapterShapeError);
    await expect(loadAdapter(dir, wider, { force: true })).rejects.toThrow(/need \[4, 32\]|need \[16, 4\]|need \[32, 4\]/);
  });

  it("a target module the model lacks", async () => {
    const { dir, m } = await saved();
    await editConfig(dir, (c) => {
      c.target_modules = ["c_attn"];
      delete (c.pedgpt as Record<string, unknown>).modules;
    });
    await expect(loadAdapter(dir, m)).rejects.toThrow(AdapterTargetError);
    await expect(loadAdapter(dir, m)).rejects.toThrow(/"c_attn" is not a linear layer/);
    const deeper = model({ ...LLAMA, num_hidden_layers: 1 }, 1);
    await expect(loadAdapter(dir, deeper, { force: true })).rejects.toThrow(AdapterTargetError);
    expect(() => LoraAdapter.create(m, { ...LORA_DEFAULTS, targetModules: ["query_key_value"] })).toThrow(AdapterTargetError);
  });

  it("an unknown peft_type and unsupported PEFT options", async () => {
    const { dir, m } = await saved();
    await editConfig(dir, (c) => (c.peft_type = "IA3"));
    await expect(loadAdapter(dir, m)).rejects.toThrow(AdapterConfigError);
    await expect(loadAdapter(dir, m)).rejects.toThrow(/peft_type.*"IA3"/);
    await editConfig(dir, (c) => ((c.peft_type = "LORA"), (c.use_dora = true)));
    await expect(loadAdapter(dir, m)).rejects.toThrow(/use_dora.*DoRA/);
  });

  it("NaN or Inf in adapter weights", async () => {
    const { dir, m } = await saved();
    // Writers refuse non-finite values, so plant a marker and overwrite its bytes with a NaN.
    const file = path.join(dir, "adapter_model.safetensors");
    const r = await openSafetensors(file);
    const entries = await Promise.all(r.names().map(async (n) => ({ name: n, shape: r.info(n).shape, data: await r.read(n) })));
    await r.close();
    entries[3]!.data[5] = 12345.678;
    await writeSafetensors(file, entries);
    const bytes = await fs.readFile(file);
    const marker = Buffer.from(Float32Array.of(12345.678).buffer);
    const at = bytes.indexOf(marker);
    expect(at).toBeGreaterThan(0);
    Buffer.from(Float32Array.of(Number.NaN).buffer).copy(bytes, at);
    await fs.writeFile(file, bytes);
    await expect(loadAdapter(dir, m)).rejects.toThrow(AdapterValueError);
    await expect(loadAdapter(dir, m)).rejects.toThrow(new RegExp(`"${entries[3]!.name.replace(/\./g, "\\.")}": value NaN at flat index 5`));
  });

  it("an adapter trained on another base: refused unless forced", async () => {
    const { dir } = await saved();
    const other = model(LLAMA, 2);
    await expect(loadAdapter(dir, other)).rejects.toThrow(AdapterBaseMismatchError);
    const a = await loadAdapter(dir, other, { force: true });
    expect(a.modules).toHaveLength(14);
  });

  it("a MoE-LoRA without its routers, or with a plain LoRA's config", async () => {
    const { dir, m } = await saved({ experts: 3 });
    await editConfig(dir, (c) => delete c.lora_nums);
    await expect(loadAdapter(dir, m)).rejects.toThrow(/does not belong to a plain LoRA/);
    await editConfig(dir, (c) => (c.lora_nums = 3));
    const file = path.join(dir, "adapter_model.safetensors");
    const r = await openSafetensors(file);
    const entries = await Promise.all(r.names().filter((n) => !n.endsWith("w_noise") && !n.endsWith("lora_route.weight")).map(async (n) => ({ name: n, shape: r.info(n).shape, data: await r.read(n) })));
    await r.close();
    await writeSafetensors(file, entries);
    await expect(loadAdapter(dir, m)).rejects.toThrow(/router tensor .* is missing .*import-seed/);
  });

  it("attaching to a model without the adapter's modules or shapes is refused before anything changes", () => {
    const m = model();
    const a = randomized(m, {});
    const shallow = model({ ...LLAMA, num_hidden_layers: 1 });
    expect(() => a.attach(shallow)).toThrow(AdapterTargetError);
    const narrow = model({ ...LLAMA, intermediate_size: 32 });
    expect(() => a.attach(narrow)).toThrow(AdapterShapeError);
    expect(narrow.parameters().every((p) => p.requiresGrad)).toBe(true); // not frozen: nothing happened
    const before = logits(narrow);
    expect(maxDiff(logits(narrow), before)).toBe(0);
  });

  it("bad settings are refused before any work", () => {
    const m = model();
    expect(() => LoraAdapter.create(m, { ...LORA_DEFAULTS, r: 0 })).toThrow(/"r": must be an integer >= 1/);
    expect(() => LoraAdapter.create(m, { ...LORA_DEFAULTS, dropout: 1 })).toThrow(/lora_dropout/);
    expect(() => LoraAdapter.create(m, { ...LORA_DEFAULTS, experts: 2, balanceLossCoef: 0.1 })).toThrow(/at least 2 routed experts/);
  });
});
