/**
 * Evaluation: paper-compatible generation metrics (metrics/) and exam accuracy (exam/).
 * Other evaluation parts (judge, review, reports) add their own exports here.
 */
export * from "./metrics/index.js";
export * from "./exam/index.js";
export { readTestSet, detectSetFormat, SET_FORMATS, TestSetError, type EvalItem, type TestSet, type SetFormat } from "./generate/sets.js";
export { loadAnswerBackend, loadLikelihoodScorer, GeneratorBackend, type AnswerBackend, type AnswerOutcome, type BackendInfo } from "./generate/backend.js";
export { generateAnswers, readAnswers, resolveSettings, GenerateRunError, EVAL_GENERATION_DEFAULTS, type AnswerLine, type AnswersMeta, type GenerateProgress } from "./generate/generate.js";
export { loadEvalConfig, parseEvalConfig, EvalConfigError, type EvalConfig } from "./run/config.js";
export { runEvaluation, writeResults, CoverageError } from "./run/run.js";
export * from "./run/results.js";
export { runJudge, aggregate, wilson, type JudgedModel, type JudgeOptions } from "./judge/judge.js";
export { judgeMessages, parseJudgeReply, JUDGE_PROMPT_VERSION } from "./judge/prompt.js";
