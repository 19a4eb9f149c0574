/** eval run end to end on fixtures: a tiny checkpoint beside given answers, coverage errors, config errors. */
import { beforeAll, describe, expect, it } from "vitest";
import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { loadEvalConfig, parseEvalConfig, EvalConfigError } from "./config.js";
import { CoverageError, runEvaluation, writeResults } from "./run.js";
import { evalResultsSchema } from "./results.js";
import { readTestSet } from "../generate/sets.js";
import { makeServeModel } from "../../../test/helpers/serve_model.js";
import { startServer } from "../../../test/helpers/openai_server.js";
import { tempDir } from "../../../test/helpers/tempdir.js";

const F = resolve("test/fixtures/eval");
let work: string;
let modelDir: string;

/** Answers equal to the references (a perfect model), optionally dropping or adding ids. */
async function referenceAnswers(setFile: string, out: string, edit: (lines: { id: string; response: string }[]) => { id: string; response: string }[] = (x) => x) {
  const s = await readTestSet(setFile);
  const lines = edit(s.items.map((i) => ({ id: i.id, response: i.exam ? `答案：${i.reference}` : i.reference })));
  writeFileSync(out, lines.map((l) => JSON.stringify(l)).join("\n") + "\n");
  return out;
}

function yaml(extra: string): string {
  const f = join(work, `eval-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(
    f,
    `name: t
out: out
sets:
  - { name: cmd, path: ${join(F, "cmd_test.csv")} }
  - { name: pb, path: ${join(F, "pediabench.jsonl")} }
generation: { maxNewTokens: 8, batchSize: 4 }
${extra}`,
  );
  return f;
}

beforeAll(async () => {
  work = tempDir("eval-run-");
  modelDir = (await makeServeModel(tempDir("pedgpt-eval-model-"))).dir;
  await referenceAnswers(join(F, "cmd_test.csv"), join(work, "ref-cmd.jsonl"));
  await referenceAnswers(join(F, "pediabench.jsonl"), join(work, "ref-pb.jsonl"));
});

describe("eval run", () => {
  it("scores a checkpoint and given answers side by side: metrics per set and department, exam by generation and likelihood, safety per answer", async () => {
    const file = yaml(`models:
  - { name: tiny, model: ${modelDir} }
  - { name: ref, answers: { cmd: ref-cmd.jsonl, pb: ref-pb.jsonl } }
`);
    const cfg = loadEvalConfig(file);
    const r = await runEvaluation(cfg, { configFile: file });
    expect(() => evalResultsSchema.parse(r)).not.toThrow();
    expect(r.models.map((m) => [m.name, m.backend, m.template])).toEqual([["tiny", "engine", "qwen"], ["ref", "answers", null]]);
    expect(r.models[0]!.generation).toMatchObject({ maxNewTokens: 8, batchSize: 4, temperature: 0 });
    expect(r.sets.map((s) => [s.name, s.kind, s.items])).toEqual([["cmd", "generation", 3], ["pb", "mixed", 5]]);

    const ref = r.generation.find((g) => g.model === "ref" && g.set === "cmd")!;
    expect(ref.means.rouge1).toBeCloseTo(100, 6);
    expect(ref.means.bleu4).toBeCloseTo(100, 6);
    expect(ref.byDepartment.map((d) => [d.department, d.n])).toEqual([["小儿内科", 2], ["新生儿科", 1]]);
    const tiny = r.generation.find((g) => g.model === "tiny" && g.set === "cmd")!;
    expect(tiny.scored).toBe(3);
    expect(tiny.means.rouge1).toBeLessThan(100);
    expect(r.generation.find((g) => g.model === "ref" && g.set === "pb")).toMatchObject({ items: 2, scored: 2 }); // essay + case
    expect(r.generation.find((g) => g.model === "ref" && g.set === "pb")!.byTask.map((t) => [t.task, t.n])).toEqual([["case_analysis", 1], ["essay_short_answer", 1]]);
    expect(ref.byTask).toEqual([]); // CMD rows carry no task label

    const exam = r.exam.map((e) => [e.model, e.method, e.items]);
    expect(exam).toEqual([["tiny", "generation", 3], ["tiny", "likelihood", 3], ["ref", "generation", 3]]);
    expect(r.exam.find((e) => e.model === "ref")!.accuracy).toBe(1);
    const lik = r.exam.find((e) => e.method === "likelihood")!;
    expect(lik.answered).toBe(3); // likelihood always picks an option
    expect(Object.keys(lik.byCategory).sort()).toEqual(["儿科感染性疾病", "新生儿疾病"]);
    expect(r.notes).toEqual(["model ref: exam accuracy by likelihood needs an engine checkpoint; only answers were given"]);

    expect(r.safety.map((s) => [s.model, s.set, s.answers, s.perAnswer.length])).toEqual([["tiny", "cmd", 3, 3], ["tiny", "pb", 5, 5], ["ref", "cmd", 3, 3], ["ref", "pb", 5, 5]]);
    expect(r.safety.every((s) => s.perAnswer.every((a) => a.score > 0 && a.score <= 1))).toBe(true);

    const written = await writeResults(cfg, r);
    expect(JSON.parse(readFileSync(written, "utf8"))).toEqual(r);
    // The tiny model's answers were journaled: a second run generates nothing new and scores the same.
    const again = await runEvaluation(cfg, { configFile: file });
    expect(again.generation).toEqual(r.generation);
  });

  it("names answer files that do not cover the set; allowMissing turns missing items into listed gaps", async () => {
    const short = await referenceAnswers(join(F, "cmd_test.csv"), join(work, "short.jsonl"), (l) => l.slice(1));
    const extra = await referenceAnswers(join(F, "cmd_test.csv"), join(work, "extra.jsonl"), (l) => [...l, { id: "nope", response: "x" }]);
    const base = (answers: string, flags = "") => loadEvalConfig(yaml(`likelihood: false\nsafety: false\n${flags}\nmodels:\n  - { name: m, answers: { cmd: ${answers}, pb: ref-pb.jsonl } }\n`));
    await expect(runEvaluation(base(short), { configFile: "e.yaml" })).rejects.toThrow(/short\.jsonl: model m has no answer for 1 of 3 items of set cmd, e\.g\. "line-2"/);
    await expect(runEvaluation(base(extra), { configFile: "e.yaml" })).rejects.toThrow(CoverageError);
    await expect(runEvaluation(base(extra), { configFile: "e.yaml" })).rejects.toThrow(/answer\(s\) for ids not in set cmd.*"nope"/);
    const r = await runEvaluation(base(short, "allowMissing: true"), { configFile: "e.yaml" });
    const g = r.generation.find((x) => x.set === "cmd")!;
    expect(g).toMatchObject({ items: 3, scored: 2, gaps: [{ id: "line-2", reason: "missing" }], gapsScoredAsEmpty: false });
    expect(g.means.rouge1).toBeCloseTo(100, 6);
    const empty = await runEvaluation(base(short, "allowMissing: true\nscoreGapsAsEmpty: true"), { configFile: "e.yaml" });
    expect(empty.generation.find((x) => x.set === "cmd")).toMatchObject({ scored: 3, emptyAnswers: 1 });
    expect(empty.generation.find((x) => x.set === "cmd")!.means.rouge1).toBeCloseTo(200 / 3, 6);
  });

  it("rejects bad configs naming the field", () => {
    expect(() => parseEvalConfig("name: t\nout: o\nsets: []\nmodels: []\n", "e.yaml")).toThrow(/e\.yaml: sets: /);
    expect(() => parseEvalConfig("name: t\nout: o\nsets: [{name: a, path: x}]\nmodels: [{name: m}]\n", "e.yaml")).toThrow(/models\.0: give exactly one of model/);
    expect(() => parseEvalConfig("name: t\nout: o\nsets: [{name: a, path: x}]\nmodels: [{name: m, answers: {b: f}}]\n", "e.yaml")).toThrow(/models\.0\.answers\.b: no set named "b"/);
    expect(() => parseEvalConfig("name: t\nout: o\nsets: [{name: a, path: x}]\nmodels: [{name: m, model: d}]\ngeneration: {temprature: 1}\n", "e.yaml")).toThrow(EvalConfigError);
    expect(() => parseEvalConfig("name: t\nout: o\nsets: [{name: a, path: x}, {name: a, path: y}]\nmodels: [{name: m, model: d}]\n", "e.yaml")).toThrow(/set name "a" appears twice/);
  });

  it("judges configured model pairs on the open-ended items and keeps the judge results with the scores", async () => {
    // A judge that always prefers the answer equal to the reference (the "ref" model's).
    const s = await startServer(
      () => ["ok"],
      (p) => {
        const first = p.slice(p.indexOf("【回答1】"), p.indexOf("【回答2】"));
        const v = first.includes("平凡") ? 2 : 1;
        return JSON.stringify({ usefulness: v, correctness: v, consistency: v, smoothness: 0 });
      },
    );
    const plain = await referenceAnswers(join(F, "cmd_test.csv"), join(work, "plain-cmd.jsonl"), (l) => l.map((x) => ({ id: x.id, response: `平凡的回答 ${x.id}` })));
    const plainPb = await referenceAnswers(join(F, "pediabench.jsonl"), join(work, "plain-pb.jsonl"), (l) => l.map((x) => ({ id: x.id, response: `平凡的回答 ${x.id}` })));
    const file = yaml(`likelihood: false
safety: false
models:
  - { name: ref, answers: { cmd: ref-cmd.jsonl, pb: ref-pb.jsonl } }
  - { name: plain, answers: { cmd: ${plain}, pb: ${plainPb} } }
judge: { baseUrl: "${s.url}/v1", model: j, pairs: [[ref, plain]], maxRetries: 0 }
`);
    const r = await runEvaluation(loadEvalConfig(file), { configFile: file });
    expect(r.judge.map((j) => [j.set, j.modelA.name, j.modelB.name, j.judgements.length])).toEqual([["cmd", "ref", "plain", 6], ["pb", "ref", "plain", 4]]); // pb: only the essay and the case
    expect(r.judge[0]!.perDimension.find((d) => d.dimension === "correctness")).toMatchObject({ n: 3, win: 3 });
    expect(r.judge[0]!.perDimension.find((d) => d.dimension === "smoothness")).toMatchObject({ n: 3, tie: 3 });
    expect(() => parseEvalConfig(`name: t\nout: o\nsets: [{name: a, path: x}]\nmodels: [{name: m, model: d}]\njudge: {baseUrl: "http://h/v1", model: j, pairs: [[m, z]]}\n`, "e.yaml")).toThrow(/judge\.pairs\.0: no model named "z"/);
  });
});
