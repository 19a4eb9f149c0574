/**
 * Small pieces of CPython semantics that the paper's metrics depend on, so per-sample scores match the
 * Python references bit for bit: `math.fsum` (exactly rounded sum) and `str.split()` whitespace.
 * Not a general Python compatibility layer.
 */

/**
 * CPython's `math.fsum`: Shewchuk's exact partial sums followed by CPython's round-half-even fix-up.
 * Only finite inputs occur here (log of positive precisions), so the inf/nan branches are omitted.
 */
export function fsum(values: Iterable<number>): number {
  const partials: number[] = [];
  for (let x of values) {
    let i = 0;
    for (let j = 0; j < partials.length; j++) {
      let y = partials[j]!;
      if (Math.abs(x) < Math.abs(y)) {
        const t = x;
        x = y;
        y = t;
      }
      const hi = x + y;
      const lo = y - (hi - x);
      if (lo !== 0) partials[i++] = lo;
      x = hi;
    }
    partials.length = i;
    partials.push(x);
  }
  let n = partials.length;
  if (n === 0) return 0;
  let hi = partials[--n]!;
  let lo = 0;
  while (n > 0) {
    const x = hi;
    const y = partials[--n]!;
    hi = x + y;
    const yr = hi - x;
    lo = y - yr;
    if (lo !== 0) break;
  }
  // Half-even rounding across the remaining partials, as CPython does.
  if (n > 0 && ((lo < 0 && partials[n - 1]! < 0) || (lo > 0 && partials[n - 1]! > 0))) {
    const y = lo * 2;
    const x = hi + y;
    const yr = x - hi;
    if (y === yr) hi = x;
  }
  return hi;
}

/** Characters for which CPython's `str.isspace()` is true (what `str.split()` and `re` `\s` use). */
export const PY_WHITESPACE_CLASS = "\\t\\n\\v\\f\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
const PY_WS_RUN = new RegExp(`[${PY_WHITESPACE_CLASS}]+`);
const PY_WS_ONE = new RegExp(`^[${PY_WHITESPACE_CLASS}]$`);
const PY_STRIP = new RegExp(`^[${PY_WHITESPACE_CLASS}]+|[${PY_WHITESPACE_CLASS}]+$`, "g");

/** Python `s.split()` (no argument): split on whitespace runs, no empty strings. */
export function pySplit(s: string): string[] {
  const out = s.split(PY_WS_RUN);
  // JS split keeps leading/trailing empties; Python drops them.
  let a = 0;
  let b = out.length;
  if (b > 0 && out[0] === "") a = 1;
  if (b > a && out[b - 1] === "") b -= 1;
  return a === 0 && b === out.length ? out : out.slice(a, b);
}

/** Python `s.strip()`. */
export function pyStrip(s: string): string {
  return s.replace(PY_STRIP, "");
}

export function isPyWhitespace(ch: string): boolean {
  return PY_WS_ONE.test(ch);
}
