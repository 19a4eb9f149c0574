/** The OpenAI-compatible client and the resumable journal, against a real local HTTP server. */
import { describe, expect, it } from "vitest";
import { appendFileSync } from "node:fs";
import { join } from "node:path";
import { LlmClient, LlmMalformedReplyError, LlmRequestError } from "./client.js";
import { Journal, runResumable } from "./journal.js";
import { reply, startServer } from "../../test/helpers/openai_server.js";
import { tempDir } from "../../test/helpers/tempdir.js";

const fast = { backoffBaseMs: 5, backoffMaxMs: 50, random: () => 0.5 };
const user = (content: string) => [{ role: "user" as const, content }];
const isStringArray = (x: string): boolean => {
  try {
    const v: unknown = JSON.parse(x);
    return Array.isArray(v) && v.every((e) => typeof e === "string");
  } catch {
    return false;
  }
};

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
    const s = await startServer(() => ["ok"], () => (n++ === 0 ? "这里是一些问题，但不是JSON" : `["问题一？", "问题二？"]`));
    const c = new LlmClient({ baseUrl: s.url, model: "m", ...fast });
    const r = await c.chat(user("写问题"), { validate: (x) => (isStringArray(x) ? undefined : "not a JSON array of strings") });
    expect(r.content).toBe(`["问题一？", "问题二？"]`);
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

describe("resumable journal", () => {
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

  it("a torn last line (a kill mid-write) is dropped, and the next record starts on a line of its own", async () => {
    const dir = tempDir("journal-torn-");
    const path = join(dir, "j.jsonl");
    const j = new Journal<number>(path);
    j.record("a", 1);
    appendFileSync(path, '{"key":"b","res');
    const again = new Journal<number>(path);
    expect([...again.done.keys()]).toEqual(["a"]);
    again.record("b", 2);
    expect([...new Journal<number>(path).done.entries()]).toEqual([["a", 1], ["b", 2]]);
  });
});
