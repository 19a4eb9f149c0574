/**
 * importHfModel on a tiny Hugging Face Llama directory written by torch (PyTorch .bin, f16, with a
 * rotary inv_freq buffer; scripts/fixtures/io_hf_model.py): the result loads in our model with the
 * same values, conversions and sharding work, and every kind of bad input is refused before
 * anything is left in the output location.
 */
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { noGrad, withBackend } from "../../engine/index.js";
import { referenceKernels } from "../../engine/kernels/index.js";
import { loadModel } from "../checkpoint.js";
import { importHfModel } from "./import.js";
import { openCheckpoint } from "./checkpoint.js";
import { openSafetensorsDir, writeCheckpoint } from "./sharded.js";
import { corruptTensor } from "../../../test/helpers/corrupt.js";

const HF = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../test/fixtures/io/hf_llama_bin");

let tmp: string;
beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), "pedgpt-import-"));
});
afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

/** A copy of the fixture directory whose weights are replaced by `entries` (safetensors). */
async function variantDir(
  name: string,
  mutate: (t: Map<string, { shape: number[]; data: Float32Array }>) => void,
  config?: (c: Record<string, unknown>) => void,
  after?: (dir: string) => void,
): Promise<string> {
  const dir = path.join(tmp, name);
  await fs.mkdir(dir, { recursive: true });
  for (const f of ["tokenizer.json", "tokenizer_config.json"]) await fs.copyFile(path.join(HF, f), path.join(dir, f));
  const cfg = JSON.parse(await fs.readFile(path.join(HF, "config.json"), "utf8"));
  config?.(cfg);
  await fs.writeFile(path.join(dir, "config.json"), JSON.stringify(cfg));
  const src = await openCheckpoint(HF);
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const n of src.names()) tensors.set(n, { shape: src.info(n).shape, data: await src.read(n) });
  await src.close();
  mutate(tensors);
  await writeCheckpoint(dir, [...tensors].map(([n, t]) => ({ name: n, shape: t.shape, data: t.data, dtype: "BF16" as const })), { maxShardBytes: 2000 });
  after?.(dir);
  return dir;
}

describe("importHfModel", () => {
  it("imports a PyTorch .bin model: same values, f16 kept, inv_freq skipped, tokenizer and template recorded", async () => {
    const out = path.join(tmp, "imported");
    const report = await importHfModel(HF, out);
    expect(report.architecture).toBe("LlamaForCausalLM");
    expect(report.sourceFormat).toBe("torch");
    expect(report.dtypes).toEqual({ F16: 12 });
    expect(report.skipped).toEqual([{ tensor: "model.layers.0.self_attn.rotary_emb.inv_freq", reason: expect.stringContaining("recomputed") }]);
    expect(report.tokenizer).toEqual({ kind: "tokenizer.json", vocabSize: 277 });
    expect(report.template).toMatch(/^jinja:[0-9a-f]{12}$/);
    expect((await fs.readdir(out)).sort()).toEqual(["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"]);
    const st = await openSafetensorsDir(out);
    const bin = await openCheckpoint(HF);
    try {
      expect(st.metadata).toEqual({ format: "pt", template: report.template });
      for (const n of st.names()) {
        expect(st.info(n).dtype).toBe("F16");
        expect(Array.from(await st.read(n)), n).toEqual(Array.from(await bin.read(n)));
      }
    } finally {
      await st.close();
      await bin.close();
    }
    const model = await loadModel(out);
    const logits = withBackend(referenceKernels, () => noGrad(() => model.forward({ ids: Int32Array.from([260, 265, 268]), B: 1, T: 3 })).clone().data);
    expect(logits.length).toBe(3 * 288);
    expect(logits.every(Number.isFinite)).toBe(true);
    // No temp directories left beside the output.
    expect((await fs.readdir(tmp)).filter((f) => f.includes(".importing-"))).toEqual([]);
  });

  it("converts dtype, shards, records an explicit template, and reads sharded safetensors sources", async () => {
    const src = await variantDir("sharded-src", () => undefined);
    expect((await fs.readdir(src)).filter((f) => f.endsWith(".safetensors")).length).toBeGreaterThan(1);
    const out = path.join(tmp, "imported-f32");
    const report = await importHfModel(src, out, { dtype: "F32", maxShardBytes: 4000, template: "qwen" });
    expect(report.sourceFormat).toBe("safetensors-sharded");
    expect(report.dtypes).toEqual({ F32: 12 });
    expect(report.template).toBe("qwen");
    expect(report.files).toContain("model.safetensors.index.json");
    const tc = JSON.parse(await fs.readFile(path.join(out, "tokenizer_config.json"), "utf8"));
    expect(tc.chat_template_id).toBe("qwen");
    const model = await loadModel(out);
    expect(model.params.get("lm_head.weight").shape).toEqual([288, 8]);
    await expect(importHfModel(src, out)).rejects.toThrow(/imported-f32: already holds a model folder; choose another output folder or replace it with --overwrite/);
    await importHfModel(src, out, { overwrite: true, dtype: "BF16" });
    expect((await openSafetensorsDir(out).then(async (r) => { const d = r.info("lm_head.weight").dtype; await r.close(); return d; }))).toBe("BF16");
  });

  it("refuses missing, unknown, misshapen and non-finite tensors, leaving nothing behind", async () => {
    const cases: [string, Parameters<typeof variantDir>[1], RegExp, Parameters<typeof variantDir>[2]?, Parameters<typeof variantDir>[3]?][] = [
      ["missing", (t) => t.delete("model.layers.0.mlp.up_proj.weight"), /missing 1 tensor\(s\) the LlamaForCausalLM config needs: model\.layers\.0\.mlp\.up_proj\.weight \[16, 8\]/],
      ["unknown", (t) => t.set("model.layers.1.mlp.up_proj.weight", { shape: [1], data: new Float32Array(1) }), /1 tensor\(s\) the LlamaForCausalLM config does not use \(wrong config\.json\?\): model\.layers\.1\.mlp\.up_proj\.weight/],
      ["nan", () => undefined, /tensor "model\.norm\.weight" holds a non-finite value \(NaN\) at flat index 3/, undefined, (d) => corruptTensor(d, "model.norm.weight", 3, NaN)],
      ["shape", () => undefined, /tensor "model\.layers\.0\.mlp\.gate_proj\.weight": shape \[16, 8\], the config needs \[24, 8\]/, (c) => (c.intermediate_size = 24)],
    ];
    for (const [name, mutate, re, cfg, after] of cases) {
      const src = await variantDir(`bad-${name}`, mutate, cfg, after);
      const out = path.join(tmp, `out-${name}`);
      await expect(importHfModel(src, out), name).rejects.toThrow(re);
      await expect(fs.stat(out)).rejects.toThrow();
    }
    expect((await fs.readdir(tmp)).filter((f) => f.includes(".importing-"))).toEqual([]);
  });

  it("refuses a tokenizer larger than the embedding and a directory without tokenizer", async () => {
    const small = await variantDir("small-vocab", (t) => {
      t.set("model.embed_tokens.weight", { shape: [200, 8], data: new Float32Array(1600) });
      t.set("lm_head.weight", { shape: [200, 8], data: new Float32Array(1600) });
    }, (c) => (c.vocab_size = 200));
    await expect(importHfModel(small, path.join(tmp, "o1"))).rejects.toThrow(/tokenizer has 277 ids but config vocab_size is 200/);
    const noTok = await variantDir("no-tok", () => undefined);
    await fs.rm(path.join(noTok, "tokenizer.json"));
    await expect(importHfModel(noTok, path.join(tmp, "o2"))).rejects.toThrow(/no tokenizer\.json or tokenizer\.model/);
    const r = await importHfModel(noTok, path.join(tmp, "o3"), { allowMissingTokenizer: true });
    expect(r.tokenizer).toBeNull();
  });

  it("--overwrite replaces only a model folder, never the source or another folder", async () => {
    const photos = path.join(tmp, "photos");
    await fs.mkdir(photos, { recursive: true });
    await fs.writeFile(path.join(photos, "cat.jpg"), "x");
    await expect(importHfModel(HF, photos, { overwrite: true })).rejects.toThrow(/photos: is not empty and is not a model folder; refusing to replace it/);
    expect(await fs.readFile(path.join(photos, "cat.jpg"), "utf8")).toBe("x");
    const copy = await variantDir("self", () => undefined);
    await expect(importHfModel(copy, copy, { overwrite: true })).rejects.toThrow(/holds the input/);
    expect((await fs.readdir(copy)).includes("config.json")).toBe(true);
  });

  it("narrowing to f16 refuses a value that would become Inf, naming the tensor and index", async () => {
    const src = await variantDir("big-weight", (t) => (t.get("model.norm.weight")!.data[2] = 1e6));
    const out = path.join(tmp, "out-f16");
    await expect(importHfModel(src, out, { dtype: "F16" })).rejects.toThrow(
      /tensor "model\.norm\.weight" holds 999424 at flat index 2, outside the F16 range \(±65504\): it would become Inf; keep f32 or use bf16/,
    );
    await expect(fs.stat(out)).rejects.toThrow();
    await importHfModel(src, path.join(tmp, "out-bf16"), { dtype: "BF16" });
  });
});
