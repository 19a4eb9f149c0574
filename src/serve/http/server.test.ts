/**
 * The HTTP server on loopback, driven by the official `openai` npm client (and raw fetch for what a
 * client library would not send): models, chat and text completions (plain and streamed, ending in
 * [DONE]), greedy answers equal to the generator's own, the safety extension field (checked as it streams), bearer auth,
 * validation errors naming the field, malformed bodies, body limit, CORS, a full queue answering 429
 * with Retry-After, and cancellation when the client disconnects.
 */
import type { AddressInfo } from "node:net";
import type { FastifyInstance } from "fastify";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tempDir } from "../../../test/helpers/tempdir.js";
import { makeServeModel } from "../../../test/helpers/serve_model.js";
import { loadEngineGenerator } from "../engine/backend.js";
import { generateText, type Generator } from "../generator.js";
import { safetyAfter, type SafetyAnnotations } from "../safety.js";
import { buildServer, type ServerOptions } from "./server.js";

let gen: Generator;
const servers: FastifyInstance[] = [];
async function serve(opts: ServerOptions = {}): Promise<string> {
  const app = await buildServer(gen, opts);
  await app.listen({ host: "127.0.0.1", port: 0 });
  servers.push(app);
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

let base: string;
let client: OpenAI;
const KEY = "test-key-123";
beforeAll(async () => {
  const m = await makeServeModel(tempDir("pedgpt-serve-"));
  gen = await loadEngineGenerator(m.dir, { contextSize: 256, parallel: 2 });
  base = await serve({ apiKey: KEY, bodyLimit: 64 * 1024 });
  client = new OpenAI({ apiKey: KEY, baseURL: `${base}/v1`, maxRetries: 0 });
}, 60_000);
afterAll(async () => {
  for (const s of servers) await s.close();
  await gen?.close();
});

type ApiBody = { error: { code: string; message: string } };
type Health = { cancelled: number; inflight: number };

const Q = "宝宝8个月，发烧39度，抽搐了一次，怎么办";

describe("OpenAI-compatible API (openai client)", () => {
  it("lists the real model id", async () => {
    const list = await client.models.list();
    expect(list.data.map((m) => m.id)).toEqual([gen.info.id]);
  });

  it("chat completion: the greedy answer, usage, finish reason, safety beside the untouched content", async () => {
    const want = await generateText(gen, { messages: [{ role: "user", content: Q }], temperature: 0, maxNewTokens: 16 });
    const r = await client.chat.completions.create({ model: gen.info.id, messages: [{ role: "user", content: Q }], temperature: 0, max_tokens: 16 });
    expect(r.object).toBe("chat.completion");
    expect(r.choices[0]!.message.content).toBe(want.text);
    expect(r.choices[0]!.finish_reason).toBe(want.finishReason);
    expect(r.usage).toEqual({ prompt_tokens: want.usage.promptTokens, completion_tokens: want.usage.completionTokens, total_tokens: want.usage.totalTokens });
    const safety = (r as unknown as { safety: { triage: { banner: string; redFlags: { id: string }[] }; annotations: { findings: { type: string; citations: string[] }[] } } }).safety;
    expect(safety.triage.banner).toContain("120");
    expect(safety.triage.redFlags.map((f) => f.id)).toContain("convulsion");
    // The tiny model does not advise calling 120: the checker says so, with citations.
    const missing = safety.annotations.findings.find((f) => f.type === "missing_urgent_care");
    expect(missing?.citations.length).toBeGreaterThan(0);
  });

  it("streams chunks whose deltas add up to the answer, with finish reason, usage and safety", async () => {
    const want = await generateText(gen, { messages: [{ role: "user", content: "孩子咳嗽" }], temperature: 0, maxNewTokens: 20 });
    const stream = await client.chat.completions.create({
      model: gen.info.id, messages: [{ role: "user", content: "孩子咳嗽" }], temperature: 0, max_tokens: 20, stream: true, stream_options: { include_usage: true },
    });
    let text = "";
    let finish: string | null = null;
    let usage: unknown = null;
    let sawSafety = false;
    for await (const c of stream) {
      text += c.choices[0]?.delta?.content ?? "";
      if (c.choices[0]?.finish_reason) finish = c.choices[0].finish_reason;
      if (c.usage) usage = c.usage;
      if ((c as unknown as { safety?: unknown }).safety) sawSafety = true;
    }
    expect(text).toBe(want.text);
    expect(finish).toBe(want.finishReason);
    expect(usage).toEqual({ prompt_tokens: want.usage.promptTokens, completion_tokens: want.usage.completionTokens, total_tokens: want.usage.totalTokens });
    expect(sawSafety).toBe(true);
  });

  it("a streamed answer is checked as it streams: the final annotations equal the whole-answer check, live findings are among them", async () => {
    const stream = await client.chat.completions.create({ model: gen.info.id, messages: [{ role: "user", content: Q }], temperature: 0, max_tokens: 24, stream: true });
    let text = "";
    const live: string[] = [];
    let final: { triage: { banner: string }; annotations: SafetyAnnotations } | null = null;
    for await (const c of stream) {
      text += c.choices[0]?.delta?.content ?? "";
      const safety = (c as unknown as { safety?: { findings?: { type: string; ruleId: string }[]; annotations?: SafetyAnnotations; triage: { banner: string } } }).safety;
      for (const f of safety?.findings ?? []) live.push(`${f.type}:${f.ruleId}`);
      if (safety?.annotations) final = { triage: safety.triage, annotations: safety.annotations };
    }
    const whole = safetyAfter(text, Q);
    expect(final?.triage.banner).toContain("120");
    expect(final?.annotations).toEqual(whole);
    expect(whole.findings.map((f) => f.type)).toContain("missing_urgent_care");
    const finalKeys = whole.findings.map((f) => `${f.type}:${f.ruleId}`);
    for (const k of live) expect(finalKeys).toContain(k);
  });

  it("says in a notices field when the oldest turns were dropped to fit the context", async () => {
    const long = "孩子晚上咳嗽得厉害，".repeat(4);
    const messages: { role: "user" | "assistant"; content: string }[] = [];
    for (let i = 0; i < 4; i++) messages.push({ role: "user", content: long }, { role: "assistant", content: long });
    messages.push({ role: "user", content: "现在怎么办" });
    const r = await client.chat.completions.create({ model: gen.info.id, messages, temperature: 0, max_tokens: 8 });
    expect((r as unknown as { notices: string[] }).notices.join(" ")).toMatch(/dropped the \d+ oldest messages so the conversation fits the 256-token context/);
  });

  it("the raw SSE stream ends with data: [DONE]", async () => {
    const r = await fetch(`${base}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${KEY}` },
      body: JSON.stringify({ model: gen.info.id, messages: [{ role: "user", content: "你好" }], stream: true, max_tokens: 5, temperature: 0 }),
    });
    expect(r.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const body = await r.text();
    expect(body.trimEnd().endsWith("data: [DONE]")).toBe(true);
    expect(body.split("\n\n").filter((b) => b.startsWith("data: ")).length).toBeGreaterThan(2);
  });

  it("text completions, plain and streamed; stop and seed pass through", async () => {
    const want = await generateText(gen, { prompt: "Human: 你好\nAssistant:", temperature: 0, maxNewTokens: 10 });
    const r = await client.completions.create({ model: gen.info.id, prompt: "Human: 你好\nAssistant:", temperature: 0, max_tokens: 10 });
    expect(r.choices[0]!.text).toBe(want.text);
    const s = await client.completions.create({ model: gen.info.id, prompt: "Human: 你好\nAssistant:", temperature: 0, max_tokens: 10, stream: true });
    let text = "";
    for await (const c of s) text += c.choices[0]?.text ?? "";
    expect(text).toBe(want.text);
    const a = await client.chat.completions.create({ model: gen.info.id, messages: [{ role: "user", content: "湿疹" }], temperature: 1, top_p: 0.9, seed: 77, max_tokens: 12 });
    const b = await client.chat.completions.create({ model: gen.info.id, messages: [{ role: "user", content: "湿疹" }], temperature: 1, top_p: 0.9, seed: 77, max_tokens: 12 });
    expect(a.choices[0]!.message.content).toBe(b.choices[0]!.message.content);
  });

  it("refuses a missing or wrong key with 401; /health stays open", async () => {
    const wrong = new OpenAI({ apiKey: "nope", baseURL: `${base}/v1`, maxRetries: 0 });
    await expect(wrong.models.list()).rejects.toMatchObject({ status: 401 });
    const r = await fetch(`${base}/v1/models`);
    expect(r.status).toBe(401);
    expect(r.headers.get("www-authenticate")).toBe("Bearer");
    const h = await fetch(`${base}/health`);
    expect(await h.json()).toMatchObject({ status: "ok", model: gen.info.id, auth: true });
  });

  it("validation errors are 400s naming the field", async () => {
    const bad = async (body: Record<string, unknown>) =>
      (await client.chat.completions.create({ model: gen.info.id, messages: [{ role: "user", content: "你好" }], ...body } as never).catch((e: unknown) => e)) as {
        status: number;
        param: string;
      };
    expect(await bad({ temperature: 5 })).toMatchObject({ status: 400, param: "temperature" });
    expect(await bad({ top_p: 0 })).toMatchObject({ status: 400, param: "top_p" });
    expect(await bad({ max_tokens: -1 })).toMatchObject({ status: 400, param: "max_tokens" });
    expect(await bad({ n: 2 })).toMatchObject({ status: 400, param: "n" });
    expect(await bad({ messages: [{ role: "user", content: 42 }] })).toMatchObject({ status: 400, param: "messages[0].content" });
    expect(await bad({ messages: [{ role: "wizard", content: "x" }] })).toMatchObject({ status: 400, param: "messages[0].role" });
    expect(await bad({ messages: [{ role: "user", content: "a" }, { role: "user", content: "b" }] })).toMatchObject({ status: 400, param: "messages[1].role" });
    expect(await bad({ top_k: 1.5 })).toMatchObject({ status: 400, param: "top_k" });
    expect(await bad({ messages: [{ role: "user", content: "很长".repeat(300) }] })).toMatchObject({ status: 400, param: "messages[0].content" });
    expect(await bad({ model: "gpt-3.5-turbo" })).toMatchObject({ status: 404, param: "model" });
  });

  it("malformed bodies: bad JSON, invalid UTF-8, wrong content type, too large", async () => {
    const post = (body: string | Buffer, type = "application/json") =>
      fetch(`${base}/v1/chat/completions`, { method: "POST", headers: { "content-type": type, authorization: `Bearer ${KEY}` }, body });
    const badJson = await post("{\"model\": ");
    expect(badJson.status).toBe(400);
    expect(((await badJson.json()) as ApiBody).error.code).toBe("invalid_json");
    const utf8 = await post(Buffer.concat([Buffer.from('{"model":"x","messages":[{"role":"user","content":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}]}')]));
    expect(utf8.status).toBe(400);
    expect(((await utf8.json()) as ApiBody).error.code).toBe("invalid_utf8");
    expect((await post("[1,2]")).status).toBe(400);
    expect((await post("hello", "text/plain")).status).toBe(415);
    const huge = await post(JSON.stringify({ model: gen.info.id, messages: [{ role: "user", content: "x".repeat(100 * 1024) }] }));
    expect(huge.status).toBe(413);
    expect(((await huge.json()) as ApiBody).error.message).toMatch(/larger than the limit/);
  });

  it("CORS headers only for configured origins", async () => {
    const plain = await fetch(`${base}/health`, { headers: { origin: "http://example.test" } });
    expect(plain.headers.get("access-control-allow-origin")).toBeNull();
    const url = await serve({ corsOrigins: ["http://example.test"] });
    const ok = await fetch(`${url}/health`, { headers: { origin: "http://example.test" } });
    expect(ok.headers.get("access-control-allow-origin")).toBe("http://example.test");
    const other = await fetch(`${url}/health`, { headers: { origin: "http://evil.test" } });
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
    const pre = await fetch(`${url}/v1/chat/completions`, { method: "OPTIONS", headers: { origin: "http://example.test", "access-control-request-method": "POST" } });
    expect(pre.status).toBe(204);
  });

  it("a full queue answers 429 with Retry-After", async () => {
    const url = await serve({ maxQueue: 0 });
    const c = new OpenAI({ apiKey: "x", baseURL: `${url}/v1`, maxRetries: 0 });
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        c.chat.completions
          .create({ model: gen.info.id, messages: [{ role: "user", content: "孩子发烧38.5度怎么办" }], temperature: 1.5, top_k: 0, top_p: 1, seed: i, max_tokens: 60 } as never)
          .then(() => 200)
          .catch((e: { status: number; headers: Headers }) => {
            expect(e.headers.get("retry-after")).toMatch(/^\d+$/);
            return e.status;
          }),
      ),
    );
    expect(results.filter((s) => s === 200).length).toBeGreaterThanOrEqual(2);
    expect(results.filter((s) => s === 429).length).toBeGreaterThan(0);
  });

  it("a client that disconnects cancels its generation", async () => {
    const url = await serve();
    const before = (await (await fetch(`${url}/health`)).json()) as Health;
    const ctl = new AbortController();
    const r = await fetch(`${url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: gen.info.id, messages: [{ role: "user", content: "你好" }], stream: true, max_tokens: 200, temperature: 1.5, top_k: 0, top_p: 1, seed: 1 }),
      signal: ctl.signal,
    });
    // Seed 1 runs to the 193-token limit; leave as soon as the stream's headers arrive, long before.
    expect(r.status).toBe(200);
    ctl.abort();
    let h = before;
    for (let i = 0; i < 100 && h.cancelled === before.cancelled; i++) {
      await new Promise((res) => setTimeout(res, 20));
      h = (await (await fetch(`${url}/health`)).json()) as Health;
    }
    expect(h, JSON.stringify(h)).toMatchObject({ cancelled: before.cancelled + 1 });
    expect(h.inflight).toBe(0);
  });
});
