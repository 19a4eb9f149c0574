/**
 * Adapter settings and their on-disk form, `adapter_config.json` in PEFT's LoraConfig layout (0.9),
 * plus `lora_nums` (the seed's expert count) and a `pedgpt` block with what PEFT has no field for
 * (router options, the base model's fingerprint, where the weights came from). Also: which linear
 * layers of a model a `target_modules` value selects.
 *
 * Not here: tensors (adapter.ts), files (io.ts).
 */
import type { CausalLM } from "../model.js";
import { AdapterConfigError, AdapterTargetError } from "./errors.js";

export const ADAPTER_CONFIG = "adapter_config.json";
export const ADAPTER_WEIGHTS = "adapter_model.safetensors";
export const FORMAT = "pedgpt-adapter";
export const FORMAT_VERSION = 1;

/** How router weights absent from a seed adapter are filled (see README). */
export type RouterPolicy = "zero";

export interface AdapterSettings {
  /** rank of every expert */
  r: number;
  /** scale s = alpha / r (or alpha / sqrt(r) with rsLora) */
  alpha: number;
  rsLora: boolean;
  /** dropout on the expert path's input, training only */
  dropout: number;
  /** short names ("q_proj"), "all" (every linear but lm_head), or one regex string (PEFT full match) */
  targetModules: readonly string[] | "all" | { regex: string };
  /** 1 = plain LoRA; E > 1 = MoE-LoRA: expert 0 universal, experts 1..E-1 token-routed */
  experts: number;
  /** ε ⊙ softplus(x·W_noise) added to the router logits in training */
  noisyGating: boolean;
  /** Switch-style balance loss coefficient (0 = off) */
  balanceLossCoef: number;
  /** W_noise's initial value: zeros (noise std softplus(0) = ln 2) or the seed's U(±1/√(E−1)) */
  wNoiseInit: "zeros" | "seed";
  /**
   * Where ε comes from in training: "seeded" (absent = seeded) draws it per micro-step from the trainer's
   * stream; "fixed" uses one table per module, the same every step and item, that any backend can
   * recompute (see `fixedRouterNoise`), for cross-backend parity.
   */
  routerNoise?: "seeded" | "fixed";
}

export const LORA_DEFAULTS: AdapterSettings = {
  r: 8, alpha: 16, rsLora: false, dropout: 0, targetModules: "all", experts: 1,
  noisyGating: true, balanceLossCoef: 0, wNoiseInit: "zeros",
};

/** Provenance and compatibility data kept beside the settings. */
export interface AdapterMeta {
  /** fingerprint of the base model the adapter belongs to (see fingerprint.ts) */
  baseFingerprint: string | null;
  baseArchitecture: string | null;
  /** PEFT's base_model_name_or_path */
  baseModelPath: string | null;
  /** set when router weights were filled by a policy on import */
  routerPolicy: RouterPolicy | null;
  /** free-form provenance (import source, layout, assumptions) */
  provenance: Record<string, unknown> | null;
  /** expert 0 already added into the base weights of a merged export */
  universalMerged?: boolean;
}

export function scaling(s: AdapterSettings): number {
  return s.rsLora ? s.alpha / Math.sqrt(s.r) : s.alpha / s.r;
}

/** Options validated before any work (also used for options coming from a recipe or the CLI). */
export function validateSettings(s: AdapterSettings, source: string): AdapterSettings {
  const posInt = (v: number, f: string) => {
    if (!Number.isInteger(v) || v < 1) throw new AdapterConfigError(source, f, `must be an integer >= 1, got ${JSON.stringify(v)}`);
  };
  posInt(s.r, "r");
  posInt(s.experts, "lora_nums");
  if (!(typeof s.alpha === "number" && Number.isFinite(s.alpha) && s.alpha > 0)) throw new AdapterConfigError(source, "lora_alpha", `must be a number > 0, got ${JSON.stringify(s.alpha)}`);
  if (!(s.dropout >= 0 && s.dropout < 1)) throw new AdapterConfigError(source, "lora_dropout", `must be in [0, 1), got ${JSON.stringify(s.dropout)}`);
  if (!(s.balanceLossCoef >= 0 && Number.isFinite(s.balanceLossCoef))) throw new AdapterConfigError(source, "balance_loss_coef", `must be a number >= 0, got ${JSON.stringify(s.balanceLossCoef)}`);
  if (s.balanceLossCoef > 0 && s.experts < 3) throw new AdapterConfigError(source, "balance_loss_coef", `a balance loss needs at least 2 routed experts (lora_nums >= 3), got lora_nums ${s.experts}`);
  if (s.routerNoise !== undefined && s.routerNoise !== "seeded" && s.routerNoise !== "fixed") throw new AdapterConfigError(source, "router_noise", `must be "seeded" or "fixed", got ${JSON.stringify(s.routerNoise)}`);
  if (s.wNoiseInit !== "zeros" && s.wNoiseInit !== "seed") throw new AdapterConfigError(source, "w_noise_init", `must be "zeros" or "seed", got ${JSON.stringify(s.wNoiseInit)}`);
  const t = s.targetModules;
  if (Array.isArray(t)) {
    if (t.length === 0) throw new AdapterConfigError(source, "target_modules", "is an empty list");
    for (const n of t) if (typeof n !== "string" || n === "") throw new AdapterConfigError(source, "target_modules", `entries must be module names, got ${JSON.stringify(n)}`);
  }
  return s;
}

/** Every linear layer of the model by Hugging Face module path → [out, in]; lm_head last. */
export function linearModules(model: CausalLM): Map<string, [number, number]> {
  const out = new Map<string, [number, number]>();
  for (const p of model.params.list) {
    if (p.rank !== 2 || !p.name.endsWith(".weight")) continue;
    if (p.name === "model.embed_tokens.weight" || p.name === "lm_head.weight") continue;
    out.set(p.name.slice(0, -".weight".length), [p.shape[0]!, p.shape[1]!]);
  }
  const c = model.config;
  out.set("lm_head", [c.vocabSize, c.hiddenSize]);
  return out;
}

/** The module paths `targetModules` selects in `model` (PEFT's matching rules); errors name what is missing. */
export function resolveTargets(model: CausalLM, targets: AdapterSettings["targetModules"], source: string): string[] {
  const all = linearModules(model);
  const names = [...all.keys()];
  let chosen: string[];
  if (targets === "all") {
    chosen = names.filter((n) => n !== "lm_head");
  } else if (!Array.isArray(targets)) {
    let re: RegExp;
    try {
      re = new RegExp(`^(?:${(targets as { regex: string }).regex})$`);
    } catch (err) {
      throw new AdapterConfigError(source, "target_modules", `not a valid regular expression: ${(err as Error).message}`);
    }
    chosen = names.filter((n) => re.test(n));
    if (chosen.length === 0) throw new AdapterTargetError(`${source}: target_modules regex "${(targets as { regex: string }).regex}" matches no linear layer of this ${model.config.architecture} (e.g. ${names.slice(0, 4).join(", ")})`);
  } else {
    const set = new Set<string>();
    for (const t of targets as readonly string[]) {
      const hits = names.filter((n) => n === t || n.endsWith("." + t));
      if (hits.length === 0) {
        const kinds = [...new Set(names.map((n) => n.split(".").pop()!))];
        throw new AdapterTargetError(`${source}: target module "${t}" is not a linear layer of this ${model.config.architecture} (its linear layers: ${kinds.join(", ")})`);
      }
      for (const h of hits) set.add(h);
    }
    chosen = names.filter((n) => set.has(n));
  }
  if (chosen.includes("lm_head")) {
    if (model.config.tieWordEmbeddings) throw new AdapterTargetError(`${source}: lm_head is tied to the embedding in this model; it cannot carry its own adapter`);
    if (model.config.normHead) throw new AdapterTargetError(`${source}: lm_head is a NormHead (rows normalised, not a plain linear layer); it cannot carry an adapter`);
  }
  return chosen;
}

/** The short names of the chosen modules, in first-seen order (what PEFT writes as target_modules). */
export function shortNames(modules: readonly string[]): string[] {
  return [...new Set(modules.map((m) => m.split(".").pop()!))];
}

function field<T>(raw: Record<string, unknown>, source: string, name: string, check: (v: unknown) => v is T, expected: string, dflt: T): T {
  const v = raw[name];
  if (v === undefined || v === null) return dflt;
  if (!check(v)) throw new AdapterConfigError(source, name, `expected ${expected}, found ${JSON.stringify(v)}`);
  return v;
}
const isNum = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);
const isBool = (v: unknown): v is boolean => typeof v === "boolean";
const isStr = (v: unknown): v is string => typeof v === "string";

/** Parse an adapter_config.json object. Fields for PEFT features we do not implement are refused, never ignored. */
export function parseAdapterConfig(raw: unknown, source: string): { settings: AdapterSettings; meta: AdapterMeta; modules: string[] | null } {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new AdapterConfigError(source, "(root)", "expected a JSON object");
  const o = raw as Record<string, unknown>;
  const peftType = o.peft_type;
  if (peftType !== "LORA") throw new AdapterConfigError(source, "peft_type", `only "LORA" (LoRA and the seed's MoE-LoRA) is supported, found ${JSON.stringify(peftType)}`);
  // PEFT options that change the math: refused rather than silently dropped.
  const unsupported: [string, (v: unknown) => boolean, string][] = [
    ["use_dora", (v) => v === true, "DoRA"],
    ["fan_in_fan_out", (v) => v === true, "Conv1D-style transposed weights"],
    ["bias", (v) => v !== undefined && v !== null && v !== "none", "trained biases"],
    ["modules_to_save", (v) => Array.isArray(v) && v.length > 0, "fully trained extra modules"],
    ["layers_to_transform", (v) => v !== undefined && v !== null, "per-layer selection"],
    ["rank_pattern", (v) => typeof v === "object" && v !== null && Object.keys(v).length > 0, "per-module ranks"],
    ["alpha_pattern", (v) => typeof v === "object" && v !== null && Object.keys(v).length > 0, "per-module alphas"],
    ["use_qalora", (v) => v === true, "QA-LoRA"],
  ];
  for (const [f, bad, what] of unsupported) if (bad(o[f])) throw new AdapterConfigError(source, f, `${what} (${JSON.stringify(o[f])}) is not supported`);
  const own = (typeof o.pedgpt === "object" && o.pedgpt !== null ? o.pedgpt : {}) as Record<string, unknown>;
  if (o.pedgpt !== undefined && (own.format !== FORMAT || typeof own.version !== "number" || own.version > FORMAT_VERSION)) {
    throw new AdapterConfigError(source, "pedgpt", `expected {format: "${FORMAT}", version <= ${FORMAT_VERSION}}, found ${JSON.stringify({ format: own.format, version: own.version })}`);
  }
  const r = field(o, source, "r", isNum, "an integer", NaN);
  if (Number.isNaN(r)) throw new AdapterConfigError(source, "r", "is required");
  const alpha = field(o, source, "lora_alpha", isNum, "a number", NaN);
  if (Number.isNaN(alpha)) throw new AdapterConfigError(source, "lora_alpha", "is required");
  let targetModules: AdapterSettings["targetModules"];
  const tm = o.target_modules;
  if (Array.isArray(tm)) targetModules = tm as string[];
  else if (tm === "all" || tm === "all-linear") targetModules = "all";
  else if (typeof tm === "string") targetModules = { regex: tm };
  else throw new AdapterConfigError(source, "target_modules", `expected a list of module names, "all" or a regex string, found ${JSON.stringify(tm)}`);
  const router = (typeof own.router === "object" && own.router !== null ? own.router : {}) as Record<string, unknown>;
  const settings = validateSettings(
    {
      r,
      alpha,
      rsLora: field(o, source, "use_rslora", isBool, "true or false", false),
      dropout: field(o, source, "lora_dropout", isNum, "a number", 0),
      targetModules,
      experts: field(o, source, "lora_nums", isNum, "an integer", 1),
      noisyGating: field(router, source, "noisy_gating", isBool, "true or false", true),
      balanceLossCoef: field(router, source, "balance_loss_coef", isNum, "a number", 0),
      wNoiseInit: field(router, source, "w_noise_init", (v): v is "zeros" | "seed" => v === "zeros" || v === "seed", '"zeros" or "seed"', "zeros"),
    },
    source,
  );
  const modules = own.modules === undefined ? null : own.modules;
  if (modules !== null && !(Array.isArray(modules) && modules.every(isStr))) throw new AdapterConfigError(source, "pedgpt.modules", "expected a list of module paths");
  const policy = own.router_policy ?? null;
  if (policy !== null && policy !== "zero") throw new AdapterConfigError(source, "pedgpt.router_policy", `unknown policy ${JSON.stringify(policy)} (known: "zero")`);
  const meta: AdapterMeta = {
    baseFingerprint: field(own, source, "base_model_fingerprint", isStr, "a string", null as unknown as string) ?? null,
    baseArchitecture: field(own, source, "base_architecture", isStr, "a string", null as unknown as string) ?? null,
    baseModelPath: typeof o.base_model_name_or_path === "string" ? o.base_model_name_or_path : null,
    routerPolicy: policy as RouterPolicy | null,
    provenance: typeof own.provenance === "object" && own.provenance !== null ? (own.provenance as Record<string, unknown>) : null,
    universalMerged: own.universal_merged === true,
  };
  return { settings, meta, modules: modules as string[] | null };
}

/** adapter_config.json for these settings: PEFT's fields (so PEFT reads a plain LoRA), ours under `pedgpt`. */
export function adapterConfigJson(s: AdapterSettings, meta: AdapterMeta, modules: readonly string[]): Record<string, unknown> {
  const targets = Array.isArray(s.targetModules) || s.targetModules === "all" ? shortNames(modules) : (s.targetModules as { regex: string }).regex;
  const out: Record<string, unknown> = {
    peft_type: "LORA",
    task_type: "CAUSAL_LM",
    base_model_name_or_path: meta.baseModelPath,
    revision: null,
    inference_mode: true,
    r: s.r,
    lora_alpha: s.alpha,
    lora_dropout: s.dropout,
    use_rslora: s.rsLora,
    target_modules: targets,
    bias: "none",
    fan_in_fan_out: false,
    modules_to_save: null,
    init_lora_weights: true,
    layers_to_transform: null,
    layers_pattern: null,
    rank_pattern: {},
    alpha_pattern: {},
    use_dora: false,
  };
  if (s.experts > 1) out.lora_nums = s.experts;
  out.pedgpt = {
    format: FORMAT,
    version: FORMAT_VERSION,
    kind: s.experts > 1 ? "moe-lora" : "lora",
    experts: s.experts,
    ...(s.experts > 1 ? { router: { noisy_gating: s.noisyGating, balance_loss_coef: s.balanceLossCoef, w_noise_init: s.wNoiseInit } } : {}),
    base_model_fingerprint: meta.baseFingerprint,
    base_architecture: meta.baseArchitecture,
    modules: [...modules],
    ...(meta.routerPolicy ? { router_policy: meta.routerPolicy } : {}),
    ...(meta.provenance ? { provenance: meta.provenance } : {}),
    ...(meta.universalMerged ? { universal_merged: true } : {}),
  };
  return out;
}
