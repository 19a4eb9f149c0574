/**
 * Tallies of a review study: the majority vote per item and dimension (a tie between "A" and "B"
 * votes, or a plurality of "tie", counts as a tie), win / tie / loss per dimension and pair of models,
 * inter-rater agreement as Fleiss' κ over the items every rater of that item voted on, and the raw
 * votes as CSV (RFC 4180 quoting).
 */
import { DIMENSIONS, type Choice, type VoteRow } from "./db.js";

export interface PairOutcome {
  modelA: string;
  modelB: string;
  dimension: string;
  /** Items with at least one vote on this dimension. */
  items: number;
  win: number;
  tie: number;
  loss: number;
}

export interface ReviewResults {
  study: string;
  assignments: number;
  done: number;
  skipped: number;
  flagged: number;
  outcomes: PairOutcome[];
  /** Fleiss' κ per dimension (null when fewer than two items have two or more votes). */
  kappa: Record<string, { kappa: number | null; items: number; raters: string }>;
  /** Majority per item: key "item|modelA|modelB" → dimension → choice. */
  majority: Record<string, Record<string, Choice>>;
}

export function majorityOf(votes: readonly Choice[]): Choice | null {
  if (votes.length === 0) return null;
  const n = { A: 0, B: 0, tie: 0 };
  for (const v of votes) n[v]++;
  if (n.A > n.B && n.A > n.tie) return "A";
  if (n.B > n.A && n.B > n.tie) return "B";
  return "tie";
}

/**
 * Fleiss' κ for items rated into the same categories; `counts[i][c]` = raters of item i choosing c.
 * Items may have different numbers of raters only if each has ≥ 2 (the per-item agreement uses its own n).
 */
export function fleissKappa(counts: readonly (readonly number[])[]): number | null {
  const rows = counts.filter((r) => r.reduce((s, x) => s + x, 0) >= 2);
  if (rows.length < 2) return null;
  const k = rows[0]!.length;
  const total = rows.reduce((s, r) => s + r.reduce((a, b) => a + b, 0), 0);
  const p = Array.from({ length: k }, (_, c) => rows.reduce((s, r) => s + r[c]!, 0) / total);
  const pBar = rows.reduce((s, r) => {
    const n = r.reduce((a, b) => a + b, 0);
    return s + (r.reduce((a, x) => a + x * x, 0) - n) / (n * (n - 1));
  }, 0) / rows.length;
  const pe = p.reduce((s, x) => s + x * x, 0);
  if (pe === 1) return pBar === 1 ? 1 : null;
  return (pBar - pe) / (1 - pe);
}

export function tallyStudy(study: string, rows: readonly VoteRow[]): ReviewResults {
  const byAssignment = new Map<string, VoteRow[]>();
  for (const r of rows) {
    const key = `${r.itemKey}|${r.modelA}|${r.modelB}|${r.reviewer}`;
    byAssignment.set(key, [...(byAssignment.get(key) ?? []), r]);
  }
  const statuses = [...byAssignment.values()].map((v) => v[0]!);
  const votes = new Map<string, Map<string, Choice[]>>(); // item → dimension → votes
  for (const r of rows) {
    if (!r.dimension || !r.choice) continue;
    const item = `${r.itemKey}|${r.modelA}|${r.modelB}`;
    const m = votes.get(item) ?? new Map<string, Choice[]>();
    m.set(r.dimension, [...(m.get(r.dimension) ?? []), r.choice]);
    votes.set(item, m);
  }
  const majority: ReviewResults["majority"] = {};
  const outcomes = new Map<string, PairOutcome>();
  for (const [item, dims] of votes) {
    const [, modelA, modelB] = item.split("|") as [string, string, string];
    for (const [dim, vs] of dims) {
      const m = majorityOf(vs)!;
      (majority[item] ??= {})[dim] = m;
      const key = `${modelA}|${modelB}|${dim}`;
      const o = outcomes.get(key) ?? { modelA, modelB, dimension: dim, items: 0, win: 0, tie: 0, loss: 0 };
      o.items++;
      if (m === "A") o.win++;
      else if (m === "B") o.loss++;
      else o.tie++;
      outcomes.set(key, o);
    }
  }
  const kappa: ReviewResults["kappa"] = {};
  for (const dim of DIMENSIONS) {
    const counts = [...votes.values()].map((d) => d.get(dim) ?? []).filter((v) => v.length > 0).map((v) => [v.filter((x) => x === "A").length, v.filter((x) => x === "B").length, v.filter((x) => x === "tie").length]);
    const rated = counts.filter((c) => c[0]! + c[1]! + c[2]! >= 2);
    const sizes = [...new Set(rated.map((c) => c[0]! + c[1]! + c[2]!))].sort();
    kappa[dim] = { kappa: fleissKappa(counts), items: rated.length, raters: sizes.join("/") || "0" };
  }
  const order = (o: PairOutcome) => DIMENSIONS.indexOf(o.dimension as (typeof DIMENSIONS)[number]);
  return {
    study,
    assignments: statuses.length,
    done: statuses.filter((s) => s.status === "done").length,
    skipped: statuses.filter((s) => s.status === "skipped").length,
    flagged: statuses.filter((s) => s.flagged === 1).length,
    outcomes: [...outcomes.values()].sort((a, b) => a.modelA.localeCompare(b.modelA) || a.modelB.localeCompare(b.modelB) || order(a) - order(b)),
    kappa,
    majority,
  };
}

const csvCell = (v: unknown): string => {
  const s = v === null || v === undefined ? "" : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

/** Raw votes, one line per (assignment, dimension); skipped or unvoted assignments have an empty choice. */
export function votesCsv(rows: readonly VoteRow[]): string {
  const head = ["study", "item", "model_a", "model_b", "reviewer", "status", "flagged", "comment", "dimension", "choice", "winner"];
  const lines = rows.map((r) => [r.study, r.itemKey, r.modelA, r.modelB, r.reviewer, r.status, r.flagged, r.comment, r.dimension, r.choice, r.choice === "A" ? r.modelA : r.choice === "B" ? r.modelB : r.choice === "tie" ? "tie" : ""].map(csvCell).join(","));
  return [head.join(","), ...lines].join("\r\n") + "\r\n";
}
