/**
 * Stage recipes in YAML with LLaMA-Factory's key names and meanings, so a recipe written for the seed
 * (LLaMA-Factory 0.6, `dpo_*` keys) or a later version (`pref_*` keys) reads unchanged. Validation is
 * complete before any work: an unknown key names the nearest known one, a LLaMA-Factory key we do not
 * support says so, and a bad value names the file, line and what was expected.
 *
 * Not here: running a recipe (stages/run.ts).
 */
import { readFileSync } from "node:fs";
import { isMap, isScalar, LineCounter, parseDocument } from "yaml";

export class RecipeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RecipeError";
  }
}

export type StageName = "pt" | "sft" | "dpo";
export type FinetuningType = "full" | "lora" | "moe_lora";
export type PrefLoss = "sigmoid" | "hinge" | "ipo" | "simpo" | "orpo";
export type SchedulerType = "cosine" | "linear" | "constant" | "constant_with_warmup";
export type Backend = "engine" | "torch";
export type Device = "auto" | "cpu" | "cuda";
export type Precision = "auto" | "fp32" | "bf16";
export type RouterNoise = "seeded" | "fixed";

/** A validated recipe: LLaMA-Factory names, defaults filled in. */
export interface Recipe {
  stage: StageName;
  finetuning_type: FinetuningType;
  model_name_or_path: string;
  adapter_name_or_path: string | null;
  template: string | null;
  dataset: string[];
  eval_dataset: string[];
  dataset_dir: string;
  cutoff_len: number;
  /** pt: pack documents into blocks (always on for pt); sft: pack short examples */
  packing: boolean;
  /** packing without attention or labels crossing documents/examples (LLaMA-Factory's neat_packing) */
  neat_packing: boolean;
  max_samples: number | null;
  val_size: number;
  per_device_train_batch_size: number;
  per_device_eval_batch_size: number;
  gradient_accumulation_steps: number;
  learning_rate: number;
  num_train_epochs: number;
  /** -1 = derived from num_train_epochs */
  max_steps: number;
  lr_scheduler_type: SchedulerType;
  warmup_ratio: number;
  warmup_steps: number;
  weight_decay: number;
  max_grad_norm: number;
  lora_rank: number;
  lora_alpha: number;
  lora_dropout: number;
  lora_target: string[];
  /** MoE-LoRA experts (the seed's name) */
  lora_nums: number;
  pref_beta: number;
  pref_ftx: number;
  pref_loss: PrefLoss;
  dpo_label_smoothing: number;
  simpo_gamma: number;
  output_dir: string;
  overwrite_output_dir: boolean;
  logging_steps: number;
  save_steps: number;
  eval_steps: number | null;
  save_total_limit: number | null;
  seed: number;
  resume_from_checkpoint: boolean;
  gradient_checkpointing: boolean;
  /** Our extension: which trainer runs the stage (the embedded engine, or PyTorch under torchrun). */
  backend: Backend;
  /** torch backend: processes per node (torchrun's --nproc_per_node); the global batch grows with it. */
  nproc_per_node: number;
  /** torch backend: auto = CUDA when available, else CPU. */
  device: Device;
  /** torch backend: auto = bf16 autocast on GPUs that support it, fp32 otherwise. */
  precision: Precision;
  /** MoE-LoRA router noise: seeded (drawn per micro-step) or fixed (one table per module, for cross-backend parity). */
  moe_router_noise: RouterNoise;
}

type Kind = "string" | "int" | "number" | "bool" | "list" | "nullable-string" | "nullable-int";
interface KeySpec {
  kind: Kind;
  /** allowed values for strings */
  values?: readonly string[];
  min?: number;
  max?: number;
  /** the canonical key this one is another name for */
  alias?: keyof Recipe;
}

const KEYS: Record<string, KeySpec> = {
  stage: { kind: "string", values: ["pt", "sft", "dpo"] },
  finetuning_type: { kind: "string", values: ["full", "lora", "moe_lora"] },
  model_name_or_path: { kind: "string" },
  adapter_name_or_path: { kind: "nullable-string" },
  template: { kind: "nullable-string" },
  dataset: { kind: "list" },
  eval_dataset: { kind: "list" },
  dataset_dir: { kind: "string" },
  cutoff_len: { kind: "int", min: 4 },
  packing: { kind: "bool" },
  neat_packing: { kind: "bool" },
  max_samples: { kind: "nullable-int", min: 1 },
  val_size: { kind: "number", min: 0 },
  per_device_train_batch_size: { kind: "int", min: 1 },
  per_device_eval_batch_size: { kind: "int", min: 1 },
  gradient_accumulation_steps: { kind: "int", min: 1 },
  learning_rate: { kind: "number", min: 0 },
  num_train_epochs: { kind: "number", min: 0 },
  max_steps: { kind: "int", min: -1 },
  lr_scheduler_type: { kind: "string", values: ["cosine", "linear", "constant", "constant_with_warmup"] },
  warmup_ratio: { kind: "number", min: 0, max: 1 },
  warmup_steps: { kind: "int", min: 0 },
  weight_decay: { kind: "number", min: 0 },
  max_grad_norm: { kind: "number", min: 0 },
  lora_rank: { kind: "int", min: 1 },
  lora_alpha: { kind: "number", min: 0 },
  lora_dropout: { kind: "number", min: 0, max: 1 },
  lora_target: { kind: "list" },
  lora_nums: { kind: "int", min: 2 },
  pref_beta: { kind: "number", min: 0 },
  pref_ftx: { kind: "number", min: 0 },
  pref_loss: { kind: "string", values: ["sigmoid", "hinge", "ipo", "simpo", "orpo"] },
  dpo_beta: { kind: "number", min: 0, alias: "pref_beta" },
  dpo_ftx: { kind: "number", min: 0, alias: "pref_ftx" },
  dpo_loss: { kind: "string", values: ["sigmoid", "hinge", "ipo", "simpo", "orpo"], alias: "pref_loss" },
  dpo_label_smoothing: { kind: "number", min: 0, max: 0.5 },
  simpo_gamma: { kind: "number" },
  output_dir: { kind: "string" },
  overwrite_output_dir: { kind: "bool" },
  logging_steps: { kind: "int", min: 1 },
  save_steps: { kind: "int", min: 1 },
  eval_steps: { kind: "nullable-int", min: 1 },
  save_total_limit: { kind: "nullable-int", min: 1 },
  seed: { kind: "int", min: 0 },
  resume_from_checkpoint: { kind: "bool" },
  gradient_checkpointing: { kind: "bool" },
  backend: { kind: "string", values: ["engine", "torch"] },
  nproc_per_node: { kind: "int", min: 1 },
  device: { kind: "string", values: ["auto", "cpu", "cuda"] },
  precision: { kind: "string", values: ["auto", "fp32", "bf16"] },
  moe_router_noise: { kind: "string", values: ["seeded", "fixed"] },
  // Accepted for compatibility; they only restate what we do.
  do_train: { kind: "bool" },
};

/** LLaMA-Factory keys we recognise but do not implement, with why. */
const UNSUPPORTED: Record<string, string> = {
  quantization_bit: "quantised training is not implemented (the engine trains in fp32)",
  bf16: "the engine computes in fp32; with backend: torch use precision: bf16 (or auto)",
  fp16: "the engine computes in fp32; with backend: torch use precision: bf16 (or auto)",
  pure_bf16: "the engine computes in fp32; with backend: torch use precision: bf16 (or auto)",
  deepspeed: "DeepSpeed is not used; backend: torch runs DDP under torchrun (see nproc_per_node)",
  flash_attn: "attention kernels are chosen by the engine (remove the key)",
  use_unsloth: "Unsloth is a PyTorch backend",
  ddp_timeout: "distributed training runs with backend: torch, whose rendezvous settings are command-line options",
  preprocessing_num_workers: "data preparation runs in-process (remove the key)",
  dataloader_num_workers: "batches are collated in-process (remove the key)",
  report_to: "metrics are written as JSONL in output_dir",
  plot_loss: "loss curves come from metrics.jsonl",
  reward_model: "reward-model stages (rm, ppo) are not implemented",
  kto_chosen_weight: "KTO is not implemented",
  kto_rejected_weight: "KTO is not implemented",
  pref_bco_weight: "BCO is not implemented",
  use_dora: "DoRA is not implemented",
  use_rslora: "rsLoRA scaling is not implemented",
  loraplus_lr_ratio: "LoRA+ is not implemented",
  additional_target: "extra trainable modules beside LoRA are not implemented",
  freeze_trainable_layers: "finetuning_type freeze is not implemented",
  rope_scaling: "RoPE scaling is not implemented",
  shift_attn: "shift short attention is not implemented",
  streaming: "datasets are tokenized once to disk, not streamed",
  mix_strategy: "datasets are concatenated in the order given",
  evaluation_strategy: "held-out evaluation runs every eval_steps",
  eval_strategy: "held-out evaluation runs every eval_steps",
  do_eval: "held-out evaluation runs every eval_steps when val_size or eval_dataset is set",
  do_predict: "use `pedgpt eval` for generation metrics",
  predict_with_generate: "use `pedgpt eval` for generation metrics",
  trust_remote_code: "model code is ours; Baichuan2 is supported natively (remove the key)",
  train_on_prompt: "prompts are never learned",
  overwrite_cache: "tokenized data is rebuilt when its inputs change",
};

const DEFAULTS: Omit<Recipe, "stage" | "model_name_or_path" | "output_dir" | "dataset" | "lora_alpha"> = {
  finetuning_type: "full",
  adapter_name_or_path: null,
  template: null,
  eval_dataset: [],
  dataset_dir: "data",
  cutoff_len: 1024,
  packing: false,
  neat_packing: false,
  max_samples: null,
  val_size: 0,
  per_device_train_batch_size: 8,
  per_device_eval_batch_size: 8,
  gradient_accumulation_steps: 1,
  learning_rate: 5e-5,
  num_train_epochs: 3,
  max_steps: -1,
  lr_scheduler_type: "cosine",
  warmup_ratio: 0,
  warmup_steps: 0,
  weight_decay: 0,
  max_grad_norm: 1,
  lora_rank: 8,
  lora_dropout: 0,
  lora_target: ["all"],
  lora_nums: 4,
  pref_beta: 0.1,
  pref_ftx: 0,
  pref_loss: "sigmoid",
  dpo_label_smoothing: 0,
  simpo_gamma: 0.5,
  overwrite_output_dir: false,
  logging_steps: 10,
  save_steps: 500,
  eval_steps: null,
  save_total_limit: null,
  seed: 42,
  resume_from_checkpoint: false,
  gradient_checkpointing: false,
  backend: "engine",
  nproc_per_node: 1,
  device: "auto",
  precision: "auto",
  moe_router_noise: "seeded",
};

export const RECIPE_KEYS: readonly string[] = Object.keys(KEYS);

function levenshtein(a: string, b: string): number {
  const d = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0]!;
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = d[j]!;
      d[j] = Math.min(d[j]! + 1, d[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return d[b.length]!;
}

/** The known key closest to `key` (edit distance). */
export function nearestKey(key: string): string {
  let best = "";
  let bestD = Infinity;
  for (const k of RECIPE_KEYS) {
    const dist = levenshtein(key, k);
    if (dist < bestD) {
      bestD = dist;
      best = k;
    }
  }
  return best;
}

function coerce(where: string, key: string, spec: KeySpec, v: unknown): unknown {
  const fail = (what: string): never => {
    throw new RecipeError(`${where}: "${key}" must be ${what}, got ${JSON.stringify(v)}`);
  };
  const range = (n: number) => {
    if (spec.min !== undefined && n < spec.min) fail(`>= ${spec.min}`);
    if (spec.max !== undefined && n > spec.max) fail(`<= ${spec.max}`);
    return n;
  };
  switch (spec.kind) {
    case "string":
    case "nullable-string": {
      if (v === null && spec.kind === "nullable-string") return null;
      if (typeof v !== "string" || v === "") return fail("a non-empty string");
      if (spec.values && !spec.values.includes(v)) return fail(`one of ${spec.values.join(", ")}`);
      return v;
    }
    case "int":
    case "nullable-int": {
      if (v === null && spec.kind === "nullable-int") return null;
      if (typeof v !== "number" || !Number.isInteger(v)) return fail("an integer");
      return range(v);
    }
    case "number": {
      if (typeof v !== "number" || !Number.isFinite(v)) return fail("a number");
      return range(v);
    }
    case "bool":
      if (typeof v !== "boolean") return fail("true or false");
      return v;
    case "list": {
      const items = typeof v === "string" ? v.split(",").map((s) => s.trim()).filter((s) => s !== "") : Array.isArray(v) ? v : fail("a name, a comma-separated list or a YAML list");
      if (!(items as unknown[]).every((s) => typeof s === "string" && s !== "")) fail("a list of names");
      return items;
    }
  }
}

/**
 * Validates a recipe object. `where(key)` says where a key sits (file:line) for messages.
 * Later keys do not silently override aliases: `dpo_beta` and `pref_beta` together is an error.
 */
export function parseRecipe(obj: unknown, where: (key?: string) => string = () => "recipe"): Recipe {
  if (obj === null || typeof obj !== "object" || Array.isArray(obj)) throw new RecipeError(`${where()}: a recipe must be a mapping of LLaMA-Factory keys to values`);
  const out: Record<string, unknown> = {};
  const setBy: Record<string, string> = {};
  for (const [key, value] of Object.entries(obj as Record<string, unknown>)) {
    const spec = KEYS[key];
    if (!spec) {
      if (key in UNSUPPORTED) throw new RecipeError(`${where(key)}: LLaMA-Factory key "${key}" is not supported: ${UNSUPPORTED[key]}`);
      throw new RecipeError(`${where(key)}: unknown key "${key}"; did you mean "${nearestKey(key)}"?`);
    }
    const v = coerce(where(key), key, spec, value);
    const target = spec.alias ?? key;
    if (setBy[target] !== undefined) throw new RecipeError(`${where(key)}: "${key}" and "${setBy[target]}" both set ${target}; keep one`);
    setBy[target] = key;
    out[target] = v;
  }
  for (const req of ["stage", "model_name_or_path", "output_dir"] as const) {
    if (out[req] === undefined) throw new RecipeError(`${where()}: missing required key "${req}"`);
  }
  if (out.dataset === undefined) throw new RecipeError(`${where()}: missing required key "dataset" (names from dataset_info.json)`);
  if (out.do_train === false) throw new RecipeError(`${where("do_train")}: do_train: false leaves nothing to do; use \`pedgpt eval\` to evaluate`);
  delete out.do_train;
  const r = { ...DEFAULTS, ...out } as Recipe;
  if (out.lora_alpha === undefined) r.lora_alpha = 2 * r.lora_rank; // the seed's CLI default
  if (r.stage === "pt") r.packing = true;
  if (r.finetuning_type === "moe_lora" && r.stage !== "sft") throw new RecipeError(`${where("finetuning_type")}: finetuning_type moe_lora is an SFT stage (stage: sft)`);
  if (r.finetuning_type === "full" && r.adapter_name_or_path !== null) {
    throw new RecipeError(`${where("adapter_name_or_path")}: an adapter was given but finetuning_type is full, which trains the whole model; merge the adapter first or use finetuning_type lora`);
  }
  if (r.max_steps === 0) throw new RecipeError(`${where("max_steps")}: "max_steps" must be -1 (use num_train_epochs) or >= 1`);
  if (r.max_steps === -1 && r.num_train_epochs <= 0) throw new RecipeError(`${where("num_train_epochs")}: with max_steps -1, num_train_epochs must be > 0`);
  if (r.val_size >= 1 && !Number.isInteger(r.val_size)) throw new RecipeError(`${where("val_size")}: "val_size" is a fraction < 1 or a whole number of examples`);
  if (r.moe_router_noise === "fixed" && r.finetuning_type !== "moe_lora") throw new RecipeError(`${where("moe_router_noise")}: moe_router_noise applies to finetuning_type moe_lora only`);
  checkBackendKeys(r, (key) => where(key));
  return r;
}

/**
 * The keys that only the torch backend honours, checked against the backend (also after command-line
 * flags changed either): the engine runs one process on the CPU in fp32, so asking it for more is an error
 * rather than something silently ignored.
 */
export function checkBackendKeys(r: Recipe, where: (key?: string) => string = () => "recipe"): void {
  if (r.backend === "torch") return;
  if (r.nproc_per_node !== 1) throw new RecipeError(`${where("nproc_per_node")}: nproc_per_node ${r.nproc_per_node} needs backend: torch (the engine trains in one process)`);
  if (r.device === "cuda") throw new RecipeError(`${where("device")}: device: cuda needs backend: torch (the engine runs on the CPU)`);
  if (r.precision === "bf16") throw new RecipeError(`${where("precision")}: precision: bf16 needs backend: torch (the engine computes in fp32)`);
}

/** Reads and validates a recipe file; errors name file:line. */
export function loadRecipe(file: string): Recipe {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new RecipeError(`${file}: cannot read recipe (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const pos = lc.linePos(e.pos[0]);
    throw new RecipeError(`${file}:${pos.line}: invalid YAML: ${e.message.split("\n")[0]}`);
  }
  const lines = new Map<string, number>();
  if (isMap(doc.contents)) {
    for (const item of doc.contents.items) {
      if (isScalar(item.key) && item.key.range) lines.set(String(item.key.value), lc.linePos(item.key.range[0]).line);
    }
  }
  const where = (key?: string) => (key !== undefined && lines.has(key) ? `${file}:${lines.get(key)}` : file);
  return parseRecipe(doc.toJS(), where);
}

/** Stable JSON of a recipe (sorted keys), for hashing and manifests. */
export function canonicalRecipe(r: Recipe): string {
  return JSON.stringify(Object.fromEntries(Object.entries(r).sort(([a], [b]) => a.localeCompare(b))));
}
