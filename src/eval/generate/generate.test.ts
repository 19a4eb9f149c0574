/** eval generate on a real tiny checkpoint: batching, recorded settings, resume after a kill or a failure. */
import { beforeAll, describe, expect, it } from "vitest";
import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { InterruptedError } from "../../llm/journal.js";
import { EngineBatchBackend, type AnswerBackend } from "./backend.js";
import { generateAnswers, GenerateRunError, readAnswers } from "./generate.js";
import { readTestSet, type TestSet } from "./sets.js";
import { makeTinyModelDir } from "../../../test/helpers/tiny_model.js";
import { tempDir } from "../../../test/helpers/tempdir.js";

let backend: EngineBatchBackend;
let set: TestSet;
const settings = { maxNewTokens: 12, batchSize: 3 };

beforeAll(async () => {
  const dir = await makeTinyModelDir(join(tempDir("tiny-model-"), "tiny"));
  backend = await EngineBatchBackend.load(dir);
  const pb = await readTestSet("test/fixtures/eval/pediabench.jsonl");
  const cmd = await readTestSet("test/fixtures/eval/cmd_test.csv");
  set = { ...pb, items: [...pb.items, ...cmd.items.map((i) => ({ ...i, id: `cmd-${i.id}` }))] };
});

/** Fails on the n-th call to answer(), like a model process dying mid-run. */
function failingOnCall(inner: AnswerBackend, n: number): AnswerBackend {
  let calls = 0;
  return {
    info: inner.info,
    answer: async (c, s, seeds) => {
      if (++calls === n) throw new Error("worker crashed");
      return inner.answer(c, s, seeds);
    },
    close: () => inner.close(),
  };
}

describe("generateAnswers", () => {
  it("answers every item in set order, batched answers equal one-by-one, settings recorded", async () => {
    const d = tempDir("gen-");
    const batched = await generateAnswers(set, backend, { out: join(d, "b.jsonl"), settings });
    const single = await generateAnswers(set, backend, { out: join(d, "s.jsonl"), settings: { ...settings, batchSize: 1 } });
    expect(batched.lines.map((l) => l.id)).toEqual(set.items.map((i) => i.id));
    expect(batched.lines.map((l) => l.response)).toEqual(single.lines.map((l) => l.response));
    expect(batched.lines.every((l) => typeof l.response === "string" && l.completion_tokens! >= 1 && l.completion_tokens! <= 12)).toBe(true);
    expect(batched.lines[0]!.reference).toBe("B");
    const meta = JSON.parse(readFileSync(join(d, "b.jsonl.meta.json"), "utf8"));
    expect(meta).toMatchObject({ format: "pedgpt-answers", model: { id: "tiny", backend: "engine", template: "default" }, answered: set.items.length, failed: 0 });
    expect(meta.settings).toEqual({ maxNewTokens: 12, temperature: 0, topP: 1, topK: 0, repetitionPenalty: 1, stop: [], seed: 0, batchSize: 3 });
    const read = readAnswers(join(d, "b.jsonl"));
    expect(read.size).toBe(set.items.length);
  });

  it("resumes after an interruption and after a backend failure without redoing journaled items", async () => {
    const d = tempDir("gen-resume-");
    const clean = await generateAnswers(set, backend, { out: join(d, "clean.jsonl"), settings });
    const out = join(d, "a.jsonl");
    const ctrl = new AbortController();
    await expect(
      generateAnswers(set, backend, { out, settings, signal: ctrl.signal, onProgress: (p) => p.done >= 3 && ctrl.abort() }),
    ).rejects.toThrow(InterruptedError);
    expect(existsSync(out)).toBe(false); // no partial answers file, only the journal
    const journaled = readFileSync(`${out}.journal.jsonl`, "utf8").trim().split("\n");
    expect(journaled).toHaveLength(3);
    appendFileSync(`${out}.journal.jsonl`, '{"key":"pb-es-1","res'); // torn write from a kill

    await expect(generateAnswers(set, failingOnCall(backend, 2), { out, settings })).rejects.toThrow("worker crashed");
    expect(readFileSync(`${out}.journal.jsonl`, "utf8").trim().split("\n")).toHaveLength(3 + 1 + 3); // + torn line + one more batch

    const progress: number[] = [];
    const done = await generateAnswers(set, backend, { out, settings, onProgress: (p) => progress.push(p.done) });
    expect(done.generated).toBe(set.items.length - 6);
    expect(progress[0]).toBe(6);
    expect(done.lines).toEqual(clean.lines);
  });

  it("records an item too long for the context as a failure, and refuses to mix settings in one journal", async () => {
    const d = tempDir("gen-bad-");
    const long = { ...set, items: [...set.items.slice(0, 2), { ...set.items[2]!, id: "long", messages: [{ role: "user" as const, content: "孩子发烧".repeat(400) }] }] };
    const r = await generateAnswers(long, backend, { out: join(d, "x.jsonl"), settings });
    expect(r.meta.failed).toBe(1);
    expect(r.lines[2]!.error).toMatch(/the prompt has \d+ tokens; the model's context holds 512/);
    expect(r.lines[2]!.response).toBeUndefined();
    expect(readAnswers(join(d, "x.jsonl")).get("long")).toMatchObject({ error: expect.stringContaining("context") });
    await expect(generateAnswers(long, backend, { out: join(d, "x.jsonl"), settings: { ...settings, maxNewTokens: 20 } })).rejects.toThrow(GenerateRunError);
    await expect(generateAnswers(long, backend, { out: join(d, "x.jsonl"), settings: { ...settings, batchSize: 0 } })).rejects.toThrow(/batchSize/);
    await expect(generateAnswers(long, backend, { out: join(d, "y.jsonl"), settings: { temperature: 5 } })).rejects.toThrow(/temperature/);
  });
});
