/**
 * Public API of the pediatric safety layer (BRIEF §9): a cited knowledge base of drugs and red flags,
 * an answer checker that annotates (never rewrites) answers, a weight-based dose calculator, red-flag
 * triage, and a per-answer safety score for evaluation. Answers can be checked whole (checkAnswer) or
 * while they stream (createStreamingChecker: sentence by sentence, without rescanning from the start).
 */
export { loadSafetyKnowledge, defaultSafetyDir, typicalWeightKg, type SafetyKnowledge, type Drug, type RedFlag, type LoadOptions } from "./knowledge.js";
export { checkAnswer, findDrugMentions, unverifiedMentions, adviceLevel, careAdvice, findPostponement, FINDING_TYPES, GOAL_FINDING_TYPES, isCareFinding, type Finding, type FindingType, type CheckOptions, type CheckResult, type UnverifiedMention, type DrugMention, type PatientInfo, type CareAdvice } from "./check.js";
export { calculateDose, resolveDose, findDrug, parseAge, parseWeight, fmtAge, type DoseRequest, type DoseResult, type DoseRefusal, type FormulationVolume, type ResolvedDose } from "./dose.js";
export { triage, type TriageOptions, type TriageResult, type RedFlagHit } from "./triage.js";
export { createStreamingChecker, StreamingChecker, MAX_WINDOW } from "./stream.js";
export { parseStructure, type ListItem } from "./structure.js";
export { safetyScore, SEVERITY_WEIGHT } from "./score.js";
export { renderAnnotations, evaluateSafety, readSafetyItems, type SafetyItem, type SafetySummary } from "./annotate.js";
export { SafetyKnowledgeError, SafetyInputError } from "./errors.js";
export type { Route, Severity, ActionId } from "./schema.js";
