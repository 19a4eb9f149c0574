/**
 * Sampling text from a model: greedy, temperature, top-k and top-p, with a KV cache (prefill the prompt
 * once, then one token per step) and a stop on end-of-sequence ids; `generate` for one sequence,
 * `generateBatch` for several at once (left-padded, each stopping on its own). The serving stack
 * (serve/) adds streaming, stop strings and templates on top.
 */
import { Tape } from "../engine/index.js";
import { Rng } from "./init.js";
import type { CausalLM } from "./model.js";

export interface SamplingOptions {
  /** 0 (or less) = greedy. Defaults to 0. */
  temperature?: number;
  /** Keep only the k most likely tokens (0 = off). Defaults to 0. */
  topK?: number;
  /** Keep the smallest set of tokens whose probability reaches p (1 = off). Defaults to 1. */
  topP?: number;
}

export interface GenerateOptions extends SamplingOptions {
  /** Upper bound on new tokens. */
  maxNewTokens: number;
  /** Seed of the sampler. Defaults to 0. */
  seed?: number;
  /** Stop after emitting one of these. Defaults to the config's eos_token_id(s). */
  eosTokenIds?: readonly number[];
  /** Called with each new token; return false to stop. */
  onToken?: (id: number) => boolean | void;
  /** Use the KV cache (true) or recompute the whole sequence each step. Defaults to true. */
  useCache?: boolean;
}

export interface GenerateResult {
  /** the new tokens (not the prompt), including a final eos if one was produced */
  tokens: number[];
  finishReason: "eos" | "length" | "stopped";
}

export class GenerateError extends RangeError {
  constructor(message: string) {
    super(message);
    this.name = "GenerateError";
  }
}

/** Pick the next token from one row of logits. */
export function sampleToken(logits: Float32Array, opts: SamplingOptions, rng: Rng): number {
  const V = logits.length;
  const temperature = opts.temperature ?? 0;
  if (!(temperature > 0)) {
    let best = 0;
    for (let i = 1; i < V; i++) if (logits[i]! > logits[best]!) best = i;
    return best;
  }
  const topK = opts.topK ?? 0;
  const topP = opts.topP ?? 1;
  if (!Number.isInteger(topK) || topK < 0) throw new GenerateError(`topK must be an integer >= 0, got ${topK}`);
  if (!(topP > 0 && topP <= 1)) throw new GenerateError(`topP must be in (0, 1], got ${topP}`);
  // Candidate tokens, most likely first: all of them only when top-p needs the full order; the k best
  // (kept sorted by insertion, O(V·log k)) with top-k; none with plain temperature (sampled in O(V)).
  let order: number[] | null = null;
  if (topK > 0 && topK < V) order = topKIndices(logits, topK);
  else if (topP < 1) order = Array.from({ length: V }, (_, i) => i).sort((a, b) => logits[b]! - logits[a]!);
  if (order === null) {
    let max = -Infinity;
    for (let i = 0; i < V; i++) if (logits[i]! > max) max = logits[i]!;
    let total = 0;
    for (let i = 0; i < V; i++) total += Math.exp((logits[i]! - max) / temperature);
    let u = rng.uniform() * total;
    for (let i = 0; i < V; i++) {
      u -= Math.exp((logits[i]! - max) / temperature);
      if (u < 0) return i;
    }
    return V - 1;
  }
  const max = logits[order[0]!]!;
  const probs = order.map((i) => Math.exp((logits[i]! - max) / temperature));
  const total = probs.reduce((a, b) => a + b, 0);
  let keep = order.length;
  if (topP < 1) {
    let acc = 0;
    for (let j = 0; j < order.length; j++) {
      acc += probs[j]! / total;
      if (acc >= topP) {
        keep = j + 1;
        break;
      }
    }
  }
  let mass = 0;
  for (let j = 0; j < keep; j++) mass += probs[j]!;
  let u = rng.uniform() * mass;
  for (let j = 0; j < keep; j++) {
    u -= probs[j]!;
    if (u < 0) return order[j]!;
  }
  return order[keep - 1]!;
}

/** Indices of the k largest values, largest first (ties: lower index first). */
function topKIndices(x: Float32Array, k: number): number[] {
  const idx: number[] = [];
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (idx.length === k && v <= x[idx[k - 1]!]!) continue;
    // binary search for the insertion point in the descending list
    let lo = 0;
    let hi = idx.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (x[idx[mid]!]! >= v) lo = mid + 1;
      else hi = mid;
    }
    idx.splice(lo, 0, i);
    if (idx.length > k) idx.pop();
  }
  return idx;
}

/** Generate a continuation of `prompt` (token ids). */
export function generate(model: CausalLM, prompt: readonly number[] | Int32Array, opts: GenerateOptions): GenerateResult {
  const cfg = model.config;
  if (prompt.length === 0) throw new GenerateError("generate: the prompt is empty (it needs at least one token, e.g. BOS)");
  if (!Number.isInteger(opts.maxNewTokens) || opts.maxNewTokens < 0) throw new GenerateError(`maxNewTokens must be an integer >= 0, got ${opts.maxNewTokens}`);
  if (prompt.length > cfg.maxPositions) {
    throw new GenerateError(`generate: the prompt has ${prompt.length} tokens, more than the model's context of ${cfg.maxPositions}`);
  }
  const eos = new Set(opts.eosTokenIds ?? cfg.eosTokenIds);
  const rng = new Rng(opts.seed ?? 0);
  const limit = Math.min(opts.maxNewTokens, cfg.maxPositions - prompt.length);
  const tokens: number[] = [];
  const tape = new Tape();
  const useCache = opts.useCache ?? true;
  const cache = useCache ? model.newCache(1, prompt.length + limit) : null;
  const seq = Array.from(prompt);

  // Logits of the next token after `seq` (prefill on the first call when caching). They live in the
  // tape's arena, valid until the next call, which is all the sampler needs: no copy per token.
  const next = (): Float32Array =>
    tape.infer(() => {
      const feed = cache && cache.length > 0 ? seq.slice(cache.length) : seq;
      return model.forward({ ids: Int32Array.from(feed), B: 1, T: feed.length }, { cache, lastOnly: true }).data;
    });

  for (let i = 0; i < limit; i++) {
    const id = sampleToken(next(), opts, rng);
    tokens.push(id);
    seq.push(id);
    if (opts.onToken && opts.onToken(id) === false) return { tokens, finishReason: "stopped" };
    if (eos.has(id)) return { tokens, finishReason: "eos" };
  }
  return { tokens, finishReason: "length" };
}

export interface GenerateBatchOptions extends SamplingOptions {
  maxNewTokens: number;
  /** Sequence b samples with seed + b (so it matches `generate` with that seed). Defaults to 0. */
  seed?: number;
  eosTokenIds?: readonly number[];
}

/**
 * Generate continuations of several prompts together: prompts are left-padded (padding masked out,
 * positions counted from each prompt's first real token), decoded in one batch with a shared KV cache,
 * and each stops on its own eos. Greedy results equal `generate` per prompt.
 */
export function generateBatch(model: CausalLM, prompts: readonly (readonly number[])[], opts: GenerateBatchOptions): GenerateResult[] {
  const cfg = model.config;
  const B = prompts.length;
  if (B === 0) return [];
  if (!Number.isInteger(opts.maxNewTokens) || opts.maxNewTokens < 0) throw new GenerateError(`maxNewTokens must be an integer >= 0, got ${opts.maxNewTokens}`);
  prompts.forEach((p, b) => {
    if (p.length === 0) throw new GenerateError(`generateBatch: prompt ${b} is empty`);
  });
  const T = Math.max(...prompts.map((p) => p.length));
  if (T > cfg.maxPositions) throw new GenerateError(`generateBatch: the longest prompt has ${T} tokens, more than the model's context of ${cfg.maxPositions}`);
  const limit = Math.min(opts.maxNewTokens, cfg.maxPositions - T);
  const eos = new Set(opts.eosTokenIds ?? cfg.eosTokenIds);
  const pad = cfg.padTokenId ?? 0;
  const ids = new Int32Array(B * T).fill(pad);
  const mask = new Uint8Array(B * T);
  const positions = new Int32Array(B * T);
  const nextPos = new Int32Array(B);
  prompts.forEach((p, b) => {
    const off = T - p.length;
    for (let t = 0; t < p.length; t++) {
      ids[b * T + off + t] = p[t]!;
      mask[b * T + off + t] = 1;
      positions[b * T + off + t] = t;
    }
    nextPos[b] = p.length;
  });
  const rngs = prompts.map((_, b) => new Rng((opts.seed ?? 0) + b));
  const results: GenerateResult[] = prompts.map(() => ({ tokens: [], finishReason: "length" }));
  const done = new Uint8Array(B);
  const tape = new Tape();
  const cache = model.newCache(B, T + limit);
  const V = cfg.vocabSize;
  // logits live in the tape's arena until the next forward; each step samples them before that
  let logits = tape.infer(() => model.forward({ ids, B, T, attentionMask: mask, positions }, { cache, lastOnly: true }).data);
  for (let i = 0; i < limit; i++) {
    const step = new Int32Array(B).fill(pad);
    const stepMask = new Uint8Array(B);
    for (let b = 0; b < B; b++) {
      if (done[b]) continue;
      const id = sampleToken(logits.subarray(b * V, (b + 1) * V), opts, rngs[b]!);
      results[b]!.tokens.push(id);
      if (eos.has(id)) {
        done[b] = 1;
        results[b]!.finishReason = "eos";
        continue;
      }
      step[b] = id;
      stepMask[b] = 1;
    }
    if (done.every((d) => d === 1) || i === limit - 1) break;
    // Finished sequences feed a masked pad token so the batch keeps its shape.
    const stepPos = Int32Array.from(nextPos);
    for (let b = 0; b < B; b++) if (stepMask[b]) nextPos[b]!++;
    logits = tape.infer(() => model.forward({ ids: step, B, T: 1, attentionMask: stepMask, positions: stepPos }, { cache, lastOnly: true }).data);
  }
  return results;
}
