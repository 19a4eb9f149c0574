/** Our engine (worker thread, batched decoding) against the shared backend suite, plus load failures. */
import { promises as fs } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { makeServeModel } from "../../../test/helpers/serve_model.js";
import { tempDir } from "../../../test/helpers/tempdir.js";
import { backendSuite } from "../backend.case.js";
import { loadEngineGenerator } from "./backend.js";

backendSuite("engine", (m, o) => loadEngineGenerator(m.dir, o));

describe("engine backend load failures", () => {
  it("bad options are refused first; a corrupt checkpoint fails the load naming the file", async () => {
    const root = tempDir("pedgpt-engine-bad-");
    const m = await makeServeModel(root);
    await expect(loadEngineGenerator(m.dir, { parallel: 0 })).rejects.toThrow(/parallel must be an integer in \[1, 256\], got 0/);
    await expect(loadEngineGenerator(m.dir, { contextSize: 100_000 })).rejects.toThrow(/contextSize must be an integer in \[2, 512\]/);
    const weights = path.join(m.dir, "model.safetensors");
    const st = await fs.stat(weights);
    await fs.truncate(weights, Math.floor(st.size / 2));
    await expect(loadEngineGenerator(m.dir, { contextSize: 64 })).rejects.toThrow(/model\.safetensors/);
  }, 60_000);
});
