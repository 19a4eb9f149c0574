/**
 * The memory estimate printed before training and checked against the machine's free memory:
 * parameters + gradients + AdamW moments (two per trainable value) + activations of one micro-batch.
 * Activations follow the engine's layout: every op output and its gradient lives in the tape's arena
 * (fp32), attention keeps only its output and log-sum-exp (no T×T matrix), and activation
 * checkpointing keeps one tensor per layer plus one layer's internals.
 *
 * An estimate, not an accounting: it errs high (about 1–2× the arena measured after a step, tested),
 * and ignores the JavaScript heap and the OS.
 */
import type { ModelConfig } from "../../model/index.js";

const F32 = 4;

/** Bytes of activations (forward values and their gradients) of a causal LM's loss on B×T tokens. */
export function causalLMActivationBytes(cfg: ModelConfig, B: number, T: number, o: { checkpointing?: boolean } = {}): number {
  const C = cfg.hiddenSize;
  const F = cfg.intermediateSize;
  const kv = cfg.numKvHeads * cfg.headDim;
  const H = cfg.numHeads;
  // Per token and layer: two norms, q and rotated q, k and rotated k, v, attention output and lse,
  // o_proj, two residual sums, gate, up, their product, down.
  // Baichuan's W_pack writes q, k and v once more before they are split.
  const perLayer = 9 * C + 3 * kv + H + 3 * F + 2 + (cfg.qkv === "packed" ? C + 2 * kv : 0);
  // Embedding output, final norm, logits, token losses; the logits' gradient.
  const outside = 3 * C + 2 * cfg.vocabSize + 2;
  const kept = o.checkpointing ? cfg.numLayers * C + perLayer : cfg.numLayers * perLayer;
  // ×2: each kept value has a gradient buffer of its size in the arena during backward.
  // NormHead normalises the whole (V, C) head every step, and its gradient is as large.
  const perStep = cfg.normHead ? 2 * cfg.vocabSize * C : 0;
  return F32 * (B * T * (2 * kept + outside) + perStep);
}

export interface MemoryEstimate {
  trainableParameters: number;
  /** Bytes of trainable weights (resident before training starts). */
  weightsBytes: number;
  /** Bytes of frozen weights (resident). */
  frozenBytes: number;
  gradientsBytes: number;
  optimizerBytes: number;
  activationsBytes: number;
  /** Everything training holds at its peak. */
  totalBytes: number;
  /** What training still has to allocate (total minus the resident weights). */
  toAllocateBytes: number;
}

export function estimateMemory(trainableParameters: number, frozenBytes: number, activationsBytes: number): MemoryEstimate {
  const weightsBytes = F32 * trainableParameters;
  const gradientsBytes = F32 * trainableParameters;
  const optimizerBytes = 2 * F32 * trainableParameters;
  const totalBytes = weightsBytes + frozenBytes + gradientsBytes + optimizerBytes + activationsBytes;
  return {
    trainableParameters, weightsBytes, frozenBytes, gradientsBytes, optimizerBytes, activationsBytes,
    totalBytes, toAllocateBytes: gradientsBytes + optimizerBytes + activationsBytes,
  };
}

export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v.toFixed(0) : v.toFixed(1)} ${units[u]}`;
}

export function describeMemory(e: MemoryEstimate): string {
  const f = formatBytes;
  return `weights ${f(e.weightsBytes)}${e.frozenBytes > 0 ? ` + frozen ${f(e.frozenBytes)}` : ""} + gradients ${f(e.gradientsBytes)} + optimizer ${f(e.optimizerBytes)} + activations ${f(e.activationsBytes)} = ${f(e.totalBytes)} (${f(e.toAllocateBytes)} still to allocate)`;
}
