/**
 * Weight-only quantised inference for a CausalLM: every decoder linear (and the output head) is
 * multiplied from a q8_0 or bf16 copy of its weight instead of the f32 one, which makes decode steps
 * (memory-bound matrix-vector products) faster. Activations, norms, attention and the KV cache stay f32
 * (a q8_0 product quantises its input rows to q8_0 on the fly, as llama.cpp does: the kernels' matmulQ8).
 *
 * The quantised copies are taken once, when `quantizeForInference` is called; they serve noGrad /
 * tape.infer forwards only (a recording tape is refused by the op). A weight changed afterwards (an
 * optimizer step, a load, a merged adapter) makes the next forward fail with QuantizedWeightsStaleError
 * rather than silently use the old copy. The f32 parameters stay in place (saving, adapters and
 * training still use them); `remove()` returns the model to plain f32 linears. A server that only
 * decodes calls `releaseF32()` once its adapters are loaded: the decoder linears' f32 values are
 * dropped, so the quantised copy is the only one in memory (the embedding, which the tied head shares,
 * and the head stay f32). After that the model can neither be saved, trained nor returned to f32.
 *
 * Not here: the kernels (engine/kernels), quantised file formats (GGUF export).
 */
import { linear, noGrad, quantizedLinear, QuantizedMatrix, type QuantFormat, type Tensor } from "../engine/index.js";
import type { CausalLM } from "./model.js";
import type { LinearHook } from "./layers.js";

/** A quantised copy was made from a weight that has changed since. */
export class QuantizedWeightsStaleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "QuantizedWeightsStaleError";
  }
}

/** The model already has a base linear hook that quantisation would replace. */
export class QuantizeConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "QuantizeConflictError";
  }
}

export interface QuantizedInference {
  format: QuantFormat;
  /** Hugging Face module paths served from quantised weights (lm_head included) */
  modules: string[];
  /** bytes of the quantised copies, and of the f32 weights they stand for */
  bytes: number;
  f32Bytes: number;
  /** back to plain f32 linears (refused after releaseF32) */
  remove(): void;
  /** drop the f32 values of the quantised decoder linears; returns the bytes freed */
  releaseF32(): number;
}

/** The f32 weights were released; the model serves quantised forwards only. */
export class ReleasedWeightsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ReleasedWeightsError";
  }
}

/** Decoder linears by module path: model.layers.N.(self_attn|mlp).NAME.weight, 2-D. */
const LINEAR = /^(model\.layers\.\d+\.(?:self_attn|mlp)\.[A-Za-z_]+)\.weight$/;

interface Entry {
  q: QuantizedMatrix;
  source: Tensor;
  version: number;
}

function fresh(module: string, e: Entry, weight: Tensor): void {
  if (weight !== e.source || weight.version !== e.version) {
    throw new QuantizedWeightsStaleError(
      `quantised weight of ${module} is stale (the f32 weight changed after quantisation); call remove() and quantizeForInference again`,
    );
  }
}

/**
 * Hold the model's linear weights quantised for inference (see the module header). q8_0 needs every
 * linear's input width to be a multiple of 32; a model where one is not is refused, naming it.
 */
export function quantizeForInference(model: CausalLM, format: QuantFormat): QuantizedInference {
  if (model.linearHook !== null) {
    throw new QuantizeConflictError("the model already has a base linear hook (CausalLM.linearHook); remove it before quantising");
  }
  const linears: { module: string; p: Tensor }[] = [];
  for (const p of model.parameters()) {
    const m = LINEAR.exec(p.name);
    if (m && p.rank === 2) linears.push({ module: m[1]!, p });
  }
  // The head as the model multiplies by it (the embedding when tied, NormHead rows normalised).
  const head = noGrad(() => model.headWeight());
  const source = model.config.tieWordEmbeddings ? model.params.get("model.embed_tokens.weight") : model.params.get("lm_head.weight");
  // all copies in a few shared allocations (large pages for what a decode step streams)
  const qs = QuantizedMatrix.fromMany([...linears.map((l) => l.p), head], format);
  const entries = new Map<string, Entry>();
  let bytes = 0;
  let f32Bytes = 0;
  linears.forEach(({ module, p }, i) => {
    entries.set(module, { q: qs[i]!, source: p, version: p.version });
    bytes += qs[i]!.bytes;
    f32Bytes += 4 * p.size;
  });
  const headEntry: Entry = { q: qs[linears.length]!, source, version: source.version };
  bytes += headEntry.q.bytes;
  f32Bytes += 4 * head.size;

  const base: LinearHook = (module, x, weight, bias) => {
    const e = entries.get(module);
    if (!e) return linear(x, weight, bias, module);
    fresh(module, e, weight);
    return quantizedLinear(x, e.q, bias, module);
  };
  model.linearHook = base;
  let released = false;
  const removeHead = model.addLinearHook({
    lmHead: true,
    handles: (module) => module === "lm_head",
    wrap: (_module, x) => {
      fresh("lm_head", headEntry, source);
      return quantizedLinear(x, headEntry.q, null, "logits");
    },
  });
  return {
    format,
    modules: [...entries.keys(), "lm_head"],
    bytes,
    f32Bytes,
    remove() {
      if (released) throw new ReleasedWeightsError("the f32 weights of the quantised linears were released (releaseF32); reload the model to get them back");
      if (model.linearHook === base) model.linearHook = null;
      removeHead();
    },
    releaseF32() {
      if (released) return 0;
      released = true;
      let freed = 0;
      for (const e of entries.values()) {
        freed += e.source.data.byteLength;
        // An empty array, not the old one: a save or a gradient step now fails on the size check
        // instead of writing or training on values that no longer exist.
        e.source.data = new Float32Array(0);
      }
      return freed;
    },
  };
}
