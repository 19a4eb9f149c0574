/**
 * Instruction-data readers in the two LLaMA-Factory formats, with its column mapping:
 * - Alpaca: `{instruction, input, output, system?, history?: [[q, a], …]}`;
 * - ShareGPT: `{conversations: [{from, value}, …], system?}` with configurable role/content tags
 *   (also reads OpenAI-style `messages: [{role, content}]` when the tags say so).
 * Both also read preference variants (`chosen`/`rejected`). Each file may be a JSON array, JSON
 * Lines, or (Alpaca) a CSV/TSV with a header row, as LLaMA-Factory allows. Malformed records (missing fields, empty answers, broken alternation) are reported.
 */
import type { EncodingOption } from "../io/encoding.js";
import { readObjectRecords } from "../io/records.js";
import type { IssueSink, Located } from "../errors.js";
import type { InstructionExample, Message, PreferencePair } from "./types.js";

/** LLaMA-Factory `columns` for the alpaca format (defaults as in its dataset_info documentation). */
export interface AlpacaColumns {
  prompt: string;
  query: string;
  response: string;
  history?: string;
  system?: string;
  chosen?: string;
  rejected?: string;
}

export interface SharegptColumns {
  messages: string;
  system?: string;
  chosen?: string;
  rejected?: string;
}

export interface SharegptTags {
  role_tag: string;
  content_tag: string;
  user_tag: string;
  assistant_tag: string;
  system_tag: string;
  observation_tag?: string;
  function_tag?: string;
}

export const DEFAULT_ALPACA_COLUMNS: AlpacaColumns = { prompt: "instruction", query: "input", response: "output", history: "history", system: "system" };
export const DEFAULT_SHAREGPT_COLUMNS: SharegptColumns = { messages: "conversations", system: "system" };
export const DEFAULT_SHAREGPT_TAGS: SharegptTags = { role_tag: "from", content_tag: "value", user_tag: "human", assistant_tag: "gpt", system_tag: "system" };

type Parsed<T> = T | { bad: string };
const bad = (s: string) => ({ bad: s });

function optString(o: Record<string, unknown>, key: string | undefined): Parsed<string | undefined> {
  if (!key) return undefined;
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") return bad(`field "${key}" must be a string, got ${Array.isArray(v) ? "array" : typeof v}`);
  return v;
}

function mappedKeys(cols: object): Set<string> {
  return new Set(Object.values(cols).filter((x): x is string => typeof x === "string"));
}

function extras(o: Record<string, unknown>, used: Set<string>): Record<string, unknown> {
  const e: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (!used.has(k)) e[k] = v;
  return e;
}

/** Alpaca record → prompt messages (history + current instruction) and optional system. */
function alpacaPrompt(o: Record<string, unknown>, cols: AlpacaColumns): Parsed<{ prompt: Message[]; system?: string }> {
  const instruction = optString(o, cols.prompt);
  if (typeof instruction === "object") return instruction;
  const input = optString(o, cols.query);
  if (typeof input === "object") return input;
  const system = optString(o, cols.system);
  if (typeof system === "object") return system;
  const q = [instruction ?? "", input ?? ""].filter((s) => s.trim() !== "").join("\n");
  if (q.trim() === "") return bad(`empty instruction: "${cols.prompt}" and "${cols.query}" are both empty or missing`);
  const prompt: Message[] = [];
  const hist = cols.history ? o[cols.history] : undefined;
  if (hist !== undefined && hist !== null) {
    if (!Array.isArray(hist)) return bad(`field "${cols.history}" must be an array of [question, answer] pairs`);
    for (let i = 0; i < hist.length; i++) {
      const pair = hist[i] as unknown;
      if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== "string" || typeof pair[1] !== "string") {
        return bad(`${cols.history}[${i}] must be a [question, answer] pair of strings`);
      }
      if (pair[0].trim() === "" || pair[1].trim() === "") return bad(`${cols.history}[${i}] has an empty question or answer`);
      prompt.push({ role: "user", content: pair[0] }, { role: "assistant", content: pair[1] });
    }
  }
  prompt.push({ role: "user", content: q });
  return system && system.trim() !== "" ? { prompt, system } : { prompt };
}

export function toAlpacaExample(v: unknown, cols: AlpacaColumns = DEFAULT_ALPACA_COLUMNS): Parsed<InstructionExample> {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return bad("expected a JSON object (alpaca record)");
  const o = v as Record<string, unknown>;
  const p = alpacaPrompt(o, cols);
  if ("bad" in p) return p;
  const out = optString(o, cols.response);
  if (typeof out === "object") return out;
  if (out === undefined) return bad(`missing field "${cols.response}" (the answer)`);
  if (out.trim() === "") return bad(`empty answer ("${cols.response}")`);
  const ex: InstructionExample = { messages: [...p.prompt, { role: "assistant", content: out }], extra: extras(o, mappedKeys(cols)) };
  if (p.system) ex.system = p.system;
  return ex;
}

/** ShareGPT message list → validated messages (user/assistant alternating, system allowed first). */
function sharegptMessages(raw: unknown, field: string, tags: SharegptTags): Parsed<{ messages: Message[]; system?: string }> {
  if (!Array.isArray(raw)) return bad(`field "${field}" must be an array of messages`);
  const messages: Message[] = [];
  let system: string | undefined;
  for (let i = 0; i < raw.length; i++) {
    const m = raw[i] as Record<string, unknown> | null;
    if (m === null || typeof m !== "object") return bad(`${field}[${i}] must be an object`);
    const role = m[tags.role_tag];
    const content = m[tags.content_tag];
    if (typeof content !== "string") return bad(`${field}[${i}].${tags.content_tag} must be a string`);
    if (role === tags.system_tag && i === 0) {
      system = content;
      continue;
    }
    let r: "user" | "assistant";
    if (role === tags.user_tag || (tags.observation_tag !== undefined && role === tags.observation_tag)) r = "user";
    else if (role === tags.assistant_tag || (tags.function_tag !== undefined && role === tags.function_tag)) r = "assistant";
    else return bad(`${field}[${i}].${tags.role_tag} must be "${tags.user_tag}" or "${tags.assistant_tag}", got ${JSON.stringify(role)}`);
    if (content.trim() === "") return bad(`${field}[${i}] (${r}) has empty content`);
    const expected = messages.length % 2 === 0 ? "user" : "assistant";
    if (r !== expected) return bad(`${field}[${i}] is ${r === "user" ? tags.user_tag : tags.assistant_tag} but ${expected === "user" ? tags.user_tag : tags.assistant_tag} was expected (turns alternate, starting with the user)`);
    messages.push({ role: r, content });
  }
  return system !== undefined ? { messages, system } : { messages };
}

export function toSharegptExample(v: unknown, cols: SharegptColumns = DEFAULT_SHAREGPT_COLUMNS, tags: SharegptTags = DEFAULT_SHAREGPT_TAGS): Parsed<InstructionExample> {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return bad("expected a JSON object (sharegpt record)");
  const o = v as Record<string, unknown>;
  const r = sharegptMessages(o[cols.messages], cols.messages, tags);
  if ("bad" in r) return r;
  if (r.messages.length === 0) return bad(`field "${cols.messages}" has no user/assistant messages`);
  if (r.messages[r.messages.length - 1]!.role !== "assistant") return bad(`the last message of "${cols.messages}" must be the assistant's (an unanswered question cannot be trained on)`);
  const sys = optString(o, cols.system);
  if (typeof sys === "object") return sys;
  const ex: InstructionExample = { messages: r.messages, extra: extras(o, mappedKeys(cols)) };
  const system = sys ?? r.system;
  if (system && system.trim() !== "") ex.system = system;
  return ex;
}

function checkPair(chosen: unknown, rejected: unknown, cc: string, rc: string): Parsed<{ chosen: string; rejected: string }> {
  if (typeof chosen !== "string") return bad(`field "${cc}" must be a string`);
  if (typeof rejected !== "string") return bad(`field "${rc}" must be a string`);
  if (chosen.trim() === "") return bad(`empty chosen answer ("${cc}")`);
  if (rejected.trim() === "") return bad(`empty rejected answer ("${rc}")`);
  if (chosen.trim() === rejected.trim()) return bad("chosen and rejected answers are identical");
  return { chosen, rejected };
}

/** Preference record: `{prompt, chosen, rejected}` (our DFPO form) or alpaca `{instruction, input, chosen, rejected}`. */
export function toPreferencePair(v: unknown, cols?: AlpacaColumns): Parsed<PreferencePair> {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return bad("expected a JSON object with prompt, chosen, rejected");
  const o = v as Record<string, unknown>;
  const c = cols ?? (typeof o.prompt === "string" && o.instruction === undefined ? { prompt: "prompt", query: "query", response: "", history: "history", system: "system" } : DEFAULT_ALPACA_COLUMNS);
  const chosenKey = c.chosen ?? "chosen";
  const rejectedKey = c.rejected ?? "rejected";
  const p = alpacaPrompt(o, c);
  if ("bad" in p) return p;
  const pair = checkPair(o[chosenKey], o[rejectedKey], chosenKey, rejectedKey);
  if ("bad" in pair) return pair;
  const used = mappedKeys(c);
  used.add(chosenKey).add(rejectedKey);
  const out: PreferencePair = { prompt: p.prompt, chosen: pair.chosen, rejected: pair.rejected, extra: extras(o, used) };
  if (p.system) out.system = p.system;
  return out;
}

/** ShareGPT preference record: messages end with the user; chosen/rejected are single messages. */
export function toSharegptPreference(v: unknown, cols: SharegptColumns = { ...DEFAULT_SHAREGPT_COLUMNS, chosen: "chosen", rejected: "rejected" }, tags: SharegptTags = DEFAULT_SHAREGPT_TAGS): Parsed<PreferencePair> {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return bad("expected a JSON object (sharegpt preference record)");
  const o = v as Record<string, unknown>;
  const r = sharegptMessages(o[cols.messages], cols.messages, tags);
  if ("bad" in r) return r;
  if (r.messages.length === 0 || r.messages[r.messages.length - 1]!.role !== "user") return bad(`"${cols.messages}" must end with the user's message in a preference record`);
  const ck = cols.chosen ?? "chosen";
  const rk = cols.rejected ?? "rejected";
  const get = (x: unknown) => (x !== null && typeof x === "object" ? (x as Record<string, unknown>)[tags.content_tag] : x);
  const pair = checkPair(get(o[ck]), get(o[rk]), ck, rk);
  if ("bad" in pair) return pair;
  const used = mappedKeys(cols);
  const out: PreferencePair = { prompt: r.messages, chosen: pair.chosen, rejected: pair.rejected, extra: extras(o, used) };
  if (r.system) out.system = r.system;
  return out;
}

async function* readWith<T>(file: string, stage: string, sink: IssueSink, encoding: EncodingOption, convert: (v: unknown) => Parsed<T>): AsyncGenerator<Located<T>> {
  const items = await readObjectRecords(file, encoding);
  for await (const item of items) {
    if (!item.ok) {
      sink.report({ file, line: item.line, stage, reason: item.reason, excerpt: item.excerpt });
      continue;
    }
    const r = convert(item.value);
    if (r !== null && typeof r === "object" && "bad" in (r as object)) {
      sink.report({ file, line: item.line, stage, reason: (r as { bad: string }).bad, excerpt: JSON.stringify(item.value) });
      continue;
    }
    yield { value: r as T, file, line: item.line };
  }
}

export function readAlpaca(file: string, sink: IssueSink, opts: { columns?: AlpacaColumns; encoding?: EncodingOption } = {}): AsyncGenerator<Located<InstructionExample>> {
  const cols = { ...DEFAULT_ALPACA_COLUMNS, ...(opts.columns ?? {}) };
  return readWith(file, "alpaca", sink, opts.encoding ?? "auto", (v) => toAlpacaExample(v, cols));
}

export function readSharegpt(file: string, sink: IssueSink, opts: { columns?: Partial<SharegptColumns>; tags?: Partial<SharegptTags>; encoding?: EncodingOption } = {}): AsyncGenerator<Located<InstructionExample>> {
  const cols = { ...DEFAULT_SHAREGPT_COLUMNS, ...(opts.columns ?? {}) };
  const tags = { ...DEFAULT_SHAREGPT_TAGS, ...(opts.tags ?? {}) };
  return readWith(file, "sharegpt", sink, opts.encoding ?? "auto", (v) => toSharegptExample(v, cols, tags));
}

export function readPreference(
  file: string,
  sink: IssueSink,
  opts: { formatting?: "alpaca" | "sharegpt"; columns?: Partial<AlpacaColumns & SharegptColumns>; tags?: Partial<SharegptTags>; encoding?: EncodingOption } = {},
): AsyncGenerator<Located<PreferencePair>> {
  if (opts.formatting === "sharegpt") {
    const cols = { ...DEFAULT_SHAREGPT_COLUMNS, chosen: "chosen", rejected: "rejected", ...(opts.columns ?? {}) } as SharegptColumns;
    const tags = { ...DEFAULT_SHAREGPT_TAGS, ...(opts.tags ?? {}) };
    return readWith(file, "preference", sink, opts.encoding ?? "auto", (v) => toSharegptPreference(v, cols, tags));
  }
  const cols = opts.columns ? ({ ...DEFAULT_ALPACA_COLUMNS, chosen: "chosen", rejected: "rejected", ...opts.columns } as AlpacaColumns) : undefined;
  return readWith(file, "preference", sink, opts.encoding ?? "auto", (v) => toPreferencePair(v, cols));
}
