import { describe, expect, it } from "vitest";
import { f32ToBF16Bits, f32ToF16Bits } from "../model/io/dtype.js";
import { assertFinite, assertFitsDType, firstNonFinite, NARROW_RANGE, NonFiniteError } from "./finite.js";

describe("finiteness", () => {
  it("finds the first NaN/Inf and names file, tensor and index", () => {
    expect(firstNonFinite(Float32Array.from([0, -1e38, 3]))).toBe(-1);
    expect(firstNonFinite(Float32Array.from([0, Infinity, NaN]))).toBe(1);
    expect(() => assertFinite("m/model.safetensors", "w", Float32Array.from([1, 2, NaN]), "load")).toThrow(
      'm/model.safetensors: tensor "w" holds a non-finite value (NaN) at flat index 2: the checkpoint is corrupted or the training diverged',
    );
    const err = (() => {
      try {
        assertFinite("f.gguf", "t", [0, -Infinity], "write");
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(NonFiniteError);
    expect((err as NonFiniteError).index).toBe(1);
    expect((err as Error).message).toMatch(/refusing to write it/);
  });

  it("the narrowing thresholds are exactly where the real converters overflow to Inf", () => {
    const f16Inf = (x: number) => (f32ToF16Bits(x) & 0x7fff) === 0x7c00;
    const bf16Inf = (x: number) => (f32ToBF16Bits(x) & 0x7fff) === 0x7f80;
    const below = (x: number) => {
      const a = new Float32Array([x]);
      new Uint32Array(a.buffer)[0]! -= 1;
      return a[0]!;
    };
    expect(f16Inf(NARROW_RANGE.F16.overflow)).toBe(true);
    expect(f16Inf(below(NARROW_RANGE.F16.overflow))).toBe(false);
    expect(bf16Inf(NARROW_RANGE.BF16.overflow)).toBe(true);
    expect(bf16Inf(below(NARROW_RANGE.BF16.overflow))).toBe(false);
    expect(() => assertFitsDType("f", "w", Float32Array.from([1, -70000]), "F16")).toThrow(/holds -70000 at flat index 1, outside the F16 range/);
    expect(() => assertFitsDType("f", "w", Float32Array.from([65504, 1e30]), "BF16")).not.toThrow();
    expect(() => assertFitsDType("f", "w", Float32Array.from([3.4e38]), "BF16")).toThrow(/BF16 range/);
    expect(() => assertFitsDType("f", "w", Float32Array.from([3.4e38]), "F32")).not.toThrow();
  });
});
