/** Reading answer files: ours (with failures) and plain {id, response} JSONL; errors name file and line. */
import { describe, expect, it } from "vitest";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { readAnswers, resolveSettings, GenerateRunError } from "./generate.js";
import { tempDir } from "../../../test/helpers/tempdir.js";

const d = tempDir("answers-");
const file = (name: string, text: string) => {
  const p = join(d, name);
  writeFileSync(p, text);
  return p;
};

describe("readAnswers", () => {
  it("reads responses (and the prediction/output aliases) and failures", () => {
    const a = readAnswers(file("ok.jsonl", '{"id": 1, "response": "多喝水"}\n\n{"id": "b", "error": "the prompt is too long"}\n{"id": "c", "output": "观察"}\n'));
    expect([...a.entries()]).toEqual([
      ["1", { response: "多喝水", line: 1 }],
      ["b", { error: "the prompt is too long", line: 3 }],
      ["c", { response: "观察", line: 4 }],
    ]);
  });

  it("names the file, line and field of bad lines", () => {
    expect(() => readAnswers(file("j.jsonl", '{"id": 1, "response": "x"}\n{"id": 2, "response": \n'))).toThrow(/j\.jsonl:2: not valid JSON/);
    expect(() => readAnswers(file("i.jsonl", '{"response": "x"}\n'))).toThrow(/i\.jsonl:1: field "id"/);
    expect(() => readAnswers(file("d.jsonl", '{"id": 1, "response": "x"}\n{"id": "1", "response": "y"}\n'))).toThrow(/d\.jsonl:2: duplicate id "1" \(first at line 1\)/);
    expect(() => readAnswers(file("n.jsonl", '{"id": 1, "text": "x"}\n'))).toThrow(/n\.jsonl:1: expected field "response"/);
    expect(() => readAnswers(join(d, "absent.jsonl"))).toThrow(GenerateRunError);
  });

  it("settings: evaluation defaults are greedy with seed 0; bad values are named", () => {
    expect(resolveSettings()).toEqual({ maxNewTokens: 256, temperature: 0, topP: 1, topK: 0, repetitionPenalty: 1, stop: [], seed: 0, batchSize: 8 });
    expect(() => resolveSettings({ topP: 0 })).toThrow(/topP/);
    expect(() => resolveSettings({ batchSize: 1.5 })).toThrow(/batchSize: expected an integer >= 1/);
  });
});
