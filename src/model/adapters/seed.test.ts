/**
 * The seed importer on both layouts of the released PediatricsGPT MoE adapter, written here with the
 * seed's key names and shapes (SEED-FACTS): the PEFT layout (lora_moe_A/B only, routers absent: refused
 * without a policy, zero routers = equal weights with one), and the full state dict (`.default` keys,
 * lora_route.weight, w_noise, base_layer.weight and the other base weights, checked against the base).
 * The PEFT layout is also read as a real PyTorch `.bin` (torch.save fixture, float16).
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { noGrad } from "../../engine/index.js";
import { tempDir } from "../../../test/helpers/tempdir.js";
import { parseConfig } from "../architectures.js";
import { Rng } from "../init.js";
import { writeSafetensors } from "../io/safetensors.js";
import type { TensorEntry } from "../io/types.js";
import { CausalLM } from "../model.js";
import {
  AdapterBaseMismatchError,
  AdapterShapeError,
  AdapterTargetError,
  fileTensors,
  importSeedAdapter,
  loadAdapter,
  MissingRouterError,
  saveAdapter,
} from "./index.js";

const BAICHUAN = {
  architectures: ["BaichuanForCausalLM"], vocab_size: 40, hidden_size: 16, intermediate_size: 24, num_hidden_layers: 2,
  num_attention_heads: 4, model_max_length: 32, rms_norm_eps: 1e-6, tie_word_embeddings: false, position_embedding: "rope",
};
const E = 4;
const R = 8;
const TARGETS = ["self_attn.W_pack", "self_attn.o_proj", "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"];

function base(seed = 1): CausalLM {
  return new CausalLM(parseConfig(BAICHUAN, "test"), { seed });
}

/** The seed's tensors per module: lora_moe_A [E, in, r], lora_moe_B [E, r, out], lora_route.weight [E−1, in], w_noise [in, E−1]. */
function seedTensors(m: CausalLM, rng = new Rng(7)) {
  const out: { module: string; A: Float32Array; B: Float32Array; route: Float32Array; noise: Float32Array; inF: number; outF: number }[] = [];
  const rnd = (n: number, s: number) => Float32Array.from({ length: n }, () => s * rng.normal());
  for (let l = 0; l < 2; l++) {
    for (const t of TARGETS) {
      const module = `model.layers.${l}.${t}`;
      const [outF, inF] = m.params.get(module + ".weight").shape as [number, number];
      out.push({ module, inF, outF, A: rnd(E * inF * R, 0.1), B: rnd(E * R * outF, 0.1), route: rnd((E - 1) * inF, 0.5), noise: rnd(inF * (E - 1), 0.3) });
    }
  }
  return out;
}

async function writePeftLayout(dir: string, m: CausalLM) {
  await fs.mkdir(dir, { recursive: true });
  const t = seedTensors(m);
  // adapter_config.json as the seed's PEFT 0.9 writes it: stock LoRA fields plus lora_nums.
  await fs.writeFile(path.join(dir, "adapter_config.json"), JSON.stringify({
    alpha_pattern: {}, auto_mapping: null, base_model_name_or_path: "baichuan-inc/Baichuan2-13B-Base", bias: "none",
    fan_in_fan_out: false, inference_mode: true, init_lora_weights: true, layers_pattern: null, layers_to_transform: null,
    loftq_config: {}, lora_alpha: 16, lora_dropout: 0.0, lora_nums: E, megatron_config: null, megatron_core: "megatron.core",
    modules_to_save: null, peft_type: "LORA", r: R, rank_pattern: {}, revision: null,
    target_modules: ["W_pack", "o_proj", "gate_proj", "up_proj", "down_proj"], task_type: "CAUSAL_LM", use_rslora: false,
  }));
  const entries: TensorEntry[] = [];
  for (const x of t) {
    entries.push({ name: `base_model.model.${x.module}.lora_moe_A`, shape: [E, x.inF, R], data: x.A });
    entries.push({ name: `base_model.model.${x.module}.lora_moe_B`, shape: [E, R, x.outF], data: x.B });
  }
  await writeSafetensors(path.join(dir, "adapter_model.safetensors"), entries);
  return t;
}

async function writeStateDict(file: string, m: CausalLM, opts: { dropNoiseOf?: string; extraModule?: string } = {}) {
  await fs.mkdir(path.dirname(file), { recursive: true });
  const t = seedTensors(m);
  const adapted = new Set(t.map((x) => x.module + ".weight"));
  const entries: TensorEntry[] = [];
  // The whole PeftModel state dict, as Trainer.save_model wrote it (defect 5): base weights too, in bf16.
  for (const p of m.params.list) {
    if (adapted.has(p.name)) continue;
    entries.push({ name: `base_model.model.${p.name}`, shape: p.shape, data: p.data, dtype: "BF16" });
  }
  for (const x of t) {
    const k = `base_model.model.${x.module}`;
    entries.push({ name: `${k}.base_layer.weight`, shape: [x.outF, x.inF], data: m.params.get(x.module + ".weight").data, dtype: "BF16" });
    entries.push({ name: `${k}.lora_moe_A.default`, shape: [E, x.inF, R], data: x.A });
    entries.push({ name: `${k}.lora_moe_B.default`, shape: [E, R, x.outF], data: x.B });
    entries.push({ name: `${k}.lora_route.weight`, shape: [E - 1, x.inF], data: x.route });
    if (x.module !== opts.dropNoiseOf) entries.push({ name: `${k}.w_noise`, shape: [x.inF, E - 1], data: x.noise });
  }
  if (opts.extraModule) entries.push({ name: `base_model.model.${opts.extraModule}.lora_moe_A.default`, shape: [E, 16, R], data: new Float32Array(E * 16 * R) });
  await writeSafetensors(file, entries);
  return t;
}

function expectSameTensors(got: ReturnType<typeof fileTensors>, want: ReturnType<typeof seedTensors>, withRouter: boolean) {
  const byName = new Map(got.map((x) => [x.name, x.data]));
  for (const x of want) {
    const k = `base_model.model.${x.module}`;
    expect(byName.get(`${k}.lora_moe_A`)).toEqual(x.A);
    expect(byName.get(`${k}.lora_moe_B`)).toEqual(x.B);
    if (withRouter) {
      expect(byName.get(`${k}.lora_route.weight`)).toEqual(x.route);
      expect(byName.get(`${k}.w_noise`)).toEqual(x.noise);
    }
  }
}

describe("import-seed: PEFT layout (routers never saved)", () => {
  it("is refused without a router policy, naming the choice", async () => {
    const dir = path.join(tempDir("seed-peft-"), "adapter");
    const m = base();
    await writePeftLayout(dir, m);
    await expect(importSeedAdapter(dir, m)).rejects.toThrow(MissingRouterError);
    await expect(importSeedAdapter(dir, m)).rejects.toThrow(/choose a policy: "zero"/);
    // Our loader refuses it too, pointing at the importer.
    await expect(loadAdapter(dir, m)).rejects.toThrow(/import-seed/);
  });

  it("with the zero policy: equal weights at inference, the choice recorded, and a round trip through our format", async () => {
    const root = tempDir("seed-peft-");
    const m = base();
    const want = await writePeftLayout(path.join(root, "seed"), m);
    const { adapter, report } = await importSeedAdapter(path.join(root, "seed"), m, { routerPolicy: "zero" });
    expect(report).toMatchObject({ layout: "peft", experts: E, r: R, alpha: 16, modules: 10, routers: "policy zero" });
    expect(adapter.settings.targetModules).toEqual(["W_pack", "o_proj", "gate_proj", "up_proj", "down_proj"]);
    expectSameTensors(fileTensors(adapter), want, false);
    adapter.attach(m);
    const ids = Int32Array.from([1, 5, 9, 13, 17, 21]);
    const run = () => noGrad(() => Float32Array.from(m.forward({ ids, B: 1, T: 6 }).data));
    const first = run();
    expect(run()).toEqual(first); // no noise at inference (seed defect 3)
    for (const s of adapter.takeRouterStats()) for (const g of s.meanGate) expect(g).toBeCloseTo(1 / (E - 1), 6);
    await saveAdapter(adapter, path.join(root, "ours"));
    const cfg = JSON.parse(await fs.readFile(path.join(root, "ours", "adapter_config.json"), "utf8"));
    expect(cfg.lora_nums).toBe(E);
    expect(cfg.pedgpt.router_policy).toBe("zero");
    expect(cfg.pedgpt.provenance.layout).toBe("peft");
    const m2 = base();
    const again = await loadAdapter(path.join(root, "ours"), m2);
    again.attach(m2);
    expect(noGrad(() => Float32Array.from(m2.forward({ ids, B: 1, T: 6 }).data))).toEqual(first);
  });
});

describe("import-seed: PEFT layout as PyTorch .bin (fixture written by torch.save)", () => {
  it("reads the float16 pickle with the seed's keys", async () => {
    const dir = fileURLToPath(new URL("../../../test/fixtures/adapters/seed_peft_bin/", import.meta.url));
    const expected = JSON.parse(await fs.readFile(path.join(dir, "expected.json"), "utf8")) as { tensors: Record<string, { shape: number[]; sum: number; first: number[] }> };
    const m = base();
    await expect(importSeedAdapter(dir, m)).rejects.toThrow(MissingRouterError);
    const { adapter, report } = await importSeedAdapter(dir, m, { routerPolicy: "zero" });
    expect(report).toMatchObject({ layout: "peft", experts: 4, r: 8, alpha: 16, modules: 10 });
    const got = new Map(fileTensors(adapter).map((t) => [t.name, t]));
    for (const [name, e] of Object.entries(expected.tensors)) {
      const t = got.get(name)!;
      expect(t.shape, name).toEqual(e.shape);
      expect(Array.from(t.data.subarray(0, 4))).toEqual(e.first);
      expect(t.data.reduce((a, v) => a + v, 0)).toBeCloseTo(e.sum, 3);
    }
  });
});

describe("import-seed: full state dict (model.safetensors with .default keys)", () => {
  it("reads the experts and the stored routers, checks the stored base weights, notes the assumed alpha", async () => {
    const root = tempDir("seed-sd-");
    const m = base();
    const want = await writeStateDict(path.join(root, "ckpt", "model.safetensors"), m);
    const { adapter, report } = await importSeedAdapter(path.join(root, "ckpt"), m);
    expect(report).toMatchObject({ layout: "state-dict", experts: E, r: R, alpha: 2 * R, modules: 10, routers: "stored" });
    expect(report.baseTensorsChecked).toBe(m.params.list.length);
    expect(report.notes.join(" ")).toMatch(/assumed 2·r = 16/);
    expect(adapter.meta.routerPolicy).toBeNull();
    expectSameTensors(fileTensors(adapter), want, true);
    const withAlpha = await importSeedAdapter(path.join(root, "ckpt", "model.safetensors"), m, { alpha: 32 });
    expect(withAlpha.adapter.scale).toBe(4);
  });

  it("refuses another base unless forced", async () => {
    const root = tempDir("seed-sd-");
    await writeStateDict(path.join(root, "model.safetensors"), base(1));
    const other = base(2);
    await expect(importSeedAdapter(root, other)).rejects.toThrow(AdapterBaseMismatchError);
    const forced = await importSeedAdapter(root, other, { force: true });
    expect(forced.adapter.modules).toHaveLength(10);
  });

  it("refuses a module with a router but no w_noise, and a module the base lacks", async () => {
    const root = tempDir("seed-sd-");
    const m = base();
    await writeStateDict(path.join(root, "a", "model.safetensors"), m, { dropNoiseOf: "model.layers.1.mlp.up_proj" });
    await expect(importSeedAdapter(path.join(root, "a"), m)).rejects.toThrow(AdapterShapeError);
    await expect(importSeedAdapter(path.join(root, "a"), m)).rejects.toThrow(/"model\.layers\.1\.mlp\.up_proj" has lora_route but no w_noise/);
    await writeStateDict(path.join(root, "b", "model.safetensors"), m, { extraModule: "model.layers.7.self_attn.W_pack" });
    await expect(importSeedAdapter(path.join(root, "b"), m)).rejects.toThrow(AdapterTargetError);
  });
});
