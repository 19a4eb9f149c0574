/**
 * Charts as SVG strings, rendered when the report is built, so a report is one self-contained file
 * that needs no script and no network to view. Three shapes cover every figure of the report: line
 * charts (loss curves), grouped bars (a metric per model and set), and 100 % stacked bars
 * (win / tie / loss). A missing value is drawn as a hatched "n/a" slot, never as a zero bar.
 *
 * Not here: what goes into a chart (html.ts).
 */

/** Text for HTML/SVG content and attributes. */
export function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** Colour-blind-safe palette (Okabe–Ito), cycled by series index. */
const PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"];
export const seriesColor = (i: number): string => PALETTE[i % PALETTE.length]!;

/** Short number for axis ticks and labels. */
export function fmt(v: number): string {
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e5 || a < 1e-3)) return v.toExponential(1);
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  return v.toFixed(a >= 1 ? 2 : 3);
}

/** About `n` round tick values covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, n = 5): number[] {
  if (!(hi > lo)) {
    const d = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    lo -= d;
    hi += d;
  }
  const raw = (hi - lo) / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const first = Math.floor(lo / step + 1e-9);
  const last = Math.ceil(hi / step - 1e-9);
  const ticks: number[] = [];
  for (let k = first; k <= last; k++) ticks.push(Number((k * step).toPrecision(12)));
  return ticks;
}

/** Formats axis ticks with the decimals their spacing needs (0, 0.5, 1 — not 0.000, 0.500). */
function tickFormat(ticks: readonly number[]): (v: number) => string {
  const step = ticks.length > 1 ? Math.abs(ticks[1]! - ticks[0]!) : 1;
  let decimals = 0;
  while (decimals < 6 && Math.abs(step * 10 ** decimals - Math.round(step * 10 ** decimals)) > 1e-6) decimals++;
  const big = Math.max(...ticks.map(Math.abs)) >= 1e5;
  return (v) => (big ? v.toExponential(1) : v.toFixed(decimals));
}

export interface LineSeries {
  name: string;
  points: readonly (readonly [number, number])[];
  dashed?: boolean;
}

const W = 640;
const H = 300;
const M = { l: 56, r: 16, t: 30, b: 44 };

function frame(title: string, inner: string, height = H): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${height}" role="img" aria-label="${esc(title)}" class="chart">` +
    `<title>${esc(title)}</title><text x="${W / 2}" y="18" text-anchor="middle" class="chart-title">${esc(title)}</text>${inner}</svg>`;
}

function legend(names: readonly string[], y: number): string {
  let x = M.l;
  return names.map((n, i) => {
    const item = `<rect x="${x}" y="${y - 9}" width="10" height="10" fill="${seriesColor(i)}"/><text x="${x + 14}" y="${y}" class="legend">${esc(n)}</text>`;
    x += 24 + n.length * 7;
    return item;
  }).join("");
}

/** Line chart of several series sharing the axes; non-finite points are skipped (and a series with none is listed as empty). */
export function lineChart(title: string, series: readonly LineSeries[], axes: { x: string; y: string }): string {
  const pts = series.flatMap((s) => s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y)));
  if (pts.length === 0) return frame(title, `<text x="${W / 2}" y="${H / 2}" text-anchor="middle" class="gap">no data</text>`);
  const xs = pts.map((p) => p[0]);
  const ys = pts.map((p) => p[1]);
  const xt = niceTicks(Math.min(...xs), Math.max(...xs));
  const yt = niceTicks(Math.min(...ys), Math.max(...ys));
  const [x0, x1, y0, y1] = [xt[0]!, xt.at(-1)!, yt[0]!, yt.at(-1)!];
  const px = (x: number) => M.l + ((x - x0) / (x1 - x0 || 1)) * (W - M.l - M.r);
  const py = (y: number) => H - M.b - ((y - y0) / (y1 - y0 || 1)) * (H - M.t - M.b - 14);
  const [fx, fy] = [tickFormat(xt), tickFormat(yt)];
  const grid = yt.map((t) => `<line x1="${M.l}" x2="${W - M.r}" y1="${py(t)}" y2="${py(t)}" class="grid"/><text x="${M.l - 6}" y="${py(t) + 4}" text-anchor="end" class="tick">${fy(t)}</text>`).join("") +
    xt.map((t) => `<text x="${px(t)}" y="${H - M.b + 16}" text-anchor="middle" class="tick">${fx(t)}</text>`).join("");
  const lines = series.map((s, i) => {
    const ok = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
    if (ok.length === 0) return "";
    const d = ok.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(" ");
    const marks = ok.length <= 40 ? ok.map(([x, y]) => `<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="2.5" fill="${seriesColor(i)}"/>`).join("") : "";
    return `<polyline points="${d}" fill="none" stroke="${seriesColor(i)}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ""} class="series" data-series="${esc(s.name)}"/>${marks}`;
  }).join("");
  const labels = `<text x="${(M.l + W - M.r) / 2}" y="${H - 8}" text-anchor="middle" class="axis">${esc(axes.x)}</text>` +
    `<text x="14" y="${(M.t + H - M.b) / 2}" text-anchor="middle" transform="rotate(-90 14 ${(M.t + H - M.b) / 2})" class="axis">${esc(axes.y)}</text>`;
  return frame(title, grid + lines + labels + legend(series.map((s) => s.name), M.t + 4));
}

/**
 * Grouped bars: one group per category, one bar per series. `values[s][c]` null = missing (drawn as a
 * hatched n/a slot).
 */
export function barChart(title: string, categories: readonly string[], series: readonly string[], values: readonly (readonly (number | null)[])[], yLabel: string): string {
  const all = values.flat().filter((v): v is number => v !== null && Number.isFinite(v));
  const yt = niceTicks(Math.min(0, ...all), Math.max(0, ...(all.length ? all : [1])));
  const [y0, y1] = [yt[0]!, yt.at(-1)!];
  const py = (y: number) => H - M.b - ((y - y0) / (y1 - y0 || 1)) * (H - M.t - M.b - 14);
  const gw = (W - M.l - M.r) / Math.max(1, categories.length);
  const bw = Math.max(3, Math.min(28, (gw * 0.8) / Math.max(1, series.length)));
  const fy = tickFormat(yt);
  const grid = yt.map((t) => `<line x1="${M.l}" x2="${W - M.r}" y1="${py(t)}" y2="${py(t)}" class="grid"/><text x="${M.l - 6}" y="${py(t) + 4}" text-anchor="end" class="tick">${fy(t)}</text>`).join("");
  let bars = "";
  categories.forEach((c, ci) => {
    const gx = M.l + ci * gw + (gw - bw * series.length) / 2;
    series.forEach((s, si) => {
      const v = values[si]?.[ci] ?? null;
      const x = gx + si * bw;
      if (v === null || !Number.isFinite(v)) {
        bars += `<rect x="${x.toFixed(1)}" y="${py(y1).toFixed(1)}" width="${(bw - 1).toFixed(1)}" height="${(py(y0) - py(y1)).toFixed(1)}" fill="url(#na)" class="bar-gap"><title>${esc(`${s} · ${c}: n/a`)}</title></rect>`;
        return;
      }
      const top = py(Math.max(0, v));
      const h = Math.abs(py(v) - py(0));
      bars += `<rect x="${x.toFixed(1)}" y="${top.toFixed(1)}" width="${(bw - 1).toFixed(1)}" height="${Math.max(0.5, h).toFixed(1)}" fill="${seriesColor(si)}" class="bar"><title>${esc(`${s} · ${c}: ${fmt(v)}`)}</title></rect>`;
    });
    bars += `<text x="${(M.l + ci * gw + gw / 2).toFixed(1)}" y="${H - M.b + 16}" text-anchor="middle" class="tick">${esc(c)}</text>`;
  });
  const defs = `<defs><pattern id="na" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#fff"/><line x1="0" y1="0" x2="0" y2="6" stroke="#bbb" stroke-width="2"/></pattern></defs>`;
  const label = `<text x="14" y="${(M.t + H - M.b) / 2}" text-anchor="middle" transform="rotate(-90 14 ${(M.t + H - M.b) / 2})" class="axis">${esc(yLabel)}</text>`;
  return frame(title, defs + grid + bars + label + legend(series, M.t + 4));
}

export interface ShareRow {
  label: string;
  win: number;
  tie: number;
  loss: number;
}

/** Horizontal 100 % stacked bars (win / tie / loss as shares of the row's total). */
export function stackedShares(title: string, rows: readonly ShareRow[], names: readonly [string, string, string] = ["win", "tie", "loss"]): string {
  const rowH = 28;
  const height = M.t + 24 + rows.length * rowH + 20;
  const left = 120;
  const width = W - left - M.r;
  const colors = ["#009E73", "#BBBBBB", "#D55E00"];
  let body = "";
  rows.forEach((r, i) => {
    const y = M.t + 20 + i * rowH;
    const total = r.win + r.tie + r.loss;
    body += `<text x="${left - 8}" y="${y + 15}" text-anchor="end" class="tick">${esc(r.label)}</text>`;
    if (total === 0) {
      body += `<text x="${left + 4}" y="${y + 15}" class="gap">no verdicts</text>`;
      return;
    }
    let x = left;
    [r.win, r.tie, r.loss].forEach((v, k) => {
      const w = (v / total) * width;
      if (w > 0) {
        body += `<rect x="${x.toFixed(1)}" y="${y}" width="${w.toFixed(1)}" height="${rowH - 6}" fill="${colors[k]}" class="share"><title>${esc(`${r.label} ${names[k]}: ${v} (${((100 * v) / total).toFixed(1)} %)`)}</title></rect>`;
        if (w > 34) body += `<text x="${(x + w / 2).toFixed(1)}" y="${y + 15}" text-anchor="middle" class="share-label">${((100 * v) / total).toFixed(0)}%</text>`;
      }
      x += w;
    });
  });
  let lx = left;
  const leg = names.map((n, k) => {
    const s = `<rect x="${lx}" y="${M.t - 1}" width="10" height="10" fill="${colors[k]}"/><text x="${lx + 14}" y="${M.t + 8}" class="legend">${esc(n)}</text>`;
    lx += 30 + n.length * 7;
    return s;
  }).join("");
  return frame(title, leg + body, height);
}
