/** eval generate on the llama.cpp backend: the tiny model's GGUF answers like the engine (greedy). */
import { describe, expect, it } from "vitest";
import { join } from "node:path";
import { loadAnswerBackend } from "./backend.js";
import { generateAnswers } from "./generate.js";
import { readTestSet } from "./sets.js";
import { makeServeModel } from "../../../test/helpers/serve_model.js";
import { tempDir } from "../../../test/helpers/tempdir.js";

describe("eval generate on llama.cpp", () => {
  it("gives the engine's greedy answers on the exported GGUF and records the backend", async () => {
    const m = await makeServeModel(tempDir("pedgpt-eval-llama-"));
    const d = tempDir("gen-llama-");
    const full = await readTestSet("test/fixtures/eval/pediabench.jsonl");
    const set = { ...full, items: full.items.slice(0, 3) };
    const settings = { maxNewTokens: 12, batchSize: 2 };
    const llama = await loadAnswerBackend(m.gguf, { backend: "llama.cpp", parallel: 2 });
    const engine = await loadAnswerBackend(m.dir, { backend: "engine", parallel: 2 });
    try {
      const a = await generateAnswers(set, llama, { out: join(d, "l.jsonl"), settings });
      const e = await generateAnswers(set, engine, { out: join(d, "e.jsonl"), settings });
      expect(a.meta.model.backend).toBe("llama.cpp");
      expect(a.lines.map((l) => l.response)).toEqual(e.lines.map((l) => l.response));
    } finally {
      await llama.close();
      await engine.close();
    }
  }, 120_000);
});
