/**
 * `pedgpt corpus build|validate|stats`: option parsing and printing only; the work is in src/corpus.
 */
import type { Command } from "commander";
import type { EncodingOption } from "../../corpus/io/encoding.js";
import { buildCorpus, FILE_FORMATS, loadBuildConfig, renderDirStats, statsOfDir, totalBad, validateFile, type FileFormat, type ValidationReport } from "../../corpus/index.js";

/** The encodings the corpus readers decode (see corpus/io/encoding.ts). */
const ENCODINGS = ["auto", "utf-8", "gb18030", "gbk", "utf-16le", "utf-16be"] as const;

function printValidation(r: ValidationReport, indent = ""): void {
  console.log(`${indent}${r.file}: ${r.format}${r.encoding ? ` (${r.encoding})` : ""}, ${r.records} good record(s), ${r.bad.length} bad`);
  for (const b of r.bad) console.log(`${indent}  ${b.file}:${b.line}: [${b.stage}] ${b.reason}${b.excerpt ? `  | ${JSON.stringify(b.excerpt)}` : ""}`);
  for (const n of r.notes ?? []) console.log(`${indent}  note: ${n}`);
  for (const d of r.datasets ?? []) printValidation(d, indent + "  ");
}

export function register(program: Command): void {
  const corpus = program.command("corpus").description("build, validate and describe the PedCorpus instruction corpus");

  corpus
    .command("build")
    .argument("<config>", "build config (JSON), e.g. configs/corpus/sample.json")
    .option("-o, --out <dir>", "output directory (overrides the config's outDir)")
    .option("--on-error <policy>", "fail | skip-and-report (overrides the config)")
    .option("-q, --quiet", "no progress output")
    .description("build the task sets, CPT corpus, DFPO pairs, splits, dataset_info.json and statistics")
    .action(async (config: string, o: { out?: string; onError?: string; quiet?: boolean }) => {
      if (o.onError && o.onError !== "fail" && o.onError !== "skip-and-report") throw new Error(`--on-error must be fail or skip-and-report, got ${o.onError}`);
      const loaded = await loadBuildConfig(config);
      const ctrl = new AbortController();
      const onSigint = () => ctrl.abort();
      process.once("SIGINT", onSigint);
      try {
        const res = await buildCorpus(loaded, {
          ...(o.out ? { outDir: o.out } : {}),
          ...(o.onError ? { policy: o.onError as "fail" | "skip-and-report" } : {}),
          ...(o.quiet ? {} : { onProgress: (m: string) => console.error(m) }),
          signal: ctrl.signal,
        });
        console.log(res.table);
      } finally {
        process.off("SIGINT", onSigint);
      }
    });

  corpus
    .command("validate")
    .argument("<file>", "a corpus input or output file, dataset_info.json, or a folder (through its dataset_info.json, else file by file)")
    .option("-f, --format <format>", `force the format: ${FILE_FORMATS.join(" | ")}`)
    .option("--encoding <encoding>", `text encoding when detection fails: ${ENCODINGS.join(" | ")}`, "auto")
    .option("--json", "print the report as JSON")
    .description("detect the format and report every bad record with file:line and reason (exit 1 if any)")
    .action(async (file: string, o: { format?: string; encoding: string; json?: boolean }) => {
      if (o.format && !(FILE_FORMATS as readonly string[]).includes(o.format)) throw new Error(`--format must be one of ${FILE_FORMATS.join(", ")}, got ${o.format}`);
      if (!(ENCODINGS as readonly string[]).includes(o.encoding)) throw new Error(`--encoding must be one of ${ENCODINGS.join(", ")}, got ${o.encoding}`);
      const r = await validateFile(file, o.format as FileFormat | undefined, { encoding: o.encoding as EncodingOption });
      if (o.json) console.log(JSON.stringify(r, null, 2));
      else printValidation(r);
      if (totalBad(r) > 0) process.exitCode = 1;
    });

  corpus
    .command("stats")
    .argument("<dir>", "a built corpus directory (with dataset_info.json)")
    .option("--json", "print JSON instead of tables")
    .description("statistics of a built corpus: records per dataset, task, source, department; lengths; build report")
    .action(async (dir: string, o: { json?: boolean }) => {
      const s = await statsOfDir(dir);
      console.log(o.json ? JSON.stringify(s, null, 2) : renderDirStats(s));
    });
}
