/** LLM-assisted corpus builders: interruption and resume over a real local HTTP server. */
import { describe, expect, it } from "vitest";
import { appendFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { LlmClient } from "../../llm/client.js";
import { InterruptedError } from "../../llm/journal.js";
import { llmPreferencePairs } from "./generate.js";
import type { TaskRecord } from "../tasks/types.js";
import { reply, startServer } from "../../../test/helpers/openai_server.js";
import { tempDir } from "../../../test/helpers/tempdir.js";

const fast = { backoffBaseMs: 5, backoffMaxMs: 50, random: () => 0.5 };

describe("resumable generation", () => {
  const records: TaskRecord[] = Array.from({ length: 8 }, (_, i) => ({
    id: `r${i}`,
    task: "MedKQ&A",
    source: "test",
    provenance: `t:L${i}`,
    generator: "template",
    messages: [
      { role: "user", content: `问题${i}：孩子发热第${i}天怎么办？` },
      { role: "assistant", content: `参考回答${i}：注意补液，观察精神状态。` },
    ],
  }));

  it("stops on interruption, journals finished items, and resumes without repeating them", async () => {
    const s = await startServer(() => [{ body: reply("这是一个足够长的中文回答。"), delayMs: 20 }]);
    const workDir = tempDir("llm-resume-");
    const ctrl = new AbortController();
    const c1 = new LlmClient({ baseUrl: s.url, model: "m", concurrency: 2, ...fast });
    let progressed = 0;
    await expect(
      llmPreferencePairs(c1, records, {
        workDir,
        concurrency: 2,
        signal: ctrl.signal,
        onProgress: (_w, done) => {
          progressed = done;
          if (done === 3) ctrl.abort();
        },
      }),
    ).rejects.toThrow(InterruptedError);
    const journaled = readFileSync(join(workDir, "llm-dfpo.journal.jsonl"), "utf8").trim().split("\n").length;
    expect(journaled).toBe(progressed);
    expect(journaled).toBeGreaterThanOrEqual(3);
    expect(journaled).toBeLessThan(8);
    const requestsBefore = [...s.hits.values()].reduce((a, b) => a + b, 0);
    expect(requestsBefore).toBe(2 * journaled); // chosen + rejected per finished item, nothing half-done

    // Simulate a torn last line from a kill mid-write: it must be ignored, not crash the resume.
    appendFileSync(join(workDir, "llm-dfpo.journal.jsonl"), '{"key":"r7","resu');
    const c2 = new LlmClient({ baseUrl: s.url, model: "m", concurrency: 2, ...fast });
    const pairs = await llmPreferencePairs(c2, records, { workDir, concurrency: 2 });
    expect(pairs).toHaveLength(8);
    expect(pairs.map((p) => p.provenance)).toEqual(records.map((r) => r.provenance));
    expect(pairs.every((p) => p.chosen.length > 0 && p.rejected.length > 0 && p.generator === "llm:m")).toBe(true);
    // Every item's two prompts were requested exactly once across both runs.
    expect(c2.stats.requests).toBe(2 * (8 - journaled));
    expect(s.hits.size).toBe(16);
    expect([...s.hits.values()].every((n) => n === 1)).toBe(true);
  });
});
