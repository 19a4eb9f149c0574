/**
 * The full build of the bundled sample corpus (configs/corpus/sample.json → data/sample/), as the
 * quick start runs it: every source read without bad records, all three tasks in both splits, valid
 * LLaMA-Factory outputs, and no near-duplicate leakage (checked here by brute force).
 */
import { describe, expect, it } from "vitest";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildCorpus } from "./build.js";
import { loadBuildConfig } from "./config.js";
import { shingleSet } from "./clean/minhash.js";
import { readRegistry } from "./readers/registry.js";
import { totalBad, validateFile } from "./validate.js";
import { tempDir } from "../../test/helpers/tempdir.js";


const config = fileURLToPath(new URL("../../configs/corpus/sample.json", import.meta.url));
const sample = fileURLToPath(new URL("../../data/sample", import.meta.url));

const jsonl = (f: string) =>
  readFileSync(f, "utf8")
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as { conversations: { value: string }[] });

describe.runIf(existsSync(sample))("sample corpus build", () => {
  it("builds the bundled sample corpus completely and without leakage", async () => {
    const out = tempDir("corpus-sample-");
    const { stats } = await buildCorpus(await loadBuildConfig(config), { outDir: out });

    for (const [name, s] of Object.entries(stats.sources)) {
      expect(s.read, name).toBeGreaterThan(0);
      expect(s.badRecords, `${name} has bad records; see bad_records.jsonl`).toBe(0);
    }
    for (const task of ["MedKQ&A", "EviDiag", "TreRecom"]) {
      expect(stats.records.byTaskSplit[`${task}/train`], task).toBeGreaterThan(0);
      expect(stats.records.byTaskSplit[`${task}/test`], task).toBeGreaterThan(0);
    }
    expect(stats.dfpo.train).toBeGreaterThan(0);
    expect(stats.cpt.instructionShare).toBeGreaterThan(0.2);
    expect(stats.split.check.violations).toBe(0);

    const reg = await readRegistry(join(out, "dataset_info.json"));
    for (const [name, e] of Object.entries(reg)) {
      const v = await validateFile(join(out, e.file_name!), e.ranking ? "preference" : name.endsWith("cpt") ? "cpt" : e.formatting === "sharegpt" ? "sharegpt" : "alpaca");
      expect(totalBad(v), name).toBe(0);
    }

    // Brute force: no test record shares a prompt with, or has n-gram Jaccard ≥ 0.5 to, any train record.
    const load = (side: string) =>
      ["medkqa", "evidiag", "trerecom", "general"]
        .map((t) => join(out, "sft", `${t}_${side}.sharegpt.jsonl`))
        .filter(existsSync)
        .flatMap(jsonl)
        .map((r) => {
          const vs = r.conversations.map((m) => m.value);
          return { prompt: vs[vs.length - 2]!.replace(/\s/g, ""), shingles: shingleSet(vs.join("\n")) };
        });
    const train = load("train");
    const test = load("test");
    const trainPrompts = new Set(train.map((r) => r.prompt));
    let worst = 0;
    for (const t of test) {
      expect(trainPrompts.has(t.prompt)).toBe(false);
      for (const r of train) {
        let inter = 0;
        for (const x of t.shingles) if (r.shingles.has(x)) inter++;
        worst = Math.max(worst, inter / (t.shingles.size + r.shingles.size - inter));
      }
    }
    expect(worst).toBeLessThan(0.5);

    // DFPO train pairs do not leak SFT test records either.
    const dfpo = readFileSync(join(out, "dfpo", "dfpo_train.jsonl"), "utf8")
      .split("\n")
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as { prompt: string; chosen: string });
    for (const p of dfpo) {
      const sh = shingleSet(`${p.prompt}\n${p.chosen}`);
      for (const t of test) {
        expect(t.prompt).not.toBe(p.prompt.replace(/\s/g, ""));
        let inter = 0;
        for (const x of sh) if (t.shingles.has(x)) inter++;
        expect(inter / (sh.size + t.shingles.size - inter)).toBeLessThan(0.5);
      }
    }
  });
});
