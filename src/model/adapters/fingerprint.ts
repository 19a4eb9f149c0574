/**
 * A fingerprint of a base model's weights, recorded in an adapter so it is not applied to another
 * base by mistake. It hashes (SHA-256) the architecture, every parameter's name and shape, and about
 * 1024 evenly spaced values of each parameter as stored in memory (float32): any fine-tune changes
 * those values, while hashing 7B floats would take a minute on every load. The same weights stored in
 * another dtype (bf16 vs f32) give another fingerprint.
 */
import { createHash } from "node:crypto";
import type { CausalLM } from "../model.js";

const SAMPLES = 1024;

export function baseFingerprint(model: CausalLM): string {
  const h = createHash("sha256");
  h.update(`pedgpt-fp1\0${model.config.architecture}\0`);
  for (const p of model.params.list) {
    h.update(`${p.name}\0${p.shape.join("x")}\0`);
    const stride = Math.max(1, Math.floor(p.size / SAMPLES));
    const n = Math.ceil(p.size / stride);
    const buf = new Float32Array(n);
    for (let i = 0, j = 0; i < p.size; i += stride) buf[j++] = p.data[i]!;
    h.update(new Uint8Array(buf.buffer));
  }
  return "fp1:" + h.digest("hex").slice(0, 32);
}
