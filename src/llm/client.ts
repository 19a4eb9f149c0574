/**
 * The project's one client for any OpenAI-compatible `/v1/chat/completions` endpoint (this project's
 * own server, vLLM, llama.cpp server, hosted APIs), used by corpus generation and by the evaluation
 * judge, built for offline batch work:
 * - an on-disk cache keyed by the SHA-256 of the request (model, messages, sampling parameters), so a
 *   rerun or a resumed run never pays twice for the same request;
 * - retries with exponential backoff and full jitter on HTTP 429, 5xx, timeouts and network errors,
 *   honouring `Retry-After`;
 * - malformed replies (non-JSON body, no `choices[0].message.content`, empty content, or content that
 *   fails the caller's validator) are detected and retried, then reported as `LlmMalformedReplyError`;
 * - a rate limiter (requests per minute, evenly spaced) and a concurrency cap.
 * It does not stream and does not do tool calls.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "../util/atomic.js";

/** One chat message as the endpoint receives it. */
export interface Message {
  role: "system" | "user" | "assistant";
  content: string;
}

export class LlmError extends Error {
  override name = "LlmError";
}
/** The endpoint answered, but not with a usable reply (after all retries). */
export class LlmMalformedReplyError extends LlmError {
  override name = "LlmMalformedReplyError";
  constructor(
    message: string,
    /** The content of the last reply when it had one (kept so callers can record what came back). */
    readonly lastContent: string | null = null,
  ) {
    super(message);
  }
}
/** Retries exhausted on 429/5xx/timeouts/network errors, or a non-retryable HTTP status. */
export class LlmRequestError extends LlmError {
  override name = "LlmRequestError";
  constructor(
    message: string,
    readonly status?: number,
    /** The response body of a non-retried HTTP error, for callers that tell errors apart by it. */
    readonly body?: string,
  ) {
    super(message);
  }
}

export interface LlmClientOptions {
  /** Server root or its /v1 URL, e.g. "http://127.0.0.1:8000" or "http://127.0.0.1:8000/v1". */
  baseUrl: string;
  model: string;
  apiKey?: string;
  /** Directory of the response cache. Defaults to no cache. */
  cacheDir?: string;
  /** Per-request timeout in ms. Defaults to 60000. */
  timeoutMs?: number;
  /** Retries after the first attempt. Defaults to 5. */
  maxRetries?: number;
  /** First backoff in ms (doubled per retry, capped by backoffMaxMs, full jitter). Defaults to 500. */
  backoffBaseMs?: number;
  /** Defaults to 30000. */
  backoffMaxMs?: number;
  /** Requests per minute (0 = unlimited). Defaults to 0. */
  requestsPerMinute?: number;
  /** Requests in flight at once. Defaults to 4. */
  concurrency?: number;
  /** Random source for jitter (tests make it deterministic). Defaults to Math.random. */
  random?: () => number;
}

export interface ChatParams {
  temperature?: number;
  maxTokens?: number;
  seed?: number;
  /** Nucleus sampling mass (sent as top_p; part of the cache key only when given). */
  topP?: number;
  /** Return an error message when the content is unusable (e.g. not the JSON asked for). */
  validate?: (content: string) => string | undefined;
}

export interface ChatResult {
  content: string;
  cached: boolean;
  attempts: number;
}

export interface LlmStats {
  requests: number;
  cacheHits: number;
  retries: number;
  rateLimited: number;
  timeouts: number;
  serverErrors: number;
  malformed: number;
}

class RetryableError extends Error {
  constructor(
    message: string,
    readonly kind: "rate" | "timeout" | "server" | "network" | "malformed",
    readonly retryAfterMs?: number,
    readonly content?: string,
  ) {
    super(message);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Semaphore + evenly spaced start times. */
class Gate {
  private active = 0;
  private readonly waiters: (() => void)[] = [];
  private nextStart = 0;
  constructor(
    private readonly concurrency: number,
    private readonly intervalMs: number,
  ) {}
  async acquire(): Promise<void> {
    if (this.active >= this.concurrency) await new Promise<void>((r) => this.waiters.push(r));
    else this.active++;
    if (this.intervalMs > 0) {
      const now = Date.now();
      const at = Math.max(now, this.nextStart);
      this.nextStart = at + this.intervalMs;
      if (at > now) await sleep(at - now);
    }
  }
  release(): void {
    const w = this.waiters.shift();
    if (w) w();
    else this.active--;
  }
}

export class LlmClient {
  readonly url: string;
  readonly stats: LlmStats = { requests: 0, cacheHits: 0, retries: 0, rateLimited: 0, timeouts: 0, serverErrors: 0, malformed: 0 };
  private readonly o: Required<Omit<LlmClientOptions, "apiKey" | "cacheDir">> & Pick<LlmClientOptions, "apiKey" | "cacheDir">;
  private readonly gate: Gate;

  constructor(opts: LlmClientOptions) {
    const base = opts.baseUrl.replace(/\/+$/, "");
    this.url = /\/v1$/.test(base) ? `${base}/chat/completions` : `${base}/v1/chat/completions`;
    this.o = {
      timeoutMs: 60000,
      maxRetries: 5,
      backoffBaseMs: 500,
      backoffMaxMs: 30000,
      requestsPerMinute: 0,
      concurrency: 4,
      random: Math.random,
      ...opts,
    };
    if (this.o.concurrency < 1) throw new LlmError(`concurrency must be ≥ 1, got ${this.o.concurrency}`);
    this.gate = new Gate(this.o.concurrency, this.o.requestsPerMinute > 0 ? 60000 / this.o.requestsPerMinute : 0);
  }

  get model(): string {
    return this.o.model;
  }

  /** Requests in flight at most. */
  get concurrency(): number {
    return this.o.concurrency;
  }

  /** The cache key of a request: what determines the reply, not how it is sent. */
  requestKey(messages: Message[], p: ChatParams = {}): string {
    const key: Record<string, unknown> = { model: this.o.model, messages: messages.map((m) => [m.role, m.content]), temperature: p.temperature ?? null, max_tokens: p.maxTokens ?? null, seed: p.seed ?? null };
    if (p.topP !== undefined) key.top_p = p.topP; // absent otherwise, so keys of earlier caches stay valid
    const canonical = JSON.stringify(key);
    return createHash("sha256").update(canonical).digest("hex");
  }

  private cachePath(key: string): string | undefined {
    return this.o.cacheDir ? join(this.o.cacheDir, key.slice(0, 2), `${key}.json`) : undefined;
  }

  async chat(messages: Message[], p: ChatParams = {}): Promise<ChatResult> {
    const key = this.requestKey(messages, p);
    const path = this.cachePath(key);
    if (path) {
      const hit = await readFile(path, "utf8").then(
        (t) => JSON.parse(t) as { content?: unknown },
        () => undefined,
      );
      if (hit && typeof hit.content === "string" && !(p.validate && p.validate(hit.content) !== undefined)) {
        this.stats.cacheHits++;
        return { content: hit.content, cached: true, attempts: 0 };
      }
    }
    let attempt = 0;
    let lastError = "";
    for (;;) {
      attempt++;
      try {
        const content = await this.once(messages, p);
        if (path) {
          await writeFileAtomic(path, JSON.stringify({ model: this.o.model, messages, params: { temperature: p.temperature, max_tokens: p.maxTokens, seed: p.seed, top_p: p.topP }, content }) + "\n");
        }
        return { content, cached: false, attempts: attempt };
      } catch (err) {
        if (!(err instanceof RetryableError)) throw err;
        lastError = err.message;
        if (attempt > this.o.maxRetries) {
          if (err.kind === "malformed") throw new LlmMalformedReplyError(`${this.url}: malformed reply after ${attempt} attempts: ${lastError}`, err.content ?? null);
          throw new LlmRequestError(`${this.url}: giving up after ${attempt} attempts: ${lastError}`);
        }
        this.stats.retries++;
        const exp = Math.min(this.o.backoffMaxMs, this.o.backoffBaseMs * 2 ** (attempt - 1));
        const wait = Math.max(exp * this.o.random(), err.retryAfterMs ?? 0);
        await sleep(Math.min(wait, this.o.backoffMaxMs));
      }
    }
  }

  private async once(messages: Message[], p: ChatParams): Promise<string> {
    await this.gate.acquire();
    const ctrl = new AbortController();
    const timer = setTimeout(() => ctrl.abort(), this.o.timeoutMs);
    this.stats.requests++;
    try {
      const body: Record<string, unknown> = { model: this.o.model, messages, stream: false };
      if (p.temperature !== undefined) body.temperature = p.temperature;
      if (p.maxTokens !== undefined) body.max_tokens = p.maxTokens;
      if (p.topP !== undefined) body.top_p = p.topP;
      if (p.seed !== undefined) body.seed = p.seed;
      let res: Response;
      let text: string;
      try {
        res = await fetch(this.url, {
          method: "POST",
          headers: { "content-type": "application/json", ...(this.o.apiKey ? { authorization: `Bearer ${this.o.apiKey}` } : {}) },
          body: JSON.stringify(body),
          signal: ctrl.signal,
        });
        text = await res.text();
      } catch (err) {
        if (ctrl.signal.aborted) {
          this.stats.timeouts++;
          throw new RetryableError(`request timed out after ${this.o.timeoutMs} ms`, "timeout");
        }
        throw new RetryableError(`network error: ${(err as Error).message}${(err as { cause?: Error }).cause ? ` (${(err as { cause: Error }).cause.message})` : ""}`, "network");
      }
      if (res.status === 429) {
        this.stats.rateLimited++;
        throw new RetryableError("HTTP 429 rate limited", "rate", retryAfter(res.headers.get("retry-after")));
      }
      if (res.status >= 500) {
        this.stats.serverErrors++;
        throw new RetryableError(`HTTP ${res.status}: ${text.slice(0, 200)}`, "server", retryAfter(res.headers.get("retry-after")));
      }
      if (res.status !== 200) throw new LlmRequestError(`${this.url}: HTTP ${res.status} (not retried): ${text.slice(0, 300)}`, res.status, text);
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        this.stats.malformed++;
        throw new RetryableError(`reply is not JSON: ${JSON.stringify(text.slice(0, 120))}`, "malformed");
      }
      const content = (json as { choices?: { message?: { content?: unknown } }[] })?.choices?.[0]?.message?.content;
      if (typeof content !== "string") {
        this.stats.malformed++;
        throw new RetryableError("reply has no choices[0].message.content string", "malformed");
      }
      if (content.trim() === "") {
        this.stats.malformed++;
        throw new RetryableError("reply content is empty", "malformed");
      }
      const problem = p.validate?.(content);
      if (problem !== undefined) {
        this.stats.malformed++;
        throw new RetryableError(`reply content rejected: ${problem}`, "malformed", undefined, content);
      }
      return content;
    } finally {
      clearTimeout(timer);
      this.gate.release();
    }
  }
}

function retryAfter(h: string | null): number | undefined {
  if (!h) return undefined;
  const s = Number(h);
  if (Number.isFinite(s)) return Math.max(0, s * 1000);
  const t = Date.parse(h);
  return Number.isFinite(t) ? Math.max(0, t - Date.now()) : undefined;
}
