/**
 * eval generate through the engine's serving generator on a real tiny checkpoint: batched answers
 * equal one-by-one answers, settings recorded, resume after a kill or a backend failure, failures
 * recorded as gaps. The llama.cpp backend is exercised in `llamacpp.e2e.test.ts` (slow to load).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { InterruptedError } from "../../llm/journal.js";
import { loadAnswerBackend, type AnswerBackend, type GeneratorBackend } from "./backend.js";
import { generateAnswers, GenerateRunError, readAnswers } from "./generate.js";
import { readTestSet, type TestSet } from "./sets.js";
import { makeServeModel, type ServeModel } from "../../../test/helpers/serve_model.js";
import { tempDir } from "../../../test/helpers/tempdir.js";

let m: ServeModel;
let batched: GeneratorBackend;
let single: GeneratorBackend;
let set: TestSet;
const settings = { maxNewTokens: 12, batchSize: 3 };

beforeAll(async () => {
  m = await makeServeModel(tempDir("pedgpt-eval-gen-"));
  batched = await loadAnswerBackend(m.dir, { backend: "engine", parallel: 3 });
  single = await loadAnswerBackend(m.dir, { backend: "engine", parallel: 1 });
  const pb = await readTestSet("test/fixtures/eval/pediabench.jsonl");
  const cmd = await readTestSet("test/fixtures/eval/cmd_test.csv");
  set = { ...pb, items: [...pb.items, ...cmd.items.map((i) => ({ ...i, id: `cmd-${i.id}` }))] };
});
afterAll(async () => {
  await batched?.close();
  await single?.close();
});

/** Fails on the n-th answer() call, like a model process dying mid-run. */
function failingOnCall(inner: AnswerBackend, n: number): AnswerBackend {
  let calls = 0;
  return {
    info: inner.info,
    answer: async (c, s, seed) => {
      if (++calls === n) throw new Error("worker crashed");
      return inner.answer(c, s, seed);
    },
    close: async () => {},
  };
}

const lines = (f: string) => readFileSync(f, "utf8").split("\n").filter((l) => l.trim() !== "");

describe("generateAnswers", () => {
  it("answers every item in set order; batched answers equal one-by-one answers; settings recorded", async () => {
    const d = tempDir("gen-");
    const b = await generateAnswers(set, batched, { out: join(d, "b.jsonl"), settings });
    const s = await generateAnswers(set, single, { out: join(d, "s.jsonl"), settings: { ...settings, batchSize: 1 } });
    expect(b.lines.map((l) => l.id)).toEqual(set.items.map((i) => i.id));
    expect(b.lines.map((l) => l.response)).toEqual(s.lines.map((l) => l.response));
    expect(b.lines.every((l) => typeof l.response === "string" && l.completion_tokens! >= 1 && l.completion_tokens! <= 12)).toBe(true);
    expect(b.lines.map((l) => l.seed)).toEqual(set.items.map((_, i) => i));
    expect(b.lines[0]!.reference).toBe("B");
    const meta = JSON.parse(readFileSync(join(d, "b.jsonl.meta.json"), "utf8"));
    expect(meta).toMatchObject({ format: "pedgpt-answers", model: { id: "model", backend: "engine", template: "qwen", parallel: 3 }, answered: set.items.length, failed: 0 });
    expect(meta.settings).toEqual({ maxNewTokens: 12, temperature: 0, topP: 1, topK: 0, repetitionPenalty: 1, stop: [], seed: 0, batchSize: 3 });
    expect(readAnswers(join(d, "b.jsonl")).size).toBe(set.items.length);
  });

  it("resumes after an interruption and after a backend failure without redoing journaled items", async () => {
    const d = tempDir("gen-resume-");
    const clean = await generateAnswers(set, batched, { out: join(d, "clean.jsonl"), settings });
    const out = join(d, "a.jsonl");
    const ctrl = new AbortController();
    let seen = 0;
    await expect(
      generateAnswers(set, batched, { out, settings, signal: ctrl.signal, onProgress: (p) => ((seen = p.done), p.done >= 2 && ctrl.abort()) }),
    ).rejects.toThrow(InterruptedError);
    expect(existsSync(out)).toBe(false); // no partial answers file, only the journal
    const first = lines(`${out}.journal.jsonl`).length;
    expect(first).toBe(seen);
    expect(first).toBeLessThan(set.items.length);
    appendFileSync(`${out}.journal.jsonl`, '{"key":"pb-es-1","res'); // torn write from a kill

    await expect(generateAnswers(set, failingOnCall(batched, 2), { out, settings })).rejects.toThrow("worker crashed");
    const second = lines(`${out}.journal.jsonl`).length - 1; // minus the torn line
    expect(second).toBeGreaterThan(first);

    const progress: number[] = [];
    const done = await generateAnswers(set, batched, { out, settings, onProgress: (p) => progress.push(p.done) });
    expect(done.generated).toBe(set.items.length - second);
    expect(progress[0]).toBe(second);
    expect(done.lines).toEqual(clean.lines);
  });

  it("records an item too long for the context as a failure, and refuses to mix settings in one journal", async () => {
    const d = tempDir("gen-bad-");
    const long = { ...set, items: [...set.items.slice(0, 2), { ...set.items[2]!, id: "long", messages: [{ role: "user" as const, content: "孩子发烧".repeat(400) }] }] };
    const r = await generateAnswers(long, batched, { out: join(d, "x.jsonl"), settings });
    expect(r.meta.failed).toBe(1);
    expect(r.lines[2]!.error).toMatch(/context/);
    expect(r.lines[2]!.response).toBeUndefined();
    expect(readAnswers(join(d, "x.jsonl")).get("long")).toMatchObject({ error: expect.stringContaining("context") });
    await expect(generateAnswers(long, batched, { out: join(d, "x.jsonl"), settings: { ...settings, maxNewTokens: 20 } })).rejects.toThrow(GenerateRunError);
    await expect(generateAnswers(long, batched, { out: join(d, "y.jsonl"), settings: { ...settings, batchSize: 0 } })).rejects.toThrow(/batchSize/);
    await expect(generateAnswers(long, batched, { out: join(d, "z.jsonl"), settings: { temperature: 5 } })).rejects.toThrow(/temperature/);
  });
});
