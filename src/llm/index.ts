/**
 * The project's one OpenAI-compatible client (cache, retries, rate limit, concurrency) and the
 * resumable JSON Lines journal that batch jobs use to continue after an interruption. Corpus
 * generation and the evaluation judge both build on these; nothing here knows about either.
 */
export { LlmClient, LlmError, LlmMalformedReplyError, LlmRequestError, type LlmClientOptions, type ChatParams, type ChatResult, type LlmStats, type Message } from "./client.js";
export { Journal, runResumable, InterruptedError, type ResumableOptions } from "./journal.js";
