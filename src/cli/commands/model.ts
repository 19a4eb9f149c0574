/**
 * `pedgpt model …`: create a random model from a config or preset, describe a model directory, and
 * sample token ids from one. Option parsing only; the work is in src/model.
 */
import { readFile } from "node:fs/promises";
import { InvalidArgumentError, type Command } from "commander";
import {
  CausalLM,
  formatModelInfo,
  generate,
  loadModel,
  modelInfo,
  parseConfig,
  presetConfig,
  presetDescription,
  presetNames,
  saveModel,
} from "../../model/index.js";
import { loadAdapter } from "../../model/adapters/index.js";
import { Tape } from "../../engine/index.js";
import { loadTokenizer } from "../../tokenizer/index.js";
import { outputDirOptions } from "../../model/io/import.js";
import { checkOutputDir, writeOutputDir } from "../../util/atomic.js";

function int(name: string, min: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer >= ${min}, got "${v}"`);
    return n;
  };
}

function num(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n)) throw new InvalidArgumentError(`${name} must be a number, got "${v}"`);
    return n;
  };
}

function dtype(v: string): "F32" | "F16" | "BF16" {
  const d = v.toUpperCase();
  if (d !== "F32" && d !== "F16" && d !== "BF16") throw new InvalidArgumentError(`--dtype must be f32, f16 or bf16, got "${v}"`);
  return d;
}

function parseIds(list: string): number[] {
  return list.split(",").map((s, i) => {
    const n = Number(s.trim());
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`--ids: entry ${i + 1} ("${s}") is not a token id`);
    return n;
  });
}

/** A preset name, or a path to a config.json. */
async function resolveConfig(spec: string, overrides: Record<string, unknown>): Promise<{ raw: Record<string, unknown>; source: string }> {
  if (presetNames().includes(spec)) return { raw: presetConfig(spec, overrides), source: `preset ${spec}` };
  let text: string;
  try {
    text = await readFile(spec, "utf8");
  } catch (err) {
    throw new Error(`--config "${spec}" is neither a preset (${presetNames().join(", ")}) nor a readable config.json: ${(err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new Error(`${spec}: not valid JSON: ${(err as Error).message}`);
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new Error(`${spec}: expected a JSON object`);
  return { raw: { ...(raw as Record<string, unknown>), ...overrides }, source: spec };
}

export function register(program: Command): void {
  const model = program.command("model").description("create, inspect and sample Llama-family models (Llama, Qwen2, Baichuan2)");

  model
    .command("init")
    .description("create a randomly initialised model directory (config.json + model.safetensors)")
    .requiredOption("--config <config.json|preset>", `a Hugging Face config.json or a preset: ${presetNames().join(", ")}`)
    .requiredOption("--out <dir>", "output model directory")
    .option("--seed <n>", "random seed", int("--seed", 0), 0)
    .option("--vocab-size <n>", "override vocab_size (match your tokenizer)", int("--vocab-size", 1))
    .option("--dtype <f32|f16|bf16>", "storage dtype of the weights", dtype, "F32" as const)
    .option("--overwrite", "replace an existing model folder (only after the new one is written)", false)
    .action(async (o: { config: string; out: string; seed: number; vocabSize?: number; dtype: "F32" | "F16" | "BF16"; overwrite: boolean }) => {
      const overrides: Record<string, unknown> = {};
      if (o.vocabSize !== undefined) overrides["vocab_size"] = o.vocabSize;
      const { raw, source } = await resolveConfig(o.config, overrides);
      const cfg = parseConfig(raw, source);
      // A config given as a file inside --out would be replaced with it.
      const inputs = presetNames().includes(o.config) ? [] : [o.config];
      await checkOutputDir(o.out, outputDirOptions(o.overwrite, inputs));
      const m = new CausalLM(cfg, { seed: o.seed });
      const written = await writeOutputDir(o.out, outputDirOptions(o.overwrite, inputs), (dir) => saveModel(m, dir, { dtype: o.dtype }));
      console.log(`wrote ${cfg.architecture} with ${m.params.count().toLocaleString("en-US")} parameters (seed ${o.seed}) to ${o.out}: ${written.files.join(", ")}`);
    });

  model
    .command("info <dir>")
    .description("describe a model directory: architecture, size, dtype, files")
    .option("--json", "print JSON instead of text")
    .action(async (dir: string, o: { json?: boolean }) => {
      const info = await modelInfo(dir);
      if (o.json) {
        const { config, ...rest } = info;
        const { raw: _raw, ...cfg } = config;
        console.log(JSON.stringify({ ...rest, config: cfg }, null, 2));
      } else {
        console.log(formatModelInfo(info));
      }
    });

  model
    .command("presets")
    .description("list the built-in model presets")
    .action(() => {
      for (const n of presetNames()) console.log(`${n.padEnd(22)} ${presetDescription(n)}`);
    });

  model
    .command("logprobs <dir>")
    .description("print each token's log-probability under the model (optionally with an adapter): for checking and scoring")
    .option("--adapter <dir>", "a LoRA / MoE-LoRA adapter directory to apply (inference: no dropout, no router noise)")
    .option("--force", "with --adapter: accept an adapter recorded for another base model", false)
    .option("--ids <list>", "comma-separated token ids, e.g. 1,45,9")
    .option("--text <text>", "text, encoded with the model directory's tokenizer (special tokens as its config says)")
    .option("--json", "print JSON instead of text")
    .action(async (dir: string, o: { adapter?: string; force: boolean; ids?: string; text?: string; json?: boolean }) => {
      if ((o.ids === undefined) === (o.text === undefined)) throw new InvalidArgumentError("give exactly one of --ids or --text");
      const tok = o.text !== undefined ? loadTokenizer(dir) : null;
      const ids = tok ? tok.encode(o.text!) : parseIds(o.ids!);
      if (ids.length < 2) throw new InvalidArgumentError(`need at least 2 tokens to score (got ${ids.length})`);
      const m = await loadModel(dir);
      if (o.adapter) (await loadAdapter(o.adapter, m, { force: o.force })).attach(m);
      const T = ids.length;
      const x = Int32Array.from(ids);
      const lp = new Tape().infer(() => Float32Array.from(m.loss({ ids: x, B: 1, T, labels: x }).tokenLosses.data, (v) => -v));
      // lp[t] scores token t+1 given tokens 0..t; the first token has no prediction.
      const rows = ids.map((id, t) => ({ position: t, id, token: tok?.idToToken(id) ?? null, logprob: t === 0 ? null : lp[t - 1]! }));
      const total = rows.reduce((a, r) => a + (r.logprob ?? 0), 0);
      if (o.json) {
        console.log(JSON.stringify({ tokens: rows, sum: total, mean: total / (T - 1), scored: T - 1 }));
      } else {
        for (const r of rows) console.log(`${String(r.position).padStart(5)} ${String(r.id).padStart(7)} ${r.logprob === null ? "        —" : r.logprob.toFixed(5).padStart(9)}${r.token !== null ? `  ${JSON.stringify(r.token)}` : ""}`);
        console.log(`sum ${total.toFixed(5)} over ${T - 1} tokens (mean ${(total / (T - 1)).toFixed(5)})`);
      }
    });

  model
    .command("sample <dir>")
    .description("continue a prompt given as token ids (no tokenizer involved) and print the new ids")
    .requiredOption("--ids <list>", "comma-separated prompt token ids, e.g. 1,45,9")
    .option("--max-new-tokens <n>", "how many tokens at most", int("--max-new-tokens", 0), 32)
    .option("--temperature <t>", "0 = greedy", num("--temperature"), 0)
    .option("--top-k <k>", "sample among the k most likely (0 = off)", int("--top-k", 0), 0)
    .option("--top-p <p>", "nucleus sampling mass (1 = off)", num("--top-p"), 1)
    .option("--seed <n>", "sampler seed", int("--seed", 0), 0)
    .action(async (dir: string, o: { ids: string; maxNewTokens: number; temperature: number; topK: number; topP: number; seed: number }) => {
      const ids = parseIds(o.ids);
      const m = await loadModel(dir);
      const r = generate(m, ids, { maxNewTokens: o.maxNewTokens, temperature: o.temperature, topK: o.topK, topP: o.topP, seed: o.seed });
      console.log(`${r.tokens.join(",")}\n(finish: ${r.finishReason})`);
    });
}
