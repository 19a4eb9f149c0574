/**
 * The report page: one HTML string with inline CSS and inline SVG, readable offline and printable.
 * Sections appear only for the data the run has; gaps are listed first so a missing number is never
 * mistaken for a bad one.
 *
 * Not here: reading run folders (report.ts), drawing (svg.ts).
 */
import type { EvalResults, JudgeResults } from "../run/results.js";
import type { NumberTable, ReportInput, TrainingCurve } from "./report.js";
import { barChart, esc, fmt, lineChart, stackedShares } from "./svg.js";

const CSS = `
body{font-family:system-ui,-apple-system,"Noto Sans CJK SC","PingFang SC","Microsoft YaHei",sans-serif;margin:0;color:#1b1f24;background:#fafbfc}
main{max-width:1040px;margin:0 auto;padding:16px}
h1{font-size:1.5rem;margin:.4em 0}h2{font-size:1.2rem;margin:1.6em 0 .5em;border-bottom:1px solid #d0d7de;padding-bottom:.2em}h3{font-size:1rem;margin:1.2em 0 .4em}
.meta{color:#57606a;font-size:.85rem}
.gaps{background:#fff8c5;border:1px solid #d4a72c;border-radius:6px;padding:8px 12px;margin:12px 0}
.gaps li{margin:.2em 0}
.table-wrap{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;font-size:.85rem;background:#fff;margin:.4em 0}
th,td{border:1px solid #d0d7de;padding:3px 8px;text-align:right;white-space:nowrap}
th:first-child,td:first-child{text-align:left}
th{background:#f6f8fa}
td.na{color:#8c959f;background:repeating-linear-gradient(45deg,#fff,#fff 4px,#f0f0f0 4px,#f0f0f0 8px)}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(320px,1fr));gap:12px}
svg.chart{width:100%;height:auto;background:#fff;border:1px solid #d0d7de;border-radius:6px}
.chart-title{font-size:13px;font-weight:600}.tick,.legend{font-size:11px;fill:#57606a}.axis{font-size:11px;fill:#1b1f24}
.grid{stroke:#eaeef2}.gap{font-size:12px;fill:#8c959f}.share-label{font-size:11px;fill:#fff}
ul.verdicts li{margin:.2em 0}
.finding{font-size:.85rem;margin:.2em 0}.sev-high{color:#cf222e}.sev-medium{color:#9a6700}.sev-low{color:#57606a}
`;

const cell = (v: number | null | undefined, digits = 2): string => (v === null || v === undefined || !Number.isFinite(v) ? `<td class="na">n/a</td>` : `<td>${v.toFixed(digits)}</td>`);

function table(head: readonly string[], rows: readonly string[][]): string {
  return `<div class="table-wrap"><table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join("")}</tr></thead><tbody>${rows.map((r) => `<tr>${r.join("")}</tr>`).join("")}</tbody></table></div>`;
}

function trainingSection(curves: readonly TrainingCurve[]): string {
  if (curves.length === 0) return "";
  const charts = curves.map((c) => {
    const main = lineChart(`${c.stage}: loss`, [{ name: "train", points: c.loss }, { name: "held-out", points: c.valLoss, dashed: true }], { x: "step", y: "loss" });
    // One chart per family of logged scalars (rewards/…, logps/…, router/…), so scales stay comparable.
    const families = new Map<string, [string, [number, number][]][]>();
    for (const [k, pts] of Object.entries(c.scalars)) {
      const family = k.includes("/") ? k.slice(0, k.indexOf("/")) : "other";
      if (!/^(rewards|logps|moe|router|balance|nll|sft)$/.test(family)) continue;
      families.set(family, [...(families.get(family) ?? []), [k, pts]]);
    }
    const extra = [...families].map(([family, series]) => lineChart(`${c.stage}: ${family}`, series.map(([k, pts]) => ({ name: k, points: pts })), { x: "step", y: family }));
    return main + extra.join("");
  }).join("");
  const rows = curves.map((c) => [
    `<td>${esc(c.stage)}</td>`, `<td>${c.loss.length}</td>`, cell(c.loss[0]?.[1], 3), cell(c.loss.at(-1)?.[1], 3), cell(c.valLoss[0]?.[1], 3), cell(c.valLoss.at(-1)?.[1], 3), `<td>${esc(c.run ?? "")}</td>`,
  ]);
  return `<section id="training"><h2>Training</h2>${table(["stage", "steps", "first loss", "last loss", "first held-out", "last held-out", "run id"], rows)}<div class="charts">${charts}</div></section>`;
}

function effectsSection(t: NumberTable | null, verdicts: readonly string[]): string {
  if (!t && verdicts.length === 0) return "";
  let html = `<section id="effects"><h2>Each stage's effect on held-out data</h2>`;
  if (t) {
    html += table(["model", ...t.columns], t.rows.map((r) => [`<td>${esc(r.model)}</td>`, ...r.values.map((v) => cell(v, 3))]));
    const shown = t.columns.filter((c) => /^(lm_loss|resp_nll|chosen_nll|pref_acc|rougeL|bleu1)$/.test(c));
    if (shown.length) {
      html += `<div class="charts">${shown.map((c) => {
        const j = t.columns.indexOf(c);
        return barChart(c, t.rows.map((r) => r.model), [c], [t.rows.map((r) => r.values[j] ?? null)], c);
      }).join("")}</div>`;
    }
  }
  if (verdicts.length) html += `<ul class="verdicts">${verdicts.map((v) => `<li>${esc(v)}</li>`).join("")}</ul>`;
  return html + `</section>`;
}

function generationSection(r: EvalResults): string {
  if (r.generation.length === 0) return "";
  const metrics = [...new Set(r.generation.flatMap((g) => Object.keys(g.means)))];
  const models = r.models.map((m) => m.name);
  let html = `<section id="generation"><h2>Generation metrics (×100)</h2>`;
  for (const s of r.sets.filter((s) => r.generation.some((g) => g.set === s.name))) {
    const rows = models.map((m) => {
      const g = r.generation.find((x) => x.model === m && x.set === s.name);
      return [`<td>${esc(m)}</td>`, ...metrics.map((k) => cell(g?.means[k])), `<td>${g ? `${g.scored}/${g.items}` : "n/a"}</td>`, `<td>${g ? g.gaps.length : "n/a"}</td>`, `<td>${g ? g.emptyAnswers : "n/a"}</td>`];
    });
    html += `<h3>${esc(s.name)} <span class="meta">(${esc(s.format)}, ${s.items} items)</span></h3>` + table(["model", ...metrics, "scored", "gaps", "empty"], rows);
    const chartMetrics = metrics.filter((k) => /^(rouge1|rouge2|rougeL|bleu1|bleu4|gleu|distinct1|distinct2)$/.test(k));
    html += `<div class="charts">${barChart(`${s.name}: paper metrics`, chartMetrics, models, models.map((m) => {
      const g = r.generation.find((x) => x.model === m && x.set === s.name);
      return chartMetrics.map((k) => g?.means[k] ?? null);
    }), "×100")}</div>`;
    const depts = [...new Set(r.generation.filter((g) => g.set === s.name).flatMap((g) => g.byDepartment.map((d) => d.department)))];
    if (depts.length) {
      const key = metrics.includes("rougeL") ? "rougeL" : metrics[0]!;
      html += `<h3>${esc(s.name)} per department (${esc(key)})</h3>` + table(["model", ...depts], models.map((m) => {
        const g = r.generation.find((x) => x.model === m && x.set === s.name);
        return [`<td>${esc(m)}</td>`, ...depts.map((d) => cell(g?.byDepartment.find((x) => x.department === d)?.means[key]))];
      }));
    }
  }
  return html + `</section>`;
}

function examSection(r: EvalResults): string {
  if (r.exam.length === 0) return "";
  const rows = r.exam.map((e) => [`<td>${esc(e.model)}</td>`, `<td>${esc(e.set)}</td>`, `<td>${esc(e.method)}</td>`, `<td>${e.items}</td>`, `<td>${e.unanswered}</td>`, cell(100 * e.accuracy, 1), `<td>${e.gaps.length}</td>`]);
  let html = `<section id="exam"><h2>Exam accuracy (%)</h2>` + table(["model", "set", "method", "items", "unanswered", "accuracy", "gaps"], rows);
  const charts: string[] = [];
  for (const set of [...new Set(r.exam.map((e) => e.set))]) {
    const es = r.exam.filter((e) => e.set === set);
    const cats = [...new Set(es.flatMap((e) => Object.keys(e.byCategory)))].sort();
    if (cats.length === 0) continue;
    charts.push(barChart(`${set}: accuracy per category`, cats, es.map((e) => `${e.model} (${e.method})`), es.map((e) => cats.map((c) => (e.byCategory[c] ? 100 * e.byCategory[c]!.accuracy : null))), "%"));
  }
  if (charts.length) html += `<div class="charts">${charts.join("")}</div>`;
  return html + `</section>`;
}

function safetySection(r: EvalResults): string {
  if (r.safety.length === 0) return "";
  const types = [...new Set(r.safety.flatMap((s) => Object.keys(s.perType)))].sort();
  const rows = r.safety.map((s) => [`<td>${esc(s.model)}</td>`, `<td>${esc(s.set)}</td>`, `<td>${s.answers}</td>`, cell(s.meanScore, 3), cell(100 * s.flaggedRate, 1), ...types.map((t) => `<td>${s.perType[t] ?? 0}</td>`)]);
  let html = `<section id="safety"><h2>Safety</h2>` + table(["model", "set", "answers", "mean score", "flagged %", ...types], rows);
  const examples = r.safety.flatMap((s) => s.perAnswer.filter((a) => a.findings.length).map((a) => ({ model: s.model, set: s.set, ...a })));
  if (examples.length) {
    html += `<h3>Findings (${examples.length} answers flagged${examples.length > 50 ? "; the first 50 shown, all in the JSON" : ""})</h3>`;
    html += examples.slice(0, 50).map((e) => e.findings.map((f) => `<div class="finding"><span class="sev-${f.severity}">[${esc(f.severity)}] ${esc(f.type)}</span> ${esc(e.model)} · ${esc(e.set)} · ${esc(e.id)}: ${esc(f.message)}</div>`).join("")).join("");
  }
  return html + `</section>`;
}

function judgeSection(all: readonly JudgeResults[]): string {
  if (all.length === 0) return "";
  let html = `<section id="judge"><h2>LLM judge (pairwise, both orders)</h2>`;
  for (const j of all) {
    html += `<h3>${esc(j.modelA.name)} vs ${esc(j.modelB.name)}${j.set ? ` on ${esc(j.set)}` : ""} <span class="meta">(judge ${esc(j.judge.model)}, ${j.items} items, ${j.failures.length} failed calls, ${j.gaps.length} gaps)</span></h3>`;
    const pct = (v: number) => (100 * v).toFixed(1);
    html += table(["dimension", "n", "win %", "tie %", "loss %", "win 95% CI"], j.perDimension.map((d) => [
      `<td>${esc(d.dimension)}</td>`, `<td>${d.n}</td>`, `<td>${pct(d.winRate)}</td>`, `<td>${pct(d.tieRate)}</td>`, `<td>${pct(d.lossRate)}</td>`, `<td>${pct(d.ci.win.low)}–${pct(d.ci.win.high)}</td>`,
    ]));
    html += `<div class="charts">${stackedShares(`${j.modelA.name} vs ${j.modelB.name}`, j.perDimension.map((d) => ({ label: d.dimension, win: d.win, tie: d.tie, loss: d.loss })), [`${j.modelA.name} wins`, "tie", `${j.modelB.name} wins`])}</div>`;
    const pb = j.positionBias;
    html += `<p class="meta">Position bias: the answer shown first was preferred in ${pb.preferredFirst} of ${pb.decided} decided single-order verdicts (${fmt(100 * pb.firstRate)} %, 95% CI ${fmt(100 * pb.ci.low)}–${fmt(100 * pb.ci.high)} %; 50 % = none). Both orders agreed on ${pb.consistent} of ${pb.pairs} pairs.</p>`;
  }
  return html + `</section>`;
}

export function renderReportHtml(input: ReportInput): string {
  const judges = [...(input.evaluation?.judge ?? []), ...input.judge];
  const gaps = input.gaps.length ? `<div class="gaps" id="gaps"><strong>Missing data (${input.gaps.length})</strong><ul>${input.gaps.map((g) => `<li>${esc(g)}</li>`).join("")}</ul></div>` : "";
  const ev = input.evaluation;
  const notes = ev?.notes.length ? `<ul class="meta">${ev.notes.map((n) => `<li>${esc(n)}</li>`).join("")}</ul>` : "";
  const body = [
    trainingSection(input.training),
    effectsSection(input.effects, input.verdicts),
    ev ? generationSection(ev) + examSection(ev) + safetySection(ev) : "",
    judgeSection(judges),
  ].join("");
  return `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">` +
    `<title>${esc(input.title)}</title><style>${CSS}</style></head><body><main>` +
    `<h1>${esc(input.title)}</h1><p class="meta">Built ${esc(input.createdAt)} from ${esc(input.source)}. The same data is in report-data.json beside this file.</p>` +
    gaps + notes + (body || `<p class="meta">This run has no data to show yet.</p>`) + `</main></body></html>\n`;
}
