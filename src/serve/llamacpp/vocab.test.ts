/**
 * Vocabulary export checked by llama.cpp's own tokenizer: a byte-level BPE tokenizer.json (the tiny
 * torch-written HF fixture, imported and exported to GGUF) must tokenize like @huggingface/tokenizers,
 * with its special tokens, EOS id and chat template carried over, and the model's logits must match
 * ours; a SentencePiece BPE tokenizer.model with byte fallback (the tokenizer fixtures, with ids from
 * Python sentencepiece) must tokenize exactly like sentencepiece.
 */
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { noGrad, withBackend } from "../../engine/index.js";
import { referenceKernels } from "../../engine/kernels/index.js";
import { loadModel } from "../../model/checkpoint.js";
import { exportGguf, memoryTensorSource } from "../../model/io/gguf_export.js";
import { openGguf } from "../../model/io/gguf.js";
import { importHfModel } from "../../model/io/import.js";
import { openSafetensorsDir } from "../../model/io/sharded.js";
import { loadTokenizer } from "../../tokenizer/load.js";
import { LlamaCppLogits } from "./oracle.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
let tmp: string;
beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), "pedgpt-vocab-"));
});
afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

describe("byte-level BPE vocabulary (tokenizer.json → gguf gpt2)", () => {
  it("llama.cpp tokenizes like @huggingface/tokenizers and the imported model's logits match ours", async () => {
    const dir = path.join(tmp, "model");
    await importHfModel(path.join(ROOT, "test/fixtures/io/hf_llama_bin"), dir);
    const model = await loadModel(dir);
    const reader = await openSafetensorsDir(dir);
    const file = path.join(tmp, "model.gguf");
    try {
      await exportGguf(file, model.config, reader, { vocab: { kind: "hf", dir, pre: "gpt-2" }, templateId: "default" });
    } finally {
      await reader.close();
    }
    const g = await openGguf(file);
    const meta = (k: string) => g.metadata.get(k)?.value;
    expect(meta("tokenizer.ggml.model")).toBe("gpt2");
    expect((meta("tokenizer.ggml.tokens") as string[]).length).toBe(288);
    expect(meta("tokenizer.ggml.eos_token_id")).toBe(276);
    expect(meta("tokenizer.chat_template")).toContain("<|im_start|>");
    expect(meta("pedgpt.template")).toBe("default");
    await g.close();

    const tok = loadTokenizer(dir);
    const oracle = await LlamaCppLogits.open(file, { contextSize: 64 });
    try {
      const texts = ["儿科医生说发烧 the baby", "咳嗽三天，发烧38.5℃！", "  spaces\tand\nnewlines  ", "emoji 👶 ok", "the the  the"];
      for (const t of texts) expect(oracle.tokenize(t), t).toEqual(tok.encode(t, { addSpecialTokens: false, parseSpecial: false }));
      const special = "<|im_start|>user\n发烧<|im_end|>";
      expect(oracle.tokenize(special, true)).toEqual(tok.encode(special, { addSpecialTokens: false, parseSpecial: true }));
      const ids = tok.encode("儿科医生说发烧 the baby", { addSpecialTokens: false });
      const ours = withBackend(referenceKernels, () => noGrad(() => model.forward({ ids: Int32Array.from(ids), B: 1, T: ids.length })).clone().data);
      const theirs = (await oracle.logits(ids)).flatMap((row) => Array.from(row));
      let diff = 0;
      for (let i = 0; i < ours.length; i++) diff = Math.max(diff, Math.abs(ours[i]! - theirs[i]!));
      console.log(`imported torch Llama (f16 weights) in llama.cpp: max |diff| ${diff.toExponential(2)} over ${ids.length}×288 logits`);
      expect(diff).toBeLessThanOrEqual(1e-3);
    } finally {
      await oracle.dispose();
    }
  });
});

describe("SentencePiece vocabulary (tokenizer.model → gguf llama)", () => {
  it("llama.cpp tokenizes like Python sentencepiece (byte fallback, digits split, whitespace pieces)", async () => {
    const fx = path.join(ROOT, "test/fixtures/tokenizer");
    const dir = path.join(tmp, "spm");
    await fs.mkdir(dir, { recursive: true });
    await fs.copyFile(path.join(fx, "bpe_llama.model"), path.join(dir, "tokenizer.model"));
    const V = 2000;
    const raw = { architectures: ["LlamaForCausalLM"], vocab_size: V, hidden_size: 8, intermediate_size: 16, num_hidden_layers: 1, num_attention_heads: 2, max_position_embeddings: 64 };
    const shapes: [string, number[]][] = [
      ["model.embed_tokens.weight", [V, 8]], ["model.norm.weight", [8]], ["lm_head.weight", [V, 8]],
      ["model.layers.0.input_layernorm.weight", [8]], ["model.layers.0.post_attention_layernorm.weight", [8]],
      ["model.layers.0.self_attn.q_proj.weight", [8, 8]], ["model.layers.0.self_attn.k_proj.weight", [8, 8]],
      ["model.layers.0.self_attn.v_proj.weight", [8, 8]], ["model.layers.0.self_attn.o_proj.weight", [8, 8]],
      ["model.layers.0.mlp.gate_proj.weight", [16, 8]], ["model.layers.0.mlp.up_proj.weight", [16, 8]], ["model.layers.0.mlp.down_proj.weight", [8, 16]],
    ];
    const weights = memoryTensorSource(new Map(shapes.map(([n, s]) => [n, { shape: s, data: new Float32Array(s.reduce((a, b) => a * b, 1)).fill(0.01) }])));
    const file = path.join(dir, "spm.gguf");
    await exportGguf(file, raw, weights, { vocab: { kind: "hf", dir } });
    const lines = zlib.gunzipSync(await fs.readFile(path.join(fx, "lines.jsonl.gz"))).toString("utf8").trim().split("\n").map((l) => JSON.parse(l) as string);
    const expected = zlib.gunzipSync(await fs.readFile(path.join(fx, "bpe_llama.expected.jsonl.gz"))).toString("utf8").trim().split("\n").map((l) => (JSON.parse(l) as number[][])[0]!);
    const oracle = await LlamaCppLogits.open(file, { contextSize: 32 });
    let checked = 0;
    let userDefined = 0;
    let userDefinedDiffer = 0;
    try {
      for (let i = 0; i < 3000; i++) {
        const got = oracle.tokenize(lines[i]!);
        // llama.cpp re-adds the SentencePiece dummy-prefix space after a user-defined symbol
        // ("mg/kg"), sentencepiece does not: a llama.cpp behaviour, counted and reported.
        if (/mg\/kg|<reserved_10[67]>/.test(lines[i]!)) {
          userDefined++;
          if (JSON.stringify(got) !== JSON.stringify(expected[i])) userDefinedDiffer++;
          continue;
        }
        expect(got, `line ${i}: ${JSON.stringify(lines[i])}`).toEqual(expected[i]);
        checked++;
      }
    } finally {
      await oracle.dispose();
    }
    console.log(`SentencePiece in llama.cpp: ${checked} lines identical to sentencepiece; ${userDefinedDiffer} of ${userDefined} lines with user-defined symbols differ (llama.cpp re-adds the space prefix after them)`);
    expect(checked).toBeGreaterThan(2000);
  });
});
