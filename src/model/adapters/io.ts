/**
 * Adapters on disk, PEFT layout: `adapter_config.json` + `adapter_model.safetensors` (reading also
 * `adapter_model.bin`). A plain LoRA is exactly what PEFT writes and reads; a MoE-LoRA adds the seed's
 * expert tensors and the router tensors the seed never saved (README.md in this folder).
 *
 * Loading checks everything before building anything: config fields, every tensor's presence, shape
 * against the base model, finite values, and the base model fingerprint. Also here: exporting a model
 * with an adapter merged in.
 *
 * Not here: the math (adapter.ts), the seed's layouts (seed.ts).
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import { saveModel, type SaveModelOptions } from "../checkpoint.js";
import { atomicWrite, isFile, writeAll } from "../io/fsutil.js";
import { openSafetensors, writeSafetensors } from "../io/safetensors.js";
import { openTorchBin } from "../io/torchbin.js";
import type { TensorEntry, TensorReader } from "../io/types.js";
import type { CausalLM } from "../model.js";
import { LoraAdapter, shapesOf, tensorNames } from "./adapter.js";
import { ADAPTER_CONFIG, ADAPTER_WEIGHTS, adapterConfigJson, parseAdapterConfig, resolveTargets, type AdapterMeta, type AdapterSettings } from "./config.js";
import { AdapterBaseMismatchError, AdapterConfigError, AdapterError, AdapterShapeError, AdapterTargetError, AdapterValueError, MissingRouterError } from "./errors.js";
import { baseFingerprint } from "./fingerprint.js";

/** (rows, cols) row-major → (cols, rows). */
function transpose(src: Float32Array, rows: number, cols: number, dst: Float32Array = new Float32Array(rows * cols)): Float32Array {
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) dst[j * rows + i] = src[i * cols + j]!;
  return dst;
}

/** A tensor in file layout: name, shape, values. */
export interface FileTensor {
  name: string;
  shape: number[];
  data: Float32Array;
}

/** The adapter's tensors in file layout (PEFT / seed key names and shapes). */
export function fileTensors(a: LoraAdapter): FileTensor[] {
  const { r, experts: E } = a.settings;
  const out: FileTensor[] = [];
  for (const m of a.modules) {
    const st = a.module(m);
    const n = tensorNames(m, E);
    if (E === 1) {
      out.push({ name: n.A, shape: [r, st.inF], data: Float32Array.from(st.A.data) });
      out.push({ name: n.B, shape: [st.out, r], data: Float32Array.from(st.B.data) });
      continue;
    }
    // memory A (E·r, in): block e is A[e]ᵀ; file [E, in, r]
    const A = new Float32Array(E * st.inF * r);
    for (let e = 0; e < E; e++) transpose(st.A.data.subarray(e * r * st.inF, (e + 1) * r * st.inF), r, st.inF, A.subarray(e * st.inF * r, (e + 1) * st.inF * r));
    out.push({ name: n.A, shape: [E, st.inF, r], data: A });
    // memory B (out, E·r) = file [E, r, out] viewed as (E·r, out), transposed
    out.push({ name: n.B, shape: [E, r, st.out], data: transpose(st.B.data, st.out, E * r) });
    out.push({ name: n.route!, shape: [E - 1, st.inF], data: Float32Array.from(st.route!.data) });
    out.push({ name: n.noise!, shape: [st.inF, E - 1], data: transpose(st.noise!.data, E - 1, st.inF) });
  }
  return out;
}

/** Fill `a` from file-layout tensors (already checked for names and shapes). */
export function setFromFileTensors(a: LoraAdapter, get: (name: string) => Float32Array): void {
  const { r, experts: E } = a.settings;
  for (const m of a.modules) {
    const st = a.module(m);
    const n = tensorNames(m, E);
    if (E === 1) {
      st.A.data.set(get(n.A));
      st.B.data.set(get(n.B));
    } else {
      const A = get(n.A);
      for (let e = 0; e < E; e++) transpose(A.subarray(e * st.inF * r, (e + 1) * st.inF * r), st.inF, r, st.A.data.subarray(e * r * st.inF, (e + 1) * r * st.inF));
      transpose(get(n.B), E * r, st.out, st.B.data);
      st.route!.data.set(get(n.route!));
      transpose(get(n.noise!), st.inF, E - 1, st.noise!.data);
    }
  }
  for (const t of a.params.list) t.version++;
}

/** Expected file shapes of one module's tensors. */
export function expectedShapes(m: string, out: number, inF: number, s: Pick<AdapterSettings, "r" | "experts">): Map<string, number[]> {
  const { r, experts: E } = s;
  const n = tensorNames(m, E);
  const shapes = new Map<string, number[]>();
  if (E === 1) {
    shapes.set(n.A, [r, inF]).set(n.B, [out, r]);
  } else {
    shapes.set(n.A, [E, inF, r]).set(n.B, [E, r, out]).set(n.route!, [E - 1, inF]).set(n.noise!, [inF, E - 1]);
  }
  return shapes;
}

/** Throw AdapterValueError on the first NaN/Inf. */
export function checkFinite(file: string, name: string, data: Float32Array): void {
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i]!)) throw new AdapterValueError(file, name, `value ${data[i]} at flat index ${i}; adapter weights must be finite (a diverged run?)`);
  }
}

/** Write `dir/adapter_config.json` and `dir/adapter_model.safetensors` (each atomically). */
export async function saveAdapter(a: LoraAdapter, dir: string): Promise<{ files: string[]; bytes: number }> {
  await fs.mkdir(dir, { recursive: true });
  const tensors = fileTensors(a);
  const entries: TensorEntry[] = tensors.map((t) => ({ name: t.name, shape: t.shape, data: t.data }));
  const bytes = await writeSafetensors(path.join(dir, ADAPTER_WEIGHTS), entries, { metadata: { format: "pt" } });
  const json = JSON.stringify(adapterConfigJson(a.settings, a.meta, a.modules), null, 2) + "\n";
  await atomicWrite(path.join(dir, ADAPTER_CONFIG), (fh) => writeAll(fh, new TextEncoder().encode(json)));
  return { files: [ADAPTER_CONFIG, ADAPTER_WEIGHTS], bytes };
}

/** Read and parse `dir/adapter_config.json`. */
export async function readAdapterConfig(dir: string): Promise<ReturnType<typeof parseAdapterConfig> & { file: string }> {
  const file = path.join(dir, ADAPTER_CONFIG);
  let text: string;
  try {
    text = await fs.readFile(file, "utf8");
  } catch (err) {
    throw new AdapterConfigError(file, "(file)", `cannot read the adapter config (${(err as Error).message}); an adapter directory needs adapter_config.json`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new AdapterConfigError(file, "(file)", `not valid JSON: ${(err as Error).message}`);
  }
  return { ...parseAdapterConfig(raw, file), file };
}

/** The weights file of a PEFT adapter directory (safetensors preferred, else .bin). */
export async function openAdapterWeights(dir: string): Promise<TensorReader> {
  const st = path.join(dir, ADAPTER_WEIGHTS);
  if (await isFile(st)) return openSafetensors(st);
  const bin = path.join(dir, "adapter_model.bin");
  if (await isFile(bin)) return openTorchBin(bin);
  throw new AdapterError(`${dir}: no ${ADAPTER_WEIGHTS} or adapter_model.bin`);
}

const KEY_RE = /^(?:base_model\.model\.)?(.+?)\.(lora_A\.weight|lora_B\.weight|lora_moe_A|lora_moe_B|lora_route\.weight|w_noise)$/;

/** Group a weights file's keys by module; any other key is an error. */
export function modulesInFile(file: string, names: readonly string[]): string[] {
  const mods: string[] = [];
  const seen = new Set<string>();
  for (const n of names) {
    const m = KEY_RE.exec(n);
    if (!m) throw new AdapterShapeError(file, `tensor "${n}" is not an adapter weight (expected …<module>.lora_A.weight / lora_B.weight, or lora_moe_A / lora_moe_B / lora_route.weight / w_noise)`);
    if (!seen.has(m[1]!)) {
      seen.add(m[1]!);
      mods.push(m[1]!);
    }
  }
  return mods;
}

export interface LoadAdapterOptions {
  /** Load even if the adapter records another base model's fingerprint. */
  force?: boolean;
}

/**
 * Load an adapter directory for `model` (not attached). Everything is checked first; on any problem a
 * named error is thrown and nothing is built.
 */
export async function loadAdapter(dir: string, model: CausalLM, opts: LoadAdapterOptions = {}): Promise<LoraAdapter> {
  const { settings, meta, modules: recorded, file: cfgFile } = await readAdapterConfig(dir);
  const reader = await openAdapterWeights(dir);
  try {
    const file = reader.path;
    const inFile = modulesInFile(file, reader.names());
    const all = new Set(resolveTargets(model, "all", cfgFile));
    if (!model.config.tieWordEmbeddings && !model.config.normHead) all.add("lm_head");
    for (const m of inFile) {
      if (!all.has(m)) throw new AdapterTargetError(`${file}: module "${m}" is not a linear layer of this ${model.config.architecture} (${model.config.numLayers} layers)`);
    }
    // The config's targets must exist in the model and every targeted module must have weights.
    const targeted = recorded ?? resolveTargets(model, settings.targetModules, cfgFile);
    for (const m of targeted) {
      if (!all.has(m)) throw new AdapterTargetError(`${cfgFile}: target module "${m}" is not a linear layer of this ${model.config.architecture}`);
    }
    const missingMods = targeted.filter((m) => !inFile.includes(m));
    if (missingMods.length > 0) throw new AdapterShapeError(file, `no weights for ${missingMods.length} targeted module(s): ${missingMods.slice(0, 6).join(", ")}${missingMods.length > 6 ? ", …" : ""}`);
    const shapes = shapesOf(model, inFile);
    const values = new Map<string, Float32Array>();
    for (const m of inFile) {
      const [out, inF] = shapes.get(m)!;
      const want = expectedShapes(m, out, inF, settings);
      for (const k of [".lora_A.weight", ".lora_B.weight", ".lora_moe_A", ".lora_moe_B"]) {
        const n = "base_model.model." + m + k;
        if (reader.has(n) && !want.has(n)) throw new AdapterShapeError(file, `tensor "${n}" does not belong to a ${settings.experts > 1 ? `MoE-LoRA with lora_nums ${settings.experts}` : "plain LoRA (adapter_config.json has no lora_nums)"}`);
      }
      for (const [name, shape] of want) {
        if (!reader.has(name)) {
          if (settings.experts > 1 && (name.endsWith(".lora_route.weight") || name.endsWith(".w_noise"))) {
            throw new MissingRouterError(file, `router tensor "${name}" is missing (the released seed adapter never saved its routers); import it with \`pedgpt adapter import-seed\` and choose a router policy`);
          }
          throw new AdapterShapeError(file, `module "${m}": tensor "${name}" is missing (lora_nums ${settings.experts}, r ${settings.r})`);
        }
        const got = reader.info(name).shape;
        if (got.length !== shape.length || got.some((d, i) => d !== shape[i])) {
          throw new AdapterShapeError(file, `tensor "${name}": shape [${got.join(", ")}], but r ${settings.r}, lora_nums ${settings.experts} and the base layer (${out}, ${inF}) need [${shape.join(", ")}]`);
        }
      }
      for (const name of want.keys()) {
        const data = await reader.read(name);
        checkFinite(file, name, data);
        values.set(name, data);
      }
    }
    const found = baseFingerprint(model);
    if (meta.baseFingerprint !== null && meta.baseFingerprint !== found && !opts.force) throw new AdapterBaseMismatchError(cfgFile, meta.baseFingerprint, found);
    const a = new LoraAdapter(settings, meta, shapes);
    setFromFileTensors(a, (n) => values.get(n)!);
    return a;
  } finally {
    await reader.close();
  }
}

/**
 * Write `model` with `adapter` merged into its weights as a model directory (config.json + safetensors),
 * then take the merge back out of `model`. A MoE-LoRA needs `universalOnly` (expert 0 only; the routed
 * experts are dropped, which the metadata records).
 */
export async function saveMerged(model: CausalLM, adapter: LoraAdapter, outDir: string, opts: { universalOnly?: boolean } & SaveModelOptions = {}): Promise<string[]> {
  adapter.merge(model, { universalOnly: opts.universalOnly });
  try {
    const meta: Record<string, string> = {
      ...(opts.metadata ?? {}),
      merged_adapter: JSON.stringify({ kind: adapter.settings.experts > 1 ? "moe-lora" : "lora", r: adapter.settings.r, alpha: adapter.settings.alpha, experts_merged: adapter.settings.experts > 1 ? [0] : "all", base_model_fingerprint: adapter.meta.baseFingerprint }),
    };
    const w = await saveModel(model, outDir, { ...opts, metadata: meta });
    return w.files;
  } finally {
    adapter.unmerge(model);
  }
}

/** Settings + meta of an adapter in a compact form for `adapter info`. */
export function describeAdapter(a: LoraAdapter): Record<string, unknown> {
  const s = a.settings;
  return {
    kind: s.experts > 1 ? "moe-lora" : "lora",
    r: s.r, alpha: s.alpha, scale: a.scale, rsLora: s.rsLora, dropout: s.dropout, experts: s.experts,
    ...(s.experts > 1 ? { noisyGating: s.noisyGating, balanceLossCoef: s.balanceLossCoef } : {}),
    modules: a.modules.length,
    parameters: a.count(),
    baseFingerprint: a.meta.baseFingerprint,
    baseArchitecture: a.meta.baseArchitecture,
    routerPolicy: a.meta.routerPolicy,
    provenance: a.meta.provenance,
  } satisfies Record<string, unknown> as Record<string, unknown>;
}

export type { AdapterMeta };
