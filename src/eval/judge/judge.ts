/**
 * `eval judge`: an LLM judge compares two models' answers pairwise on the paper's four dimensions.
 * Every item is judged twice, once with model A's answer shown first ("AB") and once with B's first
 * ("BA"); each order's verdict is mapped back to the models and the two are combined (A = +1,
 * B = −1, tie = 0; a positive sum is a win for A, a negative one a loss, zero a tie). Win/tie/loss
 * rates come with 95% Wilson intervals, and the position bias is reported as the share of decided
 * single-order verdicts that went to the answer shown first, with the share of items whose two orders
 * agree.
 *
 * Calls go through the project's OpenAI-compatible client (on-disk cache, retries, rate limit).
 * Each order's outcome is journaled, so a rerun continues; a call that still times out or returns an
 * unparseable reply after its retries is recorded as a failure with whatever came back — never a
 * verdict — and is tried again on the next run; so is a prompt the endpoint refuses as too long for
 * its context. Other endpoint errors that retrying cannot fix (HTTP 4xx other than 429: a wrong key,
 * an unknown model) stop the run.
 */
import { join } from "node:path";
import { LlmError, LlmMalformedReplyError, LlmRequestError, type LlmClient } from "../../llm/client.js";
import { Journal, runResumable } from "../../llm/journal.js";
import type { TestSet } from "../generate/sets.js";
import { CoverageError } from "../run/errors.js";
import { JUDGE_DIMENSIONS, judgeResultsSchema, type DimensionOutcome, type JudgeResults, type Judgement } from "../run/results.js";
import { judgeMessages, JUDGE_PROMPT_VERSION, parseJudgeReply, renderQuestion } from "./prompt.js";

type Answer = { response?: string; error?: string };

export interface JudgedModel {
  name: string;
  /** The answers file, recorded in the results. */
  file: string;
  answers: Map<string, Answer>;
}

export interface JudgeOptions {
  client: LlmClient;
  /** Journal (and, through the client, cache) folder. */
  workDir: string;
  /** Judge sampling temperature. Defaults to 0. */
  temperature?: number;
  /** Items a model has no answer for become listed gaps instead of an error. Defaults to false. */
  allowMissing?: boolean;
  /** Judge calls in flight. Defaults to 4. */
  concurrency?: number;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

type Order = "AB" | "BA";
interface Task {
  id: string;
  order: Order;
  question: string;
  first: string;
  second: string;
}
type Stored = Omit<Judgement, "id" | "order">;

/** 95% Wilson score interval of k successes in n trials ([0, 1] when n = 0). */
export function wilson(k: number, n: number, z = 1.959963984540054): { low: number; high: number } {
  if (n === 0) return { low: 0, high: 1 };
  const p = k / n;
  const d = 1 + (z * z) / n;
  const c = (p + (z * z) / (2 * n)) / d;
  const h = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / d;
  return { low: Math.max(0, c - h), high: Math.min(1, c + h) };
}

const SIGN = { A: 1, B: -1, tie: 0 } as const;

/** Win/tie/loss per dimension and the position-bias figures from the judgements of both orders. */
export function aggregate(judgements: readonly Judgement[]): Pick<JudgeResults, "perDimension" | "positionBias"> {
  const byId = new Map<string, Partial<Record<Order, Judgement>>>();
  for (const j of judgements) {
    if (j.verdicts === null) continue;
    const e = byId.get(j.id) ?? {};
    e[j.order] = j;
    byId.set(j.id, e);
  }
  const perDimension: DimensionOutcome[] = [];
  let pairs = 0;
  let consistent = 0;
  for (const d of JUDGE_DIMENSIONS) {
    let win = 0;
    let tie = 0;
    let loss = 0;
    for (const e of byId.values()) {
      if (!e.AB || !e.BA) continue;
      const a = e.AB.verdicts![d]!;
      const b = e.BA.verdicts![d]!;
      const s = SIGN[a] + SIGN[b];
      if (s > 0) win++;
      else if (s < 0) loss++;
      else tie++;
      pairs++;
      if (a === b) consistent++;
    }
    const n = win + tie + loss;
    const rate = (k: number) => (n ? k / n : 0);
    perDimension.push({ dimension: d, n, win, tie, loss, winRate: rate(win), tieRate: rate(tie), lossRate: rate(loss), ci: { win: wilson(win, n), tie: wilson(tie, n), loss: wilson(loss, n) } });
  }
  let decided = 0;
  let preferredFirst = 0;
  for (const j of judgements) {
    if (j.verdicts === null) continue;
    const firstModel = j.order === "AB" ? "A" : "B";
    for (const d of JUDGE_DIMENSIONS) {
      const v = j.verdicts[d];
      if (v === undefined || v === "tie") continue;
      decided++;
      if (v === firstModel) preferredFirst++;
    }
  }
  return {
    perDimension,
    positionBias: { decided, preferredFirst, firstRate: decided ? preferredFirst / decided : 0, ci: wilson(preferredFirst, decided), pairs, consistent, consistencyRate: pairs ? consistent / pairs : 0 },
  };
}

/** The endpoint refused this prompt as too long for its context: a property of the item, not of the setup. */
function isContextOverflow(e: LlmRequestError): boolean {
  return e.status === 400 && /context_length_exceeded|maximum context length|context window|too long/i.test(e.body ?? "");
}

export async function runJudge(set: TestSet, a: JudgedModel, b: JudgedModel, o: JudgeOptions): Promise<JudgeResults> {
  const ids = new Set(set.items.map((i) => i.id));
  for (const m of [a, b]) {
    const extra = [...m.answers.keys()].filter((id) => !ids.has(id));
    if (extra.length) throw new CoverageError(`${m.file}: ${extra.length} answer(s) of model ${m.name} for ids not in ${set.path}, e.g. ${extra.slice(0, 3).map((x) => JSON.stringify(x)).join(", ")}`);
  }
  const gaps: JudgeResults["gaps"] = [];
  const tasks: Task[] = [];
  for (const it of set.items) {
    let ok = true;
    for (const [label, m] of [["A", a], ["B", b]] as const) {
      const ans = m.answers.get(it.id);
      if (ans?.response !== undefined) continue;
      ok = false;
      gaps.push({ id: it.id, model: label, reason: ans ? "failed" : "missing", ...(ans?.error ? { detail: ans.error } : {}) });
    }
    if (!ok) continue;
    const question = renderQuestion(it.messages);
    const ra = a.answers.get(it.id)!.response!;
    const rb = b.answers.get(it.id)!.response!;
    tasks.push({ id: it.id, order: "AB", question, first: ra, second: rb }, { id: it.id, order: "BA", question, first: rb, second: ra });
  }
  const missing = gaps.filter((g) => g.reason === "missing");
  if (missing.length && !o.allowMissing) {
    const g = missing[0]!;
    throw new CoverageError(`${(g.model === "A" ? a : b).file}: model ${g.model === "A" ? a.name : b.name} has no answer for ${missing.filter((x) => x.model === g.model).length} item(s) of ${set.path}, e.g. ${JSON.stringify(g.id)} (allow missing answers to judge the rest and list these)`);
  }

  const safe = (n: string) => encodeURIComponent(n); // model names become part of a file name
  const journal = new Journal<Stored>(join(o.workDir, `judge-${safe(a.name)}-vs-${safe(b.name)}.journal.jsonl`));
  // Failures are kept in the journal as history but tried again on every run.
  for (const [k, v] of journal.done) if (v.error !== null) journal.done.delete(k);
  const temperature = o.temperature ?? 0;
  const key = (t: Task) => `${t.id}\t${t.order}`;
  await runResumable(
    tasks,
    key,
    async (t): Promise<Stored> => {
      try {
        const r = await o.client.chat(judgeMessages(t.question, t.first, t.second), {
          temperature,
          validate: (c) => {
            const p = parseJudgeReply(c);
            return typeof p === "string" ? p : undefined;
          },
        });
        const pos = parseJudgeReply(r.content) as Exclude<ReturnType<typeof parseJudgeReply>, string>;
        const toModel = (v: 0 | 1 | 2) => (v === 0 ? "tie" : (v === 1) === (t.order === "AB") ? "A" : "B");
        const verdicts = Object.fromEntries(JUDGE_DIMENSIONS.map((d) => [d, toModel(pos[d])])) as Record<string, "A" | "B" | "tie">;
        return { verdicts, raw: r.content, error: null, cached: r.cached };
      } catch (e) {
        if (e instanceof LlmRequestError && e.status !== undefined && e.status >= 400 && e.status < 500 && e.status !== 429 && !isContextOverflow(e)) throw e;
        if (!(e instanceof LlmError)) throw e;
        return { verdicts: null, raw: e instanceof LlmMalformedReplyError ? e.lastContent : null, error: e.message, cached: false };
      }
    },
    journal,
    { concurrency: o.concurrency ?? 4, ...(o.signal ? { signal: o.signal } : {}), ...(o.onProgress ? { onProgress: o.onProgress } : {}) },
  );
  const judgements: Judgement[] = tasks.map((t) => ({ id: t.id, order: t.order, ...journal.done.get(key(t))! }));
  const results: JudgeResults = {
    format: "pedgpt-judge-results",
    version: 1,
    createdAt: new Date().toISOString(),
    judge: { baseUrl: o.client.url, model: o.client.model, temperature, promptVersion: JUDGE_PROMPT_VERSION },
    modelA: { name: a.name, answers: a.file },
    modelB: { name: b.name, answers: b.file },
    questions: set.path,
    items: set.items.length,
    dimensions: [...JUDGE_DIMENSIONS],
    ...aggregate(judgements),
    gaps,
    failures: judgements.filter((j) => j.error !== null).map((j) => ({ id: j.id, order: j.order, error: j.error! })),
    judgements,
  };
  return judgeResultsSchema.parse(results);
}
