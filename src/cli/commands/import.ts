/**
 * `pedgpt model import | export-gguf | export-lora-gguf`: bring a Hugging Face model directory into
 * the project's layout, and export models and LoRA adapters to GGUF for llama.cpp. Option parsing
 * only; the work is in src/model/io. Adds subcommands to the `model` command group (created here if
 * no other file registered it).
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import { InvalidArgumentError, type Command } from "commander";
import { readModelConfig } from "../../model/checkpoint.js";
import { openCheckpoint } from "../../model/io/checkpoint.js";
import { exportGguf, type GgufFileType } from "../../model/io/gguf_export.js";
import { exportLoraGguf } from "../../model/io/gguf_lora.js";
import { importHfModel } from "../../model/io/import.js";
import { openSafetensors } from "../../model/io/safetensors.js";
import { isFile } from "../../model/io/fsutil.js";
import type { GgufVocabSource } from "../../model/io/gguf_vocab.js";

/** "5GB", "500MB", "64KiB" or a plain byte count. */
export function parseSize(v: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb|tb|kib|mib|gib|tib)?\s*$/i.exec(v);
  if (!m) throw new InvalidArgumentError(`expected a size such as 5GB, 500MB or 1048576, got "${v}"`);
  const unit = (m[2] ?? "b").toLowerCase();
  const mult: Record<string, number> = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12, kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30, tib: 2 ** 40 };
  const n = Math.floor(Number(m[1]) * mult[unit]!);
  if (n <= 0) throw new InvalidArgumentError(`size must be positive, got "${v}"`);
  return n;
}

function choice<T extends string>(flag: string, allowed: readonly T[]) {
  return (v: string): T => {
    const x = v.toLowerCase() as T;
    if (!allowed.includes(x)) throw new InvalidArgumentError(`${flag} must be one of ${allowed.join(", ")}, got "${v}"`);
    return x;
  };
}

const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;

export function register(program: Command): void {
  const model = program.commands.find((c) => c.name() === "model") ?? program.command("model").description("Llama-family models");

  model
    .command("import <hf-dir>")
    .description("validate a Hugging Face model directory (config, safetensors or PyTorch .bin weights, tokenizer) and write it in this project's layout")
    .requiredOption("--out <dir>", "output model directory (must not exist unless --overwrite)")
    .option("--dtype <keep|f32|f16|bf16>", "storage type of the written weights", choice("--dtype", ["keep", "f32", "f16", "bf16"] as const), "keep" as const)
    .option("--max-shard-size <size>", "largest safetensors shard, e.g. 5GB", parseSize)
    .option("--template <id>", "chat template id to record (default: the tokenizer's)")
    .option("--overwrite", "replace an existing output directory after a successful import", false)
    .option("--allow-missing-tokenizer", "import weights without tokenizer files", false)
    .action(async (hfDir: string, o: { out: string; dtype: "keep" | "f32" | "f16" | "bf16"; maxShardSize?: number; template?: string; overwrite: boolean; allowMissingTokenizer: boolean }) => {
      const dtype = o.dtype === "keep" ? "keep" : (o.dtype.toUpperCase() as "F32" | "F16" | "BF16");
      let last = 0;
      const r = await importHfModel(hfDir, o.out, {
        dtype,
        maxShardBytes: o.maxShardSize,
        template: o.template,
        overwrite: o.overwrite,
        allowMissingTokenizer: o.allowMissingTokenizer,
        onTensor: (_name, i, total) => {
          const now = Date.now();
          if (process.stderr.isTTY && (now - last > 500 || i === total - 1)) {
            last = now;
            process.stderr.write(`\r  tensors ${i + 1}/${total}`);
            if (i === total - 1) process.stderr.write("\n");
          }
        },
      });
      console.log(
        `imported ${r.architecture} from ${r.sourceFormat} weights: ${r.parameters.toLocaleString("en-US")} parameters in ${r.tensors} tensors ` +
          `(${Object.entries(r.dtypes).map(([d, n]) => `${n} ${d}`).join(", ")}; ${mb(r.bytes)}) → ${r.outDir}`,
      );
      console.log(`  files: ${r.files.join(", ")}`);
      console.log(`  tokenizer: ${r.tokenizer ? `${r.tokenizer.kind}, ${r.tokenizer.vocabSize} ids` : "none"}; chat template: ${r.template ?? "none"}`);
      for (const s of r.skipped) console.log(`  skipped ${s.tensor}: ${s.reason}`);
    });

  model
    .command("export-gguf <model-dir>")
    .description("export a model directory (any supported weight format) to a GGUF file for llama.cpp")
    .requiredOption("--out <file.gguf>", "output GGUF file")
    .option("--type <f32|f16|q8_0>", "tensor storage (1-D tensors stay f32)", choice("--type", ["f32", "f16", "q8_0"] as const), "f32" as const)
    .option("--vocab <model|synthetic>", "vocabulary: the model directory's tokenizer, or a stand-in for models trained on bare ids", choice("--vocab", ["model", "synthetic"] as const), "model" as const)
    .option("--pre <name>", "llama.cpp BPE pre-tokenizer name (default by architecture: qwen2, llama-bpe, …)")
    .option("--name <name>", "general.name")
    .action(async (dir: string, o: { out: string; type: GgufFileType; vocab: "model" | "synthetic"; pre?: string; name?: string }) => {
      const cfg = await readModelConfig(dir);
      const reader = await openCheckpoint(dir);
      try {
        const hasTok = (await isFile(path.join(dir, "tokenizer.json"))) || (await isFile(path.join(dir, "tokenizer.model")));
        if (o.vocab === "model" && !hasTok) {
          throw new Error(`${dir}: no tokenizer.json or tokenizer.model to embed; pass --vocab synthetic for a model trained on bare token ids`);
        }
        const arch = cfg.architecture === "Qwen2ForCausalLM" ? "qwen2" : cfg.architecture === "LlamaForCausalLM" ? "llama" : "baichuan";
        const vocab: GgufVocabSource = o.vocab === "synthetic" ? { kind: "synthetic" } : { kind: "hf", dir, pre: o.pre, arch };
        const r = await exportGguf(o.out, cfg, reader, { fileType: o.type, vocab, name: o.name, templateId: reader.metadata.template });
        console.log(`wrote ${r.file}: gguf architecture ${r.ggufArch}, ${r.fileType}, ${r.tensors} tensors, ${mb(r.bytes)}`);
        for (const f of r.fallbacks) console.log(`  ${f.tensor}: ${f.used} instead of ${f.wanted} (${f.reason})`);
        for (const s of r.skipped) console.log(`  skipped ${s.tensor}: ${s.reason}`);
      } finally {
        await reader.close();
      }
    });

  model
    .command("export-lora-gguf <adapter-dir>")
    .description("export a PEFT LoRA adapter (adapter_config.json + adapter_model.safetensors) to a llama.cpp LoRA GGUF")
    .requiredOption("--base <model-dir>", "the base model directory the adapter was trained on")
    .requiredOption("--out <file.gguf>", "output GGUF file")
    .option("--type <f32|f16>", "tensor storage", choice("--type", ["f32", "f16"] as const), "f32" as const)
    .action(async (adapterDir: string, o: { base: string; out: string; type: "f32" | "f16" }) => {
      const cfgFile = path.join(adapterDir, "adapter_config.json");
      let ac: Record<string, unknown>;
      try {
        ac = JSON.parse(await fs.readFile(cfgFile, "utf8")) as Record<string, unknown>;
      } catch (err) {
        throw new Error(`${cfgFile}: cannot read the adapter config: ${(err as Error).message}`);
      }
      const alpha = ac.lora_alpha;
      if (typeof alpha !== "number") throw new Error(`${cfgFile}: field "lora_alpha" must be a number, found ${JSON.stringify(alpha)}`);
      const cfg = await readModelConfig(o.base);
      const reader = await openSafetensors(path.join(adapterDir, "adapter_model.safetensors"));
      try {
        const r = await exportLoraGguf(o.out, cfg, reader, { alpha, fileType: o.type });
        console.log(`wrote ${r.file}: LoRA for gguf architecture ${r.ggufArch}, rank ${r.rank}, alpha ${alpha}, ${r.targets.length} adapted tensors`);
      } finally {
        await reader.close();
      }
    });
}
