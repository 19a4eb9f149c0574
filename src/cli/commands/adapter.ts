/**
 * `pedgpt adapter info | merge | import-seed`: describe a LoRA / MoE-LoRA adapter directory, write a
 * base model with an adapter merged in, and convert the released PediatricsGPT MoE adapter (either
 * layout) into our format. Option parsing only; the work is in src/model/adapters.
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import { InvalidArgumentError, type Command } from "commander";
import { loadModel } from "../../model/checkpoint.js";
import {
  describeAdapter,
  importSeedAdapter,
  loadAdapter,
  readAdapterConfig,
  saveAdapter,
  saveMerged,
  type RouterPolicy,
} from "../../model/adapters/index.js";
import { openAdapterWeights } from "../../model/adapters/io.js";
import { openCheckpoint } from "../../model/io/checkpoint.js";
import { COPIED_FILES } from "../../model/io/import.js";

function positive(flag: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${flag} must be a number > 0, got "${v}"`);
    return n;
  };
}

function policy(v: string): RouterPolicy {
  if (v !== "zero") throw new InvalidArgumentError(`--router-policy must be "zero" (zero routers: equal weights for the routed experts), got "${v}"`);
  return v;
}

/** Refuse an existing non-empty output directory before any work. */
async function freshOut(dir: string, flag: string): Promise<void> {
  try {
    const entries = await fs.readdir(dir);
    if (entries.length > 0) throw new Error(`${flag} ${dir} exists and is not empty; choose a new directory`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
}

export function register(program: Command): void {
  const adapter = program.command("adapter").description("LoRA and MoE-LoRA adapters (PEFT layout): inspect, merge, import the seed's MoE adapter");

  adapter
    .command("info <adapter-dir>")
    .description("describe an adapter; with --base, also load it against that model (every check) and give its share of parameters")
    .option("--base <model-dir>", "the base model to check the adapter against")
    .option("--force", "with --base: accept an adapter recorded for another base model", false)
    .option("--json", "print JSON instead of text")
    .action(async (dir: string, o: { base?: string; force: boolean; json?: boolean }) => {
      let info: Record<string, unknown>;
      if (o.base) {
        const model = await loadModel(o.base);
        const a = await loadAdapter(dir, model, { force: o.force });
        const baseCount = model.params.count();
        info = { ...describeAdapter(a), baseParameters: baseCount, trainableShare: a.count() / (a.count() + baseCount), mergeable: a.settings.experts === 1 ? "yes" : "expert 0 only (--universal-only); routed experts run in this engine" };
      } else {
        const { settings, meta, modules } = await readAdapterConfig(dir);
        const reader = await openAdapterWeights(dir);
        let scalars = 0;
        try {
          for (const n of reader.names()) scalars += reader.info(n).shape.reduce((x, y) => x * y, 1);
        } finally {
          await reader.close();
        }
        info = {
          kind: settings.experts > 1 ? "moe-lora" : "lora",
          r: settings.r, alpha: settings.alpha, rsLora: settings.rsLora, dropout: settings.dropout, experts: settings.experts,
          targetModules: settings.targetModules, modules: modules?.length ?? null, parameters: scalars,
          baseFingerprint: meta.baseFingerprint, baseArchitecture: meta.baseArchitecture, routerPolicy: meta.routerPolicy, provenance: meta.provenance,
        };
      }
      if (o.json) console.log(JSON.stringify(info, null, 2));
      else for (const [k, v] of Object.entries(info)) if (v !== null && v !== undefined) console.log(`${k.padEnd(16)} ${typeof v === "object" ? JSON.stringify(v) : String(v)}`);
    });

  adapter
    .command("merge <adapter-dir>")
    .description("write the base model with the adapter merged into its weights (a plain model directory that export-gguf takes)")
    .requiredOption("--base <model-dir>", "the base model the adapter was trained on")
    .requiredOption("--out <dir>", "output model directory (must not exist or be empty)")
    .option("--universal-only", "MoE-LoRA: merge the universal expert 0 only; the token-routed experts cannot be merged and are dropped", false)
    .option("--force", "accept an adapter recorded for another base model", false)
    .action(async (dir: string, o: { base: string; out: string; universalOnly: boolean; force: boolean }) => {
      await freshOut(o.out, "--out");
      const model = await loadModel(o.base);
      const a = await loadAdapter(dir, model, { force: o.force });
      if (a.settings.experts > 1 && !o.universalOnly) {
        throw new Error(`${dir} is a MoE-LoRA adapter (${a.settings.experts} experts): its token-routed experts 1..${a.settings.experts - 1} cannot be merged into fixed weights (serve the adapter with this engine: --adapter); pass --universal-only to merge expert 0 alone`);
      }
      // Keep the base's chat template record on the merged model.
      const template = await templateOf(o.base);
      const files = await saveMerged(model, a, o.out, { universalOnly: o.universalOnly, metadata: template ? { template } : {} });
      await copyTokenizer(o.base, o.out);
      console.log(`merged ${a.settings.experts > 1 ? "expert 0 of a MoE-LoRA" : "LoRA"} (r ${a.settings.r}, alpha ${a.settings.alpha}, ${a.modules.length} modules) into ${o.out}: ${files.join(", ")}`);
    });

  adapter
    .command("import-seed <src>")
    .description("convert the released PediatricsGPT MoE-LoRA adapter (PEFT layout, or the full state dict model.safetensors) into this project's adapter format")
    .requiredOption("--base <model-dir>", "the base model (Baichuan2) the adapter belongs to")
    .requiredOption("--out <dir>", "output adapter directory (must not exist or be empty)")
    .option("--router-policy <zero>", "where the router weights are absent (the seed never saved them): zero = zero routers, equal weights for the routed experts", policy)
    .option("--alpha <n>", "lora_alpha for a state dict (which does not store it); default 2·r, LLaMA-Factory's", positive("--alpha"))
    .option("--force", "accept base weights in the state dict that differ from --base", false)
    .action(async (src: string, o: { base: string; out: string; routerPolicy?: RouterPolicy; alpha?: number; force: boolean }) => {
      await freshOut(o.out, "--out");
      const model = await loadModel(o.base);
      const { adapter, report } = await importSeedAdapter(src, model, { routerPolicy: o.routerPolicy ?? null, alpha: o.alpha, force: o.force });
      await saveAdapter(adapter, o.out);
      console.log(`imported ${report.layout} layout from ${report.file}: ${report.experts} experts, r ${report.r}, alpha ${report.alpha}, ${report.modules} modules, routers ${report.routers}${report.baseTensorsChecked ? `, ${report.baseTensorsChecked} base tensors checked` : ""} → ${o.out}`);
      for (const n of report.notes) console.log(`  note: ${n}`);
    });
}

async function templateOf(dir: string): Promise<string | null> {
  const r = await openCheckpoint(dir);
  try {
    return r.metadata.template ?? null;
  } finally {
    await r.close();
  }
}

async function copyTokenizer(from: string, to: string): Promise<void> {
  for (const f of COPIED_FILES) {
    try {
      await fs.copyFile(path.join(from, f), path.join(to, f));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
  }
}
