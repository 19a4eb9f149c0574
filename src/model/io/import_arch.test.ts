/**
 * Checkpoint import across the three supported architectures (Llama, Qwen2, Baichuan2 in its 7B RoPE
 * and 13B ALiBi forms). For each, scripts/fixtures/io_hf_model.py wrote one set of random tiny
 * weights twice — as PyTorch `pytorch_model.bin` (torch.save; sharded with an index for Llama, bf16
 * for Baichuan2-7B, a tied head sharing the embedding's storage for Qwen2) and as `model.safetensors`
 * — beside a config.json in the family's own format and the float64 plain-torch reference logits.
 *
 * Each test imports both directories, loads the results and runs the forward pass with the reference
 * kernels (no native addon): the two imports must give bit-identical logits, both must match the
 * torch reference, and `model info` must report the right architecture, size and position scheme.
 */
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { noGrad, withBackend } from "../../engine/index.js";
import { referenceKernels } from "../../engine/kernels/index.js";
import { loadModel } from "../checkpoint.js";
import { formatModelInfo, modelInfo } from "../info.js";
import { importHfModel, type ImportReport } from "./import.js";

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../test/fixtures/io");

interface Expected {
  architecture: string;
  parameters: number;
  dtype: string;
  vocab_size: number;
  cases: { ids: number[]; logits: number[] }[];
}

interface ArchCase {
  name: string;
  architecture: string;
  /** source format of the .bin directory */
  binFormat: "torch" | "torch-sharded";
  dtype: "F32" | "BF16";
  /** tensors the importer skips from the .bin source (the tied head) */
  binSkipped: string[];
  /** substring of the `positions` line of `model info` */
  positions: string;
}

const ARCHS: ArchCase[] = [
  { name: "llama3", architecture: "LlamaForCausalLM", binFormat: "torch-sharded", dtype: "F32", binSkipped: [], positions: "RoPE θ=500000" },
  { name: "qwen2", architecture: "Qwen2ForCausalLM", binFormat: "torch", dtype: "F32", binSkipped: ["lm_head.weight"], positions: "RoPE θ=1000000" },
  { name: "baichuan2_7b", architecture: "BaichuanForCausalLM", binFormat: "torch", dtype: "BF16", binSkipped: [], positions: "RoPE θ=10000, max 64 (max_position_embeddings present" },
  { name: "baichuan2_13b", architecture: "BaichuanForCausalLM", binFormat: "torch", dtype: "F32", binSkipped: [], positions: "ALiBi, max 64 (no max_position_embeddings" },
];

let tmp: string;
beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), "pedgpt-import-arch-"));
});
afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

async function logitsOf(dir: string, ids: number[]): Promise<Float32Array> {
  const model = await loadModel(dir);
  return withBackend(referenceKernels, () =>
    noGrad(() => model.forward({ ids: Int32Array.from(ids), B: 1, T: ids.length })).clone().data,
  );
}

describe.each(ARCHS)("import $name", (a) => {
  it(".bin and safetensors imports give identical logits, equal to the torch reference", async () => {
    const binSrc = path.join(FIXTURES, `hf_${a.name}_bin`);
    const stSrc = path.join(FIXTURES, `hf_${a.name}_st`);
    const expected = JSON.parse(await fs.readFile(path.join(binSrc, "expected_logits.json"), "utf8")) as Expected;
    expect(expected.architecture).toBe(a.architecture);

    const outBin = path.join(tmp, `${a.name}-from-bin`);
    const outSt = path.join(tmp, `${a.name}-from-st`);
    const rBin: ImportReport = await importHfModel(binSrc, outBin);
    const rSt: ImportReport = await importHfModel(stSrc, outSt);
    expect(rBin.sourceFormat).toBe(a.binFormat);
    expect(rSt.sourceFormat).toBe("safetensors");
    for (const r of [rBin, rSt]) {
      expect(r.architecture).toBe(a.architecture);
      expect(r.parameters).toBe(expected.parameters);
      expect(Object.keys(r.dtypes)).toEqual([a.dtype]);
      expect(r.tokenizer).toEqual({ kind: "tokenizer.json", vocabSize: expect.any(Number) });
      expect(r.tokenizer!.vocabSize).toBeLessThanOrEqual(expected.vocab_size);
    }
    expect(rBin.skipped.map((s) => s.tensor)).toEqual(a.binSkipped);
    expect(rSt.skipped).toEqual([]);
    expect(rBin.tensors).toBe(rSt.tensors);

    let worstBinSt = 0;
    let worstRef = 0;
    let worstAbs = 0;
    for (const c of expected.cases) {
      const fromBin = await logitsOf(outBin, c.ids);
      const fromSt = await logitsOf(outSt, c.ids);
      // The source safetensors directory loaded as is, without import: the same logits again.
      const direct = await logitsOf(stSrc, c.ids);
      expect(Array.from(direct)).toEqual(Array.from(fromSt));
      expect(fromBin.length).toBe(c.ids.length * expected.vocab_size);
      expect(fromSt.length).toBe(fromBin.length);
      expect(c.logits.length).toBe(fromBin.length);
      // (a) Same stored values, same kernels: the two imports must agree bit for bit.
      for (let i = 0; i < fromBin.length; i++) worstBinSt = Math.max(worstBinSt, Math.abs(fromBin[i]! - fromSt[i]!));
      expect(Buffer.from(fromBin.buffer, fromBin.byteOffset, fromBin.byteLength).equals(Buffer.from(fromSt.buffer, fromSt.byteOffset, fromSt.byteLength)), `${a.name} ids ${c.ids}`).toBe(true);
      // (b) Our float32 forward against the float64 torch reference, relative to the largest logit.
      let maxAbs = 0;
      let maxDiff = 0;
      for (let i = 0; i < fromBin.length; i++) {
        maxAbs = Math.max(maxAbs, Math.abs(c.logits[i]!));
        maxDiff = Math.max(maxDiff, Math.abs(fromBin[i]! - c.logits[i]!));
      }
      expect(maxAbs).toBeGreaterThan(0.1);
      worstRef = Math.max(worstRef, maxDiff / maxAbs);
      worstAbs = Math.max(worstAbs, maxDiff);
      expect(maxDiff / maxAbs, `${a.name} ids ${c.ids}: max |diff| ${maxDiff}, max |logit| ${maxAbs}`).toBeLessThan(1e-5);
    }
    console.log(`${a.name}: max |bin - safetensors| = ${worstBinSt}, max |ours - torch| = ${worstAbs.toExponential(2)} (${worstRef.toExponential(2)} of max |logit|)`);

    // (c) What `pedgpt model info` prints for the imported directory.
    for (const out of [outBin, outSt]) {
      const info = await modelInfo(out);
      expect(info.config.architecture).toBe(a.architecture);
      expect(info.parameterCount).toBe(expected.parameters);
      expect(info.dtypes).toEqual({ [a.dtype]: rBin.tensors });
      const text = formatModelInfo(info);
      expect(text).toMatch(new RegExp(`^architecture\\s+${a.architecture}$`, "m"));
      expect(text).toMatch(new RegExp(`^parameters\\s+${expected.parameters.toLocaleString("en-US")} \\(`, "m"));
      expect(text).toMatch(new RegExp(`^positions\\s+.*${a.positions.replace(/[()[\]+.*?^$|\\]/g, "\\$&")}`, "m"));
      expect(info.tokenizer).toMatch(/^tokenizer\.json, \d+ tokens/);
      expect(info.template).toBe(rBin.template);
      expect(text).toMatch(/^chat template\s+\S+/m);
    }
  });
});

describe("reference comparison is sensitive", () => {
  it("Baichuan2-13B weights run with RoPE instead of the ALiBi its config implies miss the reference by far", async () => {
    const src = path.join(FIXTURES, "hf_baichuan2_13b_st");
    const dir = path.join(tmp, "baichuan2_13b-as-rope");
    await fs.mkdir(dir);
    for (const f of ["model.safetensors", "tokenizer.json", "tokenizer_config.json"]) await fs.copyFile(path.join(src, f), path.join(dir, f));
    const cfg = JSON.parse(await fs.readFile(path.join(src, "config.json"), "utf8")) as Record<string, unknown>;
    await fs.writeFile(path.join(dir, "config.json"), JSON.stringify({ ...cfg, position_embedding: "rope" }));
    const expected = JSON.parse(await fs.readFile(path.join(src, "expected_logits.json"), "utf8")) as Expected;
    const c = expected.cases[0]!;
    const got = await logitsOf(dir, c.ids);
    let maxAbs = 0;
    let maxDiff = 0;
    for (let i = 0; i < got.length; i++) {
      maxAbs = Math.max(maxAbs, Math.abs(c.logits[i]!));
      maxDiff = Math.max(maxDiff, Math.abs(got[i]! - c.logits[i]!));
    }
    expect(maxDiff / maxAbs).toBeGreaterThan(1e-3);
  });
});
