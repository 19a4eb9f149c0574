/**
 * LoRA and MoE-LoRA adapters on a model's linear layers, attached as a stacked linear hook.
 *
 * One implementation for both: a plain LoRA is the E = 1 case. Per adapted linear W0 (out, in):
 *
 *   y = W0·x + b + s · B · (G(x) ⊙ A · drop(x))
 *
 * with A (E·r, in) = the E experts' down-projections stacked, B (out, E·r) their up-projections side
 * by side, and G(x) (E·r) the per-token gate of each expert repeated over its r columns: 1 for
 * expert 0 (universal) and g = softmax(x·W_routeᵀ + ε ⊙ softplus(x·W_noiseᵀ)) for experts 1..E−1
 * (BRIEF §2.2; ε only in training). So the whole layer is two gemms and one product, whatever E is.
 * s = alpha/r, or alpha/√r with rsLoRA; for E = 1 the gate is the constant s.
 *
 * On disk the tensors take PEFT's / the seed's layouts (io.ts converts): lora_A.weight (r, in),
 * lora_B.weight (out, r); lora_moe_A [E, in, r], lora_moe_B [E, r, out], lora_route.weight [E−1, in],
 * w_noise [in, E−1]. Parameter names are the saved key names, so optimizer state keys match files.
 *
 * Randomness (dropout masks, router noise ε) comes from the RNG the caller passes to `train`, drawn
 * once per module and step (`nextStep`), so a recomputed layer (activation checkpointing) sees the
 * same draws and a resumed run can reproduce them by restoring its RNG.
 *
 * Not here: files (io.ts), the seed's layouts (seed.ts), option parsing (config.ts).
 */
import { add, kernels, linear, matmul, mul, Parameters, reshape, scale, softmax, softplus, sum, Tensor } from "../../engine/index.js";
import { streamSeed } from "../../train/trainer/streams.js";
import { Rng } from "../init.js";
import type { StackedLinearHook } from "../layers.js";
import type { CausalLM } from "../model.js";
import { resolveTargets, scaling, validateSettings, type AdapterMeta, type AdapterSettings } from "./config.js";
import { AdapterError, AdapterMergeError, AdapterShapeError, AdapterTargetError } from "./errors.js";
import { baseFingerprint } from "./fingerprint.js";

/** What training randomness needs: the trainer owns (and checkpoints) it. */
export interface AdapterRng {
  uniform(): number;
  normal(): number;
}

export const KEY_PREFIX = "base_model.model.";

/** Stream purpose of fixed router noise (the trainer's own streams use 1..3). */
export const FIXED_NOISE_STREAM = 4;

/** 32-bit FNV-1a of the UTF-8 bytes of `text`. */
export function fnv1a32(text: string): number {
  let h = 0x811c9dc5;
  for (const b of new TextEncoder().encode(text)) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h >>> 0;
}

/**
 * Fixed router noise of module path `module` for a row of `rowLength` tokens and E − 1 routed
 * experts, row-major (position, expert): entry p·(E−1)+e is the (p·(E−1)+e)-th normal of
 * `new Rng(streamSeed(seed, 4, fnv1a32(module), 0))`. Position p is the token's index in its row,
 * whatever segment it belongs to, so any backend can rebuild the same table from these facts alone.
 */
export function fixedRouterNoise(seed: number, module: string, rowLength: number, routed: number): Float32Array {
  const rng = new Rng(streamSeed(seed, FIXED_NOISE_STREAM, fnv1a32(module), 0));
  const out = new Float32Array(rowLength * routed);
  for (let i = 0; i < out.length; i++) out[i] = rng.normal();
  return out;
}

/** The parameter/key names of one module's tensors. */
export function tensorNames(module: string, experts: number): { A: string; B: string; route: string | null; noise: string | null } {
  const p = KEY_PREFIX + module;
  return experts === 1
    ? { A: `${p}.lora_A.weight`, B: `${p}.lora_B.weight`, route: null, noise: null }
    : { A: `${p}.lora_moe_A`, B: `${p}.lora_moe_B`, route: `${p}.lora_route.weight`, noise: `${p}.w_noise` };
}

interface ModuleState {
  module: string;
  out: number;
  inF: number;
  A: Tensor;
  B: Tensor;
  route: Tensor | null;
  noise: Tensor | null;
}

/** Router statistics of one module since the last `takeRouterStats`. */
export interface RouterStats {
  module: string;
  /** rows routed (every position, padding included) */
  tokens: number;
  /** mean gate of each routed expert (1..E−1) */
  meanGate: number[];
  /** share of tokens whose largest gate is that expert */
  top1: number[];
  /** mean entropy of the gate distribution, nats (ln(E−1) = uniform) */
  entropy: number;
}

interface StatsAcc {
  tokens: number;
  gate: Float64Array;
  top1: Float64Array;
  entropy: number;
}

export class LoraAdapter implements StackedLinearHook {
  readonly settings: AdapterSettings;
  readonly meta: AdapterMeta;
  /** adapted module paths, in model order */
  readonly modules: readonly string[];
  readonly params: Parameters;
  /** false: the model runs as if the adapter were absent (DPO's reference model) */
  enabled = true;
  readonly lmHead: boolean;
  private readonly byModule = new Map<string, ModuleState>();
  private readonly s: number;
  private rng: AdapterRng | null = null;
  /** tokens per row of the current batch (needed by fixed router noise) */
  private rowLength: number | null = null;
  private fixedNoise = new Map<string, Float32Array>();
  /** seed of fixed router noise (the run's seed; `create` sets it from its `seed`) */
  noiseSeed = 0;
  private draws = new Map<string, { mask: Tensor | null; eps: Tensor | null }>();
  private probs: Tensor[] = [];
  private stats = new Map<string, StatsAcc>();
  private merged: "none" | "all" | "universal" = "none";
  private constCache = new Map<string, Tensor>();
  private attachedTo: CausalLM | null = null;

  /** Tensors in memory layout (see module comment); use `create`, io.ts `loadAdapter` or `fromTensors`. */
  constructor(settings: AdapterSettings, meta: AdapterMeta, shapes: ReadonlyMap<string, readonly [number, number]>) {
    this.settings = validateSettings(settings, "adapter settings");
    this.meta = meta;
    this.modules = [...shapes.keys()];
    if (this.modules.length === 0) throw new AdapterError("an adapter needs at least one target module");
    this.s = scaling(settings);
    const { r, experts: E } = settings;
    const specs: { name: string; shape: number[] }[] = [];
    for (const [m, [out, inF]] of shapes) {
      const n = tensorNames(m, E);
      specs.push({ name: n.A, shape: [E * r, inF] }, { name: n.B, shape: [out, E * r] });
      if (E > 1) specs.push({ name: n.route!, shape: [E - 1, inF] }, { name: n.noise!, shape: [E - 1, inF] });
    }
    this.params = new Parameters(specs);
    for (const [m, [out, inF]] of shapes) {
      const n = tensorNames(m, E);
      this.byModule.set(m, {
        module: m, out, inF,
        A: this.params.get(n.A), B: this.params.get(n.B),
        route: n.route ? this.params.get(n.route) : null,
        noise: n.noise ? this.params.get(n.noise) : null,
      });
    }
    this.lmHead = shapes.has("lm_head");
  }

  /**
   * A fresh adapter for `model` with PEFT's init: A kaiming-uniform (LoRA U(±1/√in); MoE over the
   * [E, in, r] tensor as the seed, U(±1/√(in·r))), B zeros (so the model is unchanged), the router
   * U(±1/√in), W_noise as `wNoiseInit`.
   */
  static create(model: CausalLM, settings: AdapterSettings, opts: { seed?: number; baseModelPath?: string | null } = {}): LoraAdapter {
    validateSettings(settings, "adapter settings");
    const modules = resolveTargets(model, settings.targetModules, "adapter settings");
    const shapes = shapesOf(model, modules);
    const meta: AdapterMeta = {
      baseFingerprint: baseFingerprint(model),
      baseArchitecture: model.config.architecture,
      baseModelPath: opts.baseModelPath ?? null,
      routerPolicy: null,
      provenance: null,
    };
    const a = new LoraAdapter(settings, meta, shapes);
    a.noiseSeed = opts.seed ?? 0;
    const rng = new Rng(opts.seed ?? 0);
    const E = settings.experts;
    const uniform = (t: Tensor, bound: number) => {
      for (let i = 0; i < t.size; i++) t.data[i] = (2 * rng.uniform() - 1) * bound;
    };
    for (const st of a.byModule.values()) {
      uniform(st.A, E === 1 ? 1 / Math.sqrt(st.inF) : 1 / Math.sqrt(st.inF * settings.r));
      if (st.route) uniform(st.route, 1 / Math.sqrt(st.inF));
      if (st.noise && settings.wNoiseInit === "seed") uniform(st.noise, 1 / Math.sqrt(E - 1));
    }
    return a;
  }

  /** Trainable tensors (named with their saved keys). */
  parameters(): Tensor[] {
    return [...this.params.list];
  }

  /** Scalars trained. */
  count(): number {
    return this.params.count();
  }

  /** The scale s applied to every expert's output. */
  get scale(): number {
    return this.s;
  }

  /** Modules and tensors, in memory layout. */
  module(m: string): Readonly<ModuleState> {
    const st = this.byModule.get(m);
    if (!st) throw new AdapterError(`the adapter has no module "${m}"`);
    return st;
  }

  // ---- attaching ----

  /**
   * Attach to `model` (whose layers must have the shapes this adapter was made for) as a stacked
   * linear hook. By default the base parameters are frozen. Returns the detach function.
   */
  attach(model: CausalLM, opts: { freezeBase?: boolean } = {}): () => void {
    if (this.attachedTo) throw new AdapterError("this adapter is already attached to a model; detach it first");
    const want = shapesOf(model, this.modules.filter((m) => hasModule(model, m)));
    for (const st of this.byModule.values()) {
      const got = want.get(st.module);
      if (!got) throw new AdapterTargetError(`adapter module "${st.module}" does not exist in this ${model.config.architecture} (${model.config.numLayers} layers)`);
      if (got[0] !== st.out || got[1] !== st.inF) throw new AdapterShapeError("adapter", `module "${st.module}" is (${st.out}, ${st.inF}) in the adapter but (${got[0]}, ${got[1]}) in the model`);
    }
    if (opts.freezeBase ?? true) model.params.setRequiresGrad(false);
    const remove = model.addLinearHook(this);
    this.attachedTo = model;
    return () => {
      remove();
      this.attachedTo = null;
    };
  }

  handles(module: string): boolean {
    return this.enabled && this.merged !== "all" && this.byModule.has(module);
  }

  /** Run fn with the adapter switched off (the reference model of DPO with LoRA). */
  withDisabled<T>(fn: () => T): T {
    const prev = this.enabled;
    this.enabled = false;
    try {
      return fn();
    } finally {
      this.enabled = prev;
    }
  }

  // ---- training mode and randomness ----

  /**
   * Training mode: dropout and router noise on, drawn from `rng` (which the caller owns and checkpoints);
   * with `routerNoise: "fixed"` the noise comes from the fixed table instead, which needs `rowLength`
   * (tokens per row of the batch).
   */
  train(rng: AdapterRng, opts: { rowLength?: number | undefined } = {}): void {
    this.rng = rng;
    this.rowLength = opts.rowLength ?? null;
    this.nextStep();
  }

  /** Inference mode: no dropout, no noise (two identical calls give identical outputs). */
  eval(): void {
    this.rng = null;
    this.nextStep();
  }

  get training(): boolean {
    return this.rng !== null;
  }

  /** Start a new micro-step: new dropout masks and noise on first use, balance-loss terms cleared. */
  nextStep(): void {
    this.draws.clear();
    this.probs = [];
  }

  private drawsFor(module: string, N: number, inF: number): { mask: Tensor | null; eps: Tensor | null } {
    const key = `${module}#${N}`;
    let d = this.draws.get(key);
    if (d) return d;
    const rng = this.rng!;
    const { dropout: p, experts: E, noisyGating } = this.settings;
    let mask: Tensor | null = null;
    if (p > 0) {
      mask = Tensor.zeros([N, inF], { name: `${module}.dropout_mask` });
      const keep = 1 / (1 - p);
      for (let i = 0; i < mask.size; i++) mask.data[i] = rng.uniform() >= p ? keep : 0;
    }
    let eps: Tensor | null = null;
    if (E > 1 && noisyGating && this.settings.routerNoise === "fixed") {
      const L = this.rowLength;
      if (L === null || !Number.isInteger(L) || L < 1 || N % L !== 0) {
        throw new AdapterError(`fixed router noise needs the row length of the batch (got ${L} for ${N} tokens); pass it to train(rng, { rowLength })`);
      }
      // The table of a shorter row is a prefix of a longer one's: keep the longest per module.
      const key = `${this.noiseSeed}#${module}`;
      let table = this.fixedNoise.get(key);
      if (!table || table.length < L * (E - 1)) this.fixedNoise.set(key, (table = fixedRouterNoise(this.noiseSeed, module, L, E - 1)));
      eps = Tensor.zeros([N, E - 1], { name: `${module}.router_noise` });
      for (let row = 0; row < N; row += L) eps.data.set(table.subarray(0, L * (E - 1)), row * (E - 1));
    } else if (E > 1 && noisyGating) {
      eps = Tensor.zeros([N, E - 1], { name: `${module}.router_noise` });
      for (let i = 0; i < eps.size; i++) eps.data[i] = rng.normal();
    }
    d = { mask, eps };
    this.draws.set(key, d);
    return d;
  }

  // ---- forward ----

  wrap(module: string, x: Tensor, next: (x: Tensor) => Tensor): Tensor {
    const y = next(x);
    const st = this.byModule.get(module)!;
    const E = this.settings.experts;
    const d = this.training ? this.drawsFor(module, x.rows, st.inF) : null;
    const xin = d?.mask ? mul(x, d.mask, "lora_dropout") : x;
    let h = linear(xin, st.A, null, "lora_A");
    h = E === 1 ? scale(h, this.s, "lora_scale") : mul(h, this.gates(st, x, d?.eps ?? null), "lora_gate");
    return add(y, linear(h, st.B, null, "lora_B"), "lora_out");
  }

  /** (N, E·r): s for expert 0's columns (0 once merged), s·g_e for expert e's. */
  private gates(st: ModuleState, x: Tensor, eps: Tensor | null): Tensor {
    const { experts: E, r } = this.settings;
    let logits = linear(x, st.route!, null, "router_logits");
    if (eps) logits = add(logits, mul(eps, softplus(linear(x, st.noise!, null, "router_noise_logits"), "router_noise_std"), "router_noise"), "router_noisy_logits");
    const sm = softmax(logits, "router");
    const p = sm.rank === 2 ? sm : reshape(sm, [sm.rows, sm.cols]);
    this.observe(st.module, p);
    if (this.training && this.settings.balanceLossCoef > 0) this.probs.push(p);
    const N = x.rows;
    return add(matmul(p, this.constant(`expand`, E - 1, E * r, (e, c) => (Math.floor(c / r) === e + 1 ? this.s : 0)), "gate_expand"),
      this.constant(`universal#${N}#${this.merged}`, N, E * r, (_n, c) => (c < r && this.merged === "none" ? this.s : 0)), "gates");
  }

  private constant(key: string, rows: number, cols: number, f: (i: number, j: number) => number): Tensor {
    let t = this.constCache.get(key);
    if (!t) {
      t = Tensor.zeros([rows, cols], { name: key });
      for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) t.data[i * cols + j] = f(i, j);
      this.constCache.set(key, t);
    }
    return t;
  }

  private observe(module: string, p: Tensor): void {
    const K = p.cols;
    const N = p.rows;
    let acc = this.stats.get(module);
    if (!acc) this.stats.set(module, (acc = { tokens: 0, gate: new Float64Array(K), top1: new Float64Array(K), entropy: 0 }));
    const d = p.data;
    for (let n = 0; n < N; n++) {
      let best = 0;
      for (let k = 0; k < K; k++) {
        const v = d[n * K + k]!;
        acc.gate[k]! += v;
        if (v > d[n * K + best]!) best = k;
        if (v > 0) acc.entropy -= v * Math.log(v);
      }
      acc.top1[best]! += 1;
    }
    acc.tokens += N;
  }

  /** Per-module expert usage and router entropy since the last call (then reset). Empty for plain LoRA. */
  takeRouterStats(): RouterStats[] {
    const out: RouterStats[] = [];
    for (const m of this.modules) {
      const a = this.stats.get(m);
      if (!a || a.tokens === 0) continue;
      out.push({ module: m, tokens: a.tokens, meanGate: [...a.gate].map((v) => v / a.tokens), top1: [...a.top1].map((v) => v / a.tokens), entropy: a.entropy / a.tokens });
    }
    this.stats.clear();
    return out;
  }

  /**
   * Switch-style load-balancing loss over the routed experts of every module run since `nextStep`:
   * coef · mean over modules of K·Σ_i f_i·P_i (K = E−1, f_i the share of tokens whose top gate is i,
   * P_i the mean gate of i; the gradient flows through P). null when off or nothing was routed.
   * Needs a recorded forward without activation checkpointing (whose first pass keeps no graph).
   */
  balanceLoss(): Tensor | null {
    const coef = this.settings.balanceLossCoef;
    if (coef === 0 || this.probs.length === 0) return null;
    let total: Tensor | null = null;
    for (const p of this.probs) {
      if (!p.requiresGrad) throw new AdapterError("balanceLoss: the router outputs were computed without a gradient (gradient checkpointing on, or outside a recording tape); the balance loss needs gradient checkpointing off");
      const K = p.cols;
      const N = p.rows;
      const f = new Float64Array(K);
      for (let n = 0; n < N; n++) {
        let best = 0;
        for (let k = 1; k < K; k++) if (p.data[n * K + k]! > p.data[n * K + best]!) best = k;
        f[best]! += 1 / N;
      }
      const w = new Float32Array(N * K);
      const c = (coef * K) / (N * this.probs.length);
      for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) w[n * K + k] = c * f[k]!;
      const term = sum(p, w, "balance_loss");
      total = total ? add(total, term, "balance_loss") : term;
    }
    return total;
  }

  // ---- merging ----

  /**
   * Add s·B·A into the base weights of `model` and stop applying the adapter in the hook. A MoE-LoRA's
   * token-routed experts are not a fixed weight change and cannot be merged: pass `universalOnly` to
   * merge expert 0 (the routed experts keep running in the hook while attached).
   */
  merge(model: CausalLM, opts: { universalOnly?: boolean } = {}): void {
    if (this.merged !== "none") throw new AdapterMergeError("the adapter is already merged; unmerge it first");
    if (this.settings.experts > 1 && !opts.universalOnly) {
      throw new AdapterMergeError(`a MoE-LoRA adapter (${this.settings.experts} experts) cannot be merged: experts 1..${this.settings.experts - 1} are mixed per token by the router, which is not a fixed weight; merge only the universal expert 0 (universalOnly) and serve the routed experts with this engine`);
    }
    this.addInto(model, +1);
    this.merged = this.settings.experts === 1 ? "all" : "universal";
  }

  /** Subtract what `merge` added (the base weights come back up to float32 rounding). */
  unmerge(model: CausalLM): void {
    if (this.merged === "none") throw new AdapterMergeError("the adapter is not merged");
    this.addInto(model, -1);
    this.merged = "none";
  }

  get mergedState(): "none" | "all" | "universal" {
    return this.merged;
  }

  private addInto(model: CausalLM, sign: number): void {
    const { r, experts: E } = this.settings;
    const k = kernels();
    const targets = this.modules.map((m) => ({ st: this.byModule.get(m)!, w: model.params.get(m === "lm_head" ? "lm_head.weight" : `${m}.weight`) }));
    for (const { st, w } of targets) {
      if (w.shape[0] !== st.out || w.shape[1] !== st.inF) throw new AdapterShapeError("adapter", `module "${st.module}" is (${st.out}, ${st.inF}) in the adapter but (${w.shape[0]}, ${w.shape[1]}) in the model`);
    }
    for (const { st, w } of targets) {
      // W (out, in) += sign·s · B[:, 0:r] (out, r) · A[0:r, :] (r, in)
      k.gemm({ transA: false, transB: false, M: st.out, N: st.inF, K: r, alpha: sign * this.s, A: st.B.data, lda: E * r, B: st.A.data, ldb: st.inF, beta: 1, C: w.data, ldc: st.inF });
      w.version++;
    }
  }

}

function hasModule(model: CausalLM, m: string): boolean {
  return m === "lm_head" ? model.params.has("lm_head.weight") || model.config.tieWordEmbeddings : model.params.has(`${m}.weight`);
}

/** [out, in] of each module in `model` (lm_head: the head's shape). */
export function shapesOf(model: CausalLM, modules: readonly string[]): Map<string, [number, number]> {
  const out = new Map<string, [number, number]>();
  for (const m of modules) {
    if (m === "lm_head") out.set(m, [model.config.vocabSize, model.config.hiddenSize]);
    else {
      const w = model.params.get(`${m}.weight`);
      out.set(m, [w.shape[0]!, w.shape[1]!]);
    }
  }
  return out;
}
