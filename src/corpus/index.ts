/**
 * PedCorpus builder: public API of the corpus module (readers, cleaning, dedup, task builders, the
 * LLM generation client, outputs, build/validate/stats). See build.ts for the pipeline.
 */
export { BadRecordError, CorpusConfigError, CorpusError, IssueSink, type BadRecord, type ErrorPolicy, type Located } from "./errors.js";
export { detectEncoding, detectFileEncoding, openDecoded, type EncodingOption, type TextEncodingName } from "./io/encoding.js";
export { readLines, splitLines } from "./io/lines.js";
export { CsvParser, parseCsv, readCsv, type CsvRow } from "./io/csv.js";
export { parseJsonArray, parseJsonl, readJsonRecords, type JsonItem } from "./io/json.js";
export { readPassages, readPassageFile, listPassageFiles } from "./readers/passages.js";
export { readTriples } from "./readers/kg.js";
export { readCmd } from "./readers/cmd.js";
export { readConsultations, toConsultation } from "./readers/dialogues.js";
export { readAlpaca, readSharegpt, readPreference, toAlpacaExample, toSharegptExample, toPreferencePair } from "./readers/instructions.js";
export { readRegistry, writeRegistry, parseRegistry, entryKind, entryFile, type DatasetEntry, type DatasetRegistry } from "./readers/registry.js";
export type * from "./readers/types.js";
export { normalizeText, cjkRatio } from "./clean/normalize.js";
export { scrubPii, scrubNames, scrubNumbers, isValidIdCard, emptyPiiCounts, type PiiCounts } from "./clean/pii.js";
export { qualityCheck, DEFAULT_FILTERS, type FilterOptions, type FilterReason } from "./clean/filters.js";
export { Deduper, DEFAULT_DEDUP, type DedupOptions, type DedupResult } from "./clean/dedup.js";
export { minhashSignature, estimateJaccard, exactJaccard, DEFAULT_MINHASH, type MinHashParams } from "./clean/minhash.js";
export { TASKS, type TaskLabel, type PediatricTask, type TaskRecord } from "./tasks/types.js";
export { fromPassageSection, fromConsultation, fromCmdRow, fromInstruction, classifyInstruction, questionForSection, TripleGroups } from "./tasks/templates.js";
export { LlmClient, LlmError, LlmMalformedReplyError, LlmRequestError, type LlmClientOptions, type ChatParams, type ChatResult } from "../llm/client.js";
export { Journal, runResumable, InterruptedError } from "../llm/journal.js";
export * as prompts from "./llm/prompts.js";
export { llmSectionQa, llmPreferencePairs, type DfpoPair } from "./llm/generate.js";
export { toAlpaca, toSharegpt, flattenRecord } from "./output/formats.js";
export { splitWithoutLeakage, checkLeakage, type SplitReport, type LeakPair } from "./output/split.js";
export { loadBuildConfig, parseBuildConfig, buildConfigSchema, type BuildConfig } from "./config.js";
export { buildCorpus, renderStats, type BuildResult, type CorpusStats } from "./build.js";
export { validateFile, detectFormat, totalBad, FILE_FORMATS, type FileFormat, type ValidationReport } from "./validate.js";
export { statsOfDir, renderDirStats, type DirStats } from "./statsdir.js";
export { loadTokenCounter, type TokenCounter } from "./tokens.js";
