import { afterEach, describe, expect, it } from "vitest";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { appendFileSync, readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { LlmClient, LlmMalformedReplyError, LlmRequestError } from "./client.js";
import { llmPreferencePairs } from "./generate.js";
import { InterruptedError, Journal, runResumable } from "./journal.js";
import { parseQuestionList } from "./prompts.js";
import type { TaskRecord } from "../tasks/types.js";
import { tempDir } from "../../../test/helpers/tempdir.js";


type Step = { status?: number; body?: string; headers?: Record<string, string>; hang?: boolean; delayMs?: number } | "ok";

interface TestServer {
  url: string;
  /** Requests received per user prompt. */
  hits: Map<string, number>;
  maxInFlight: number;
  starts: number[];
  close(): Promise<void>;
}

const servers: TestServer[] = [];
afterEach(async () => {
  while (servers.length) await servers.pop()!.close();
});

const reply = (content: string) => JSON.stringify({ id: "x", object: "chat.completion", choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }] });

/**
 * A real OpenAI-compatible HTTP server whose behaviour per prompt follows a script: the n-th request
 * for a prompt gets script[n] (the last step repeats). "ok" answers with a reply derived from the prompt.
 */
async function startServer(script: (prompt: string) => Step[], answer: (prompt: string) => string = (p) => `回答：${p}`): Promise<TestServer> {
  const hits = new Map<string, number>();
  let inFlight = 0;
  const state: TestServer = { url: "", hits, maxInFlight: 0, starts: [], close: async () => {} };
  const hung: ServerResponse[] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      state.starts.push(Date.now());
      inFlight++;
      state.maxInFlight = Math.max(state.maxInFlight, inFlight);
      const done = () => inFlight--;
      if (req.url !== "/v1/chat/completions" || req.method !== "POST") {
        res.writeHead(404).end();
        return done();
      }
      const parsed = JSON.parse(body) as { messages: { role: string; content: string }[] };
      const prompt = parsed.messages[parsed.messages.length - 1]!.content;
      const n = hits.get(prompt) ?? 0;
      hits.set(prompt, n + 1);
      const steps = script(prompt);
      const step = steps[Math.min(n, steps.length - 1)]!;
      const send = () => {
        if (step === "ok") res.writeHead(200, { "content-type": "application/json" }).end(reply(answer(prompt)));
        else if (step.hang) {
          hung.push(res);
          return; // never answers: the client must time out
        } else res.writeHead(step.status ?? 200, { "content-type": "application/json", ...(step.headers ?? {}) }).end(step.body ?? "");
        done();
      };
      const delay = step === "ok" ? 0 : (step.delayMs ?? 0);
      if (delay > 0) setTimeout(send, delay);
      else send();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = async () => {
    for (const r of hung) r.destroy();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  };
  servers.push(state);
  return state;
}

const fast = { backoffBaseMs: 5, backoffMaxMs: 50, random: () => 0.5 };
const user = (content: string) => [{ role: "user" as const, content }];

describe("LlmClient against a real local HTTP server", () => {
  it("retries a 429 (honouring Retry-After) and then succeeds", async () => {
    const s = await startServer(() => [{ status: 429, headers: { "retry-after": "0" }, body: '{"error":"slow down"}' }, "ok"]);
    const c = new LlmClient({ baseUrl: s.url, model: "m", ...fast });
    const r = await c.chat(user("孩子发烧怎么办"));
    expect(r).toEqual({ content: "回答：孩子发烧怎么办", cached: false, attempts: 2 });
    expect(c.stats).toMatchObject({ rateLimited: 1, retries: 1, requests: 2 });
  });

  it("times out a hanging request and retries it", async () => {
    const s = await startServer(() => [{ hang: true }, "ok"]);
    const c = new LlmClient({ baseUrl: `${s.url}/v1`, model: "m", timeoutMs: 150, ...fast });
    const t0 = Date.now();
    const r = await c.chat(user("挂起"));
    expect(r.attempts).toBe(2);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
    expect(c.stats.timeouts).toBe(1);
  });

  it("detects garbage JSON, missing content and empty content, retrying each", async () => {
    const s = await startServer(() => [{ body: "{not json" }, { body: JSON.stringify({ choices: [] }) }, { body: reply("   ") }, { status: 503, body: "busy" }, "ok"]);
    const c = new LlmClient({ baseUrl: s.url, model: "m", ...fast });
    const r = await c.chat(user("坏回复"));
    expect(r.attempts).toBe(5);
    expect(c.stats).toMatchObject({ malformed: 3, serverErrors: 1, retries: 4 });
  });

  it("gives up with LlmMalformedReplyError when replies stay malformed", async () => {
    const s = await startServer(() => [{ body: "<html>oops</html>" }]);
    const c = new LlmClient({ baseUrl: s.url, model: "m", maxRetries: 2, ...fast });
    await expect(c.chat(user("总是坏"))).rejects.toThrow(LlmMalformedReplyError);
    expect(s.hits.get("总是坏")).toBe(3);
  });

  it("does not retry a 400 and says what the server answered", async () => {
    const s = await startServer(() => [{ status: 400, body: '{"error":"bad model"}' }]);
    const c = new LlmClient({ baseUrl: s.url, model: "m", ...fast });
    await expect(c.chat(user("请求错误"))).rejects.toThrow(LlmRequestError);
    await expect(c.chat(user("请求错误"))).rejects.toThrow(/HTTP 400.*bad model/);
    expect(s.hits.get("请求错误")).toBe(2);
  });

  it("retries content that fails the caller's validator (question lists must be JSON arrays)", async () => {
    let n = 0;
    const s = await startServer(() => ["ok"], () => (n++ === 0 ? "这里是一些问题，但不是JSON" : '```json\n["问题一？", "问题二？"]\n```'));
    const c = new LlmClient({ baseUrl: s.url, model: "m", ...fast });
    const r = await c.chat(user("写问题"), { validate: (x) => (typeof parseQuestionList(x) === "string" ? "not a list" : undefined) });
    expect(parseQuestionList(r.content)).toEqual(["问题一？", "问题二？"]);
    expect(r.attempts).toBe(2);
  });

  it("caches replies on disk by request hash", async () => {
    const s = await startServer(() => ["ok"]);
    const cacheDir = tempDir("llm-cache-");
    const c1 = new LlmClient({ baseUrl: s.url, model: "m", cacheDir, ...fast });
    await c1.chat(user("缓存"), { temperature: 0.2 });
    const c2 = new LlmClient({ baseUrl: s.url, model: "m", cacheDir, ...fast });
    expect(await c2.chat(user("缓存"), { temperature: 0.2 })).toEqual({ content: "回答：缓存", cached: true, attempts: 0 });
    expect(s.hits.get("缓存")).toBe(1);
    await c2.chat(user("缓存"), { temperature: 0.9 }); // different parameters: a different key
    expect(s.hits.get("缓存")).toBe(2);
    expect(c2.requestKey(user("缓存"), { temperature: 0.2 })).toBe(c1.requestKey(user("缓存"), { temperature: 0.2 }));
  });

  it("caps concurrency and spaces requests by the rate limit", async () => {
    const s = await startServer(() => [{ body: reply("慢"), delayMs: 40 }]);
    const c = new LlmClient({ baseUrl: s.url, model: "m", concurrency: 3, ...fast });
    await Promise.all(Array.from({ length: 10 }, (_, i) => c.chat(user(`并发${i}`))));
    expect(s.maxInFlight).toBe(3);

    const s2 = await startServer(() => ["ok"]);
    const limited = new LlmClient({ baseUrl: s2.url, model: "m", concurrency: 4, requestsPerMinute: 1200, ...fast }); // one per 50 ms
    const t0 = Date.now();
    await Promise.all(Array.from({ length: 5 }, (_, i) => limited.chat(user(`限速${i}`))));
    // The 5th request may not start before 4 intervals have passed (server-side arrival times jitter
    // on a busy machine, so the bound is checked on the client's clock).
    expect(Date.now() - t0).toBeGreaterThanOrEqual(195);
    expect(s2.starts).toHaveLength(5);
  });
});

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

  it("runResumable surfaces a worker failure after journaling the items that succeeded", async () => {
    const dir = tempDir("journal-");
    const j = new Journal<number>(join(dir, "j.jsonl"));
    await expect(runResumable([1, 2, 3, 4], String, async (x) => {
      if (x === 3) throw new Error("boom");
      return x * 10;
    }, j, { concurrency: 1 })).rejects.toThrow("boom");
    const again = new Journal<number>(join(dir, "j.jsonl"));
    expect([...again.done.entries()]).toEqual([["1", 10], ["2", 20]]);
    expect(await runResumable([1, 2, 3, 4], String, async (x) => x * 10, again, { concurrency: 2 })).toEqual([10, 20, 30, 40]);
  });
});
