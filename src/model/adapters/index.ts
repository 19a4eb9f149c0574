/**
 * Public API of the adapters module: LoRA and MoE-LoRA adapters on a model's linear layers, their
 * PEFT-layout files, merged exports and the seed importer. Format and semantics: README.md here.
 *
 *   const a = LoraAdapter.create(model, { ...LORA_DEFAULTS, r: 8, experts: 4 });
 *   const detach = a.attach(model);            // base frozen; a.parameters() train
 *   a.train(rng); a.nextStep(); …              // per micro-step
 *   await saveAdapter(a, "out/adapter");
 */
export { LoraAdapter, tensorNames, fnv1a32, fixedRouterNoise, FIXED_NOISE_STREAM, type AdapterRng, type RouterStats } from "./adapter.js";
export {
  ADAPTER_CONFIG,
  ADAPTER_WEIGHTS,
  LORA_DEFAULTS,
  adapterConfigJson,
  linearModules,
  parseAdapterConfig,
  resolveTargets,
  scaling,
  validateSettings,
  type AdapterMeta,
  type AdapterSettings,
  type RouterPolicy,
} from "./config.js";
export {
  AdapterError,
  AdapterConfigError,
  AdapterTargetError,
  AdapterShapeError,
  AdapterValueError,
  AdapterBaseMismatchError,
  AdapterMergeError,
  MissingRouterError,
} from "./errors.js";
export { baseFingerprint } from "./fingerprint.js";
export { saveAdapter, loadAdapter, readAdapterConfig, saveMerged, fileTensors, describeAdapter, type LoadAdapterOptions } from "./io.js";
export { importSeedAdapter, type ImportSeedOptions, type ImportSeedReport } from "./seed.js";
export { AdapterObjective, batchRowLength, routerScalars } from "./objective.js";
