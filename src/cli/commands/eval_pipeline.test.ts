/** The CLI of eval generate / run / judge: options wired through, tables printed, files written. */
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { Command } from "commander";
import { register } from "./eval.js";
import { makeServeModel } from "../../../test/helpers/serve_model.js";
import { startServer } from "../../../test/helpers/openai_server.js";
import { tempDir } from "../../../test/helpers/tempdir.js";
import { evalResultsSchema, judgeResultsSchema } from "../../eval/run/results.js";

const F = resolve("test/fixtures/eval");
let dir: string;
let modelDir: string;

const run = async (args: string[]) => {
  const program = new Command().exitOverride();
  register(program);
  const logs: string[] = [];
  const spy = vi.spyOn(console, "log").mockImplementation((...a: unknown[]) => void logs.push(a.join(" ")));
  const err = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
  try {
    await program.parseAsync(["node", "pedgpt", ...args]);
  } finally {
    spy.mockRestore();
    err.mockRestore();
  }
  return logs.join("\n");
};

beforeAll(async () => {
  dir = tempDir("pedgpt-eval-cli-");
  modelDir = (await makeServeModel(tempDir("pedgpt-eval-model-"))).dir;
});
afterEach(() => {
  vi.restoreAllMocks();
  process.exitCode = undefined;
});

describe("pedgpt eval generate / run / judge", () => {
  it("generate writes answers and meta, and names bad options before any work", async () => {
    const out = join(dir, "pb.jsonl");
    const text = await run(["eval", "generate", "--set", join(F, "pediabench.jsonl"), "--model", modelDir, "--out", out, "--batch-size", "2", "--max-new-tokens", "6"]);
    expect(text).toContain("5 items (pediabench); skipped 1 pairing item");
    expect(text).toContain("(5 answers, 0 failed, 5 generated in this run)");
    expect(readFileSync(out, "utf8").trim().split("\n")).toHaveLength(5);
    expect(JSON.parse(readFileSync(`${out}.meta.json`, "utf8")).settings).toMatchObject({ maxNewTokens: 6, batchSize: 2 });
    await expect(run(["eval", "generate", "--set", "x", "--model", modelDir, "--out", out, "--temperature", "3"])).rejects.toThrow(/--temperature must be a number in \[0, 2\]/);
    await expect(run(["eval", "generate", "--set", "x", "--model", modelDir, "--out", out, "--backend", "vllm"])).rejects.toThrow(/--backend must be engine, llama.cpp or openai/);
    await expect(run(["eval", "generate", "--set", "x", "--model", "m", "--out", out, "--backend", "openai"])).rejects.toThrow(/--base-url is required with --backend openai/);
  });

  it("run prints the tables and writes results.json", async () => {
    const answers = join(dir, "cmd-ref.jsonl");
    writeFileSync(answers, ["line-2", "line-3", "line-4"].map((id) => JSON.stringify({ id, response: "注意补液，精神差要及时就医。" })).join("\n") + "\n");
    const cfg = join(dir, "eval.yaml");
    writeFileSync(cfg, `name: cli\nout: out\nsets:\n  - { name: cmd, path: ${join(F, "cmd_test.csv")} }\n  - { name: pb, path: ${join(F, "pediabench.jsonl")} }\nmodels:\n  - { name: tiny, model: ${modelDir} }\n  - { name: given, answers: { cmd: ${answers} } }\n  - { name: generated, answers: { pb: ${join(dir, "pb.jsonl")} } }\nallowMissing: true\ngeneration: { maxNewTokens: 6, batchSize: 4 }\n`);
    const text = await run(["eval", "run", cfg]);
    expect(text).toMatch(/== cmd \(cmd, 3 items\) ==\nmodel\s+ROUGE-1/);
    expect(text).toMatch(/-- cmd by department --[\s\S]*given\s+新生儿科\s+1/);
    expect(text).toMatch(/-- pb by task --[\s\S]*tiny\s+essay_short_answer\s+1/);
    expect(text).toMatch(/-- pb exam accuracy --[\s\S]*tiny\s+likelihood\s+3\s+3/);
    expect(text).toContain("== safety ==");
    const results = evalResultsSchema.parse(JSON.parse(readFileSync(join(dir, "out", "results.json"), "utf8")));
    expect(results.generation.find((g) => g.model === "given" && g.set === "pb")!.gaps).toHaveLength(2);
    // pb.jsonl came from the generate test above: its meta file's settings are recorded for the model.
    expect(results.models.find((m) => m.name === "generated")).toMatchObject({ backend: "answers", template: "qwen", generation: { maxNewTokens: 6, batchSize: 2 } });
    expect(results.models.find((m) => m.name === "given")).toMatchObject({ template: null, generation: null });
  });

  it("judge prints win/tie/loss and position bias, and writes every judgement", async () => {
    const s = await startServer(() => ["ok"], () => '{"usefulness": 1, "correctness": 1, "consistency": 0, "smoothness": 2}');
    const a = join(dir, "a.jsonl");
    const b = join(dir, "b.jsonl");
    writeFileSync(a, ["hq-1", "hq-2"].map((id) => JSON.stringify({ id, response: `A 的回答 ${id}` })).join("\n"));
    writeFileSync(b, ["hq-1", "hq-2"].map((id) => JSON.stringify({ id, response: `B 的回答 ${id}` })).join("\n"));
    const out = join(dir, "judge.json");
    const text = await run(["eval", "judge", "--questions", join(F, "huatuo_qa.jsonl"), "--a", a, "--b", b, "--name-a", "mine", "--name-b", "base", "--base-url", s.url, "--judge-model", "j", "--out", out]);
    // The judge always prefers the first answer on usefulness: both orders cancel out into ties.
    expect(text).toMatch(/usefulness\s+2\s+0\s+2\s+0/);
    expect(text).toMatch(/the answer shown first won 8 of 12 decided verdicts/);
    const r = judgeResultsSchema.parse(JSON.parse(readFileSync(out, "utf8")));
    expect(r.judgements).toHaveLength(4);
    expect(r.modelA.name).toBe("mine");
  });
});
