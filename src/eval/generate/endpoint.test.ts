/** eval generate from an OpenAI-compatible endpoint (a real local HTTP server): answers, item failures, resume. */
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { LlmClient, LlmRequestError } from "../../llm/client.js";
import { EndpointBackend } from "./backend.js";
import { generateAnswers } from "./generate.js";
import { readTestSet } from "./sets.js";
import { startServer, type Step } from "../../../test/helpers/openai_server.js";
import { tempDir } from "../../../test/helpers/tempdir.js";

const fast = { backoffBaseMs: 5, backoffMaxMs: 20, random: () => 0.5, maxRetries: 1 };

describe("EndpointBackend", () => {
  it("answers through the client, records empty replies and over-long prompts as item failures, and resumes after the endpoint fails", async () => {
    const set = await readTestSet("test/fixtures/eval/cmd_test.csv");
    const d = tempDir("gen-endpoint-");
    const out = join(d, "a.jsonl");
    let down = true;
    const script = (p: string): Step[] => {
      if (p.includes("黄疸")) return down ? [{ status: 503, body: "overloaded" }] : ["ok"];
      if (p.includes("咳嗽")) return [{ status: 400, body: '{"error":{"code":"context_length_exceeded"}}' }];
      return ["ok"];
    };
    const s = await startServer(script, (p) => (p.includes("发烧") ? "   " : `回答：${p.slice(0, 6)}`));
    const backend = new EndpointBackend(new LlmClient({ baseUrl: s.url, model: "remote-m", concurrency: 1, ...fast }));
    expect(backend.info).toMatchObject({ id: "remote-m", backend: "openai", template: "remote" });
    await expect(generateAnswers(set, backend, { out, settings: { batchSize: 1, maxNewTokens: 32 } })).rejects.toThrow(LlmRequestError);
    expect(readFileSync(`${out}.journal.jsonl`, "utf8").trim().split("\n")).toHaveLength(2); // the two items before the outage

    down = false;
    const r = await generateAnswers(set, backend, { out, settings: { batchSize: 1, maxNewTokens: 32 } });
    expect(r.generated).toBe(1);
    expect(r.lines.map((l) => [l.id, l.response !== undefined ? "answer" : l.error!.replace(/^.*?(malformed|HTTP 400).*$/, "$1")])).toEqual([
      ["line-2", "malformed"],
      ["line-3", "HTTP 400"],
      ["line-4", "answer"],
    ]);
    expect(r.meta.model.backend).toBe("openai");
    await expect(generateAnswers(set, backend, { out: join(d, "b.jsonl"), settings: { topK: 5 } })).rejects.toThrow(/topK: not sent/);
  });
});
