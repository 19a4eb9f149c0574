/**
 * A causal language model of the Llama family, built from a normalised config: parameters with
 * Hugging Face names, forward to logits (optionally with a KV cache), and the causal-LM loss with
 * transformers' semantics (labels shifted inside, -100 ignored, mean over counted tokens).
 *
 * Not here: reading config.json (architectures.ts), files (checkpoint.ts), sampling (generate.ts),
 * training loops (train/).
 */
import {
  checkpoint,
  crossEntropy,
  embedding,
  IGNORE_INDEX,
  isRecording,
  linear,
  noGrad,
  Parameters,
  rmsnorm,
  rowNormalize,
  rowSlice,
  concatRows,
  reshape,
  sum,
  alibiSlopes,
  type RopeTables,
  Tensor,
  type Tape,
} from "../engine/index.js";
import type { ModelConfig } from "./config.js";
import { initParameters } from "./init.js";
import { modelRopeTables } from "./rope.js";
import {
  composeLinearHooks,
  decoderLayer,
  decoderParamSpecs,
  KVCache,
  layerLeaves,
  layerWeights,
  type LayerContext,
  type LayerWeights,
  type LinearHook,
  type StackedLinearHook,
} from "./layers.js";

/** A batch of token sequences, row-major (B, T). */
export interface ModelInput {
  ids: Int32Array;
  B: number;
  T: number;
  /** (B, T): 1 = real token, 0 = padding. Defaults to all ones. */
  attentionMask?: Uint8Array | null;
  /** (B, T) absolute positions. Defaults to 0..T-1 (plus the cache length when decoding). */
  positions?: Int32Array | null;
  /**
   * (B, T) document id of each token when several documents are packed into one sequence: a token
   * attends only to earlier tokens of its own document (positions restarting per document are the
   * caller's, via `positions`). null = one document per sequence. Not with a KV cache.
   */
  segmentIds?: Int32Array | null;
}

export interface LossInput extends ModelInput {
  /** (B, T) labels aligned with ids (transformers convention: shifted inside); -100 = not counted. */
  labels: Int32Array;
}

export interface LossOutput {
  /** mean loss over counted targets (0 when none counted) */
  loss: Tensor;
  /** (B*T) per-position loss of predicting the next label; 0 where ignored. -tokenLosses = log-probs. */
  tokenLosses: Tensor;
  /** (B*T) the shifted targets used (IGNORE_INDEX where not counted) */
  targets: Int32Array;
  /** number of counted targets */
  count: number;
  /** logits (B, T, V); valid until the tape's next step */
  logits: Tensor;
}

export interface ForwardOptions {
  /** decode incrementally: keys/values of these tokens are appended to the cache */
  cache?: KVCache | null;
  /** return only the last position's logits per sequence: (B, 1, V) */
  lastOnly?: boolean;
}

export class ModelInputError extends RangeError {
  constructor(message: string) {
    super(message);
    this.name = "ModelInputError";
  }
}

export class CausalLM {
  readonly config: ModelConfig;
  readonly params: Parameters;
  /** Recompute each decoder layer in backward instead of keeping its activations. */
  gradientCheckpointing = false;
  /** A single replacement of every linear layer (see LinearHook); stacked hooks run above it. */
  linearHook: LinearHook | null = null;
  private readonly hookStack: StackedLinearHook[] = [];
  private readonly layers: LayerWeights[];
  private ropeCache: RopeTables | null = null;
  private readonly alibi: Float32Array | null;
  private normHeadCache: { version: number; data: Float32Array; tensor: Tensor } | null = null;

  constructor(config: ModelConfig, opts: { seed?: number } = {}) {
    this.config = config;
    this.params = new Parameters(decoderParamSpecs(config));
    this.layers = Array.from({ length: config.numLayers }, (_, l) => layerWeights(config, this.params, l));
    this.alibi = config.position === "alibi" ? alibiSlopes(config.numHeads) : null;
    if (opts.seed !== undefined) initParameters(config, this.params, opts.seed);
  }

  /**
   * Stack a hook on the linear layers (adapters, logging); several can be stacked, the last added runs
   * outermost. Returns the function that removes it.
   */
  addLinearHook(hook: StackedLinearHook): () => void {
    this.hookStack.push(hook);
    return () => {
      const i = this.hookStack.indexOf(hook);
      if (i >= 0) this.hookStack.splice(i, 1);
    };
  }

  /** The hooks in effect, composed (null: plain linear layers). */
  private effectiveHook(): LinearHook | null {
    return composeLinearHooks(this.hookStack, this.linearHook);
  }

  /** All parameters, in checkpoint order. */
  parameters(): Tensor[] {
    return [...this.params.list];
  }

  /** A KV cache for B sequences of up to `capacity` tokens in total (prompt + generated). */
  newCache(B: number, capacity: number): KVCache {
    return new KVCache(this.config.numLayers, B, capacity, this.config.numKvHeads * this.config.headDim);
  }

  /** RoPE tables covering positions [0, n); grown by doubling, so they are rebuilt rarely. */
  private ropeFor(n: number): RopeTables {
    if (this.ropeCache === null || this.ropeCache.maxPos < n) {
      const size = Math.max(n, Math.min(this.config.maxPositions, 2 * (this.ropeCache?.maxPos ?? 0)), 64);
      this.ropeCache = modelRopeTables(this.config, size);
    }
    return this.ropeCache;
  }

  private checkInput(x: ModelInput, cache: KVCache | null): void {
    const { ids, B, T } = x;
    if (!Number.isInteger(B) || B < 1 || !Number.isInteger(T) || T < 1) throw new ModelInputError(`batch shape must be B >= 1, T >= 1 (got B=${B}, T=${T})`);
    if (ids.length !== B * T) throw new ModelInputError(`ids has ${ids.length} entries, expected B*T = ${B * T}`);
    const V = this.config.vocabSize;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (id < 0 || id >= V) throw new ModelInputError(`token id ${id} at batch ${Math.floor(i / T)}, position ${i % T} is outside the vocabulary [0, ${V})`);
    }
    if (x.attentionMask && x.attentionMask.length !== B * T) throw new ModelInputError(`attentionMask has ${x.attentionMask.length} entries, expected ${B * T}`);
    if (x.positions && x.positions.length !== B * T) throw new ModelInputError(`positions has ${x.positions.length} entries, expected ${B * T}`);
    if (x.segmentIds && x.segmentIds.length !== B * T) throw new ModelInputError(`segmentIds has ${x.segmentIds.length} entries, expected ${B * T}`);
    if (x.segmentIds && cache) throw new ModelInputError("segmentIds (packed documents) cannot be combined with a KV cache; decode each document on its own");
    if (cache) {
      if (isRecording()) throw new ModelInputError("a KV cache is for inference only; run inside noGrad or tape.infer");
      if (cache.B !== B) throw new ModelInputError(`cache is for ${cache.B} sequences, batch has ${B}`);
      if (cache.length + T > cache.capacity) throw new ModelInputError(`cache holds ${cache.length} of ${cache.capacity} positions; ${T} more do not fit`);
    }
  }

  private positionsFor(x: ModelInput, past: number): Int32Array {
    if (x.positions) return x.positions;
    const pos = new Int32Array(x.B * x.T);
    for (let b = 0; b < x.B; b++) for (let t = 0; t < x.T; t++) pos[b * x.T + t] = past + t;
    return pos;
  }

  /** Final hidden states (after model.norm), (B*T, C) — or (B, C) with lastOnly. */
  hiddenStates(x: ModelInput, opts: ForwardOptions = {}): Tensor {
    const cache = opts.cache ?? null;
    this.checkInput(x, cache);
    const cfg = this.config;
    const past = cache ? cache.length : 0;
    const positions = this.positionsFor(x, past);
    let maxPos = 0;
    for (let i = 0; i < positions.length; i++) {
      if (positions[i]! < 0) throw new ModelInputError(`negative position ${positions[i]} at index ${i}`);
      if (positions[i]! > maxPos) maxPos = positions[i]!;
    }
    let keyMask: Uint8Array | null = null;
    if (x.attentionMask) {
      keyMask = x.attentionMask;
      if (cache) {
        for (let b = 0; b < x.B; b++) cache.keyMask[b]!.set(x.attentionMask.subarray(b * x.T, (b + 1) * x.T), past);
      }
    } else if (cache) {
      for (let b = 0; b < x.B; b++) cache.keyMask[b]!.fill(1, past, past + x.T);
    }
    const ctx: LayerContext = {
      cfg,
      B: x.B,
      T: x.T,
      positions,
      rope: cfg.position === "rope" ? this.ropeFor(maxPos + 1) : null,
      alibi: this.alibi,
      keyMask,
      segmentIds: x.segmentIds ?? null,
      cache,
      hook: this.effectiveHook(),
    };
    let h = embedding(this.params.get("model.embed_tokens.weight"), x.ids, [x.B * x.T], "embed_tokens");
    for (let l = 0; l < this.layers.length; l++) {
      const w = this.layers[l]!;
      h = this.gradientCheckpointing && !cache
        ? checkpoint((inp) => decoderLayer(inp, w, ctx, l), h, ctx.hook ? null : layerLeaves(w))
        : decoderLayer(h, w, ctx, l);
    }
    if (cache) cache.length += x.T;
    if (opts.lastOnly) {
      const rows: Tensor[] = [];
      for (let b = 0; b < x.B; b++) rows.push(rowSlice(h, b * x.T + x.T - 1, 1));
      h = x.B === 1 ? rows[0]! : concatRows(rows, "last_hidden");
    }
    return rmsnorm(h, this.params.get("model.norm.weight"), cfg.rmsNormEps, "norm");
  }

  /**
   * The output projection (V, C): lm_head, or the embedding when tied; for NormHead its rows
   * normalised — recorded when training it, cached per weight version otherwise.
   */
  headWeight(): Tensor {
    const w = this.config.tieWordEmbeddings ? this.params.get("model.embed_tokens.weight") : this.params.get("lm_head.weight");
    if (!this.config.normHead) return w;
    if (isRecording() && w.requiresGrad) return rowNormalize(w, "norm_head");
    const c = this.normHeadCache;
    if (c && c.version === w.version && c.data === w.data) return c.tensor;
    const tensor = noGrad(() => rowNormalize(w, "norm_head")).clone();
    this.normHeadCache = { version: w.version, data: w.data, tensor };
    return tensor;
  }

  /** Logits (B, T, V), or (B, 1, V) with lastOnly. */
  forward(x: ModelInput, opts: ForwardOptions = {}): Tensor {
    const h = this.hiddenStates(x, opts);
    const head = this.hookStack.some((k) => k.lmHead) ? composeLinearHooks(this.hookStack.filter((k) => k.lmHead), null) : null;
    const logits = head ? head("lm_head", h, this.headWeight(), null) : linear(h, this.headWeight(), null, "logits");
    const T = opts.lastOnly ? 1 : x.T;
    return reshape(logits, [x.B, T, this.config.vocabSize]);
  }

  /**
   * One training micro-step: forward on `tape` (recycling its buffers), backward, gradients ADDED into
   * each trainable parameter's .grad (allocated on first use). `scale` multiplies the gradient (e.g.
   * 1/accumulation steps). Returns the mean loss and the number of counted target tokens.
   */
  lossAndGrad(x: LossInput, tape: Tape, opts: { scale?: number } = {}): { loss: number; count: number } {
    this.params.allocGrads();
    const out = tape.run(() => this.loss(x));
    const loss = out.loss.item();
    if (out.loss.requiresGrad) tape.backward(out.loss, Float32Array.of(opts.scale ?? 1));
    return { loss, count: out.count };
  }

  /** Causal-LM loss (transformers semantics) plus per-token losses for preference objectives. */
  loss(x: LossInput): LossOutput {
    const { B, T, labels } = x;
    if (labels.length !== B * T) throw new ModelInputError(`labels has ${labels.length} entries, expected B*T = ${B * T}`);
    const V = this.config.vocabSize;
    const targets = new Int32Array(B * T);
    let count = 0;
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T; t++) {
        const i = b * T + t;
        const y = t + 1 < T ? labels[i + 1]! : IGNORE_INDEX;
        if (y !== IGNORE_INDEX && (y < 0 || y >= V)) {
          throw new ModelInputError(`label ${y} at batch ${b}, position ${t + 1} is neither ${IGNORE_INDEX} nor a token id in [0, ${V})`);
        }
        targets[i] = y;
        if (y !== IGNORE_INDEX) count++;
      }
    }
    const logits = this.forward(x);
    const tokenLosses = crossEntropy(logits, targets, IGNORE_INDEX, "token_losses");
    const weights = new Float32Array(B * T);
    if (count > 0) for (let i = 0; i < B * T; i++) if (targets[i] !== IGNORE_INDEX) weights[i] = 1 / count;
    const loss = sum(tokenLosses, weights, "loss");
    return { loss, tokenLosses, targets, count, logits };
  }
}
