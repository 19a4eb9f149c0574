/**
 * `pedgpt pipeline run|status`: corpus build → tokenizer → starting model → stages → evaluation, with a
 * manifest (`<out_dir>/manifest.json`) recording for every step its input hash, its outputs' hash, its
 * recipe, the code version and its timings. A step whose inputs (and recipe) are unchanged and whose
 * outputs are intact is skipped; a step that was running when the process died is resumed (stages from
 * their newest checkpoint); a changed step is redone, and so is everything after it, because each
 * step's inputs include the previous step's outputs.
 *
 * Not here: the stages themselves (stages/run.ts), the held-out measures (effects.ts).
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { buildCorpus, loadBuildConfig } from "../../corpus/index.js";
import { CausalLM, parseConfig, presetConfig, saveModel } from "../../model/index.js";
import { loadTokenizer, saveTrainedBpe, trainBpeTokenizer } from "../../tokenizer/index.js";
import { canonicalRecipe } from "../recipe.js";
import { readMetrics } from "../trainer/metrics.js";
import { listCheckpoints } from "../trainer/checkpoint.js";
import { effectiveRecipe, runStage, type StageOptions, type StageReport } from "../stages/run.js";
import { buildHeldOut, effectTable, effectVerdicts, measureEffects, type EffectRow, type ModelUnderTest } from "./effects.js";
import type { PipelineConfig } from "./config.js";
import { pipelineReportInput, writeReport } from "../../eval/report/index.js";
import { writeFileAtomic, writeJsonAtomic } from "../../util/atomic.js";
import { fileHash, hashDir, modelFiles } from "./hash.js";

export { hashDir } from "./hash.js";

export const MANIFEST = "manifest.json";

export type StepStatus = "pending" | "running" | "done" | "skipped" | "failed";

export interface ManifestStep {
  name: string;
  kind: "corpus" | "tokenizer" | "model" | "stage" | "evaluation";
  status: StepStatus;
  inputHash: string | null;
  outputHash: string | null;
  outputDir: string;
  recipe?: Record<string, unknown>;
  recipeSource?: string;
  /** stages: which trainer ran it (engine or torch); part of the recipe, so a change re-runs the stage */
  backend?: "engine" | "torch";
  started?: string;
  finished?: string;
  seconds?: number;
  /** the step's own summary (stage report excerpt, corpus counts, …) */
  summary?: Record<string, unknown>;
  error?: string;
}

export interface Manifest {
  format: "pedgpt-pipeline-manifest";
  version: 1;
  pipeline: string;
  pipelineHash: string;
  codeVersion: string;
  outDir: string;
  updated: string;
  steps: ManifestStep[];
}

export interface PipelineResult {
  manifest: Manifest;
  effects: EffectRow[] | null;
  table: string | null;
  /** one sentence per stage: does it show its expected effect, with the numbers */
  verdicts: string[];
  seconds: number;
  /** where to find the final model (and adapter) for chatting */
  final: { model: string; adapter: string | null };
  /** the run's HTML report (report.html beside report.json) */
  html: string;
}

export interface PipelineOptions {
  log?: (line: string) => void;
  progress?: boolean;
  checkMemory?: boolean;
  /**
   * Overrides of every stage's recipe (like `pedgpt train` flags: they win over the recipe keys). They
   * change the stage's recipe, so a stage run on another backend than before is redone. `python` only
   * chooses the interpreter of torch stages.
   */
  stages?: Pick<StageOptions, "backend" | "nprocPerNode" | "device" | "precision" | "python">;
}

const sha = (b: string | Buffer) => createHash("sha256").update(b).digest("hex");

/** The running code: git commit (with "-dirty" for local changes) and package version. */
export function codeVersion(): string {
  let pkg = "unknown";
  try {
    pkg = (JSON.parse(readFileSync(resolve(dirname(new URL(import.meta.url).pathname), "../../../package.json"), "utf8")) as { version: string }).version;
  } catch {
    // running from an unusual layout
  }
  try {
    const git = execFileSync("git", ["describe", "--always", "--dirty", "--abbrev=12"], { cwd: dirname(new URL(import.meta.url).pathname), stdio: ["ignore", "pipe", "ignore"] }).toString().trim();
    return `${pkg}+${git}`;
  } catch {
    return pkg;
  }
}

export function readManifest(outDir: string): Manifest | null {
  const f = join(outDir, MANIFEST);
  if (!existsSync(f)) return null;
  return JSON.parse(readFileSync(f, "utf8")) as Manifest;
}

function writeManifest(m: Manifest): void {
  m.updated = new Date().toISOString();
  mkdirSync(m.outDir, { recursive: true });
  const f = join(m.outDir, MANIFEST);
  writeFileSync(`${f}.tmp`, JSON.stringify(m, null, 2) + "\n");
  renameSync(`${f}.tmp`, f);
}

/** Hash of the corpus build's inputs: its config and every source file. */
function corpusInputHash(cfgFile: string): string {
  const h = createHash("sha256").update(readFileSync(cfgFile));
  const cfg = JSON.parse(readFileSync(cfgFile, "utf8")) as { sources?: { path: string }[] };
  for (const s of cfg.sources ?? []) {
    const p = resolve(dirname(cfgFile), s.path);
    if (!existsSync(p)) continue;
    h.update(statSync(p).isDirectory() ? hashDir(p) : fileHash(p));
  }
  return h.digest("hex");
}

/** Runs (or continues) a pipeline. */
export async function runPipeline(cfg: PipelineConfig, o: PipelineOptions = {}): Promise<PipelineResult> {
  const started = performance.now();
  const log = o.log ?? ((l: string) => console.error(l));
  const out = cfg.outDir;
  const prev = readManifest(out);
  const manifest: Manifest = {
    format: "pedgpt-pipeline-manifest", version: 1, pipeline: cfg.file, pipelineHash: sha(cfg.text), codeVersion: codeVersion(), outDir: out,
    updated: "", steps: [],
  };
  const old = new Map((prev?.steps ?? []).map((s) => [s.name, s]));
  // Every stage's overrides are checked before any step runs.
  const { python, ...overrides } = o.stages ?? {};
  for (const s of cfg.stages) effectiveRecipe(s.recipe, overrides);
  const total = 3 + cfg.stages.length + 1;
  let index = 0;

  /** Runs a step unless its inputs are unchanged and its outputs intact; returns its output hash. */
  async function step(
    name: string, kind: ManifestStep["kind"], inputHash: string, outputDir: string, outputHash: () => string,
    work: (resume: boolean) => Promise<Record<string, unknown> | undefined>, extra: Partial<ManifestStep> = {},
  ): Promise<string> {
    index++;
    const before = old.get(name);
    const entry: ManifestStep = { name, kind, status: "pending", inputHash, outputHash: null, outputDir, ...extra };
    manifest.steps.push(entry);
    if (before && before.inputHash === inputHash && (before.status === "done" || before.status === "skipped") && before.outputHash !== null && existsSync(outputDir) && outputHash() === before.outputHash) {
      Object.assign(entry, { status: "skipped", outputHash: before.outputHash, seconds: 0, summary: before.summary });
      log(`[${index}/${total}] ${name}: inputs unchanged, skipped`);
      writeManifest(manifest);
      return before.outputHash;
    }
    const resume = before !== undefined && before.inputHash === inputHash && before.status === "running";
    entry.status = "running";
    entry.started = new Date().toISOString();
    writeManifest(manifest);
    log(`[${index}/${total}] ${name}${resume ? " (resuming)" : ""}`);
    const t0 = performance.now();
    try {
      entry.summary = await work(resume);
    } catch (e) {
      entry.status = "failed";
      entry.error = (e as Error).message;
      entry.seconds = (performance.now() - t0) / 1000;
      writeManifest(manifest);
      throw e;
    }
    entry.status = "done";
    entry.finished = new Date().toISOString();
    entry.seconds = (performance.now() - t0) / 1000;
    entry.outputHash = outputHash();
    writeManifest(manifest);
    return entry.outputHash;
  }

  // 1. corpus
  const corpusDir = join(out, "corpus");
  const corpusHash = await step("corpus", "corpus", corpusInputHash(cfg.corpus), corpusDir, () => hashDir(corpusDir, (r) => r.endsWith(".jsonl") || r === "dataset_info.json"), async () => {
    const built = await buildCorpus(await loadBuildConfig(cfg.corpus), { outDir: corpusDir });
    return { records: built.stats.records.total, badRecords: built.stats.badRecords.total };
  });

  // 2. tokenizer and 3. starting model
  const baseDir = join(out, "base");
  let tokHash: string;
  let modelHash: string;
  if ("path" in cfg.model) {
    const src = cfg.model.path;
    if (!existsSync(join(src, "config.json"))) throw new Error(`${cfg.file}: model.path ${src} is not a model folder (no config.json); import one with \`pedgpt model import <hf-dir> --out ${src}\``);
    tokHash = await step("tokenizer", "tokenizer", sha(`from-model:${hashDir(src, modelFiles)}`), src, () => hashDir(src, (r) => r.startsWith("tokenizer")), async () => ({ from: src }));
    modelHash = await step("model", "model", sha(`path:${src}`), src, () => hashDir(src, modelFiles), async () => ({ from: src }));
  } else {
    const tokDir = join(out, "tokenizer");
    const vocab = (cfg.tokenizer as { vocabSize: number }).vocabSize;
    tokHash = await step("tokenizer", "tokenizer", sha(`${corpusHash}:${vocab}:${cfg.template}`), tokDir, () => hashDir(tokDir), async () => {
      const docs = readFileSync(join(corpusDir, "cpt", "pedcorpus_cpt.jsonl"), "utf8").split("\n").filter((l) => l !== "").map((l) => (JSON.parse(l) as { text: string }).text);
      const trained = trainBpeTokenizer(docs, { vocabSize: vocab, chatTemplateId: cfg.template });
      saveTrainedBpe(trained, tokDir);
      return { vocabSize: vocab, seconds: trained.stats.seconds };
    });
    const { preset, seed } = cfg.model;
    modelHash = await step("model", "model", sha(`${tokHash}:${preset}:${seed}`), baseDir, () => hashDir(baseDir, modelFiles), async () => {
      const tok = loadTokenizer(join(out, "tokenizer"));
      const config = parseConfig(presetConfig(preset, { vocab_size: tok.vocabSize, bos_token_id: tok.bosId, eos_token_id: tok.eosId, pad_token_id: tok.padId }), `preset ${preset}`);
      const model = new CausalLM(config, { seed });
      await saveModel(model, baseDir, { metadata: { template: cfg.template } });
      for (const f of ["tokenizer.json", "tokenizer_config.json"]) copyFileSync(join(out, "tokenizer", f), join(baseDir, f));
      return { preset, seed, parameters: model.parameters().reduce((n, p) => n + p.size, 0) };
    });
  }
  const startDir = "path" in cfg.model ? cfg.model.path : baseDir;

  // 4. stages: each starts from the previous full model; an adapter stage's output is an adapter on it.
  let fullDir = startDir;
  let prevHash = sha(`${modelHash}:${tokHash}`);
  const tested: ModelUnderTest[] = [{ name: "base", dir: startDir }];
  let final = { model: startDir, adapter: null as string | null };
  let dpoReference: string | undefined;
  let dpoBeta = 0.1;
  for (const s of cfg.stages) {
    const outDir = join(out, "stages", s.name);
    const stageRecipe = effectiveRecipe(s.recipe, overrides);
    const recipe = { ...stageRecipe, model_name_or_path: fullDir, output_dir: outDir, dataset_dir: corpusDir, overwrite_output_dir: true };
    const inputHash = sha(`${canonicalRecipe(stageRecipe)}:${prevHash}:${corpusHash}`);
    if (s.recipe.stage === "dpo" && dpoReference === undefined) {
      dpoReference = tested[tested.length - 1]!.name;
      dpoBeta = s.recipe.pref_beta;
    }
    prevHash = await step(s.name, "stage", inputHash, outDir, () => hashDir(outDir, modelFiles), async (resume) => {
      const canResume = resume && (await listCheckpoints(join(outDir, "checkpoints"))).length > 0;
      const report: StageReport = await runStage(canResume ? { ...recipe, overwrite_output_dir: false } : recipe, { resume: canResume, log, progress: o.progress, checkMemory: o.checkMemory, ...(python !== undefined ? { python } : {}) });
      return {
        stage: report.stage, finetuningType: report.finetuningType, backend: report.backend, ...(report.torch ? { torch: report.torch } : {}), steps: report.training.steps, firstLoss: report.training.firstLoss, finalLoss: report.training.finalLoss,
        valLossBefore: report.training.valLossBefore, valLossAfter: report.training.valLossAfter, tokensPerSecond: report.training.tokensPerSecond,
        data: { rows: report.data.train.rows, badRows: report.data.train.counts.badRows, badReasons: report.data.train.counts.badReasons, truncated: report.data.train.counts.truncated, droppedTokens: report.data.train.counts.droppedTokens },
        lastScalars: report.training.lastScalars, ...(report.adapter ? { adapter: report.adapter } : {}), ...(report.reference ? { reference: report.reference } : {}),
      };
    }, { recipe: JSON.parse(canonicalRecipe(recipe)) as Record<string, unknown>, recipeSource: s.source, backend: recipe.backend });
    if (s.recipe.finetuning_type === "full") {
      fullDir = outDir;
      tested.push({ name: s.name, dir: outDir });
      final = { model: outDir, adapter: null };
    } else {
      tested.push({ name: s.name, dir: fullDir, adapterDir: outDir });
      final = { model: fullDir, adapter: outDir };
    }
  }

  // 5. evaluation: every model on the held-out split, the effect table in the report.
  // "effects", not "eval": `pedgpt eval run` writes its own reports under <out_dir>/eval.
  const evalDir = join(out, "effects");
  let effects: EffectRow[] | null = null;
  let table: string | null = null;
  const evalInput = sha(`${prevHash}:${tested.map((t) => t.name).join(",")}:${JSON.stringify(cfg.evaluation)}:${corpusHash}`);
  await step("evaluation", "evaluation", evalInput, evalDir, () => hashDir(evalDir, (r) => r === "effects.json"), async () => {
    const tokenizer = loadTokenizer(startDir);
    const cutoff = Math.max(...cfg.stages.map((s) => s.recipe.cutoff_len));
    const held = await buildHeldOut(corpusDir, tokenizer, tokHash, cfg.template, join(evalDir, "data"), { cutoffLen: cutoff, maxRows: cfg.evaluation.maxRows, prompts: cfg.evaluation.generate });
    effects = await measureEffects(tested, held, tokenizer, cfg.template, { reference: dpoReference, beta: dpoBeta, maxNewTokens: cfg.evaluation.maxNewTokens, log });
    writeFileSync(join(evalDir, "effects.json"), JSON.stringify(effects, null, 2) + "\n");
    return { models: tested.map((t) => t.name) };
  });
  if (effects === null && existsSync(join(evalDir, "effects.json"))) effects = JSON.parse(readFileSync(join(evalDir, "effects.json"), "utf8")) as EffectRow[];
  let verdicts: string[] = [];
  if (effects) {
    table = effectTable(effects);
    const kinds = Object.fromEntries(cfg.stages.map((s) => [s.name, s.recipe.finetuning_type === "moe_lora" ? "moe_lora" : s.recipe.stage] as const));
    verdicts = effectVerdicts(effects, kinds);
  }

  const seconds = (performance.now() - started) / 1000;
  const report = { pipeline: cfg.file, codeVersion: manifest.codeVersion, seconds, final, steps: manifest.steps.map((s) => ({ name: s.name, status: s.status, seconds: s.seconds, summary: s.summary })), effects, verdicts };
  await writeJsonAtomic(join(out, "report.json"), report);
  if (table) {
    const steps = manifest.steps.map((s) => `| ${s.name} | ${s.status} | ${s.seconds?.toFixed(1) ?? ""} |`).join("\n");
    await writeFileAtomic(join(out, "report.md"), `# Pipeline report\n\n${cfg.file} (code ${manifest.codeVersion})\n\n` +
      `Each stage's effect on held-out data (test split of the corpus):\n\n${table}\n\n${verdicts.map((v) => `- ${v}`).join("\n")}\n\n` +
      `| step | status | seconds |\n|---|---|---|\n${steps}\n`);
  }
  // The same run as a self-contained HTML page (loss curves per stage, the effect table, verdicts).
  const html = (await writeReport(pipelineReportInput(out), out)).html;
  log(`report: ${html}`);
  return { manifest, effects, table, verdicts, seconds, final, html };
}

/** Where a run stands, as text lines (for `pedgpt pipeline status`). */
export function pipelineStatus(outDir: string): string[] {
  const m = readManifest(outDir);
  if (!m) return [`${outDir}: no ${MANIFEST} (the pipeline has not run here)`];
  const lines = [`pipeline ${m.pipeline}`, `code ${m.codeVersion}, updated ${m.updated}`, ""];
  const rows = m.steps.map((s) => {
    let progress = "";
    if (s.kind === "stage" && s.status === "running") {
      const f = join(s.outputDir, "metrics.jsonl");
      if (existsSync(f)) {
        try {
          const last = readMetrics(f).lines.at(-1);
          if (last) progress = `step ${last.step}, loss ${typeof last.loss === "number" ? last.loss.toFixed(3) : "?"}`;
        } catch {
          progress = "metrics unreadable";
        }
      }
    }
    if (s.status === "failed") progress = s.error ?? "";
    return [s.backend === "torch" ? `${s.name} (torch)` : s.name, s.status, s.seconds !== undefined ? `${s.seconds.toFixed(1)} s` : "", (s.inputHash ?? "").slice(0, 12), progress];
  });
  const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => r[i]!.length), ["step", "status", "time", "inputs"][i]!.length));
  const fmt = (r: string[]) => r.map((c, i) => (i < 4 ? c.padEnd(widths[i]!) : c)).join("  ").trimEnd();
  lines.push(fmt(["step", "status", "time", "inputs", ""]));
  for (const r of rows) lines.push(fmt(r));
  return lines;
}
