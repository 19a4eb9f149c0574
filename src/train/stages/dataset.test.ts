/**
 * From dataset_info.json names to tokenized datasets: each kind written and read back, bad rows
 * (identical or empty answers, broken JSON) counted by reason, truncation counted, and clear errors for
 * a missing name or a dataset of the wrong kind.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { generateCorpus } from "../../../scripts/fixtures/tokenizer_corpus.js";
import { tempDir } from "../../../test/helpers/tempdir.js";
import { HfTokenizer, parseTokenizerConfig, trainBpeTokenizer } from "../../tokenizer/index.js";
import { TokenDataset } from "../data/format.js";
import { prepareDataset } from "./dataset.js";

const tmp = tempDir("pedgpt-prep-");
const t = trainBpeTokenizer(generateCorpus(600, 3), { vocabSize: 600, chatTemplateId: "default" });
const tok = new HfTokenizer(t.tokenizerJson, parseTokenizerConfig(t.tokenizerConfig));

const data = join(tmp, "data");
mkdirSync(data);
writeFileSync(join(data, "cpt.jsonl"), ["孩子发热时多喝水。", "手足口病多见于五岁以下儿童。", "婴儿腹泻要预防脱水。"].map((text) => JSON.stringify({ text })).join("\n") + "\n{broken\n");
writeFileSync(
  join(data, "sft.jsonl"),
  [
    { instruction: "孩子发热怎么办？", input: "", output: "多喝水，观察精神。" },
    { instruction: "咳嗽要用抗生素吗？", input: "", output: "" },
    { instruction: "腹泻怎么护理？", input: "", output: "补液，防脱水。" },
  ].map((r) => JSON.stringify(r)).join("\n") + "\n",
);
writeFileSync(
  join(data, "pairs.jsonl"),
  [
    { prompt: "发热38.5度要去医院吗？", input: "", chosen: "精神好可先观察，精神差就医。", rejected: "不用管。" },
    { prompt: "同样的回答", input: "", chosen: "一样", rejected: "一样" },
    { prompt: "长".repeat(200), input: "", chosen: "回答。", rejected: "不知道。" },
  ].map((r) => JSON.stringify(r)).join("\n") + "\n",
);
writeFileSync(
  join(data, "dataset_info.json"),
  JSON.stringify({
    cpt: { file_name: "cpt.jsonl", columns: { prompt: "text" } },
    sft: { file_name: "sft.jsonl" },
    pairs: { file_name: "pairs.jsonl", ranking: true, columns: { prompt: "prompt", query: "input", chosen: "chosen", rejected: "rejected" } },
  }),
);
const base = { registry: join(data, "dataset_info.json"), tokenizer: tok, tokenizerHash: "test", template: "default" };

describe("prepareDataset", () => {
  it("pt: packs the text column and counts the broken line", async () => {
    const r = await prepareDataset({ ...base, kind: "pt", datasets: ["cpt"], cutoffLen: 8, outDir: join(tmp, "pt"), perDocument: true });
    expect(r.counts.badRows).toBe(1);
    expect(r.meta.hasSegments).toBe(true);
    const ds = new TokenDataset(join(tmp, "pt"));
    expect(ds.rows).toBe(r.meta.rows);
    expect(ds.row(0).ids.length).toBe(8);
    expect(r.meta.info.counts).toMatchObject({ droppedTokens: r.counts.droppedTokens });
  });

  it("sft: skips and counts the empty answer", async () => {
    const r = await prepareDataset({ ...base, kind: "sft", datasets: ["sft"], cutoffLen: 64, outDir: join(tmp, "sft") });
    expect(r.counts.written).toBe(2);
    expect(r.counts.badRows).toBe(1);
    expect(Object.keys(r.counts.badReasons).join(" ")).toMatch(/empty/);
  });

  it("pairs: chosen then rejected rows, identical answers counted, long prompts truncated and counted", async () => {
    const r = await prepareDataset({ ...base, kind: "pairs", datasets: ["pairs"], cutoffLen: 120, outDir: join(tmp, "pairs") });
    expect(r.counts.written).toBe(2);
    expect(r.counts.badRows).toBe(1);
    expect(Object.keys(r.counts.badReasons).join(" ")).toMatch(/identical/);
    expect(r.counts.promptTruncated).toBe(1);
    const ds = new TokenDataset(join(tmp, "pairs"));
    expect(ds.rows).toBe(4);
    for (let i = 0; i < ds.rows; i++) expect(ds.rowLength(i)).toBeLessThanOrEqual(120);
  });

  it("names a missing dataset and a dataset of the wrong kind", async () => {
    await expect(prepareDataset({ ...base, kind: "sft", datasets: ["nope"], cutoffLen: 64, outDir: join(tmp, "x") })).rejects.toThrow(/dataset "nope" is not in .*dataset_info\.json; it lists: cpt, sft, pairs/);
    await expect(prepareDataset({ ...base, kind: "pairs", datasets: ["sft"], cutoffLen: 64, outDir: join(tmp, "y") })).rejects.toThrow(/holds alpaca data, but this stage needs preference pairs/);
    await expect(prepareDataset({ ...base, kind: "sft", datasets: ["sft"], cutoffLen: 2, outDir: join(tmp, "z") })).rejects.toThrow(/cutoff_len must be an integer >= 4/);
  });
});
