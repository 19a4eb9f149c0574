/**
 * Public API of the generation metrics: paper-compatible per-sample metrics, the jieba 0.42.1
 * compatible segmenter, standard-mode corpus statistics and the report builder.
 */
export { PAPER_METRICS, BLEU_WEIGHTS, scorePaperTokens, nltkBleu, nltkGleu, pltrdyRouge, rougeSentences, distinctN } from "./paper.js";
export type { PaperScores, PaperMetric, PaperSample } from "./paper.js";
export { JiebaSegmenter, JiebaDataError, logInt, parseDictionary } from "./jieba/segmenter.js";
export type { Segmenter } from "./jieba/segmenter.js";
export { charTokens, sacrebleuZhTokens, bleuStats, corpusBleuFromStats, corpusDistinct, bootstrapInterval, bootstrapIntervals } from "./standard.js";
export type { BleuStats, CorpusBleu, Interval } from "./standard.js";
export { evaluatePairs } from "./evaluate.js";
export type { MetricsMode, MetricsPair, SampleScores, MetricsReport, EvaluateOptions } from "./evaluate.js";
export { fsum, pySplit, pyStrip } from "./pyfloat.js";
export { joinPairs, PairsFormatError } from "./pairs.js";
export type { ReadPairsOptions } from "./pairs.js";
export { MetricsPool, scorePairsParallel } from "./parallel.js";
export type { ScoredPair, ParallelOptions } from "./parallel.js";
