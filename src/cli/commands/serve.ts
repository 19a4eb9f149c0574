/**
 * `pedgpt serve`: the OpenAI-compatible HTTP API and the web chat over a model (a checkpoint directory
 * on our engine, or a GGUF on llama.cpp). Also the model and generation flags shared with
 * `pedgpt chat`, including the seed's names (--model_name_or_path, --adapter_name_or_path,
 * --finetuning_type). Option parsing only; the work is in src/serve.
 */
import { type Command, InvalidArgumentError, Option } from "commander";
import { buildServer } from "../../serve/http/server.js";
import { openGenerator, type BackendName, type OpenGeneratorOptions } from "../../serve/load.js";
import type { GenerationOptions } from "../../serve/generator.js";

const int = (name: string, min: number) => (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer >= ${min}, got "${v}"`);
  return n;
};
const float = (name: string) => (v: string): number => {
  const n = Number(v);
  if (v.trim() === "" || !Number.isFinite(n)) throw new InvalidArgumentError(`${name} must be a number, got "${v}"`);
  return n;
};
const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

/** Flags that choose and shape the model, shared by chat and serve. */
export function addModelOptions(cmd: Command): Command {
  return cmd
    .option("--model <path>", "checkpoint directory (our engine) or .gguf file (llama.cpp)")
    .addOption(new Option("--model_name_or_path <path>", "the seed's name for --model").hideHelp())
    .option("--adapter <path>", "adapter directory (engine) or LoRA GGUF (llama.cpp); repeatable", collect)
    .addOption(new Option("--adapter_name_or_path <path>", "the seed's name for --adapter (comma-separated list accepted)").hideHelp())
    .addOption(new Option("--finetuning_type <type>", "the seed's flag: lora (with an adapter) or full").choices(["lora", "full", "freeze"]).hideHelp())
    .addOption(new Option("--backend <name>", "auto: a directory runs on our engine, a .gguf on llama.cpp").choices(["auto", "engine", "llama.cpp"]).default("auto"))
    .option("--template <id>", "chat template; must match the one recorded with the model unless --force-template")
    .option("--force-template", "use --template even if the model was trained with another")
    .option("--context-size <n>", "tokens per sequence (prompt + answer)", int("--context-size", 2))
    .option("--parallel <n>", "sequences generated at the same time", int("--parallel", 1))
    .option("--threads <n>", "llama.cpp threads (our engine uses PEDGPT_THREADS)", int("--threads", 1))
    .option("--lora-scale <x>", "scale of LoRA GGUF adapters on llama.cpp", float("--lora-scale"))
    .addOption(new Option("--quantize <type>", "our engine: hold weights as q8_0 or bf16 for faster decoding").choices(["q8_0", "bf16"]))
    .option("--max-new-tokens <n>", "default most new tokens (the seed: 512)", int("--max-new-tokens", 1))
    .option("--temperature <x>", "default temperature; 0 = greedy (the seed: 0.95)", float("--temperature"))
    .option("--top-p <x>", "default top-p (the seed: 0.7)", float("--top-p"))
    .option("--top-k <n>", "default top-k; 0 = off (the seed: 50)", int("--top-k", 0))
    .option("--repetition-penalty <x>", "default repetition penalty; 1 = off", float("--repetition-penalty"))
    .option("--seed <n>", "default sampling seed (otherwise random per request)", int("--seed", 0));
}

interface ModelFlags {
  model?: string;
  model_name_or_path?: string;
  adapter?: string[];
  adapter_name_or_path?: string;
  finetuning_type?: string;
  backend: BackendName;
  template?: string;
  forceTemplate?: boolean;
  contextSize?: number;
  parallel?: number;
  threads?: number;
  loraScale?: number;
  quantize?: "q8_0" | "bf16";
  maxNewTokens?: number;
  temperature?: number;
  topP?: number;
  topK?: number;
  repetitionPenalty?: number;
  seed?: number;
}

/** The model path and loader options from the flags; refuses contradictions before loading anything. */
export function modelFromFlags(o: ModelFlags): { model: string; options: OpenGeneratorOptions } {
  if (o.model && o.model_name_or_path && o.model !== o.model_name_or_path) {
    throw new InvalidArgumentError(`--model and --model_name_or_path name different models ("${o.model}", "${o.model_name_or_path}")`);
  }
  const model = o.model ?? o.model_name_or_path;
  if (!model) throw new InvalidArgumentError("missing --model <checkpoint dir or .gguf> (or the seed's --model_name_or_path)");
  const adapters = [...(o.adapter ?? []), ...(o.adapter_name_or_path ? o.adapter_name_or_path.split(",").map((s) => s.trim()).filter(Boolean) : [])];
  if (o.finetuning_type && o.finetuning_type !== "lora" && adapters.length > 0) {
    throw new InvalidArgumentError(`--finetuning_type ${o.finetuning_type} takes no adapter (the weights are the model); drop --adapter or use lora`);
  }
  if (o.finetuning_type === "lora" && adapters.length === 0) throw new InvalidArgumentError("--finetuning_type lora needs --adapter (or --adapter_name_or_path)");
  const defaults: GenerationOptions = {};
  if (o.maxNewTokens !== undefined) defaults.maxNewTokens = o.maxNewTokens;
  if (o.temperature !== undefined) defaults.temperature = o.temperature;
  if (o.topP !== undefined) defaults.topP = o.topP;
  if (o.topK !== undefined) defaults.topK = o.topK;
  if (o.repetitionPenalty !== undefined) defaults.repetitionPenalty = o.repetitionPenalty;
  if (o.seed !== undefined) defaults.seed = o.seed;
  return {
    model,
    options: {
      backend: o.backend, adapters, template: o.template, forceTemplate: o.forceTemplate, contextSize: o.contextSize,
      parallel: o.parallel, threads: o.threads, loraScale: o.loraScale, quantize: o.quantize, defaults,
    },
  };
}

interface ServeFlags extends ModelFlags {
  host: string;
  port: number;
  apiKey?: string;
  corsOrigin?: string[];
  maxQueue?: number;
  bodyLimit?: number;
  safety: boolean;
  log?: boolean;
}

export function register(program: Command): void {
  const cmd = program.command("serve").description("serve a model: OpenAI-compatible API (/v1/chat/completions, /v1/completions, /v1/models), /health and a web chat at /");
  addModelOptions(cmd)
    .option("--host <host>", "address to listen on (0.0.0.0 exposes the server to the network)", "127.0.0.1")
    .option("--port <n>", "port", int("--port", 0), 8000)
    .option("--api-key <key>", "require Authorization: Bearer <key> on /v1/* (or set PEDGPT_API_KEY)")
    .option("--cors-origin <origin>", "allow this browser origin (repeatable; * for any); CORS is off otherwise", collect)
    .option("--max-queue <n>", "requests that may wait beyond those generating; more get 429", int("--max-queue", 0))
    .option("--body-limit <bytes>", "largest request body", int("--body-limit", 1024))
    .option("--no-safety", "do not triage questions or annotate answers")
    .option("--log", "log every request")
    .action(async (o: ServeFlags) => {
      const { model, options } = modelFromFlags(o);
      const apiKey = o.apiKey ?? process.env.PEDGPT_API_KEY ?? null;
      const gen = await openGenerator(model, options);
      const app = await buildServer(gen, {
        apiKey, corsOrigins: o.corsOrigin, maxQueue: o.maxQueue, bodyLimit: o.bodyLimit, safety: o.safety, logger: o.log ?? false,
      });
      try {
        await app.listen({ host: o.host, port: o.port });
      } catch (e) {
        await gen.close();
        throw e;
      }
      const addr = app.server.address();
      const url = typeof addr === "object" && addr ? `http://${addr.family === "IPv6" ? `[${addr.address}]` : addr.address}:${addr.port}` : String(addr);
      console.log(`serving ${gen.info.id} (${gen.info.backend}, template ${gen.info.template}, ${gen.info.parallel} parallel, context ${gen.info.contextSize}) at ${url}`);
      console.log(`web chat: ${url}/   API: ${url}/v1   auth: ${apiKey ? "bearer token" : "none"}`);
      if (o.host !== "127.0.0.1" && o.host !== "localhost" && !apiKey) console.log("warning: listening beyond this machine without --api-key");
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
      });
      await app.close();
      await gen.close();
    });
}
