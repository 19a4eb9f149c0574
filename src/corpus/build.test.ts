import { describe, expect, it } from "vitest";
import { readFileSync, readdirSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildCorpus } from "./build.js";
import { loadBuildConfig, parseBuildConfig } from "./config.js";
import { exactJaccard } from "./clean/minhash.js";
import { BadRecordError } from "./errors.js";
import { readRegistry } from "./readers/registry.js";
import { statsOfDir } from "./statsdir.js";
import { validateFile, totalBad } from "./validate.js";
import { tempDir } from "../../test/helpers/tempdir.js";


const fx = (name: string) => fileURLToPath(new URL(`../../test/fixtures/corpus/${name}`, import.meta.url));
const jsonl = (f: string) =>
  readFileSync(f, "utf8")
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe("build config", () => {
  it("names the failing field", () => {
    expect(() => parseBuildConfig({ version: 1, name: "x", sources: [{ kind: "kg", name: "k" }] }, "c.json")).toThrow(/sources\.0\.path/);
    expect(() => parseBuildConfig({ version: 1, name: "x", sources: [{ kind: "nope", name: "k", path: "p" }] }, "c.json")).toThrow(/sources\.0\.kind/);
    expect(() => parseBuildConfig({ version: 1, name: "x", sources: [{ kind: "kg", name: "k", path: "p" }], split: { testFraction: 2 } }, "c.json")).toThrow(/split\.testFraction/);
    expect(() => parseBuildConfig({ version: 1, name: "x", sources: [{ kind: "kg", name: "k", path: "p" }, { kind: "kg", name: "k", path: "q" }] }, "c.json")).toThrow(/duplicate source name "k"/);
  });
});

describe("corpus build on the fixtures", () => {
  it("writes every output, reports every bad record, and has no leakage", async () => {
    const out = tempDir("corpus-build-");
    const loaded = await loadBuildConfig(fx("build.json"));
    const messages: string[] = [];
    const { stats } = await buildCorpus(loaded, { outDir: out, onProgress: (m) => messages.push(m) });
    expect(messages.some((m) => m.startsWith("reading cmd source"))).toBe(true);

    // Every bad record of every fixture is in bad_records.jsonl with file and line.
    const bad = jsonl(join(out, "bad_records.jsonl"));
    const where = bad.map((b) => `${String(b.file).split("/").pop()}:${b.line}`).sort();
    expect(where).toEqual(
      [
        "alpaca.json:5", "alpaca.json:6", "alpaca.json:7",
        "cmd_gb18030.csv:6", "cmd_gb18030.csv:7", "cmd_gb18030.csv:8",
        "consultations.jsonl:2", "consultations.jsonl:3", "consultations.jsonl:4", "consultations.jsonl:5",
        "pairs.jsonl:2", "pairs.jsonl:3",
        "sharegpt.json:3", "sharegpt.json:4",
        "triples.csv:7", "triples.csv:8",
        "triples.jsonl:3", "triples.jsonl:4",
      ].sort(),
    );
    expect(stats.badRecords.total).toBe(18);

    // PII from the consultation header was scrubbed.
    expect(stats.pii.phone).toBeGreaterThanOrEqual(1);
    expect(stats.pii.name).toBeGreaterThanOrEqual(1);
    const all = readdirSync(join(out, "sft")).flatMap((f) => readFileSync(join(out, "sft", f), "utf8"));
    expect(all.join("")).not.toContain("13812345678");
    expect(all.join("")).not.toContain("张先生");

    // Task sets in both formats with metadata; every pediatric task present.
    expect(Object.keys(stats.records.byTask).sort()).toEqual(["EviDiag", "MedKQ&A", "TreRecom", "general"]);
    const reg = await readRegistry(join(out, "dataset_info.json"));
    for (const [name, e] of Object.entries(reg)) {
      const v = await validateFile(join(out, e.file_name!), e.ranking ? "preference" : name.includes("cpt") ? "cpt" : e.formatting === "sharegpt" ? "sharegpt" : "alpaca");
      expect(totalBad(v), name).toBe(0);
      expect(v.records, name).toBe(stats.outputs[e.file_name!]);
    }
    const evTrain = [...jsonl(join(out, "sft", "evidiag_train.sharegpt.jsonl")), ...(stats.outputs["sft/evidiag_test.sharegpt.jsonl"] ? jsonl(join(out, "sft", "evidiag_test.sharegpt.jsonl")) : [])];
    const multi = evTrain.find((r) => String(r.provenance).startsWith("consultations/"))!;
    expect(multi).toMatchObject({ task: "EviDiag", source: "consultation", department: "儿科", age_group: "幼儿" });
    expect(String(multi.provenance)).toMatch(/^consultations\/consultations\.jsonl:L1#t001$/);
    const gen = jsonl(join(out, "sft", "general_train.alpaca.jsonl"))
      .concat(stats.outputs["sft/general_test.alpaca.jsonl"] ? jsonl(join(out, "sft", "general_test.alpaca.jsonl")) : []);
    expect(gen.some((r) => r.instruction === "你是谁？")).toBe(true);

    // CPT: one {"text"} document per line, the instruction share near the target, no test text.
    const cpt = jsonl(join(out, "cpt", "pedcorpus_cpt.jsonl"));
    expect(cpt.every((d) => typeof d.text === "string" && Object.keys(d).length === 1)).toBe(true);
    expect(stats.cpt.instructionDocuments).toBeGreaterThan(0);
    expect(stats.cpt.plainDocuments).toBeGreaterThan(0);

    // DFPO pairs.
    const dfpo = [...jsonl(join(out, "dfpo", "dfpo_train.jsonl")), ...(stats.dfpo.test ? jsonl(join(out, "dfpo", "dfpo_test.jsonl")) : [])];
    expect(dfpo).toHaveLength(2);
    expect(dfpo.every((p) => typeof p.prompt === "string" && p.chosen !== p.rejected)).toBe(true);

    // No leakage: brute force over every (test, train) pair, on exact n-gram Jaccard and identical prompts.
    const rows = (side: string) =>
      readdirSync(join(out, "sft"))
        .filter((f) => f.includes(`_${side}.sharegpt`))
        .flatMap((f) => jsonl(join(out, "sft", f)))
        .map((r) => (r.conversations as { value: string }[]).map((m) => m.value));
    const train = rows("train");
    const test = rows("test");
    expect(test.length).toBeGreaterThan(0);
    expect(train.length + test.length).toBe(stats.records.total);
    for (const t of test) {
      for (const r of train) {
        expect(exactJaccard(t.join("\n"), r.join("\n"))).toBeLessThan(0.5);
        expect(t[t.length - 2]).not.toBe(r[r.length - 2]);
      }
    }
    for (const d of cpt) for (const t of test) expect(d.text).not.toContain(t[t.length - 1]);
    expect(stats.split.check.violations).toBe(0);

    // Stats files and the stats command agree with the build.
    const json = JSON.parse(readFileSync(join(out, "stats.json"), "utf8"));
    expect(json.records.total).toBe(stats.records.total);
    expect(readFileSync(join(out, "stats.txt"), "utf8")).toContain("Records by task");
    const dirStats = await statsOfDir(out);
    expect(dirStats.byTask).toEqual(stats.records.byTask); // DFPO fixture pairs carry no task label
    expect(dirStats.datasets.pedcorpus_cpt!.records).toBe(stats.cpt.documents);
  });

  it("stops at the first bad record under the fail policy", async () => {
    const out = tempDir("corpus-fail-");
    await expect(buildCorpus(await loadBuildConfig(fx("build.json")), { outDir: out, policy: "fail" })).rejects.toThrow(BadRecordError);
  });
});

describe("LLM-assisted build against a local OpenAI-compatible server", () => {
  it("adds LLM-written QA records and preference pairs, cached for the rerun", async () => {
    let requests = 0;
    const server = createServer((req, res) => {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        requests++;
        const p = JSON.parse(body) as { messages: { content: string }[] };
        const last = p.messages[p.messages.length - 1]!.content;
        const content = last.includes("JSON 字符串数组")
          ? `["${last.includes("何时就医") ? "出现什么情况要马上去医院" : "这一节讲了什么内容"}？"]`
          : last.includes("改写")
            ? "别担心，我们一起来看看。请注意补充水分，观察精神状态，出现危险信号时及时就医。"
            : last.includes("简短回答")
              ? "多喝水多休息就行了，不用管它。"
              : `根据资料：${last.slice(-30)}`;
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ choices: [{ message: { role: "assistant", content } }] }));
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const loaded = await loadBuildConfig(fx("build.json"));
      loaded.config.llm = { baseUrl: url, model: "teacher", timeoutMs: 5000, maxRetries: 2, requestsPerMinute: 0, concurrency: 2, questionsPerSection: 1, maxSections: 3, questionsPerHead: 1, maxHeads: 2, preferencePairs: 2 };
      const out = tempDir("corpus-llm-");
      const { stats } = await buildCorpus(loaded, { outDir: out });
      expect(stats.records.byGenerator.llm).toBeGreaterThan(0);
      expect(stats.sources["llm-questions"]!.records).toBeGreaterThan(0);
      expect(stats.sources["llm-kg-questions"]!.read).toBe(2); // one question for each of 2 heads
      expect(stats.dfpo.fromLlm).toBe(2);
      expect(stats.llm!.requests).toBe(requests);
      const first = requests;
      await buildCorpus(loaded, { outDir: out });
      expect(requests).toBe(first); // journal + cache: nothing asked twice
    } finally {
      server.close();
    }
  });
});

describe("token counts", () => {
  it("reports token length distributions with a tokenizer directory", async () => {
    const { trainBpeTokenizer, saveTrainedBpe } = await import("../tokenizer/bpe_train.js");
    const dir = tempDir("corpus-tok-");
    const texts = readFileSync(fx("passages/01-fever.md"), "utf8").split("\n").filter((l) => l.trim());
    saveTrainedBpe(trainBpeTokenizer(texts, { vocabSize: 400 }), dir);
    const loaded = await loadBuildConfig(fx("build.json"));
    loaded.config.tokenizer = dir;
    const { stats, table } = await buildCorpus(loaded, { outDir: tempDir("corpus-tokout-") });
    expect(stats.tokens!.tokenizer).toContain("tokenizer.json");
    const kq = stats.tokens!.byField["MedKQ&A response"]!;
    expect(kq.count).toBe(stats.lengths.byField["MedKQ&A response"]!.count);
    expect(kq.total).toBeGreaterThan(0);
    expect(table).toContain("Lengths (tokens");
  });
});
