/**
 * Deterministic random initialisation from a config, following transformers' `_init_weights`:
 * linear and embedding weights ~ N(0, initializer_range²), biases 0, RMSNorm weights 1, the
 * embedding row of pad_token_id zeroed (the embeddings are built with padding_idx = pad_token_id). Baichuan2's NormHead
 * is not an nn.Linear, so it keeps its constructor init: kaiming-uniform(a=√5) = U(±1/√C).
 *
 * The generator is our own (xoshiro128** seeded by splitmix32, Box–Muller normals), so a seed gives the
 * same model on every machine; it does not reproduce PyTorch's random stream.
 */
import type { Parameters } from "../engine/index.js";
import type { ModelConfig } from "./config.js";

/** Small, fast, seedable PRNG (xoshiro128**). */
export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private spare: number | null = null;

  constructor(seed: number) {
    if (!Number.isInteger(seed)) throw new RangeError(`Rng: seed must be an integer, got ${seed}`);
    let x = seed >>> 0;
    const next = (): number => {
      // splitmix32 to spread the seed over the state
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
  }

  /** Uniform 32-bit unsigned integer. */
  nextU32(): number {
    const result = Math.imul(((Math.imul(this.s1, 5) << 7) | (Math.imul(this.s1, 5) >>> 25)) >>> 0, 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = ((this.s3 << 11) | (this.s3 >>> 21)) >>> 0;
    this.s0 >>>= 0;
    this.s1 >>>= 0;
    this.s2 >>>= 0;
    return result;
  }

  /** Uniform in [0, 1). */
  uniform(): number {
    return this.nextU32() / 4294967296;
  }

  /** Standard normal. */
  normal(): number {
    if (this.spare !== null) {
      const s = this.spare;
      this.spare = null;
      return s;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }
}

/** Fill every parameter from the seed (see the module comment for the rules). */
export function initParameters(cfg: ModelConfig, params: Parameters, seed: number): void {
  const rng = new Rng(seed);
  const std = cfg.initializerRange;
  for (const t of params.list) {
    const d = t.data;
    const name = t.name;
    if (name.endsWith("norm.weight")) d.fill(1);
    else if (name.endsWith(".bias")) d.fill(0);
    else if (name === "lm_head.weight" && cfg.normHead) {
      const bound = 1 / Math.sqrt(cfg.hiddenSize);
      for (let i = 0; i < d.length; i++) d[i] = (2 * rng.uniform() - 1) * bound;
    } else {
      for (let i = 0; i < d.length; i++) d[i] = rng.normal() * std;
    }
    if (name === "model.embed_tokens.weight" && cfg.padTokenId !== null && cfg.padTokenId < cfg.vocabSize) {
      const C = cfg.hiddenSize;
      d.fill(0, cfg.padTokenId * C, (cfg.padTokenId + 1) * C);
    }
    t.version++;
  }
}
