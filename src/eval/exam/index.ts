/** Public API of exam accuracy evaluation (multiple choice and true/false). */
export { parseExamRecord, parseExamJsonl, normalizeTrueFalse, sortLetters, ExamFormatError, TRUE_LABEL, FALSE_LABEL } from "./schema.js";
export type { ExamItem, ExamKind } from "./schema.js";
export { extractChoice, extractTrueFalse, extractAnswer, majorityVote, foldWidth } from "./extract.js";
export type { Extraction, ExtractionMethod } from "./extract.js";
export { buildPrompt, formatItem, selectShots } from "./prompt.js";
export type { PromptOptions } from "./prompt.js";
export { likelihoodAnswer, EngineLikelihoodScorer } from "./likelihood.js";
export type { LikelihoodScorer, LikelihoodOptions, LikelihoodAnswer } from "./likelihood.js";
export { scoreExam, parsePredictionsJsonl } from "./score.js";
export type { ExamPrediction, ExamReport, ExamSampleResult, Accuracy, ScoreExamOptions } from "./score.js";
