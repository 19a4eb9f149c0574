/**
 * `pedgpt corpus stats <dir>`: statistics of a built corpus directory, recomputed from the files its
 * dataset_info.json lists (records per dataset, per task / source / department from our metadata
 * columns, character lengths), so it also works on a directory edited or assembled by hand. When the
 * build's own stats.json is there, its table (filters, dedup, split) is shown as well.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { CorpusError } from "./errors.js";
import { readObjectRecords } from "./io/records.js";
import { Counter, LengthDist, renderCounts, renderDistributions, renderTable, type Distribution } from "./output/stats.js";
import { entryFile, entryKind, readRegistry } from "./readers/registry.js";
import { renderStats, type CorpusStats } from "./build.js";

export interface DirStats {
  datasets: Record<string, { kind: string; file: string; records: number; invalidLines: number }>;
  byTask: Record<string, number>;
  bySource: Record<string, number>;
  byDepartment: Record<string, number>;
  lengths: Record<string, Distribution>;
  build: CorpusStats | null;
}

export async function statsOfDir(dir: string): Promise<DirStats> {
  const regFile = join(dir, "dataset_info.json");
  let reg;
  try {
    reg = await readRegistry(regFile);
  } catch (err) {
    throw new CorpusError(`${dir}: not a built corpus directory (${(err as Error).message})`);
  }
  const datasets: DirStats["datasets"] = {};
  const byTask = new Counter();
  const bySource = new Counter();
  const byDept = new Counter();
  const lens: Record<string, LengthDist> = {};
  for (const [name, e] of Object.entries(reg)) {
    if (!e.file_name) continue;
    const file = entryFile(regFile, name, e);
    const kind = entryKind(e);
    const d = { kind, file: e.file_name, records: 0, invalidLines: 0 };
    // Our builds write each task set twice (Alpaca and ShareGPT): count metadata from one copy only.
    const twin = name.endsWith("_alpaca") && reg[name.replace(/_alpaca$/, "_sharegpt")] !== undefined;
    const items = await readObjectRecords(file);
    for await (const it of items) {
      if (!it.ok) {
        d.invalidLines++;
        continue;
      }
      d.records++;
      const v = it.value as Record<string, unknown>;
      if (!twin) {
        if (typeof v.task === "string" && v.task) byTask.add(v.task);
        if (typeof v.source === "string" && v.source) bySource.add(v.source);
        if (typeof v.department === "string" && v.department) byDept.add(v.department);
      }
      let len = 0;
      if (kind === "pretrain") len = String(v.text ?? "").length;
      else if (kind === "alpaca") len = String(v.output ?? "").length;
      else if (kind === "sharegpt") len = ((v.conversations as { from: string; value: string }[]) ?? []).filter((m) => m.from === "gpt").reduce((a, m) => a + m.value.length, 0);
      else len = String(v.chosen ?? "").length;
      (lens[`${kind} ${kind === "pretrain" ? "text" : kind.includes("preference") ? "chosen" : "response"}`] ??= new LengthDist()).add(len);
    }
    datasets[name] = d;
  }
  let build: CorpusStats | null = null;
  try {
    build = JSON.parse(await readFile(join(dir, "stats.json"), "utf8")) as CorpusStats;
  } catch {
    build = null;
  }
  return {
    datasets,
    byTask: byTask.toJSON(),
    bySource: bySource.toJSON(),
    byDepartment: byDept.toJSON(),
    lengths: Object.fromEntries(Object.entries(lens).map(([k, v]) => [k, v.summary()])),
    build,
  };
}

export function renderDirStats(s: DirStats): string {
  const parts = [
    renderTable("Datasets (from dataset_info.json)", ["dataset", "kind", "file", "records", "invalid lines"], Object.entries(s.datasets).map(([k, d]) => [k, d.kind, d.file, d.records, d.invalidLines])),
    renderCounts("Records by task (SFT and DFPO sets; Alpaca/ShareGPT twins counted once)", s.byTask),
    renderCounts("Records by source", s.bySource),
    renderCounts("Records by department", s.byDepartment),
    renderDistributions("Lengths (characters)", s.lengths),
  ];
  if (s.build && s.build.format === "pedgpt-corpus-stats") parts.push("Build statistics (stats.json)\n\n" + renderStats(s.build));
  return parts.join("\n\n");
}
