/**
 * The judge against the project's own OpenAI-compatible server (`pedgpt serve` on a tiny random
 * model): the endpoint works end to end, and since such a model cannot write the verdict JSON, every
 * call ends as a recorded failure with its raw reply — none is counted as a verdict.
 */
import { describe, expect, it } from "vitest";
import type { AddressInfo } from "node:net";
import { LlmClient } from "../../llm/client.js";
import { loadEngineGenerator } from "../../serve/engine/backend.js";
import { buildServer } from "../../serve/http/server.js";
import { runJudge } from "./judge.js";
import { readTestSet } from "../generate/sets.js";
import { makeServeModel } from "../../../test/helpers/serve_model.js";
import { tempDir } from "../../../test/helpers/tempdir.js";

describe("eval judge against pedgpt serve", () => {
  it("records unusable replies from a real endpoint as failures, never verdicts", async () => {
    const m = await makeServeModel(tempDir("pedgpt-eval-serve-"), { maxPositions: 2048 }); // room for the judge prompt
    const gen = await loadEngineGenerator(m.dir, { parallel: 2, defaults: { maxNewTokens: 8 } });
    const app = await buildServer(gen, { safety: false });
    await app.listen({ port: 0, host: "127.0.0.1" });
    try {
      const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/v1`;
      const full = await readTestSet("test/fixtures/eval/huatuo_qa.jsonl");
      const set = { ...full, items: full.items.slice(0, 1) }; // one item, both orders: enough, and prefill of the judge prompt is slow here
      const answers = (t: string) => new Map(set.items.map((i) => [i.id, { response: `${t}：多喝水，注意观察。` }]));
      const client = new LlmClient({ baseUrl: url, model: gen.info.id, maxRetries: 0, backoffBaseMs: 5, backoffMaxMs: 20, timeoutMs: 60_000 });
      const r = await runJudge(set, { name: "a", file: "a.jsonl", answers: answers("甲") }, { name: "b", file: "b.jsonl", answers: answers("乙") }, { client, workDir: tempDir("judge-serve-"), concurrency: 2 });
      expect(r.judge.model).toBe("model");
      expect(r.judgements).toHaveLength(2);
      expect(r.failures).toHaveLength(2);
      expect(r.judgements.every((j) => j.verdicts === null && typeof j.raw === "string")).toBe(true);
      expect(r.perDimension.every((d) => d.n === 0 && d.win + d.tie + d.loss === 0)).toBe(true);
      expect(r.positionBias.decided).toBe(0);
    } finally {
      await app.close();
      await gen.close();
    }
  }, 120_000);
});
