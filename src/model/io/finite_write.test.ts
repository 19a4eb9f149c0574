/**
 * The writers refuse what would store NaN/Inf: a non-finite value, a value outside f16/bf16 when
 * narrowing, a Q8_0 block whose f16 scale would overflow. Nothing is left under the final name.
 */
import { existsSync, readdirSync, writeFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir } from "../../../test/helpers/tempdir.js";
import { NonFiniteError } from "../../util/finite.js";
import { writeGguf } from "./gguf.js";
import { writeSafetensors } from "./safetensors.js";

describe("writers refuse non-finite and out-of-range values", () => {
  it("safetensors: NaN, and 1e6 as F16, are refused; the previous file stays", async () => {
    const d = tempDir("finite-write-");
    const f = join(d, "w.safetensors");
    writeFileSync(f, "previous");
    const nan = await writeSafetensors(f, [{ name: "w", shape: [3], data: Float32Array.from([1, NaN, 2]) }]).catch((e: unknown) => e);
    expect(nan).toBeInstanceOf(NonFiniteError);
    expect((nan as Error).message).toBe(`${f}: tensor "w" holds a non-finite value (NaN) at flat index 1: refusing to write it (nothing was written)`);
    await expect(writeSafetensors(f, [{ name: "w", shape: [2], data: Float32Array.from([1, 1e6]), dtype: "F16" }])).rejects.toThrow(/holds 1000000 at flat index 1, outside the F16 range/);
    expect(readFileSync(f, "utf8")).toBe("previous");
    expect(readdirSync(d)).toEqual(["w.safetensors"]);
    await writeSafetensors(f, [{ name: "w", shape: [2], data: Float32Array.from([1, 1e6]), dtype: "BF16" }]);
  });

  it("gguf: Inf, 1e6 as F16 and a Q8_0 block max beyond 127 × 65504 are refused", async () => {
    const d = tempDir("finite-gguf-");
    const f = join(d, "m.gguf");
    const row = (v: number) => Float32Array.from({ length: 32 }, (_, i) => (i === 3 ? v : 0.5));
    await expect(writeGguf(f, [], [{ name: "t", shape: [1, 32], type: "F32", data: row(-Infinity) }])).rejects.toThrow(/tensor "t" holds a non-finite value \(-Infinity\) at flat index 3/);
    await expect(writeGguf(f, [], [{ name: "t", shape: [1, 32], type: "F16", data: row(1e6) }])).rejects.toThrow(/outside the F16 range/);
    await expect(writeGguf(f, [], [{ name: "t", shape: [1, 32], type: "Q8_0", data: row(1e7) }])).rejects.toThrow(/too large for Q8_0/);
    expect(existsSync(f)).toBe(false);
    expect(readdirSync(d)).toEqual([]);
  });
});
