import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { BadRecordError, IssueSink } from "../errors.js";
import { readCmd } from "./cmd.js";
import { readConsultations } from "./dialogues.js";
import { readAlpaca, readPreference, readSharegpt } from "./instructions.js";
import { readTriples } from "./kg.js";
import { readPassages } from "./passages.js";
import { entryFile, entryKind, parseRegistry, readRegistry, writeRegistry } from "./registry.js";
import { tempDir } from "../../../test/helpers/tempdir.js";


const fx = (name: string) => fileURLToPath(new URL(`../../../test/fixtures/corpus/${name}`, import.meta.url));

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

const badLines = (s: IssueSink) => s.issues.map((i) => [i.line, i.reason]);

describe("passages reader", () => {
  it("splits Markdown on headings and paragraphs, keeps sub-section parents and metadata", async () => {
    const sink = new IssueSink("fail");
    const secs = await collect(readPassages(fx("passages"), sink));
    const md = secs.filter((s) => s.file.endsWith(".md"));
    expect(md.map((s) => [s.value.section, s.value.parent ?? null, s.line])).toEqual([
      ["概述", null, 5],
      ["退热药", "治疗", 15],
      ["补液", "治疗", 19],
      ["何时就医", null, 23],
    ]);
    expect(md[0]!.value.title).toBe("儿童发热");
    expect(md[0]!.value.paragraphs).toHaveLength(2);
    expect(md[0]!.value.meta).toEqual({ department: "儿科", age_group: "婴幼儿", source: "guideline" });
    const txt = secs.filter((s) => s.file.endsWith(".txt"));
    expect(txt.map((s) => [s.value.title, s.value.section])).toEqual([
      ["02-jaundice", "第一章 新生儿黄疸"],
      ["02-jaundice", "一、病理性黄疸"],
    ]);
    expect(sink.count).toBe(0);
  });
});

describe("KG triples reader", () => {
  it("reads CSV with quoted commas and reports the empty relation and the unclosed quote", async () => {
    const sink = new IssueSink("skip-and-report");
    const ts = await collect(readTriples(fx("triples.csv"), sink));
    expect(ts.map((t) => t.value.tail)).toEqual(["发热", "手、足、口腔疱疹", "食欲下降", "脑炎", "对乙酰氨基酚"]);
    expect(ts.map((t) => t.line)).toEqual([2, 3, 4, 5, 6]);
    expect(badLines(sink)).toEqual([
      [7, "empty relation in triple"],
      [8, expect.stringMatching(/never closed/)],
    ]);
  });
  it("reads TSV and JSONL (objects and arrays)", async () => {
    const sink = new IssueSink("skip-and-report");
    expect((await collect(readTriples(fx("triples.tsv"), sink))).length).toBe(2);
    expect(badLines(sink)).toEqual([[4, "expected 3 fields as in the header, got 2"]]);
    const sink2 = new IssueSink("skip-and-report");
    const j = await collect(readTriples(fx("triples.jsonl"), sink2));
    expect(j.map((t) => t.value)).toEqual([
      { head: "水痘", relation: "症状", tail: "皮疹" },
      { head: "水痘", relation: "预防", tail: "接种水痘疫苗" },
    ]);
    expect(sink2.issues.map((i) => i.line)).toEqual([3, 4]);
    expect(sink2.issues[0]!.reason).toMatch(/invalid JSON/);
  });
  it("under the fail policy throws on the first bad row, naming file and line", async () => {
    const sink = new IssueSink("fail");
    await expect(collect(readTriples(fx("triples.csv"), sink))).rejects.toThrow(BadRecordError);
    await expect(collect(readTriples(fx("triples.csv"), new IssueSink("fail")))).rejects.toThrow(/triples\.csv:7: empty relation/);
  });
});

describe("CMD CSV reader", () => {
  it("auto-detects GB18030, parses quoted fields and reports the empty answer, short row and stray quote", async () => {
    const sink = new IssueSink("skip-and-report");
    const info: { encoding?: string } = {};
    const rows = await collect(readCmd(fx("cmd_gb18030.csv"), sink, { info: info as never }));
    expect(info.encoding).toBe("gb18030");
    expect(rows.map((r) => r.line)).toEqual([2, 3, 4, 9]);
    expect(rows[1]!.value.ask).toBe('孩子咳嗽，有痰，"呼噜呼噜"的响');
    expect(rows[2]!.value.ask).toBe("拉肚子三天\r\n一天五六次");
    expect(rows[3]!.value.title).toBe("𠮷字测试");
    expect(badLines(sink)).toEqual([
      [6, "empty answer"],
      [7, "expected 4 fields as in the header, got 3"],
      [8, expect.stringMatching(/unexpected quote/)],
    ]);
  });
  it("says which encodings it accepts when a file is neither", async () => {
    const dir = tempDir("cmd-");
    const f = join(dir, "bad.csv");
    // 0xFF is invalid as a GB18030 lead byte and in UTF-8.
    (await import("node:fs")).writeFileSync(f, Buffer.from([0x61, 0x2c, 0xff, 0xff, 0x0a]));
    await expect(collect(readCmd(f, new IssueSink("skip-and-report")))).rejects.toThrow(/neither valid UTF-8 nor valid GB18030/);
  });
});

describe("consultation reader", () => {
  it("keeps valid multi-turn dialogues and reports alternation, unanswered, broken JSON and empty turns", async () => {
    const sink = new IssueSink("skip-and-report");
    const cs = await collect(readConsultations(fx("consultations.jsonl"), sink));
    expect(cs.map((c) => c.value.id)).toEqual(["t001"]);
    expect(cs[0]!.value.turns).toHaveLength(4);
    expect(cs[0]!.value.diagnosis).toBe("急性上呼吸道感染");
    expect(badLines(sink)).toEqual([
      [2, expect.stringMatching(/turns\[1\] is patient but doctor was expected/)],
      [3, expect.stringMatching(/last turn must be the doctor/)],
      [4, expect.stringMatching(/invalid JSON/)],
      [5, "turns[1] (doctor) has empty text"],
    ]);
  });
});

describe("Alpaca / ShareGPT / preference readers", () => {
  it("reads an Alpaca JSON array with history; reports empty output, a broken element, bad history", async () => {
    const sink = new IssueSink("skip-and-report");
    const ex = await collect(readAlpaca(fx("alpaca.json"), sink));
    expect(ex).toHaveLength(3);
    expect(ex[1]!.value.messages.map((m) => m.role)).toEqual(["user", "assistant", "user", "assistant"]);
    expect(ex[1]!.value.messages[2]!.content).toBe("孩子发烧可以吃什么药？\n孩子3岁，体重14公斤");
    expect(badLines(sink)).toEqual([
      [5, 'empty answer ("output")'],
      [6, expect.stringMatching(/invalid JSON array element/)],
      [7, "history[0] must be a [question, answer] pair of strings"],
    ]);
  });
  it("reads ShareGPT with a system prompt; reports broken alternation and unanswered conversations", async () => {
    const sink = new IssueSink("skip-and-report");
    const ex = await collect(readSharegpt(fx("sharegpt.json"), sink));
    expect(ex).toHaveLength(2);
    expect(ex[1]!.value.system).toBe("你是儿科医生。");
    expect(ex[1]!.value.messages).toHaveLength(4);
    expect(sink.issues.map((i) => i.line)).toEqual([3, 4]);
  });
  it("reads OpenAI-style messages through tags", async () => {
    const dir = tempDir("sg-");
    const f = join(dir, "m.jsonl");
    (await import("node:fs")).writeFileSync(f, JSON.stringify({ messages: [{ role: "system", content: "s" }, { role: "user", content: "问" }, { role: "assistant", content: "答" }] }) + "\n");
    const ex = await collect(readSharegpt(f, new IssueSink("fail"), { columns: { messages: "messages" }, tags: { role_tag: "role", content_tag: "content", user_tag: "user", assistant_tag: "assistant" } }));
    expect(ex[0]!.value).toMatchObject({ system: "s", messages: [{ role: "user", content: "问" }, { role: "assistant", content: "答" }] });
  });
  it("reads preference pairs and rejects identical or empty answers", async () => {
    const sink = new IssueSink("skip-and-report");
    const ps = await collect(readPreference(fx("pairs.jsonl"), sink));
    expect(ps.map((p) => p.value.prompt[0]!.content)).toEqual(["孩子发烧39度怎么办？", "宝宝拉肚子怎么办？"]);
    expect(badLines(sink)).toEqual([
      [2, "chosen and rejected answers are identical"],
      [3, 'empty rejected answer ("rejected")'],
    ]);
  });
});

describe("dataset_info.json registry", () => {
  it("reads entries, classifies them, resolves files, and round-trips through write", async () => {
    const reg = await readRegistry(fx("dataset_info.json"));
    expect(Object.keys(reg)).toEqual(["fixture_alpaca", "fixture_sharegpt", "fixture_pairs", "remote_only"]);
    expect(entryKind(reg.fixture_alpaca!)).toBe("alpaca");
    expect(entryKind(reg.fixture_sharegpt!)).toBe("sharegpt");
    expect(entryKind(reg.fixture_pairs!)).toBe("alpaca-preference");
    expect(entryKind({ file_name: "c.jsonl", columns: { prompt: "text" } })).toBe("pretrain");
    expect(entryFile(fx("dataset_info.json"), "fixture_alpaca", reg.fixture_alpaca!)).toBe(fx("alpaca.json"));
    expect(() => entryFile(fx("dataset_info.json"), "remote_only", reg.remote_only!)).toThrow(/no local file_name/);
    const dir = tempDir("reg-");
    await writeRegistry(join(dir, "dataset_info.json"), reg);
    expect(await readRegistry(join(dir, "dataset_info.json"))).toEqual(reg);
    expect(JSON.parse(readFileSync(join(dir, "dataset_info.json"), "utf8")).fixture_pairs.ranking).toBe(true);
  });
  it("names the entry and field of an invalid registry", () => {
    expect(() => parseRegistry({ a: { file_name: "x.json", formatting: "csv" } }, "reg.json")).toThrow(/reg\.json: invalid dataset entry a\.formatting/);
    expect(() => parseRegistry({ b: { ranking: true } }, "reg.json")).toThrow(/needs file_name/);
    expect(() => parseRegistry([], "reg.json")).toThrow(/must be an object/);
  });
});

describe("Alpaca from CSV (LLaMA-Factory accepts csv files)", () => {
  it("maps header columns to fields and reports the empty answer", async () => {
    const sink = new IssueSink("skip-and-report");
    const ex = await collect(readAlpaca(fx("alpaca.csv"), sink));
    expect(ex.map((e) => [e.line, e.value.messages[0]!.content])).toEqual([
      [2, "什么是川崎病？"],
      [4, "把“多喝水”翻译成英文。"],
    ]);
    expect(badLines(sink)).toEqual([[3, 'empty answer ("output")']]);
  });
});
