/**
 * The HTTP server (fastify): OpenAI-compatible `POST /v1/chat/completions` and `POST /v1/completions`
 * (plain JSON, or SSE streaming ending in `data: [DONE]`), `GET /v1/models`, `GET /health`, and the web
 * chat at `/`. Around any `Generator`: bodies validated (4xx naming the field), strict UTF-8 JSON, a
 * body size limit, a request timeout for slow clients, optional bearer-token auth, CORS only for
 * configured origins, a bounded queue answering 429 with Retry-After, and generation cancelled when the
 * client disconnects. The safety triage and annotations travel in an extra `safety` field; the answer
 * text is never altered. The server itself runs no kernel: generation happens in the backend's threads.
 */
import { createHash, randomUUID, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import http, { type ServerResponse } from "node:http";
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { ContextOverflowError, GenerationRequestError, type EndEvent, type GenerationRequest, type Generator } from "../generator.js";
import { currentQuestion, SafetyStream, safetyAfter, safetyBefore, type SafetyTriage } from "../safety.js";
import { ApiError, apiField, chatBody, chatRequest, completionBody, completionRequest, parseBody } from "./schema.js";

export interface ServerOptions {
  /** Require `Authorization: Bearer <key>` on /v1/*. Defaults to none (open). */
  apiKey?: string | null;
  /** Origins allowed by CORS ("*" for any). Defaults to none: no CORS headers at all. */
  corsOrigins?: string[];
  /** Largest request body in bytes. Defaults to 1 MiB. */
  bodyLimit?: number;
  /** Requests that may wait beyond those generating (`info.parallel`); more get 429. Defaults to 32. */
  maxQueue?: number;
  /** Milliseconds a client has to send its whole request (slow clients get 408). Defaults to 30 000. */
  requestTimeoutMs?: number;
  /** Triage and annotate with the safety layer. Defaults to true. */
  safety?: boolean;
  /** fastify's request log. Defaults to false. */
  logger?: boolean;
}

const WEB_DIR = new URL("./web/", import.meta.url);
const WEB_FILES: Record<string, { file: string; type: string }> = {
  "/": { file: "index.html", type: "text/html; charset=utf-8" },
  "/app.js": { file: "app.js", type: "text/javascript; charset=utf-8" },
  "/app.css": { file: "app.css", type: "text/css; charset=utf-8" },
};

function sha256(s: string): Buffer {
  return createHash("sha256").update(s).digest();
}

/** Counts requests generating or waiting; refuses beyond capacity with an estimate of when to retry. */
class Admission {
  inflight = 0;
  /** requests finished, and of those, cancelled because the client left */
  completed = 0;
  cancelled = 0;
  private avgSeconds = 1;
  constructor(
    private readonly parallel: number,
    private readonly maxQueue: number,
  ) {}

  get queued(): number {
    return Math.max(0, this.inflight - this.parallel);
  }

  enter(): () => void {
    if (this.inflight >= this.parallel + this.maxQueue) {
      const waitFor = (this.queued + 1) / this.parallel;
      throw Object.assign(new ApiError(429, `the server is busy (${this.inflight} requests in progress or queued); retry later`, null, "queue_full"), {
        retryAfter: Math.max(1, Math.ceil(this.avgSeconds * waitFor)),
      });
    }
    this.inflight++;
    const t0 = performance.now();
    let left = false;
    return () => {
      if (left) return;
      left = true;
      this.inflight--;
      this.completed++;
      this.avgSeconds = 0.8 * this.avgSeconds + 0.2 * ((performance.now() - t0) / 1000);
    };
  }
}

export async function buildServer(gen: Generator, options: ServerOptions = {}): Promise<FastifyInstance> {
  const bodyLimit = options.bodyLimit ?? 1024 * 1024;
  const requestTimeout = options.requestTimeoutMs ?? 30_000;
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit,
    // Node checks request timeouts every connectionsCheckingInterval (30 s by default), too coarse to
    // answer a slow client with 408 in time; check at a quarter of the timeout instead.
    serverFactory: (handler) =>
      http.createServer({ requestTimeout, headersTimeout: requestTimeout, connectionsCheckingInterval: Math.max(50, Math.floor(requestTimeout / 4)) }, handler),
    // Hard-close idle keep-alive sockets on close() so tests and shutdowns do not hang.
    forceCloseConnections: true,
  });
  const admission = new Admission(gen.info.parallel, options.maxQueue ?? 32);
  const safetyOn = options.safety ?? true;
  // Load the safety knowledge base now: a broken one stops the server here, not every request later.
  if (safetyOn) safetyBefore("");
  const keyHash = options.apiKey ? sha256(options.apiKey) : null;
  const cors = new Set(options.corsOrigins ?? []);
  const web = Object.fromEntries(Object.entries(WEB_FILES).map(([route, f]) => [route, { body: readFileSync(new URL(f.file, WEB_DIR)), type: f.type }]));

  // JSON with strict UTF-8: invalid bytes are a 400, not silently replaced by U+FFFD.
  app.removeContentTypeParser("application/json");
  // Only JSON bodies: anything else is a 415, not a string the schema would puzzle over.
  app.removeContentTypeParser("text/plain");
  app.addContentTypeParser("application/json", { parseAs: "buffer" }, (_req, body: Buffer, done) => {
    let text: string;
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(body);
    } catch {
      return done(new ApiError(400, "the request body is not valid UTF-8", "body", "invalid_utf8"), undefined);
    }
    try {
      done(null, JSON.parse(text));
    } catch (e) {
      done(new ApiError(400, `the request body is not valid JSON: ${(e as Error).message}`, "body", "invalid_json"), undefined);
    }
  });

  app.setErrorHandler((err: FastifyError | ApiError, _req, reply) => {
    if (err instanceof ApiError) {
      const retry = (err as ApiError & { retryAfter?: number }).retryAfter;
      if (retry !== undefined) reply.header("retry-after", String(retry));
      return reply.status(err.status).send(err.body());
    }
    const status = typeof err.statusCode === "number" && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    if (status >= 500) app.log.error(err);
    const message = status === 413 ? `the request body is larger than the limit of ${bodyLimit} bytes` : status >= 500 ? "internal server error" : err.message;
    return reply.status(status).send(new ApiError(status, message, status === 413 ? "body" : null, err.code ?? null).body());
  });
  app.setNotFoundHandler((req, reply) => {
    reply.status(404).send(new ApiError(404, `no route ${req.method} ${req.url}`, null, "not_found").body());
  });

  app.addHook("onRequest", async (req, reply) => {
    const origin = req.headers.origin;
    if (origin !== undefined && (cors.has("*") || cors.has(origin))) {
      reply.header("access-control-allow-origin", cors.has("*") ? "*" : origin);
      reply.header("vary", "Origin");
      if (req.method === "OPTIONS") {
        reply.header("access-control-allow-methods", "GET, POST, OPTIONS");
        reply.header("access-control-allow-headers", "authorization, content-type");
        reply.header("access-control-max-age", "600");
        return reply.status(204).send();
      }
    }
    if (keyHash && req.url.startsWith("/v1/")) {
      const h = req.headers.authorization ?? "";
      const m = /^Bearer\s+(.+)$/i.exec(h);
      if (!m || !timingSafeEqual(sha256(m[1]!.trim()), keyHash)) {
        reply.header("www-authenticate", "Bearer");
        throw new ApiError(401, m ? "invalid API key" : "missing bearer token (Authorization: Bearer <key>)", null, "invalid_api_key");
      }
    }
  });

  for (const [route, f] of Object.entries(web)) app.get(route, (_req, reply) => reply.type(f.type).send(f.body));

  app.get("/health", async () => ({
    status: "ok",
    model: gen.info.id,
    backend: gen.info.backend,
    template: gen.info.template,
    context_size: gen.info.contextSize,
    parallel: gen.info.parallel,
    inflight: admission.inflight,
    queued: admission.queued,
    completed: admission.completed,
    cancelled: admission.cancelled,
    auth: keyHash !== null,
  }));

  const created = Math.floor(Date.now() / 1000);
  app.get("/v1/models", async () => ({
    object: "list",
    data: [{ id: gen.info.id, object: "model", created, owned_by: "pedgpt", backend: gen.info.backend, template: gen.info.template, adapters: gen.info.adapters }],
  }));

  const checkModel = (model: string) => {
    if (model !== gen.info.id) throw new ApiError(404, `model "${model}" is not served here; GET /v1/models lists "${gen.info.id}"`, "model", "model_not_found");
  };

  app.post("/v1/chat/completions", async (req, reply) => {
    const body = parseBody(chatBody, req.body);
    checkModel(body.model);
    const request = chatRequest(body);
    const question = currentQuestion(request.messages!);
    return respond(req, reply, request, question, body.stream === true, body.stream_options?.include_usage === true, "chat");
  });

  app.post("/v1/completions", async (req, reply) => {
    const body = parseBody(completionBody, req.body);
    checkModel(body.model);
    const request = completionRequest(body);
    return respond(req, reply, request, request.prompt!, body.stream === true, body.stream_options?.include_usage === true, "text");
  });

  async function respond(
    req: FastifyRequest,
    reply: FastifyReply,
    request: GenerationRequest,
    question: string,
    stream: boolean,
    includeUsage: boolean,
    kind: "chat" | "text",
  ): Promise<unknown> {
    const leave = admission.enter();
    const ctl = new AbortController();
    const res: ServerResponse = reply.raw;
    res.on("close", () => {
      if (!res.writableFinished) ctl.abort();
    });
    req.raw.on("aborted", () => ctl.abort());
    const id = `${kind === "chat" ? "chatcmpl" : "cmpl"}-${randomUUID()}`;
    const now = Math.floor(Date.now() / 1000);
    const model = gen.info.id;
    try {
      const triage: SafetyTriage | null = safetyOn ? safetyBefore(question) : null;
      const events = gen.generate({ ...request, signal: ctl.signal });
      // The first event validates and fits the prompt: errors here are still plain 4xx JSON answers.
      const first = await nextOrError(events);
      let notices = first.type === "start" ? first.notices : [];
      if (!stream) {
        let end: EndEvent | null = null;
        for await (const ev of events) if (ev.type === "end") end = ev;
        // The client left: nothing to answer (the socket is gone).
        if (end === null || end.finishReason === "cancelled") {
          admission.cancelled++;
          return { cancelled: true };
        }
        notices = end.notices;
        const usage = { prompt_tokens: end.usage.promptTokens, completion_tokens: end.usage.completionTokens, total_tokens: end.usage.totalTokens };
        const safety = triage ? { triage, annotations: safetyAfter(end.text, question) } : undefined;
        const choice =
          kind === "chat"
            ? { index: 0, message: { role: "assistant", content: end.text }, finish_reason: end.finishReason, logprobs: null }
            : { index: 0, text: end.text, finish_reason: end.finishReason, logprobs: null };
        return {
          id,
          object: kind === "chat" ? "chat.completion" : "text_completion",
          created: now,
          model,
          choices: [choice],
          usage,
          system_fingerprint: null,
          ...(safety ? { safety } : {}),
          ...(notices.length ? { notices } : {}),
        };
      }
      reply.hijack();
      res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", connection: "keep-alive", "x-accel-buffering": "no", ...corsHeaders(reply) });
      const object = kind === "chat" ? "chat.completion.chunk" : "text_completion";
      const chunk = (delta: string | null, finish: string | null, extra: Record<string, unknown> = {}) => ({
        id,
        object,
        created: now,
        model,
        choices: [kind === "chat" ? { index: 0, delta: delta === null ? {} : { ...(finish === null && delta === "" ? { role: "assistant" } : {}), content: delta }, finish_reason: finish, logprobs: null } : { index: 0, text: delta ?? "", finish_reason: finish, logprobs: null }],
        ...extra,
      });
      await send(res, chunk("", null, { ...(triage ? { safety: { triage } } : {}), ...(notices.length ? { notices } : {}) }));
      // The answer is checked as it streams: a finding travels with the chunk that completes the sentence
      // confirming it, and the final chunk's annotations come from the same incremental check.
      const live = triage ? new SafetyStream(question) : null;
      let streamed = "";
      for await (const ev of events) {
        if (ev.type === "text" && ev.text !== "") {
          streamed += ev.text;
          const findings = live ? live.append(ev.text) : [];
          await send(res, chunk(ev.text, null, findings.length ? { safety: { findings } } : {}));
        } else if (ev.type === "end") {
          if (ev.finishReason === "cancelled") {
            admission.cancelled++;
            break;
          }
          // The deltas add up to the answer; should a backend ever end with other text, check that text.
          const annotations = live && streamed === ev.text ? live.finish() : triage ? safetyAfter(ev.text, question) : null;
          const safety = triage && annotations ? { triage, annotations } : undefined;
          await send(res, chunk(null, ev.finishReason, safety ? { safety } : {}));
          const usage = { prompt_tokens: ev.usage.promptTokens, completion_tokens: ev.usage.completionTokens, total_tokens: ev.usage.totalTokens };
          if (includeUsage) await send(res, { id, object, created: now, model, choices: [], usage });
          res.write("data: [DONE]\n\n");
        }
      }
      res.end();
      return reply;
    } catch (e) {
      if (reply.raw.headersSent) {
        // Mid-stream failure: say so in the stream, then close it.
        if (!res.writableEnded) {
          res.write(`data: ${JSON.stringify(new ApiError(500, (e as Error).message).body())}\n\n`);
          res.end();
        }
        return reply;
      }
      throw toApiError(e);
    } finally {
      leave();
    }
  }

  function corsHeaders(reply: FastifyReply): Record<string, string> {
    const h: Record<string, string> = {};
    for (const k of ["access-control-allow-origin", "vary"]) {
      const v = reply.getHeader(k);
      if (typeof v === "string") h[k] = v;
    }
    return h;
  }

  // The generator belongs to the caller (the CLI closes it after the server).
  return app;
}

function toApiError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  if (e instanceof ContextOverflowError) return new ApiError(400, e.message.replace(e.field, apiField(e.field)), apiField(e.field), "context_length_exceeded");
  if (e instanceof GenerationRequestError) return new ApiError(400, e.message.replace(e.field, apiField(e.field)), apiField(e.field));
  return new ApiError(500, (e as Error).message ?? String(e));
}

async function nextOrError<T>(it: AsyncGenerator<T>): Promise<T> {
  const r = await it.next();
  if (r.done) throw new ApiError(500, "the generator ended before starting");
  return r.value;
}

/** One SSE event; waits while the client is slow to read (backpressure) or gives up if it left. */
async function send(res: ServerResponse, obj: unknown): Promise<void> {
  if (res.destroyed) return;
  if (!res.write(`data: ${JSON.stringify(obj)}\n\n`)) {
    await new Promise<void>((resolve) => {
      const done = () => {
        res.off("drain", done);
        res.off("close", done);
        resolve();
      };
      res.on("drain", done);
      res.on("close", done);
    });
  }
}
