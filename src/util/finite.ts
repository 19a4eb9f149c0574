/**
 * The one finiteness check for weights: every checkpoint load and every tensor write calls
 * `assertFinite`, and every narrowing to f16/bf16 calls `assertFitsDType`, so a NaN/Inf (or a value
 * that would become Inf) is refused naming the file, the tensor and the first bad flat index, rather
 * than flowing silently into samples or exports. Not a numerics guard for training steps (the trainer
 * skips bad steps itself).
 */

/** A tensor holds NaN/±Inf, or a value the target storage type cannot represent. */
export class NonFiniteError extends Error {
  override readonly name = "NonFiniteError";
  constructor(
    /** The checkpoint file (or directory) read or written. */
    readonly file: string,
    readonly tensor: string,
    /** Flat index of the first bad value. */
    readonly index: number,
    readonly value: number,
    detail: string,
  ) {
    super(`${file}: tensor "${tensor}" ${detail}`);
  }
}

/** Index of the first NaN/±Inf in `data`, or -1. */
export function firstNonFinite(data: ArrayLike<number>): number {
  for (let i = 0; i < data.length; i++) {
    // x - x is NaN exactly for NaN and ±Inf, and is cheaper than Number.isFinite on typed arrays.
    const x = data[i]!;
    if (x - x !== 0) return i;
  }
  return -1;
}

/**
 * Throws NonFiniteError if `data` holds NaN or ±Inf. `when` says what was being done: "load" (the
 * checkpoint is corrupted or diverged) or "write" (refused before anything was written).
 */
export function assertFinite(file: string, tensor: string, data: ArrayLike<number>, when: "load" | "write"): void {
  const i = firstNonFinite(data);
  if (i < 0) return;
  const v = data[i]!;
  const why = when === "load" ? "the checkpoint is corrupted or the training diverged" : "refusing to write it (nothing was written)";
  throw new NonFiniteError(file, tensor, i, v, `holds a non-finite value (${v}) at flat index ${i}: ${why}`);
}

/** Largest finite value of each narrow type, and the magnitude from which round-to-nearest-even gives Inf. */
export const NARROW_RANGE = {
  F16: { max: 65504, overflow: 65520 },
  BF16: { max: (2 - 2 ** -7) * 2 ** 127, overflow: (2 - 2 ** -8) * 2 ** 127 },
} as const;

/**
 * Throws NonFiniteError if converting `data` to `dtype` would turn a finite value into ±Inf.
 * F32 (and any other wider type) always fits.
 */
export function assertFitsDType(file: string, tensor: string, data: ArrayLike<number>, dtype: string): void {
  if (dtype !== "F16" && dtype !== "BF16") return;
  const { max, overflow } = NARROW_RANGE[dtype];
  for (let i = 0; i < data.length; i++) {
    const x = data[i]!;
    if (x >= overflow || x <= -overflow) {
      throw new NonFiniteError(
        file,
        tensor,
        i,
        x,
        `holds ${x} at flat index ${i}, outside the ${dtype} range (±${max.toPrecision(5)}): it would become Inf; keep f32${dtype === "F16" ? " or use bf16" : ""}`,
      );
    }
  }
}
