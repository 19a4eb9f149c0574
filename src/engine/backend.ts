/**
 * Which kernel implementation the ops run on.
 *
 * Ops never import a kernel module directly: they ask `kernels()` here, so swapping the TypeScript
 * reference for the native addon (or a future GPU backend) is one `setBackend` call and no model code
 * changes. This module holds no math.
 */
import type { Kernels } from "./kernels/kernels.js";
import { getKernels } from "./kernels/index.js";

let current: Kernels | null = null;

/** The kernels the ops use now (by default the best available: native addon if built, else reference). */
export function kernels(): Kernels {
  if (current === null) current = getKernels();
  return current;
}

/** Use these kernels from now on; returns the previous ones so tests can restore them. */
export function setBackend(k: Kernels): Kernels | null {
  const prev = current;
  current = k;
  return prev;
}

/** Run fn with the given kernels, restoring the previous backend afterwards (also on throw). */
export function withBackend<T>(k: Kernels, fn: () => T): T {
  const prev = current;
  current = k;
  try {
    return fn();
  } finally {
    current = prev;
  }
}
