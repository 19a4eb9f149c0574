/**
 * The pairwise judge against a real local HTTP server playing the judge: both orders asked, verdicts
 * mapped back to the models, position bias measured, garbage and timeouts retried then recorded as
 * failures (never verdicts), and a rerun resuming from the journal.
 */
import { describe, expect, it } from "vitest";
import { join } from "node:path";
import { LlmClient } from "../../llm/client.js";
import { aggregate, runJudge, wilson, type JudgedModel } from "./judge.js";
import { parseJudgeReply } from "./prompt.js";
import { CoverageError } from "../run/run.js";
import type { TestSet } from "../generate/sets.js";
import { startServer } from "../../../test/helpers/openai_server.js";
import { tempDir } from "../../../test/helpers/tempdir.js";

const QUESTIONS = ["q1", "q2", "q3", "q4", "q-garbage", "q-hang", "q-flaky"];
const set: TestSet = {
  name: "t",
  format: "qa-jsonl",
  path: "questions.jsonl",
  skipped: {},
  items: QUESTIONS.map((id) => ({ id, messages: [{ role: "user", content: `问题【${id}】孩子发烧怎么办？` }], reference: "参考", where: `questions.jsonl:${id}` })),
};
const model = (name: string, text: (id: string) => string, drop: string[] = []): JudgedModel => ({
  name,
  file: `${name}.jsonl`,
  answers: new Map(QUESTIONS.filter((q) => !drop.includes(q)).map((id) => [id, { response: text(id) }])),
});
const good = model("good", (id) => `详细建议（${id}）：补液，按体重用退热药，精神差就医。`);
const poor = model("poor", (id) => `不知道（${id}）。`);

/** A judge that prefers the detailed answer on three dimensions and always answer 1 on smoothness. */
function judgeReply(prompt: string): string {
  const first = prompt.slice(prompt.indexOf("【回答1】"), prompt.indexOf("【回答2】"));
  const better = first.includes("详细建议") ? 1 : 2;
  return `评审意见如下：\n\`\`\`json\n{"usefulness": ${better}, "correctness": "${better}", "consistency": ${better}, "smoothness": 1}\n\`\`\``;
}

async function judgeServer(opts: { garbageForever: boolean }) {
  const seen = new Set<string>();
  return startServer(
    (p) => (p.includes("【q-hang】") ? [{ hang: true }] : ["ok"]),
    (p) => {
      if (p.includes("【q-garbage】") && opts.garbageForever) return "我觉得两个回答都不错。";
      if (p.includes("【q-flaky】") && !seen.has(p)) {
        seen.add(p); // the first reply to each order is unusable, the retry is fine
        return '{"usefulness": 3}';
      }
      return judgeReply(p);
    },
  );
}

// The timeout must outlast a normal reply on a busy machine; only q-hang should ever reach it.
const fast = { backoffBaseMs: 5, backoffMaxMs: 20, random: () => 0.5, timeoutMs: 1500, maxRetries: 1 };

describe("runJudge", () => {
  it("judges both orders, counts wins per dimension, measures position bias, and records failures without counting them", async () => {
    const s = await judgeServer({ garbageForever: true });
    const workDir = tempDir("judge-");
    const client = new LlmClient({ baseUrl: s.url, model: "judge-m", cacheDir: join(workDir, "cache"), ...fast });
    const r = await runJudge(set, good, poor, { client, workDir, concurrency: 3 });

    expect(r.judgements).toHaveLength(14);
    const use = r.perDimension.find((d) => d.dimension === "usefulness")!;
    expect(use).toMatchObject({ n: 5, win: 5, tie: 0, loss: 0, winRate: 1 });
    expect(use.ci.win.low).toBeGreaterThan(0.5);
    expect(use.ci.win.high).toBe(1);
    // Always "answer 1" on smoothness: the two orders cancel into ties.
    expect(r.perDimension.find((d) => d.dimension === "smoothness")).toMatchObject({ n: 5, win: 0, tie: 5, loss: 0 });
    expect(r.positionBias).toMatchObject({ decided: 40, preferredFirst: 25, firstRate: 0.625, pairs: 20, consistent: 15, consistencyRate: 0.75 });

    expect(r.failures.map((f) => `${f.id}:${f.order}`).sort()).toEqual(["q-garbage:AB", "q-garbage:BA", "q-hang:AB", "q-hang:BA"]);
    const garbage = r.judgements.find((j) => j.id === "q-garbage")!;
    expect(garbage).toMatchObject({ verdicts: null, raw: "我觉得两个回答都不错。" });
    expect(garbage.error).toMatch(/malformed reply after 2 attempts: reply content rejected: no JSON object/);
    expect(r.judgements.find((j) => j.id === "q-hang")!.error).toMatch(/timed out/);
    const flaky = r.judgements.filter((j) => j.id === "q-flaky");
    expect(flaky.every((j) => j.verdicts !== null && j.error === null)).toBe(true);
    // Every prompt was asked in both orders: the server saw the two answers both ways round.
    const prompts = [...s.hits.keys()].filter((p) => p.includes("【q1】"));
    expect(prompts).toHaveLength(2);
    expect(prompts.some((p) => p.indexOf("详细建议") < p.indexOf("不知道"))).toBe(true);
    expect(prompts.some((p) => p.indexOf("详细建议") > p.indexOf("不知道"))).toBe(true);
    expect(s.hits.get([...s.hits.keys()].find((p) => p.includes("【q-garbage】"))!)).toBe(2); // first try + 1 retry
  });

  it("resumes from the journal: verdicts are not asked again, failures are", async () => {
    const workDir = tempDir("judge-resume-");
    const s1 = await judgeServer({ garbageForever: true });
    const r1 = await runJudge(set, good, poor, { client: new LlmClient({ baseUrl: s1.url, model: "judge-m", ...fast }), workDir });
    expect(r1.failures).toHaveLength(4);
    const s2 = await judgeServer({ garbageForever: false });
    const r2 = await runJudge(set, good, poor, { client: new LlmClient({ baseUrl: s2.url, model: "judge-m", ...fast }), workDir });
    const asked = [...s2.hits.keys()].map((p) => /【(q[^】]*)】/.exec(p)![1]).sort();
    expect(asked).toEqual(["q-garbage", "q-garbage", "q-hang", "q-hang"]);
    expect(r2.failures.map((f) => f.id)).toEqual(["q-hang", "q-hang"]);
    expect(r2.perDimension[0]).toMatchObject({ n: 6, win: 6 });
  });

  it("names answer sets that do not cover the questions; allowMissing lists gaps", async () => {
    const s = await judgeServer({ garbageForever: false });
    const client = new LlmClient({ baseUrl: s.url, model: "judge-m", ...fast });
    const partial = model("partial", (id) => `详细建议${id}`, ["q2"]);
    await expect(runJudge(set, partial, poor, { client, workDir: tempDir("j-") })).rejects.toThrow(/partial\.jsonl: model partial has no answer for 1 item\(s\) of questions\.jsonl, e\.g\. "q2"/);
    const stray: JudgedModel = { ...poor, answers: new Map([...poor.answers, ["zz", { response: "x" }]]) };
    await expect(runJudge(set, good, stray, { client, workDir: tempDir("j-") })).rejects.toThrow(CoverageError);
    const failed: JudgedModel = { ...poor, answers: new Map([...poor.answers, ["q1", { error: "context overflow" }]]) };
    const r = await runJudge(set, partial, failed, { client, workDir: tempDir("j-"), allowMissing: true });
    expect(r.gaps).toEqual([
      { id: "q1", model: "B", reason: "failed", detail: "context overflow" },
      { id: "q2", model: "A", reason: "missing" },
    ]);
    expect(r.judgements.some((j) => j.id === "q1" || j.id === "q2")).toBe(false);
  });

  it("records a prompt refused as too long for the judge's context as a failure, and goes on", async () => {
    const s = await startServer((p) => (p.includes("【q2】") ? [{ status: 400, body: '{"error":{"message":"too many tokens","code":"context_length_exceeded"}}' }] : ["ok"]), judgeReply);
    const client = new LlmClient({ baseUrl: s.url, model: "judge-m", ...fast });
    const small = { ...set, items: set.items.filter((i) => ["q1", "q2"].includes(i.id)) };
    const pick = (m: JudgedModel): JudgedModel => ({ ...m, answers: new Map([...m.answers].filter(([id]) => id === "q1" || id === "q2")) });
    const r = await runJudge(small, pick(good), pick(poor), { client, workDir: tempDir("j-") });
    expect(r.failures.map((f) => f.id)).toEqual(["q2", "q2"]);
    expect(r.failures[0]!.error).toMatch(/HTTP 400.*context_length_exceeded/);
    expect(r.perDimension[0]).toMatchObject({ n: 1, win: 1 });
  });

  it("stops on an endpoint error that retrying cannot fix", async () => {
    const s = await startServer(() => [{ status: 401, body: '{"error":"bad key"}' }]);
    const client = new LlmClient({ baseUrl: s.url, model: "judge-m", ...fast });
    await expect(runJudge(set, good, poor, { client, workDir: tempDir("j-") })).rejects.toThrow(/HTTP 401.*bad key/);
  });
});

describe("judge reply parsing and statistics", () => {
  it("reads verdicts from JSON in prose or fences and says why a reply is unusable", () => {
    expect(parseJudgeReply('好的 {"usefulness": 1, "correctness": 2, "consistency": 0, "smoothness": "tie"}')).toEqual({ usefulness: 1, correctness: 2, consistency: 0, smoothness: 0 });
    expect(parseJudgeReply('{"usefulness": 1}')).toBe('dimension "correctness": expected 1, 2 or 0, got undefined');
    expect(parseJudgeReply("{oops}")).toMatch(/does not parse/);
    expect(parseJudgeReply("都很好")).toBe("no JSON object in the reply");
  });

  it("Wilson intervals match the closed form and aggregate skips failed judgements", () => {
    // 8 of 10: the textbook 95% Wilson interval is [0.4902, 0.9433].
    const w = wilson(8, 10);
    expect(w.low).toBeCloseTo(0.4902, 4);
    expect(w.high).toBeCloseTo(0.9433, 4);
    expect(wilson(0, 0)).toEqual({ low: 0, high: 1 });
    const v = (x: "A" | "B" | "tie") => ({ usefulness: x, correctness: x, consistency: x, smoothness: x });
    const agg = aggregate([
      { id: "1", order: "AB", verdicts: v("A"), raw: "", error: null, cached: false },
      { id: "1", order: "BA", verdicts: v("tie"), raw: "", error: null, cached: false },
      { id: "2", order: "AB", verdicts: v("B"), raw: "", error: null, cached: false },
      { id: "2", order: "BA", verdicts: null, raw: "garbage", error: "malformed", cached: false },
    ]);
    expect(agg.perDimension[0]).toMatchObject({ n: 1, win: 1, tie: 0, loss: 0 });
    expect(agg.positionBias).toMatchObject({ decided: 8, preferredFirst: 4, pairs: 4, consistent: 0 });
  });
});
