/**
 * `eval generate`: answers for every item of a test set from one model, `batchSize` requests in
 * flight (decoded together by the engine backend), resumable after a kill. Each finished answer is
 * appended to a journal (`<out>.journal.jsonl`, one line per item, one write per line) as soon as
 * it is done; a rerun with the same model, set and settings skips journaled items. When every item has an outcome, the answers file is written in test-set order
 * (temporary file + rename) with a `<out>.meta.json` beside it recording the model, the test set and
 * the generation settings. `<out>.run.json` pins what a journal may be resumed with (model, template,
 * set, settings other than the batch size). Items the model could not answer carry an `error` instead of a `response`:
 * they are listed, never dropped.
 *
 * Answer lines: `{id, question, response | error, reference, finish_reason, prompt_tokens,
 * completion_tokens, seed}` — readable by `eval metrics --pred` and `eval exam --pred`.
 */
import { existsSync, readFileSync } from "node:fs";
import { Journal, InterruptedError, runResumable } from "../../llm/journal.js";
import { writeFileAtomic } from "../../util/atomic.js";
import { resolveOptions, type GenerationOptions, type ResolvedOptions } from "../../serve/generator.js";
import type { GenerationSettings } from "../run/results.js";
import type { AnswerBackend, BackendInfo } from "./backend.js";
import type { EvalItem, TestSet } from "./sets.js";

/** Evaluation defaults: greedy decoding with a fixed seed, so reruns reproduce the answers. */
export const EVAL_GENERATION_DEFAULTS: GenerationOptions = { maxNewTokens: 256, temperature: 0, topP: 1, topK: 0, repetitionPenalty: 1, seed: 0 };

export interface AnswerLine {
  id: string;
  question: string;
  response?: string;
  error?: string;
  reference: string;
  finish_reason?: string;
  prompt_tokens?: number;
  completion_tokens?: number;
  seed: number;
  /** What the generator had to change, e.g. old turns dropped to fit the context. */
  notices?: string[];
}

export interface AnswersMeta {
  format: "pedgpt-answers";
  version: 1;
  model: BackendInfo;
  testSet: { name: string; format: string; path: string; items: number; skipped: Record<string, number> };
  settings: GenerationSettings;
  createdAt: string;
  answered: number;
  failed: number;
  seconds: number;
}

export class GenerateRunError extends Error {
  override name = "GenerateRunError";
}

export interface GenerateProgress {
  done: number;
  total: number;
  /** Answers produced in this run so far, per second. */
  answersPerSecond: number;
  /** Items already in the journal when the run started. */
  resumed: number;
}

export interface GenerateOptions {
  /** Answers file (JSONL). Its journal and meta file sit beside it. */
  out: string;
  settings?: GenerationOptions & { batchSize?: number };
  /** Redo items whose journaled outcome is an error (e.g. after raising the context size). Defaults to false. */
  retryFailed?: boolean;
  signal?: AbortSignal;
  onProgress?: (p: GenerateProgress) => void;
}

export interface GenerateResult {
  lines: AnswerLine[];
  meta: AnswersMeta;
  /** Items generated in this run (the rest came from the journal). */
  generated: number;
}

type Outcome = Omit<AnswerLine, "id" | "question" | "reference">;

export function resolveSettings(s: GenerationOptions & { batchSize?: number } = {}): GenerationSettings {
  const r: ResolvedOptions = resolveOptions(s, EVAL_GENERATION_DEFAULTS);
  const batchSize = s.batchSize ?? 8;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new GenerateRunError(`batchSize: expected an integer >= 1, got ${batchSize}`);
  return { ...r, batchSize };
}

export function lastUserText(item: EvalItem): string {
  return item.messages[item.messages.length - 1]!.content;
}

/** What a journal must agree on to be resumed: the same model, template, set and settings. */
function runIdentity(info: BackendInfo, set: TestSet, settings: GenerationSettings): Record<string, unknown> {
  const { batchSize: _batch, ...rest } = settings; // batching does not change greedy answers or per-item seeds
  return { model: info.id, backend: info.backend, template: info.template, set: set.path, items: set.items.length, settings: rest };
}

export async function generateAnswers(set: TestSet, backend: AnswerBackend, o: GenerateOptions): Promise<GenerateResult> {
  const settings = resolveSettings(o.settings);
  const identityFile = `${o.out}.run.json`;
  const identity = runIdentity(backend.info, set, settings);
  if (existsSync(identityFile)) {
    const prev = JSON.parse(readFileSync(identityFile, "utf8")) as Record<string, unknown>;
    for (const k of Object.keys(identity)) {
      if (JSON.stringify(prev[k]) !== JSON.stringify(identity[k])) {
        throw new GenerateRunError(`${o.out}: an earlier run with a different ${k} (${JSON.stringify(prev[k])}, now ${JSON.stringify(identity[k])}) left a journal; use another --out or delete ${o.out}.journal.jsonl and ${identityFile}`);
      }
    }
  } else {
    await writeFileAtomic(identityFile, JSON.stringify(identity, null, 1) + "\n");
  }
  const journal = new Journal<Outcome>(`${o.out}.journal.jsonl`);
  if (o.retryFailed) for (const [k, v] of journal.done) if (v.error !== undefined) journal.done.delete(k);
  const indexOf = new Map(set.items.map((it, i) => [it.id, i]));
  const resumed = set.items.filter((it) => journal.done.has(it.id)).length;
  const t0 = Date.now();
  let generated = 0;
  o.onProgress?.({ done: resumed, total: set.items.length, answersPerSecond: 0, resumed });
  // `batchSize` requests in flight: the engine backend decodes them together. Each item's seed is
  // settings.seed + its index, so answers do not depend on batching or on where a run resumed.
  await runResumable(
    set.items,
    (it) => it.id,
    async (it): Promise<Outcome> => {
      const seed = settings.seed + indexOf.get(it.id)!;
      const oc = await backend.answer(it.messages, settings, seed);
      generated++;
      if (!oc.ok) return { error: oc.error, seed };
      return {
        response: oc.text,
        finish_reason: oc.finishReason,
        ...(oc.promptTokens !== undefined ? { prompt_tokens: oc.promptTokens } : {}),
        ...(oc.completionTokens !== undefined ? { completion_tokens: oc.completionTokens } : {}),
        seed,
        ...(oc.notices.length ? { notices: oc.notices } : {}),
      };
    },
    journal,
    {
      concurrency: settings.batchSize,
      ...(o.signal ? { signal: o.signal } : {}),
      onProgress: (done, total) => {
        const secs = (Date.now() - t0) / 1000;
        o.onProgress?.({ done, total, answersPerSecond: secs > 0 ? generated / secs : 0, resumed });
      },
    },
  ).catch((e: unknown) => {
    if (e instanceof InterruptedError) throw new InterruptedError(`interrupted after ${journal.done.size} of ${set.items.length} items; rerun with the same options to resume from ${journal.path}`);
    throw e;
  });
  const lines: AnswerLine[] = set.items.map((it) => ({ id: it.id, question: lastUserText(it), reference: it.reference, ...journal.done.get(it.id)! }));
  const failed = lines.filter((l) => l.error !== undefined).length;
  const meta: AnswersMeta = {
    format: "pedgpt-answers",
    version: 1,
    model: backend.info,
    testSet: { name: set.name, format: set.format, path: set.path, items: set.items.length, skipped: set.skipped },
    settings,
    createdAt: new Date().toISOString(),
    answered: lines.length - failed,
    failed,
    seconds: (Date.now() - t0) / 1000,
  };
  await writeFileAtomic(o.out, lines.map((l) => JSON.stringify(l)).join("\n") + "\n");
  await writeFileAtomic(`${o.out}.meta.json`, JSON.stringify(meta, null, 1) + "\n");
  return { lines, meta, generated };
}

/** Reads an answers file (ours, or any JSONL with id + response) into id → line, with file:line errors. */
export function readAnswers(file: string): Map<string, { response?: string; error?: string; question?: string; line: number }> {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new GenerateRunError(`cannot read answers file ${file}: ${(e as Error).message}`);
  }
  const out = new Map<string, { response?: string; error?: string; question?: string; line: number }>();
  text.split("\n").forEach((raw, i) => {
    if (raw.trim() === "") return;
    const where = `${file}:${i + 1}`;
    let r: Record<string, unknown>;
    try {
      r = JSON.parse(raw) as Record<string, unknown>;
    } catch (e) {
      throw new GenerateRunError(`${where}: not valid JSON (${(e as Error).message})`);
    }
    if (r === null || typeof r !== "object" || Array.isArray(r)) throw new GenerateRunError(`${where}: expected a JSON object`);
    if (typeof r.id !== "string" && typeof r.id !== "number") throw new GenerateRunError(`${where}: field "id": expected a string or number`);
    const id = String(r.id);
    const prev = out.get(id);
    if (prev) throw new GenerateRunError(`${where}: duplicate id ${JSON.stringify(id)} (first at line ${prev.line})`);
    const resp = typeof r.response === "string" ? r.response : typeof r.prediction === "string" ? r.prediction : typeof r.output === "string" ? r.output : undefined;
    const question = typeof r.question === "string" ? { question: r.question } : {};
    if (resp !== undefined) out.set(id, { response: resp, ...question, line: i + 1 });
    else if (typeof r.error === "string") out.set(id, { error: r.error, ...question, line: i + 1 });
    else throw new GenerateRunError(`${where}: expected field "response" (string), or "error" for an item the model could not answer`);
  });
  return out;
}
