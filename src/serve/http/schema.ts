/**
 * Request bodies of the OpenAI-compatible API, validated with zod, turned into our GenerationRequest.
 * Every refusal names the field (`messages[1].content`, `temperature`) in OpenAI's error shape, so
 * clients show a useful message. Unsupported OpenAI features that would change the answer (n > 1,
 * tools, logprobs, presence/frequency penalties) are refused rather than silently ignored.
 */
import { z } from "zod";
import type { GenerationOptions, GenerationRequest } from "../generator.js";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly param: string | null = null,
    readonly code: string | null = null,
    readonly type: string = status === 401 ? "authentication_error" : status === 429 ? "rate_limit_error" : status >= 500 ? "server_error" : "invalid_request_error",
  ) {
    super(message);
  }

  body(): { error: { message: string; type: string; param: string | null; code: string | null } } {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

const contentPart = z.object({ type: z.literal("text"), text: z.string() });
const message = z.object({
  role: z.enum(["system", "user", "assistant"]),
  content: z.union([z.string(), z.array(contentPart).min(1)]),
});

const common = {
  model: z.string().min(1),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().gt(0).max(1).nullish(),
  max_tokens: z.number().int().min(1).nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).nullish(),
  stop: z.union([z.string().min(1), z.array(z.string().min(1)).max(16)]).nullish(),
  seed: z.number().int().min(0).max(2 ** 32 - 1).nullish(),
  n: z.literal(1).nullish(),
  presence_penalty: z.literal(0).nullish(),
  frequency_penalty: z.literal(0).nullish(),
  logprobs: z.union([z.literal(false), z.null()]).optional(),
  user: z.string().optional(),
  // extensions
  top_k: z.number().int().min(0).nullish(),
  repetition_penalty: z.number().gt(0).max(10).nullish(),
};

export const chatBody = z.object({
  ...common,
  messages: z.array(message).min(1),
  max_completion_tokens: z.number().int().min(1).nullish(),
  tools: z.undefined({ message: "tools are not supported" }).optional(),
});
export const completionBody = z.object({
  ...common,
  prompt: z.union([z.string().min(1), z.array(z.string().min(1)).length(1)]),
  echo: z.union([z.literal(false), z.null()]).optional(),
});

export type ChatBody = z.infer<typeof chatBody>;
export type CompletionBody = z.infer<typeof completionBody>;

/** `messages.1.content` → `messages[1].content` */
function fieldName(path: readonly PropertyKey[]): string {
  let s = "";
  for (const p of path) s += typeof p === "number" ? `[${p}]` : `${s === "" ? "" : "."}${String(p)}`;
  return s || "body";
}

export function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw new ApiError(400, "the request body must be a JSON object", "body");
  const r = schema.safeParse(body);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const field = fieldName(issue.path);
    throw new ApiError(400, `${field}: ${issue.message}`, field);
  }
  return r.data;
}

/** Our option names → the API's, for errors raised after parsing (GenerationRequestError.field). */
const API_FIELD: Record<string, string> = { maxNewTokens: "max_tokens", topP: "top_p", topK: "top_k", repetitionPenalty: "repetition_penalty" };
export function apiField(field: string): string {
  return API_FIELD[field] ?? field;
}

function options(b: ChatBody | CompletionBody, maxTokens: number | null | undefined): GenerationOptions {
  const o: GenerationOptions = {};
  if (b.temperature != null) o.temperature = b.temperature;
  if (b.top_p != null) o.topP = b.top_p;
  if (b.top_k != null) o.topK = b.top_k;
  if (b.repetition_penalty != null) o.repetitionPenalty = b.repetition_penalty;
  if (maxTokens != null) o.maxNewTokens = maxTokens;
  if (b.seed != null) o.seed = b.seed;
  if (b.stop != null) o.stop = typeof b.stop === "string" ? [b.stop] : b.stop;
  return o;
}

export function chatRequest(b: ChatBody): GenerationRequest {
  const messages = b.messages.map((m) => ({ role: m.role, content: typeof m.content === "string" ? m.content : m.content.map((p) => p.text).join("") }));
  return { messages, ...options(b, b.max_completion_tokens ?? b.max_tokens) };
}

export function completionRequest(b: CompletionBody): GenerationRequest {
  return { prompt: typeof b.prompt === "string" ? b.prompt : b.prompt[0]!, ...options(b, b.max_tokens) };
}
