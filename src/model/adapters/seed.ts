/**
 * Reading the released PediatricsGPT MoE-LoRA adapter (SEED-FACTS "The released adapter's layouts"):
 *
 * - PEFT layout: adapter_config.json (`peft_type` "LORA", `lora_nums`) + adapter_model.safetensors/.bin
 *   with only `…<module>.lora_moe_A` [E, in, r] and `…lora_moe_B` [E, r, out]: the routers were never
 *   saved, so a router policy must be chosen.
 * - Full state dict: model.safetensors (no adapter_config.json) whose keys end `.lora_moe_A.default`,
 *   `.lora_moe_B.default`, `.lora_route.weight`, `.w_noise` and `.base_layer.weight`, plus the other base
 *   weights. r and E come from the shapes; lora_alpha is not stored (LLaMA-Factory's default 2·r is
 *   assumed unless given, and recorded); the stored base weights are compared with the base model.
 *
 * The result is an adapter in our format (io.ts) whose metadata records the source layout, the
 * router policy and any assumption. Not here: the math (adapter.ts).
 */
import path from "node:path";
import { isFile } from "../io/fsutil.js";
import { openSafetensors } from "../io/safetensors.js";
import type { TensorReader } from "../io/types.js";
import type { CausalLM } from "../model.js";
import { LoraAdapter, shapesOf, tensorNames } from "./adapter.js";
import { ADAPTER_CONFIG, LORA_DEFAULTS, resolveTargets, shortNames, validateSettings, type AdapterSettings, type RouterPolicy } from "./config.js";
import { AdapterBaseMismatchError, AdapterConfigError, AdapterError, AdapterShapeError, AdapterTargetError, MissingRouterError } from "./errors.js";
import { baseFingerprint } from "./fingerprint.js";
import { checkFinite, expectedShapes, openAdapterWeights, readAdapterConfig, setFromFileTensors } from "./io.js";

export interface ImportSeedOptions {
  /** What to do where router weights are absent; without one such an adapter is refused. */
  routerPolicy?: RouterPolicy | null;
  /** lora_alpha for the full state-dict layout (which does not store it); default 2·r. */
  alpha?: number;
  /** Import even if the state dict's base weights differ from `model`'s. */
  force?: boolean;
}

export interface ImportSeedReport {
  layout: "peft" | "state-dict";
  file: string;
  experts: number;
  r: number;
  alpha: number;
  modules: number;
  routers: "stored" | `policy ${RouterPolicy}`;
  /** base tensors in the state dict compared with the base model */
  baseTensorsChecked: number;
  notes: string[];
}

const SEED_KEY = /^(?:base_model\.model\.)?(.+?)\.(lora_moe_A|lora_moe_B|lora_route|w_noise|base_layer)(?:\.default)?(?:\.weight)?(?:\.default)?$/;

type Part = "lora_moe_A" | "lora_moe_B" | "lora_route" | "w_noise";

/** Import a seed MoE adapter (either layout) for `model`. Everything is validated before anything is built. */
export async function importSeedAdapter(src: string, model: CausalLM, opts: ImportSeedOptions = {}): Promise<{ adapter: LoraAdapter; report: ImportSeedReport }> {
  const policy = opts.routerPolicy ?? null;
  if (policy !== null && policy !== "zero") throw new AdapterConfigError("--router-policy", "router_policy", `unknown policy ${JSON.stringify(policy)} (known: zero)`);
  const hasConfig = await isFile(path.join(src, ADAPTER_CONFIG));
  let reader: TensorReader;
  let layout: "peft" | "state-dict";
  if (hasConfig) {
    layout = "peft";
    reader = await openAdapterWeights(src);
  } else {
    layout = "state-dict";
    const file = (await isFile(src)) ? src : path.join(src, "model.safetensors");
    if (!(await isFile(file))) throw new AdapterError(`${src}: neither an adapter directory (adapter_config.json) nor a seed state dict (model.safetensors)`);
    reader = await openSafetensors(file);
  }
  try {
    const file = reader.path;
    // Group the keys: adapter parts per module, base weights, anything else is an error.
    const parts = new Map<string, Partial<Record<Part, string>>>();
    const baseKeys: { key: string; param: string }[] = [];
    for (const key of reader.names()) {
      const m = SEED_KEY.exec(key);
      if (m) {
        if (m[2] === "base_layer") {
          baseKeys.push({ key, param: `${m[1]}.weight` });
          continue;
        }
        const p = parts.get(m[1]!) ?? {};
        p[m[2] as Part] = key;
        parts.set(m[1]!, p);
        continue;
      }
      const plain = key.replace(/^base_model\.model\./, "");
      if (layout === "state-dict" && model.params.has(plain)) {
        baseKeys.push({ key, param: plain });
        continue;
      }
      throw new AdapterShapeError(file, `tensor "${key}" is neither a MoE-LoRA weight (lora_moe_A/B, lora_route, w_noise) nor a base weight of this ${model.config.architecture}`);
    }
    if (parts.size === 0) throw new AdapterShapeError(file, "no lora_moe_A / lora_moe_B tensors: not a PediatricsGPT MoE-LoRA adapter");
    const modules = [...parts.keys()];
    const all = new Set(resolveTargets(model, "all", file));
    for (const m of modules) if (!all.has(m)) throw new AdapterTargetError(`${file}: module "${m}" is not a linear layer of this ${model.config.architecture} (${model.config.numLayers} layers)`);

    // Rank and expert count: from the config (PEFT layout) or the shapes, which must agree everywhere.
    const first = parts.get(modules[0]!)!;
    if (!first.lora_moe_A) throw new AdapterShapeError(file, `module "${modules[0]}" has no lora_moe_A`);
    const aShape = reader.info(first.lora_moe_A).shape;
    if (aShape.length !== 3) throw new AdapterShapeError(file, `"${first.lora_moe_A}" has shape [${aShape.join(", ")}], expected [E, in, r]`);
    let E = aShape[0]!;
    let r = aShape[2]!;
    let alpha = opts.alpha ?? 2 * r;
    let rsLora = false;
    let dropout = 0;
    const notes: string[] = [];
    if (layout === "peft") {
      const cfg = await readAdapterConfig(src);
      if (cfg.settings.experts < 2) throw new AdapterConfigError(cfg.file, "lora_nums", `a seed MoE adapter needs lora_nums >= 2, found ${cfg.settings.experts}`);
      ({ experts: E, r, alpha, rsLora, dropout } = cfg.settings);
      if (opts.alpha !== undefined && opts.alpha !== alpha) throw new AdapterConfigError(cfg.file, "lora_alpha", `is ${alpha}; --alpha ${opts.alpha} contradicts it`);
    } else if (opts.alpha === undefined) {
      notes.push(`lora_alpha is not stored in a state dict; assumed 2·r = ${alpha} (LLaMA-Factory's default)`);
    }
    if (E < 2) throw new AdapterShapeError(file, `lora_moe_A has ${E} expert(s); a MoE-LoRA needs at least 2`);
    const settings: AdapterSettings = validateSettings(
      { ...LORA_DEFAULTS, r, alpha, rsLora, dropout, experts: E, targetModules: shortNames(modules), noisyGating: true, balanceLossCoef: 0, wNoiseInit: "zeros" },
      file,
    );

    // Shapes, presence, finiteness of every tensor; routers all present or all absent.
    const shapes = shapesOf(model, modules);
    const values = new Map<string, Float32Array>();
    let withRouter = 0;
    for (const m of modules) {
      const p = parts.get(m)!;
      const [out, inF] = shapes.get(m)!;
      const want = expectedShapes(m, out, inF, settings);
      const n = tensorNames(m, E);
      const srcOf: [string, string | undefined][] = [[n.A, p.lora_moe_A], [n.B, p.lora_moe_B], [n.route!, p.lora_route], [n.noise!, p.w_noise]];
      if (!p.lora_moe_A || !p.lora_moe_B) throw new AdapterShapeError(file, `module "${m}" lacks lora_moe_${p.lora_moe_A ? "B" : "A"}`);
      if ((p.lora_route === undefined) !== (p.w_noise === undefined)) throw new AdapterShapeError(file, `module "${m}" has ${p.lora_route ? "lora_route but no w_noise" : "w_noise but no lora_route"}`);
      if (p.lora_route) withRouter++;
      for (const [ours, key] of srcOf) {
        if (key === undefined) continue;
        const got = reader.info(key).shape;
        const exp = want.get(ours)!;
        if (got.length !== exp.length || got.some((d, i) => d !== exp[i])) {
          throw new AdapterShapeError(file, `tensor "${key}": shape [${got.join(", ")}], but E ${E}, r ${r} and the base layer (${out}, ${inF}) need [${exp.join(", ")}]`);
        }
        const data = await reader.read(key);
        checkFinite(file, key, data);
        values.set(ours, data);
      }
    }
    if (withRouter !== 0 && withRouter !== modules.length) throw new AdapterShapeError(file, `${withRouter} of ${modules.length} modules carry router weights; expected all or none`);
    if (withRouter === 0) {
      if (policy === null) {
        throw new MissingRouterError(file, `the router weights (lora_route, w_noise) are absent, as in the released seed adapter, whose routing was random on every load; choose a policy: "zero" (zero routers: the ${E - 1} routed experts get equal weights 1/${E - 1} at inference)`);
      }
      for (const m of modules) {
        const [, inF] = shapes.get(m)!;
        const n = tensorNames(m, E);
        values.set(n.route!, new Float32Array((E - 1) * inF));
        values.set(n.noise!, new Float32Array((E - 1) * inF));
      }
    } else if (policy !== null) {
      notes.push(`router policy "${policy}" not needed: the routers are stored`);
    }

    // The state dict stores the base weights it was trained on: they must be this base's.
    let checked = 0;
    for (const { key, param } of baseKeys) {
      if (!model.params.has(param)) throw new AdapterShapeError(file, `base tensor "${key}" has no counterpart "${param}" in this ${model.config.architecture}`);
      const w = model.params.get(param);
      const info = reader.info(key);
      if (info.shape.length !== w.shape.length || info.shape.some((d, i) => d !== w.shape[i])) {
        throw new AdapterBaseMismatchError(file, `"${param}" of shape [${info.shape.join(", ")}]`, `[${w.shape.join(", ")}]`);
      }
      const data = await reader.read(key);
      const tol = info.dtype === "F32" || info.dtype === "F64" ? 1e-6 : info.dtype === "F16" ? 1e-3 : 1e-2;
      let maxAbs = 0;
      let maxDiff = 0;
      for (let i = 0; i < data.length; i++) {
        maxAbs = Math.max(maxAbs, Math.abs(w.data[i]!));
        maxDiff = Math.max(maxDiff, Math.abs(data[i]! - w.data[i]!));
      }
      if (maxDiff > tol * Math.max(maxAbs, 1e-30) && !opts.force) {
        throw new AdapterBaseMismatchError(file, `the state dict's "${key}"`, `this base's "${param}" (max difference ${maxDiff.toExponential(2)}, allowed ${(tol * maxAbs).toExponential(2)} for ${info.dtype})`);
      }
      checked++;
    }

    const adapter = new LoraAdapter(settings, {
      baseFingerprint: baseFingerprint(model),
      baseArchitecture: model.config.architecture,
      baseModelPath: null,
      routerPolicy: withRouter === 0 ? policy : null,
      provenance: { source: "PediatricsGPT seed MoE-LoRA", layout, file: path.basename(file), ...(notes.length ? { notes } : {}) },
    }, shapes);
    setFromFileTensors(adapter, (name) => values.get(name)!);
    return {
      adapter,
      report: { layout, file, experts: E, r, alpha, modules: modules.length, routers: withRouter === 0 ? `policy ${policy!}` : "stored", baseTensorsChecked: checked, notes },
    };
  } finally {
    await reader.close();
  }
}
