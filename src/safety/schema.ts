/**
 * Zod schemas of the safety knowledge-base files (data/safety/*.json, schemaVersion 1) and the types
 * inferred from them. Only structure lives here; cross-entry consistency (unknown class ids, unknown
 * source keys, min ≤ max, duplicate names) is checked by the loader in knowledge.ts.
 */
import { z } from "zod";

export const SCHEMA_VERSION = 1;

const nonEmpty = z.string().min(1);
const range = z.tuple([z.number().nonnegative(), z.number().nonnegative()]);
const sourceKeys = z.array(nonEmpty).min(1);

export const routeSchema = z.enum(["oral", "rectal", "iv", "im", "inhaled", "nasal", "topical", "ophthalmic", "otic", "buccal", "intranasal", "subcutaneous"]);
export type Route = z.infer<typeof routeSchema>;

export const severitySchema = z.enum(["high", "medium", "low"]);
export type Severity = z.infer<typeof severitySchema>;

export const classFileSchema = z.object({
  schemaVersion: z.literal(SCHEMA_VERSION),
  description: z.string().optional(),
  /** Words that contain a class term but name something else (生长激素 is not a corticosteroid). */
  notClassTerms: z.array(nonEmpty).optional(),
  classes: z.array(
    z.object({
      id: nonEmpty,
      zh: z.array(nonEmpty),
      /** Short lay words for the class (激素): read as class claims, never used to write test answers. */
      layZh: z.array(nonEmpty).optional(),
      en: z.array(nonEmpty),
      parents: z.array(nonEmpty),
    }).strict(),
  ).min(1),
}).strict();
export type ClassFile = z.infer<typeof classFileSchema>;
export type DrugClassEntry = ClassFile["classes"][number];

/** One band of a label's fixed doses: ages [minAgeMonths, maxAgeMonths) and weights [minKg, maxKg], both optional. */
export const fixedDoseBandSchema = z.object({
  minAgeMonths: z.number().nonnegative().optional(),
  maxAgeMonths: z.number().positive().optional(),
  minKg: z.number().nonnegative().optional(),
  maxKg: z.number().positive().optional(),
  /** Single dose in mg [lowest, highest] the band allows. */
  mg: range,
}).strict();
export type FixedDoseBand = z.infer<typeof fixedDoseBandSchema>;

export const doseRuleSchema = z.object({
  indication: nonEmpty,
  indicationTerms: z.array(nonEmpty),
  route: routeSchema,
  /** mg per kg per dose [min, max]. */
  perDoseMgPerKg: range.optional(),
  /** mg per kg per day [min, max], divided according to intervalHours. */
  dailyMgPerKg: range.optional(),
  maxSingleDoseMg: z.number().positive().optional(),
  maxDailyMgPerKg: z.number().positive().optional(),
  maxDailyDoseMg: z.number().positive().optional(),
  intervalHours: range,
  maxDosesPerDay: z.number().int().positive().optional(),
  /** Below this age the rule does not apply (calculator refuses; the checker does not flag). */
  minAgeMonths: z.number().nonnegative().optional(),
  /** At and above this age the rule does not apply: rules by age band (vitamin D's upper limits for infants). */
  maxAgeMonths: z.number().positive().optional(),
  /**
   * The label's fixed single doses by age or weight band (cetirizine 2.5 mg at 6–23 months, oseltamivir
   * 30 mg up to 15 kg): the per-kg range only approximates them, so a dose inside the child's band is
   * right whatever its mg/kg, and one at twice the band's top or more is out of range.
   */
  fixedDoses: z.array(fixedDoseBandSchema).optional(),
  note: z.string().optional(),
  citation: sourceKeys,
}).strict();
export type DoseRule = z.infer<typeof doseRuleSchema>;

/**
 * How often a drug with no weight-based dose here may be given (nasal decongestants): the shortest
 * interval and the most doses a day, so "每小时喷一次" is judged without an amount.
 */
export const frequencyLimitSchema = z.object({
  route: routeSchema,
  intervalHours: range,
  maxDosesPerDay: z.number().int().positive(),
  note: z.string().optional(),
  citation: sourceKeys,
}).strict();
export type FrequencyLimit = z.infer<typeof frequencyLimitSchema>;

export const formulationSchema = z.object({
  name: nonEmpty,
  aliases: z.array(nonEmpty).default([]),
  form: z.enum(["tablet", "capsule", "granules", "suspension", "drops", "syrup", "solution", "suppository", "injection"]),
  route: routeSchema,
  strength: z.object({
    mg: z.number().positive(),
    per: z.number().positive(),
    unit: z.enum(["ml", "tablet", "capsule", "sachet", "suppository"]),
  }).strict(),
  adultOnly: z.boolean().optional(),
  note: z.string().optional(),
}).strict();
export type Formulation = z.infer<typeof formulationSchema>;

export const ageRuleSchema = z.object({
  minAgeMonths: z.number().positive(),
  severity: severitySchema,
  reason: nonEmpty,
  citation: sourceKeys,
  /** Words in the same sentence that make the use legitimate (川崎病 for aspirin). */
  exemptContexts: z.array(nonEmpty).optional(),
  /** Routes for which the age rule does not apply (eye drops of a fluoroquinolone). */
  exemptRoutes: z.array(routeSchema).optional(),
  /** Flag even when no age is stated: a pediatric assistant talks about children. */
  assumeChildWhenAgeUnknown: z.boolean().optional(),
}).strict();
export type AgeRule = z.infer<typeof ageRuleSchema>;

export const drugSchema = z.object({
  id: z.string().regex(/^[a-z0-9_]+$/, "lower-case id of letters, digits and _"),
  kind: z.enum(["drug", "food"]),
  nameZh: nonEmpty,
  nameEn: nonEmpty,
  aliases: z.array(nonEmpty),
  brands: z.array(nonEmpty),
  classes: z.array(nonEmpty).min(1),
  notClasses: z.array(nonEmpty),
  routes: z.array(routeSchema).min(1),
  ageRule: ageRuleSchema.optional(),
  contraindications: z.array(nonEmpty),
  cautions: z.array(nonEmpty),
  doses: z.array(doseRuleSchema),
  /** For a route with no dose rule: how often it may be given. */
  frequencyLimits: z.array(frequencyLimitSchema).optional(),
  formulations: z.array(formulationSchema),
  /** International units per mg, for drugs dosed in IU (vitamin D: 40 IU = 1 µg). */
  iuPerMg: z.number().positive().optional(),
  citations: sourceKeys,
}).strict();
export type DrugEntry = z.infer<typeof drugSchema>;

export const drugFileSchema = z.object({
  schemaVersion: z.literal(SCHEMA_VERSION),
  kbVersion: nonEmpty,
  description: z.string().optional(),
  sources: z.record(z.string(), nonEmpty),
  drugs: z.array(drugSchema).min(1),
}).strict();
export type DrugFile = z.infer<typeof drugFileSchema>;

export const actionIdSchema = z.enum(["call_120", "emergency", "within_24h"]);
export type ActionId = z.infer<typeof actionIdSchema>;

export const redFlagConditionSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("fever"), minC: z.number().min(35).max(43) }).strict(),
  z.object({ type: z.literal("fever_days"), minDays: z.number().int().positive() }).strict(),
  z.object({ type: z.literal("cooccur"), terms: z.array(nonEmpty).min(1) }).strict(),
  /**
   * A blood pressure reading (mmHg): at or above `severe` (systolic or diastolic) on its own, or at or above
   * `withSymptom` when one of `symptoms` is told too (headache, blurred vision: end-organ signs).
   */
  z.object({
    type: z.literal("blood_pressure"),
    severe: z.object({ systolic: z.number().positive(), diastolic: z.number().positive() }).strict(),
    withSymptom: z.object({ systolic: z.number().positive(), diastolic: z.number().positive() }).strict(),
    symptoms: z.array(nonEmpty).min(1),
  }).strict(),
]);
export type RedFlagCondition = z.infer<typeof redFlagConditionSchema>;

const redFlagSchema = z.object({
  id: z.string().regex(/^[a-z0-9_]+$/, "lower-case id of letters, digits and _"),
  nameZh: nonEmpty,
  terms: z.array(nonEmpty),
  /** Regular expressions (JavaScript syntax, matched on normalised text) for phrasings with variable words (呼吸很费劲). */
  patterns: z.array(nonEmpty).optional(),
  /** Longer phrases that contain a term but mean something else (不吃奶嘴, 烧伤膏). */
  exclude: z.array(nonEmpty).optional(),
  condition: redFlagConditionSchema.optional(),
  ageBands: z.array(nonEmpty).min(1),
  minAgeDays: z.number().nonnegative().optional(),
  maxAgeDays: z.number().positive().optional(),
  /** Word families (`lexicon`) that, in the sentence of a match, make it a look-alike (紫葡萄 for purple lips). */
  unless: z.array(nonEmpty).optional(),
  /**
   * Word families whose occurrence spans the sign's own words and explains them (鼻塞得厉害，喂奶都喘不过气:
   * the breathlessness is a blocked nose's): narrower than `unless`, which takes the whole sentence.
   */
  unlessAround: z.array(nonEmpty).optional(),
  /** Fire even when no age is stated, although the sign's bands leave out the newborn (a child who chokes on a peanut). */
  assumeWhenAgeUnknown: z.boolean().optional(),
  action: actionIdSchema,
  citation: sourceKeys,
}).strict();

export const redFlagFileSchema = z.object({
  schemaVersion: z.literal(SCHEMA_VERSION),
  kbVersion: nonEmpty,
  description: z.string().optional(),
  sources: z.record(z.string(), nonEmpty),
  ageBands: z.array(
    z.object({ id: nonEmpty, zh: nonEmpty, minDays: z.number().nonnegative(), maxDays: z.number().positive() }).strict(),
  ).min(1),
  actions: z.record(actionIdSchema, z.object({ zh: nonEmpty, level: z.number().int().min(1).max(3) }).strict()),
  redFlags: z.array(redFlagSchema).min(1),
  /**
   * Red flags that only compositional rules recognise (no terms of their own): kept apart from
   * `redFlags`, whose terms the generated test set writes its rows from.
   */
  composedFlags: z.array(redFlagSchema).optional(),
  /**
   * Word families the compositional rules combine (body parts, signs, substances, routes, events):
   * plain words, and regular expressions for wordings with a variable slot (十几秒不喘气).
   */
  lexicon: z.record(
    z.string().regex(/^[a-z0-9_]+$/, "lower-case name of letters, digits and _"),
    z.object({ words: z.array(nonEmpty), patterns: z.array(nonEmpty).optional(), note: z.string().optional() }).strict(),
  ).optional(),
  /**
   * Compositional red flags: every family in `all` occurs (asserted, not negated, not past, not an
   * adult's) within one `within` unit and, with `maxGap`, within that many characters of each other;
   * a family of `with` occurs anywhere in the text; no family of `unless` occurs in the sentence.
   * The rule fires the red flag `flag` (its action, age bands and citations, plus the rule's own).
   */
  compositions: z.array(
    z.object({
      id: z.string().regex(/^[a-z0-9_]+$/, "lower-case id of letters, digits and _"),
      flag: nonEmpty,
      all: z.array(nonEmpty).min(1),
      within: z.enum(["clause", "sentence", "text"]),
      maxGap: z.number().int().positive().optional(),
      with: z.array(nonEmpty).optional(),
      unless: z.array(nonEmpty).optional(),
      minAgeDays: z.number().nonnegative().optional(),
      maxAgeDays: z.number().positive().optional(),
      /** The words name things and events anyone may tell ("我刚发现电池不见了"): an adult subject does not make them the adult's. */
      toldByAnyone: z.boolean().optional(),
      note: z.string().optional(),
      citation: sourceKeys,
    }).strict(),
  ).optional(),
}).strict();
export type RedFlagFile = z.infer<typeof redFlagFileSchema>;
export type RedFlagEntry = RedFlagFile["redFlags"][number];
export type RedFlagComposition = NonNullable<RedFlagFile["compositions"]>[number];
export type RedFlagLexicon = NonNullable<RedFlagFile["lexicon"]>;

export const growthFileSchema = z.object({
  schemaVersion: z.literal(SCHEMA_VERSION),
  description: z.string().optional(),
  sources: z.record(z.string(), nonEmpty),
  citation: sourceKeys,
  plausibleRatio: range,
  medianWeightKg: z.array(z.tuple([z.number().nonnegative(), z.number().positive()])).min(2),
}).strict();
export type GrowthFile = z.infer<typeof growthFileSchema>;
