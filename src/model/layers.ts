/**
 * The decoder shared by all Llama-family architectures: parameter layout (Hugging Face names) and
 * the forward of one decoder layer (pre-norm attention + SwiGLU MLP, residuals), written with the
 * engine's ops only. Which variant runs (separate vs packed q/k/v, biases, RoPE vs ALiBi) is decided by
 * the normalised ModelConfig, so each architecture file only maps its config.
 *
 * Shapes: B batch, T tokens in this call, N = B*T, C width, H/Hkv heads, D head dim, I MLP width.
 */
import {
  attention,
  concatRows,
  linear,
  rmsnorm,
  rope,
  rowSlice,
  splitColumns,
  swiglu,
  add,
  writeInto,
  Tensor,
  type F32,
  type ParamSpec,
  type Parameters,
  type RopeTables,
} from "../engine/index.js";
import type { ModelConfig } from "./config.js";

/** Parameter names and shapes in Hugging Face order. */
export function decoderParamSpecs(cfg: ModelConfig): ParamSpec[] {
  const { vocabSize: V, hiddenSize: C, intermediateSize: I, numHeads: H, numKvHeads: Hkv, headDim: D } = cfg;
  const specs: ParamSpec[] = [{ name: "model.embed_tokens.weight", shape: [V, C] }];
  for (let l = 0; l < cfg.numLayers; l++) {
    const p = `model.layers.${l}.`;
    if (cfg.qkv === "packed") {
      specs.push({ name: p + "self_attn.W_pack.weight", shape: [3 * C, C] }); // (3C, C): q rows, k rows, v rows
    } else {
      for (const [n, rows] of [["q", H * D], ["k", Hkv * D], ["v", Hkv * D]] as const) {
        specs.push({ name: `${p}self_attn.${n}_proj.weight`, shape: [rows, C] });
        if (cfg.qkvBias) specs.push({ name: `${p}self_attn.${n}_proj.bias`, shape: [rows] });
      }
    }
    specs.push({ name: p + "self_attn.o_proj.weight", shape: [C, H * D] });
    if (cfg.oBias) specs.push({ name: p + "self_attn.o_proj.bias", shape: [C] });
    for (const [n, shape] of [["gate", [I, C]], ["up", [I, C]], ["down", [C, I]]] as const) {
      specs.push({ name: `${p}mlp.${n}_proj.weight`, shape });
      if (cfg.mlpBias) specs.push({ name: `${p}mlp.${n}_proj.bias`, shape: [shape[0]] });
    }
    specs.push({ name: p + "input_layernorm.weight", shape: [C] });
    specs.push({ name: p + "post_attention_layernorm.weight", shape: [C] });
  }
  specs.push({ name: "model.norm.weight", shape: [C] });
  if (!cfg.tieWordEmbeddings) specs.push({ name: "lm_head.weight", shape: [V, C] });
  return specs;
}

/** The tensors of one decoder layer, resolved once from the parameter set. */
export interface LayerWeights {
  inputNorm: Tensor;
  postNorm: Tensor;
  /** packed: W_pack (3C, C); separate: null */
  wPack: Tensor | null;
  q: Tensor | null;
  k: Tensor | null;
  v: Tensor | null;
  qBias: Tensor | null;
  kBias: Tensor | null;
  vBias: Tensor | null;
  o: Tensor;
  oBias: Tensor | null;
  gate: Tensor;
  up: Tensor;
  down: Tensor;
  gateBias: Tensor | null;
  upBias: Tensor | null;
  downBias: Tensor | null;
}

export function layerWeights(cfg: ModelConfig, params: Parameters, l: number): LayerWeights {
  const p = `model.layers.${l}.`;
  const opt = (name: string): Tensor | null => (params.has(p + name) ? params.get(p + name) : null);
  const packed = cfg.qkv === "packed";
  return {
    inputNorm: params.get(p + "input_layernorm.weight"),
    postNorm: params.get(p + "post_attention_layernorm.weight"),
    wPack: packed ? params.get(p + "self_attn.W_pack.weight") : null,
    q: packed ? null : params.get(p + "self_attn.q_proj.weight"),
    k: packed ? null : params.get(p + "self_attn.k_proj.weight"),
    v: packed ? null : params.get(p + "self_attn.v_proj.weight"),
    qBias: opt("self_attn.q_proj.bias"),
    kBias: opt("self_attn.k_proj.bias"),
    vBias: opt("self_attn.v_proj.bias"),
    o: params.get(p + "self_attn.o_proj.weight"),
    oBias: opt("self_attn.o_proj.bias"),
    gate: params.get(p + "mlp.gate_proj.weight"),
    up: params.get(p + "mlp.up_proj.weight"),
    down: params.get(p + "mlp.down_proj.weight"),
    gateBias: opt("mlp.gate_proj.bias"),
    upBias: opt("mlp.up_proj.bias"),
    downBias: opt("mlp.down_proj.bias"),
  };
}

/** All leaves of a layer (what activation checkpointing must know about). */
export function layerLeaves(w: LayerWeights): Tensor[] {
  return Object.values(w).filter((t): t is Tensor => t instanceof Tensor);
}

/**
 * Past keys and values for incremental decoding: per layer and per sequence, (capacity, Hkv, D)
 * buffers, plus which cached positions are real tokens (left padding in batched generation).
 * Inference only.
 */
export class KVCache {
  readonly k: Tensor[][];
  readonly v: Tensor[][];
  /** per sequence: 1 = real token, 0 = padding, for each cached position */
  readonly keyMask: Uint8Array[];
  /** positions filled (the same for every sequence) */
  length = 0;

  constructor(
    readonly layers: number,
    readonly B: number,
    readonly capacity: number,
    readonly kvWidth: number,
  ) {
    const make = (): Tensor[][] =>
      Array.from({ length: layers }, () => Array.from({ length: B }, () => Tensor.zeros([capacity, kvWidth], { name: "kv_cache" })));
    this.k = make();
    this.v = make();
    this.keyMask = Array.from({ length: B }, () => new Uint8Array(capacity));
  }

  /** Forget everything (reuse the buffers for a new prompt). */
  clear(): void {
    this.length = 0;
  }
}

/**
 * Replaces the forward of a named linear layer, so adapters attach without the decoder knowing about
 * them (they come as stacked hooks, below, composed into one of these). `module` is the Hugging Face module path ("model.layers.3.self_attn.q_proj",
 * "model.layers.0.self_attn.W_pack", "model.layers.1.mlp.down_proj"); return `linear(x, weight, bias)`
 * plus your delta, or anything else of the same shape. With activation checkpointing the hook runs again
 * in backward: it must compute the same thing both times (e.g. draw router noise per step, not per call).
 */
export type LinearHook = (module: string, x: Tensor, weight: Tensor, bias: Tensor | null) => Tensor;

/**
 * One layer of a stack of linear hooks (an adapter, usage logging, …). `wrap` sees the module path and
 * input and calls `next(x)` for whatever lies beneath it (the hooks added before it, then the plain
 * linear); modules it does not `handle` skip it at no cost. lm_head goes through the stack only when
 * some hook asks for it (`lmHead`), with the head weight the model uses (NormHead already applied).
 */
export interface StackedLinearHook {
  handles(module: string): boolean;
  wrap(module: string, x: Tensor, next: (x: Tensor) => Tensor): Tensor;
  lmHead?: boolean;
}

/** The single hook a forward runs: `stack` (last added = outermost) over `base` (or plain linear). */
export function composeLinearHooks(stack: readonly StackedLinearHook[], base: LinearHook | null): LinearHook | null {
  if (stack.length === 0) return base;
  return (module, x, weight, bias) => {
    const at = (i: number, inp: Tensor): Tensor => {
      for (let j = i; j >= 0; j--) {
        const h = stack[j]!;
        if (h.handles(module)) return h.wrap(module, inp, (y) => at(j - 1, y));
      }
      return base ? base(module, inp, weight, bias) : linear(inp, weight, bias, module);
    };
    return at(stack.length - 1, x);
  };
}

/** Everything a layer needs besides its weights, fixed for one forward call. */
export interface LayerContext {
  cfg: ModelConfig;
  B: number;
  T: number;
  /** (B*T) absolute positions (RoPE) */
  positions: Int32Array;
  rope: RopeTables | null;
  alibi: F32 | null;
  /** (B, T) key padding mask without a cache; null = all real */
  keyMask: Uint8Array | null;
  /** (B, T) document ids of packed sequences (attention stays inside each); null = one per sequence */
  segmentIds?: Int32Array | null;
  cache: KVCache | null;
  /** adapters; null = plain linear layers */
  hook: LinearHook | null;
}

function proj(ctx: LayerContext, module: string, x: Tensor, weight: Tensor, bias: Tensor | null, name: string): Tensor {
  return ctx.hook ? ctx.hook(module, x, weight, bias) : linear(x, weight, bias, name);
}

function qkvProjections(h: Tensor, w: LayerWeights, ctx: LayerContext, l: number): [Tensor, Tensor, Tensor] {
  const p = `model.layers.${l}.self_attn.`;
  if (w.wPack) {
    // One gemm for the fused (3C, C) weight, then the (N, 3C) output split into q, k, v.
    const C = ctx.cfg.hiddenSize;
    const qkv = proj(ctx, p + "W_pack", h, w.wPack, null, "W_pack");
    const [q, k, v] = splitColumns(qkv, [C, C, C], ["q", "k", "v"]);
    return [q!, k!, v!];
  }
  return [
    proj(ctx, p + "q_proj", h, w.q!, w.qBias, "q"),
    proj(ctx, p + "k_proj", h, w.k!, w.kBias, "k"),
    proj(ctx, p + "v_proj", h, w.v!, w.vBias, "v"),
  ];
}

function cachedAttention(q: Tensor, k: Tensor, v: Tensor, ctx: LayerContext, l: number): Tensor {
  const { cfg, B, T } = ctx;
  const cache = ctx.cache!;
  const H = cfg.numHeads;
  const Hkv = cfg.numKvHeads;
  const D = cfg.headDim;
  const past = cache.length;
  const Tk = past + T;
  const width = Hkv * D;
  const outs: Tensor[] = [];
  for (let b = 0; b < B; b++) {
    const kc = cache.k[l]![b]!;
    const vc = cache.v[l]![b]!;
    writeInto(kc, past * width, rowSlice(k, b * T, T));
    writeInto(vc, past * width, rowSlice(v, b * T, T));
    outs.push(
      attention(rowSlice(q, b * T, T), kc.slice(0, [Tk, width]), vc.slice(0, [Tk, width]), {
        B: 1, Tq: T, Tk, H, Hkv, D,
        alibiSlopes: ctx.alibi,
        keyMask: cache.keyMask[b]!.subarray(0, Tk),
      }),
    );
  }
  return B === 1 ? outs[0]! : concatRows(outs, "attention");
}

/** One pre-norm decoder layer: x + Attn(RMSNorm(x)), then + MLP(RMSNorm(·)). x is (N, C). */
export function decoderLayer(x: Tensor, w: LayerWeights, ctx: LayerContext, l: number): Tensor {
  const { cfg, B, T } = ctx;
  const H = cfg.numHeads;
  const Hkv = cfg.numKvHeads;
  const D = cfg.headDim;
  const h = rmsnorm(x, w.inputNorm, cfg.rmsNormEps, "input_layernorm");
  let [q, k, v] = qkvProjections(h, w, ctx, l);
  if (ctx.rope) {
    q = rope(q, ctx.rope, ctx.positions, { B, T, heads: H, D }, "q_rot");
    k = rope(k, ctx.rope, ctx.positions, { B, T, heads: Hkv, D }, "k_rot");
  }
  const a = ctx.cache
    ? cachedAttention(q, k, v, ctx, l)
    : attention(q, k, v, { B, Tq: T, Tk: T, H, Hkv, D, alibiSlopes: ctx.alibi, keyMask: ctx.keyMask, segmentIds: ctx.segmentIds ?? null });
  const p = `model.layers.${l}.`;
  const x1 = add(x, proj(ctx, p + "self_attn.o_proj", a, w.o, w.oBias, "o_proj"), "residual_attn");
  const h2 = rmsnorm(x1, w.postNorm, cfg.rmsNormEps, "post_attention_layernorm");
  const gate = proj(ctx, p + "mlp.gate_proj", h2, w.gate, w.gateBias, "gate_proj");
  const up = proj(ctx, p + "mlp.up_proj", h2, w.up, w.upBias, "up_proj");
  return add(x1, proj(ctx, p + "mlp.down_proj", swiglu(gate, up), w.down, w.downBias, "down_proj"), "residual_mlp");
}
