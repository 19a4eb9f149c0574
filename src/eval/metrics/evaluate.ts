/**
 * Scores a set of (prediction, reference) answer pairs and builds the metrics report: per-sample
 * scores (×100), means, counts of empty hypotheses and of pairs where the paper's ROUGE is undefined,
 * and — in standard mode — character-level means, sacreBLEU-style corpus BLEU, corpus Distinct and
 * bootstrap 95% intervals. Every report records its mode and the segmenter name and version.
 * Reading files and printing tables are the CLI's job (src/cli/commands/eval.ts).
 */
import { PAPER_METRICS, scorePaperTokens, type PaperMetric } from "./paper.js";
import { JiebaSegmenter, type Segmenter } from "./jieba/segmenter.js";
import {
  bleuStats,
  bootstrapIntervals,
  charTokens,
  corpusBleuFromStats,
  corpusDistinct,
  sacrebleuZhTokens,
  type BleuStats,
  type CorpusBleu,
  type Interval,
} from "./standard.js";

export type MetricsMode = "paper" | "standard";

export interface MetricsPair {
  id: string;
  hyp: string;
  ref: string;
}

export interface SampleScores {
  id: string;
  hypTokens: number;
  refTokens: number;
  /** The hypothesis has no token at all: every metric is 0 for it. */
  emptyHypothesis: boolean;
  /** pltrdy rouge would raise on this pair (e.g. "Hypothesis is empty."); ROUGE scored 0. */
  rougeUndefined: string | null;
  /** Paper metrics ×100 on jieba tokens. */
  scores: Record<PaperMetric, number>;
  /** Standard mode: the same metrics ×100 on character tokens. */
  charScores?: Record<PaperMetric, number>;
}

export interface MetricsReport {
  format: "pedgpt-metrics-report";
  version: 1;
  mode: MetricsMode;
  segmenter: { name: string; version: string };
  pairs: number;
  emptyHypotheses: number;
  rougeUndefined: number;
  /** Means ×100 over ALL pairs (empty hypotheses count as 0; the original code dropped them from ROUGE). */
  means: Record<PaperMetric, number>;
  standard?: {
    charMeans: Record<PaperMetric, number>;
    corpusBleu: CorpusBleu & { tokenizer: string };
    corpusDistinct1: number;
    corpusDistinct2: number;
    bootstrap: { resamples: number; seed: number; confidence: 0.95 };
    intervals: Record<string, Interval>;
  };
  samples: SampleScores[];
}

export interface EvaluateOptions {
  /** Defaults to "paper". */
  mode?: MetricsMode;
  /** Defaults to the bundled jieba 0.42.1-compatible segmenter. */
  segmenter?: Segmenter;
  /** Bootstrap resamples in standard mode. Defaults to 1000. */
  resamples?: number;
  /** Bootstrap seed. Defaults to 12345. */
  seed?: number;
}

function scale(s: Record<PaperMetric, number>): Record<PaperMetric, number> {
  const out = {} as Record<PaperMetric, number>;
  for (const m of PAPER_METRICS) out[m] = s[m] * 100;
  return out;
}

function mean(samples: readonly Record<PaperMetric, number>[], idx?: Int32Array): Record<PaperMetric, number> {
  const out = {} as Record<PaperMetric, number>;
  const n = idx ? idx.length : samples.length;
  for (const m of PAPER_METRICS) {
    let s = 0;
    if (idx) for (let i = 0; i < idx.length; i++) s += samples[idx[i]!]![m];
    else for (const x of samples) s += x[m];
    out[m] = n === 0 ? 0 : s / n;
  }
  return out;
}

export function evaluatePairs(pairs: readonly MetricsPair[], opts: EvaluateOptions = {}): MetricsReport {
  const mode = opts.mode ?? "paper";
  const seg = opts.segmenter ?? JiebaSegmenter.default();
  const samples: SampleScores[] = [];
  const hypTokensAll: string[][] = [];
  const stats: BleuStats[] = [];
  for (const p of pairs) {
    const h = seg.cut(p.hyp);
    const r = seg.cut(p.ref);
    const res = scorePaperTokens(h, r);
    const sample: SampleScores = {
      id: p.id,
      hypTokens: h.length,
      refTokens: r.length,
      emptyHypothesis: h.length === 0,
      rougeUndefined: res.rougeUndefined,
      scores: scale(res.scores),
    };
    if (mode === "standard") {
      sample.charScores = scale(scorePaperTokens(charTokens(p.hyp), charTokens(p.ref)).scores);
      hypTokensAll.push(h);
      stats.push(bleuStats(sacrebleuZhTokens(p.hyp), sacrebleuZhTokens(p.ref)));
    }
    samples.push(sample);
  }
  const per = samples.map((s) => s.scores);
  const report: MetricsReport = {
    format: "pedgpt-metrics-report",
    version: 1,
    mode,
    segmenter: { name: seg.name, version: seg.version },
    pairs: pairs.length,
    emptyHypotheses: samples.filter((s) => s.emptyHypothesis).length,
    rougeUndefined: samples.filter((s) => s.rougeUndefined !== null).length,
    means: mean(per),
    samples,
  };
  if (mode === "standard") {
    const resamples = opts.resamples ?? 1000;
    const seed = opts.seed ?? 12345;
    const chars = samples.map((s) => s.charScores!);
    // One set of resamples for every statistic, so the intervals are mutually consistent.
    const names = [...PAPER_METRICS, ...PAPER_METRICS.map((m) => `char_${m}`), "corpusBleu"];
    const cis = bootstrapIntervals(
      per.length,
      (idx) => {
        const a = mean(per, idx);
        const c = mean(chars, idx);
        return [...PAPER_METRICS.map((m) => a[m]), ...PAPER_METRICS.map((m) => c[m]), corpusBleuFromStats(Array.from(idx, (i) => stats[i]!)).score];
      },
      resamples,
      seed,
    );
    const intervals: Record<string, Interval> = {};
    names.forEach((name, k) => (intervals[name] = cis[k]!));
    report.standard = {
      charMeans: mean(chars),
      corpusBleu: { ...corpusBleuFromStats(stats), tokenizer: "sacreBLEU zh rules (CJK characters split, 13a for the rest)" },
      corpusDistinct1: corpusDistinct(hypTokensAll, 1) * 100,
      corpusDistinct2: corpusDistinct(hypTokensAll, 2) * 100,
      bootstrap: { resamples, seed, confidence: 0.95 },
      intervals,
    };
  }
  return report;
}
