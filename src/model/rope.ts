/**
 * RoPE frequency tables for a model config, including the rope_scaling variants we support
 * ("linear" and Llama 3's "llama3" frequency-dependent scaling), in transformers' float32 semantics:
 * inverse frequencies rounded to f32, angle = f32(position × inv_freq), then cos/sin.
 * Dynamic NTK, YaRN and LongRoPE scaling are rejected when the config is parsed.
 */
import type { RopeTables } from "../engine/index.js";
import type { ModelConfig, RopeScaling } from "./config.js";

/** inv_freq[i] = 1 / theta^(2i/D), scaled as the config asks; (D/2) values rounded to f32. */
export function inverseFrequencies(theta: number, D: number, scaling: RopeScaling | null): Float32Array {
  const half = D / 2;
  const inv = new Float32Array(half);
  for (let i = 0; i < half; i++) inv[i] = 1 / Math.pow(theta, Math.fround((2 * i) / D));
  if (scaling === null) return inv;
  if (scaling.type === "linear") {
    for (let i = 0; i < half; i++) inv[i] = inv[i]! / scaling.factor;
    return inv;
  }
  // llama3: long wavelengths are divided by factor, short ones kept, the band between interpolated.
  const { factor, lowFreqFactor, highFreqFactor, originalMaxPositions } = scaling;
  const lowFreqWavelen = originalMaxPositions / lowFreqFactor;
  const highFreqWavelen = originalMaxPositions / highFreqFactor;
  for (let i = 0; i < half; i++) {
    const f = inv[i]!;
    const wavelen = (2 * Math.PI) / f;
    if (wavelen < highFreqWavelen) continue;
    if (wavelen > lowFreqWavelen) {
      inv[i] = f / factor;
      continue;
    }
    const smooth = (originalMaxPositions / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
    inv[i] = (1 - smooth) * (f / factor) + smooth * f;
  }
  return inv;
}

/** cos/sin tables (maxPos, D/2) for the config's RoPE. */
export function modelRopeTables(cfg: ModelConfig, maxPos: number): RopeTables {
  const D = cfg.headDim;
  const half = D / 2;
  const inv = inverseFrequencies(cfg.ropeTheta, D, cfg.ropeScaling);
  const cos = new Float32Array(maxPos * half);
  const sin = new Float32Array(maxPos * half);
  for (let p = 0; p < maxPos; p++) {
    for (let i = 0; i < half; i++) {
      const angle = Math.fround(p * inv[i]!);
      cos[p * half + i] = Math.cos(angle);
      sin[p * half + i] = Math.sin(angle);
    }
  }
  return { cos, sin, D, maxPos };
}
