/** Each test-set reader on small fixtures in the published formats, and its errors on bad input. */
import { describe, expect, it } from "vitest";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { detectSetFormat, readTestSet, TestSetError } from "./sets.js";
import { tempDir } from "../../../test/helpers/tempdir.js";

const F = "test/fixtures/eval";

describe("test-set readers", () => {
  it("pedcorpus alpaca: EviDiag history becomes earlier turns, the output the reference", async () => {
    const s = await readTestSet(join(F, "evidiag_test.alpaca.jsonl"));
    expect(s.format).toBe("pedcorpus");
    expect(s.items.map((i) => i.id)).toEqual(["evidiag-001", "evidiag-002"]);
    const first = s.items[0]!;
    expect(first.messages.map((m) => m.role)).toEqual(["user", "assistant", "user"]);
    expect(first.messages[0]!.content).toContain("连续高烧3天");
    expect(first.messages[2]!.content).toContain("红色小疹子");
    expect(first.reference).toContain("幼儿急疹");
    expect(first).toMatchObject({ task: "EviDiag", department: "儿科", where: `${join(F, "evidiag_test.alpaca.jsonl")}:1` });
    expect(s.items[1]!.messages).toHaveLength(1);
  });

  it("pedcorpus sharegpt keeps the system message", async () => {
    const s = await readTestSet(join(F, "medkqa_test.sharegpt.jsonl"));
    expect(s.items[0]!.messages).toEqual([
      { role: "system", content: "你是一名儿科医生。" },
      { role: "user", content: "什么是新生儿生理性黄疸？" },
    ]);
    expect(s.items[0]!.task).toBe("MedKQ&A");
  });

  it("Huatuo-style question/answer JSONL with field aliases", async () => {
    const s = await readTestSet(join(F, "huatuo_qa.jsonl"));
    expect(s.format).toBe("qa-jsonl");
    expect(s.items.map((i) => [i.id, i.messages[0]!.content.slice(0, 4), i.reference.slice(0, 4)])).toEqual([
      ["hq-1", "宝宝三个", "吃奶粉或"],
      ["hq-2", "小孩晚上", "磨牙不一"],
    ]);
  });

  it("CMD CSV (UTF-8 and GB18030) with departments", async () => {
    const s = await readTestSet(join(F, "cmd_test.csv"));
    expect(s.format).toBe("cmd");
    expect(s.items.map((i) => i.department)).toEqual(["小儿内科", "小儿内科", "新生儿科"]);
    expect(s.items[1]!.messages[0]!.content).toBe('孩子咳嗽，有痰，"呼噜呼噜"的响');
    const gb = await readTestSet(join(F, "cmd_test_gb18030.csv"));
    expect(gb.items.map((i) => i.messages[0]!.content)).toEqual(s.items.map((i) => i.messages[0]!.content));
  });

  it("webMedQA: positive answers are references, negatives counted as skipped", async () => {
    const s = await readTestSet(join(F, "medQA_test.txt"));
    expect(s.format).toBe("webmedqa");
    expect(s.items.map((i) => [i.id, i.department])).toEqual([
      ["21166878", "儿科"],
      ["21166879", "小儿外科"],
    ]);
    expect(s.items[1]!.reference).toContain("2岁内自行闭合");
    expect(s.skipped).toEqual({ "negative answer (label 0)": 2 });
  });

  it("PediaBench: choice and true/false are exam items, essays and cases generation items, pairing skipped", async () => {
    const s = await readTestSet(join(F, "pediabench.jsonl"));
    expect(s.format).toBe("pediabench");
    expect(s.items.map((i) => [i.id, i.exam?.kind ?? "generation", i.reference.slice(0, 6)])).toEqual([
      ["pb-mc-1", "choice", "B"],
      ["pb-mc-2", "choice", "ABC"],
      ["pb-tof-1", "true_false", "错"],
      ["pb-es-1", "generation", "保持呼吸道通"],
      ["pb-ca-1", "generation", "轮状病毒肠炎"],
    ]);
    expect(s.items[0]!.messages[0]!.content).toMatch(/单项选择题[\s\S]*B\. 2周内[\s\S]*答案：$/);
    expect(s.items[0]!.category).toBe("新生儿疾病");
    expect(s.skipped).toEqual({ "pairing item (not a single answer)": 1 });
  });

  it("detects formats and names the file, line and field of bad records", async () => {
    const d = tempDir("sets-");
    const f = (name: string, text: string) => {
      const p = join(d, name);
      writeFileSync(p, text);
      return p;
    };
    expect(await detectSetFormat(join(F, "pediabench.jsonl"))).toBe("pediabench");
    await expect(readTestSet(f("qa.jsonl", '{"id":1,"question":"q","answer":"a"}\n{"id":2,"question":"","answer":"a"}\n'))).rejects.toThrow(/qa\.jsonl:2: field "question"/);
    await expect(readTestSet(f("dup.jsonl", '{"id":1,"question":"q","answer":"a"}\n{"id":1,"question":"p","answer":"b"}\n'))).rejects.toThrow(/dup\.jsonl:2: duplicate id "1" \(first at .*dup\.jsonl:1\)/);
    await expect(readTestSet(f("w.txt", "1\t1\t儿科\t问题\n"))).rejects.toThrow(/w\.txt:1: expected 5 tab-separated fields/);
    await expect(readTestSet(f("w2.txt", "7\tx\t儿科\t问题\t回答\n"))).rejects.toThrow(/w2\.txt:1: field "label": expected 0 or 1/);
    await expect(readTestSet(f("pb.jsonl", '{"id":"x","qtype":"essay_short_answer","question":"问"}\n'))).rejects.toThrow(/pb\.jsonl:1: field "answer"/);
    await expect(readTestSet(f("odd.jsonl", '{"foo":1}\n'))).rejects.toThrow(TestSetError);
    await expect(readTestSet(f("c.csv", "department,title,ask,answer\n儿科,t,,回答\n"), { format: "cmd" })).rejects.toThrow(/c\.csv:2: empty ask/);
    await expect(readTestSet(f("empty.txt", "1\t0\t儿科\t问题\t回答\n"))).rejects.toThrow(/no test items/);
  });
});
