/**
 * Public API of the kernel layer: pick an implementation, own the thread count, build constant tables.
 *
 * `getKernels()` returns the native addon when it loads and the TypeScript reference otherwise (with
 * one warning saying how to build the addon). `PEDGPT_KERNELS=reference` forces the reference;
 * `PEDGPT_KERNELS=native` makes a missing addon an error instead of a fallback. `setThreads` is the one
 * place the engine's thread count is set (OpenBLAS and the addon's pool together); its default is the
 * number of cores, or PEDGPT_THREADS when set.
 */
import { cpus } from "node:os";
import type { Kernels } from "./kernels.js";
import { referenceKernels } from "./reference.js";
import { loadNativeAddon, nativeAddonPath, nativeKernels, type NativeAddon } from "./native.js";

export type * from "./kernels.js";
export { referenceKernels } from "./reference.js";
export { KernelArgumentError } from "./validate.js";
export { ropeTables, alibiSlopes, type RopeTables } from "./tables.js";

/** Thrown when the native kernels were required (PEDGPT_KERNELS=native) but could not be loaded. */
export class NativeKernelsUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "NativeKernelsUnavailableError";
  }
}

export const BUILD_HINT =
  "build it with `npm run build:native` (needs the Debian/Ubuntu packages libopenblas-dev, g++, make and python3)";

let addon: NativeAddon | null | undefined;
let addonError = "";
let warned = false;
let threads = 0;

/** PEDGPT_THREADS, when set, replaces the default thread count (the number of cores). */
function envThreads(): number {
  const raw = process.env.PEDGPT_THREADS;
  if (raw === undefined || raw.trim() === "") return 0;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`PEDGPT_THREADS must be an integer >= 1, got "${raw}"`);
  return n;
}

function tryLoad(): NativeAddon | null {
  if (addon !== undefined) return addon;
  if (threads === 0) threads = envThreads();
  try {
    addon = loadNativeAddon();
  } catch (err) {
    addon = null;
    addonError = err instanceof Error ? err.message : String(err);
  }
  if (addon && threads > 0) addon.setThreads(threads);
  return addon;
}

/** The loaded addon's build facts, or why it is not available. */
export function nativeStatus(): { available: true; path: string; blas: string; simd: string; threads: number } | { available: false; path: string; reason: string } {
  const a = tryLoad();
  if (a) return { available: true, path: nativeAddonPath(), ...a.info() };
  return { available: false, path: nativeAddonPath(), reason: addonError };
}

let nativeImpl: Kernels | undefined;

/** The native kernels, or null when the addon is not built / fails to load. Never warns. */
export function getNativeKernels(): Kernels | null {
  const a = tryLoad();
  if (!a) return null;
  nativeImpl ??= nativeKernels(a);
  return nativeImpl;
}

/**
 * The kernels the engine should use. Defaults to native, falling back to the reference with one
 * console warning. Env PEDGPT_KERNELS: "reference" forces the reference, "native" requires the addon.
 */
export function getKernels(): Kernels {
  const choice = (process.env.PEDGPT_KERNELS ?? "").trim().toLowerCase();
  if (choice === "reference") return referenceKernels;
  if (choice !== "" && choice !== "native" && choice !== "auto") {
    throw new RangeError(`PEDGPT_KERNELS must be "native", "reference" or "auto", got "${process.env.PEDGPT_KERNELS}"`);
  }
  const native = getNativeKernels();
  if (native) return native;
  if (choice === "native") {
    throw new NativeKernelsUnavailableError(`PEDGPT_KERNELS=native but the native kernel addon is unavailable (${addonError}); ${BUILD_HINT}`);
  }
  if (!warned) {
    warned = true;
    console.warn(
      `pedgpt: native kernel addon unavailable (${addonError}); using the slow TypeScript reference kernels. ` +
        `To get fast kernels, ${BUILD_HINT}. Set PEDGPT_KERNELS=reference to silence this warning.`,
    );
  }
  return referenceKernels;
}

/**
 * Sets the number of threads for all native compute (OpenBLAS and the addon's element-wise pool).
 * They never run at the same time, so the machine is not oversubscribed. Default: number of cores,
 * or the PEDGPT_THREADS environment variable.
 */
export function setThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`setThreads: n must be an integer >= 1, got ${n}`);
  threads = n;
  const a = tryLoad();
  if (a) a.setThreads(n);
}

/** The thread count in effect (the default is the number of CPU cores). */
export function getThreads(): number {
  const a = tryLoad();
  if (a) return a.getThreads();
  return threads > 0 ? threads : envThreads() || Math.max(1, cpus().length);
}
