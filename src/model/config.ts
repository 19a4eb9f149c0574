/**
 * Model configuration: the normalised form every architecture maps its Hugging Face `config.json`
 * onto, plus the shared field readers and the error type for unsupported configs.
 *
 * The per-architecture rules (which HF fields mean what) live in llama.ts, qwen2.ts and baichuan.ts;
 * `parseConfig` dispatches on `architectures[0]`. The raw JSON is kept so a saved model writes back
 * the same config.json it was loaded from.
 */

export type ArchitectureName = "LlamaForCausalLM" | "Qwen2ForCausalLM" | "BaichuanForCausalLM";

/** RoPE scaling variants we implement (transformers' rope_scaling). */
export type RopeScaling =
  | { type: "linear"; factor: number }
  | { type: "llama3"; factor: number; lowFreqFactor: number; highFreqFactor: number; originalMaxPositions: number };

export interface ModelConfig {
  architecture: ArchitectureName;
  /** V */
  vocabSize: number;
  /** C */
  hiddenSize: number;
  /** I (MLP width) */
  intermediateSize: number;
  /** L */
  numLayers: number;
  /** H */
  numHeads: number;
  /** Hkv (divides H) */
  numKvHeads: number;
  /** D (H*D need not equal C for Llama configs with an explicit head_dim) */
  headDim: number;
  rmsNormEps: number;
  /** RoPE base; unused with ALiBi */
  ropeTheta: number;
  /** rope_scaling, null for plain RoPE */
  ropeScaling: RopeScaling | null;
  /** max_position_embeddings / model_max_length: the longest context the model was built for */
  maxPositions: number;
  tieWordEmbeddings: boolean;
  /** q/k/v projections: separate (Llama, Qwen2) or Baichuan's fused W_pack (3C, C) */
  qkv: "separate" | "packed";
  qkvBias: boolean;
  oBias: boolean;
  mlpBias: boolean;
  position: "rope" | "alibi";
  /** Baichuan2 NormHead: lm_head rows L2-normalised in forward */
  normHead: boolean;
  initializerRange: number;
  bosTokenId: number | null;
  /** one or several end-of-sequence ids */
  eosTokenIds: number[];
  padTokenId: number | null;
  /** the config.json this came from (written back unchanged on save) */
  raw: Record<string, unknown>;
}

/** A config.json that is malformed or asks for something this engine does not implement. */
export class ModelConfigError extends Error {
  constructor(
    readonly source: string,
    readonly field: string,
    detail: string,
  ) {
    super(`${source}: field "${field}": ${detail}`);
    this.name = "ModelConfigError";
  }
}

/** Typed readers over the raw JSON that name the field and source in every error. */
export class ConfigReader {
  constructor(
    readonly raw: Record<string, unknown>,
    readonly source: string,
  ) {}

  has(field: string): boolean {
    return this.raw[field] !== undefined && this.raw[field] !== null;
  }

  fail(field: string, detail: string): never {
    throw new ModelConfigError(this.source, field, detail);
  }

  private show(v: unknown): string {
    return JSON.stringify(v) ?? String(v);
  }

  int(field: string, fallback?: number, min = 1): number {
    const v = this.raw[field];
    if (v === undefined || v === null) {
      if (fallback === undefined) this.fail(field, `required, expected an integer >= ${min}`);
      return fallback;
    }
    if (typeof v !== "number" || !Number.isInteger(v) || v < min) this.fail(field, `expected an integer >= ${min}, got ${this.show(v)}`);
    return v;
  }

  num(field: string, fallback?: number, positive = true): number {
    const v = this.raw[field];
    if (v === undefined || v === null) {
      if (fallback === undefined) this.fail(field, "required, expected a number");
      return fallback;
    }
    if (typeof v !== "number" || !Number.isFinite(v) || (positive && v <= 0)) {
      this.fail(field, `expected a ${positive ? "positive " : ""}finite number, got ${this.show(v)}`);
    }
    return v;
  }

  bool(field: string, fallback: boolean): boolean {
    const v = this.raw[field];
    if (v === undefined || v === null) return fallback;
    if (typeof v !== "boolean") this.fail(field, `expected true or false, got ${this.show(v)}`);
    return v;
  }

  str(field: string, fallback?: string): string {
    const v = this.raw[field];
    if (v === undefined || v === null) {
      if (fallback === undefined) this.fail(field, "required, expected a string");
      return fallback;
    }
    if (typeof v !== "string") this.fail(field, `expected a string, got ${this.show(v)}`);
    return v;
  }

  /** An optional token id (null when absent). */
  tokenId(field: string): number | null {
    const v = this.raw[field];
    if (v === undefined || v === null) return null;
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0) this.fail(field, `expected a token id (integer >= 0), got ${this.show(v)}`);
    return v;
  }

  /** eos_token_id: one id or a list of ids. */
  tokenIds(field: string): number[] {
    const v = this.raw[field];
    if (v === undefined || v === null) return [];
    const list = Array.isArray(v) ? v : [v];
    for (const x of list) {
      if (typeof x !== "number" || !Number.isInteger(x) || x < 0) this.fail(field, `expected a token id or a list of token ids, got ${this.show(v)}`);
    }
    return list as number[];
  }

  /** The field must be absent, null, or one of the allowed values. */
  expectOneOf(field: string, allowed: readonly unknown[], why: string): void {
    const v = this.raw[field];
    if (v === undefined || v === null) return;
    if (!allowed.some((a) => JSON.stringify(a) === JSON.stringify(v))) this.fail(field, `unsupported value ${this.show(v)} (${why})`);
  }
}

/** rope_scaling: null/absent/"default" → null; "linear" and "llama3" read; anything else rejected. */
export function readRopeScaling(r: ConfigReader): RopeScaling | null {
  const v = r.raw["rope_scaling"];
  if (v === undefined || v === null) return null;
  if (typeof v !== "object" || Array.isArray(v)) r.fail("rope_scaling", `expected an object or null, got ${JSON.stringify(v)}`);
  const sub = new ConfigReader(v as Record<string, unknown>, `${r.source} (rope_scaling)`);
  const kind = sub.has("rope_type") ? sub.str("rope_type") : sub.str("type", "default");
  if (kind === "default") return null;
  if (kind === "linear") return { type: "linear", factor: sub.num("factor") };
  if (kind === "llama3") {
    return {
      type: "llama3",
      factor: sub.num("factor"),
      lowFreqFactor: sub.num("low_freq_factor"),
      highFreqFactor: sub.num("high_freq_factor"),
      originalMaxPositions: sub.int("original_max_position_embeddings"),
    };
  }
  return r.fail("rope_scaling", `unsupported rope_type "${kind}" (implemented: default, linear, llama3)`);
}

/** Checks shared by every architecture once the fields are read. */
export function checkGeometry(cfg: ModelConfig, r: ConfigReader): void {
  if (cfg.numHeads % cfg.numKvHeads !== 0) {
    r.fail("num_key_value_heads", `${cfg.numKvHeads} does not divide num_attention_heads = ${cfg.numHeads}`);
  }
  if (cfg.position === "rope" && cfg.headDim % 2 !== 0) r.fail("head_dim", `RoPE needs an even head dimension, got ${cfg.headDim}`);
  if (cfg.qkv === "packed" && cfg.numHeads * cfg.headDim !== cfg.hiddenSize) {
    r.fail("num_attention_heads", `W_pack needs hidden_size (${cfg.hiddenSize}) = heads × head_dim (${cfg.numHeads} × ${cfg.headDim})`);
  }
  const act = r.str("hidden_act", "silu");
  if (act !== "silu") r.fail("hidden_act", `only "silu" (SwiGLU MLP) is supported, got "${act}"`);
}
