/**
 * Corpus statistics: counts per task / source / department / split, length distributions in
 * characters and (when a tokenizer is given) tokens, filter reasons, dedup rates and PII counts;
 * rendered as JSON and as a readable fixed-width table. Length distributions keep every value
 * (one number per record), which is fine for instruction sets; the benchmark does not use them.
 */

export interface Distribution {
  count: number;
  min: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
  total: number;
}

export class LengthDist {
  private readonly values: number[] = [];
  add(n: number): void {
    this.values.push(n);
  }
  summary(): Distribution {
    const v = [...this.values].sort((a, b) => a - b);
    const q = (p: number) => (v.length === 0 ? 0 : v[Math.min(v.length - 1, Math.floor(p * v.length))]!);
    const total = v.reduce((a, b) => a + b, 0);
    return { count: v.length, min: v[0] ?? 0, p50: q(0.5), p90: q(0.9), p99: q(0.99), max: v[v.length - 1] ?? 0, mean: v.length ? Math.round((total / v.length) * 10) / 10 : 0, total };
  }
}

export class Counter {
  readonly m = new Map<string, number>();
  add(k: string, n = 1): void {
    this.m.set(k, (this.m.get(k) ?? 0) + n);
  }
  toJSON(): Record<string, number> {
    return Object.fromEntries([...this.m.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])));
  }
}

/** Width of a string in a terminal: CJK and full-width characters take two columns. */
export function displayWidth(s: string): number {
  let w = 0;
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    w += (c >= 0x1100 && c <= 0x115f) || (c >= 0x2e80 && c <= 0xa4cf) || (c >= 0xac00 && c <= 0xd7a3) || (c >= 0xf900 && c <= 0xfaff) || (c >= 0xfe30 && c <= 0xfe4f) || (c >= 0xff00 && c <= 0xff60) || (c >= 0xffe0 && c <= 0xffe6) || c >= 0x20000 ? 2 : 1;
  }
  return w;
}

export function renderTable(title: string, header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, j) => Math.max(...cells.map((r) => displayWidth(r[j] ?? ""))));
  const pad = (s: string, w: number, right: boolean) => (right ? " ".repeat(w - displayWidth(s)) + s : s + " ".repeat(w - displayWidth(s)));
  const line = (r: string[]) => r.map((c, j) => pad(c, widths[j]!, j > 0 && /^[-\d.,%]+$/.test(c))).join("  ");
  return [title, line(header), widths.map((w) => "-".repeat(w)).join("  "), ...cells.slice(1).map(line)].join("\n");
}

export function renderCounts(title: string, counts: Record<string, number>): string {
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  if (Object.keys(counts).length === 0) return `${title}\n(none)`;
  return renderTable(title, ["key", "count", "share"], Object.entries(counts).map(([k, v]) => [k, v, total ? `${((100 * v) / total).toFixed(1)}%` : "0%"]));
}

export function renderDistributions(title: string, d: Record<string, Distribution>): string {
  return renderTable(
    title,
    ["what", "count", "min", "p50", "p90", "p99", "max", "mean"],
    Object.entries(d).map(([k, s]) => [k, s.count, s.min, s.p50, s.p90, s.p99, s.max, s.mean]),
  );
}
