/**
 * Tolerance comparison for kernel and model tests: |got - want| <= atol + rtol*|want| element-wise,
 * infinities must match exactly, NaN never passes. Returns the max |diff| so tests can print it per
 * named tensor. Test support only; no kernel logic.
 */

export interface CloseResult {
  ok: boolean;
  maxDiff: number;
  /** first failing index, -1 when ok */
  worst: number;
  message: string;
}

export function compareClose(label: string, got: ArrayLike<number>, want: ArrayLike<number>, atol: number, rtol = atol): CloseResult {
  if (got.length !== want.length) {
    return { ok: false, maxDiff: Infinity, worst: 0, message: `${label}: length ${got.length}, expected ${want.length}` };
  }
  let maxDiff = 0;
  let worst = -1;
  for (let i = 0; i < want.length; i++) {
    const g = got[i]!;
    const w = want[i]!;
    if (!Number.isFinite(w) || !Number.isFinite(g)) {
      if (g !== w && worst < 0) worst = i; // NaN !== NaN: NaN always fails
      continue;
    }
    const d = Math.abs(g - w);
    if (d > maxDiff) maxDiff = d;
    if (d > atol + rtol * Math.abs(w) && worst < 0) worst = i;
  }
  const summary = `${label.padEnd(44)} max|diff| = ${maxDiff.toExponential(2)}  (atol ${atol.toExponential(0)}, rtol ${rtol.toExponential(0)})`;
  if (worst >= 0) {
    return { ok: false, maxDiff, worst, message: `${summary}\n  first mismatch at [${worst}]: got ${got[worst]}, want ${want[worst]}` };
  }
  return { ok: true, maxDiff, worst, message: summary };
}
