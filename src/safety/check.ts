/**
 * The answer checker: finds drug mentions in a Chinese answer (dictionary scan over names, aliases and
 * brands, leftmost-longest), decides which are recommendations (scope.ts), and applies the rules:
 * wrong class claims, age contraindications, doses outside the weight-based range, daily maximum
 * exceeded, and missing urgent-care advice when the question or answer shows red flags. It returns
 * structured findings with evidence spans into the answer (or question); it never rewrites the answer.
 */
import { extractAges, extractAmounts, extractFrequency, extractStrengths, extractWeights, type Amount, type AgeMention, type WeightMention } from "./extract.js";
import { citationNames, loadSafetyKnowledge, typicalWeightKg, type Drug, type SafetyKnowledge } from "./knowledge.js";
import { DictionaryMatcher, type Match } from "./matcher.js";
import { resolveDose, fmtAge, parseAge, parseWeight, type ResolvedDose } from "./dose.js";
import type { DoseRule, Route, Severity } from "./schema.js";
import { clauseStart, drugStances, isConditional, type MentionStance } from "./scope.js";
import { safetyScore } from "./score.js";
import { itemAt, parseStructure } from "./structure.js";
import { normalize, parseNumber, sentenceAt, sentenceEnd } from "./text.js";
import { triage, type RedFlagHit, type TriageResult } from "./triage.js";
import { unknownDrugSpans } from "./vocab.js";

/**
 * Every finding type. The first five are the ones measured against the goal; `missing_timely_care` (a
 * sign that needs a doctor within 24 hours, not the emergency department, and an answer that does not
 * say so) is reported on its own.
 */
export const FINDING_TYPES = ["wrong_class", "age_contraindication", "dose_out_of_range", "daily_max_exceeded", "missing_urgent_care", "missing_timely_care"] as const;
export type FindingType = (typeof FINDING_TYPES)[number];
/** The finding types held to the precision/recall goal (all but missing_timely_care). */
export const GOAL_FINDING_TYPES: readonly FindingType[] = FINDING_TYPES.filter((t) => t !== "missing_timely_care");
/** Findings about the level of care advised (no drug): one per answer at most. */
export const CARE_FINDING_TYPES: readonly FindingType[] = ["missing_urgent_care", "missing_timely_care"];
export const isCareFinding = (type: FindingType): boolean => CARE_FINDING_TYPES.includes(type);

export interface Finding {
  type: FindingType;
  severity: Severity;
  /** Stable rule identifier, e.g. "age.min-age", "dose.per-dose-high". */
  ruleId: string;
  /** Drug id for drug findings. */
  drug?: string;
  /** Red-flag ids for missing_urgent_care and missing_timely_care. */
  flags?: string[];
  evidence: { source: "answer" | "question"; start: number; end: number; text: string };
  message: string;
  citations: string[];
  details?: Record<string, unknown>;
}

export interface DrugMention {
  drug: string;
  nameZh: string;
  start: number;
  end: number;
  text: string;
  stance: MentionStance;
  route: Route;
}

export interface CheckOptions {
  /** The user's question; patient age/weight and red flags are read from it. */
  question?: string;
  /** Patient age (months as a number, or text such as "2y", "8个月"). Overrides text. */
  age?: string | number;
  /** Patient weight (kg as a number, or text such as "12kg", "24斤"). Overrides text. */
  weight?: string | number;
  kb?: SafetyKnowledge;
  /** The patient as already worked out (the streaming checker fixes it once); overrides age, weight and text. */
  patient?: PatientInfo;
  /** false: skip the missing-urgent-care rule (the streaming checker applies it once, at the end). */
  urgentCare?: boolean;
  /** The question's triage as already worked out (the streaming checker triages its question once, not per sentence). */
  questionTriage?: TriageResult | null;
  /**
   * false: never read an answer that names no drug as dosing the question's drug (the streaming
   * checker allows it only while the answer so far has named none).
   */
  questionDrug?: boolean;
}

export interface PatientInfo {
  ageMonths?: number;
  ageSource?: "option" | "question" | "answer";
  ageText?: string;
  weightKg?: number;
  weightSource?: "option" | "question" | "answer" | "estimated";
}

export interface CheckResult {
  findings: Finding[];
  mentions: DrugMention[];
  patient: PatientInfo;
  triage: { question: TriageResult | null; answer: TriageResult; adviceLevel: number };
  /** Safety score in [0, 1] (score.ts); 1 = no findings. */
  score: number;
  /** Banner text for display when red flags were found, else null. */
  banner: string | null;
  /** Drug-like names the knowledge base lacks, told as a class member or with a dose: not checked. */
  unverified: UnverifiedMention[];
}

/** A drug-like name the knowledge base does not hold, where the answer gives it a class or a dose. */
export interface UnverifiedMention {
  name: string;
  start: number;
  end: number;
  /** What the answer says of it that could not be checked. */
  said: "class" | "dose";
}

/**
 * Names shaped like drugs (vocab.ts) that no entry covers, told under a class ("抗病毒药：XX韦林颗粒", a
 * header over its list item) or with an amount in their sentence before any known drug ("XX颗粒每次5g"):
 * the checker says nothing of them, so the result lists them as unverified rather than letting silence
 * read as a pass.
 */
const NOT_A_PRODUCT = /类|属于|都|的|前|要|过敏|调成|调匀|研碎|碾碎|按|用|和|或|及|等|是|对|把|给/;
const GENERIC_PRODUCT = /^(?:复方|止咳|感冒|化痰|退烧|退热|小儿|儿童|婴儿|成人|软|硬|水|口服|外用|中药|中成药|西药)*(?:颗粒|口服液|糖浆|混悬液|滴剂|喷雾剂|冲剂|软膏|乳膏|胶囊|注射液|片)$/;

export function unverifiedMentions(answer: string, kb: SafetyKnowledge = loadSafetyKnowledge()): UnverifiedMention[] {
  const spans = unknownDrugSpans(answer, kb);
  if (!spans.length) return [];
  const norm = normalize(answer);
  const scanned = matcherFor(kb).scan(answer);
  const classes = scanned.filter((m) => m.payload.kind === "class");
  const drugs = scanned.filter((m) => m.payload.kind === "drug");
  // The class a header or lead names, not one inside the name itself (头孢 in 头孢泊肟).
  const outside = (sp: { start: number; end: number }) => classes.filter((c) => c.end <= sp.start);
  let structure: ReturnType<typeof parseStructure> | undefined;
  const out: UnverifiedMention[] = [];
  for (const sp of spans) {
    // Shapes that name no product: a class or drug the KB knows inside it (头孢类抗生), words of a clause
    // (头孢都属于, 调成混悬液), or a bare form with generic words only (复方止咳糖浆, 软胶囊).
    if (drugs.some((m) => m.start < sp.end && m.end > sp.start) || classes.some((m) => m.start < sp.end && m.end > sp.start && sp.name.length - (m.end - m.start) < 2)
      || NOT_A_PRODUCT.test(sp.name) || GENERIC_PRODUCT.test(sp.name)) continue;
    const se = sentenceEnd(norm, sp.end);
    const nextDrug = drugs.find((d) => d.start >= sp.end && d.start < se)?.start ?? se;
    if (extractAmounts(answer, sp.end, nextDrug).some((a) => !a.isMax)) { out.push({ ...sp, said: "dose" }); continue; }
    const lineStart = norm.lastIndexOf("\n", sp.start - 1) + 1;
    let classed = outside(sp).some((c) => c.start >= lineStart);
    if (!classed && classes.length) {
      structure ??= parseStructure(answer);
      for (let k = itemAt(structure, sp.start); k >= 0 && !classed; k = structure[k]!.parent) {
        const h = structure[k]!.header;
        if (h && h.end <= sp.start) classed = classes.some((c) => c.start >= h.start && c.end <= h.end);
      }
    }
    if (classed) out.push({ ...sp, said: "class" });
  }
  return out;
}

type Entry = { kind: "drug"; drug: Drug } | { kind: "class"; id: string } | { kind: "other" };
const matchers = new WeakMap<SafetyKnowledge, DictionaryMatcher<Entry>>();
function matcherFor(kb: SafetyKnowledge): DictionaryMatcher<Entry> {
  let m = matchers.get(kb);
  if (!m) {
    m = new DictionaryMatcher<Entry>();
    for (const d of kb.drugs) for (const n of d.names) m.add(n, { kind: "drug", drug: d });
    for (const c of kb.classes.values()) for (const t of [...c.zh, ...(c.layZh ?? []), ...c.en]) m.add(t, { kind: "class", id: c.id });
    // "抗组胺类药物", "祛痰类药", "止咳类": answers put 类 between a class and 药.
    for (const c of kb.classes.values())
      for (const t of c.zh) {
        const base = /^(.{2,})(?:药物?|剂)$/.exec(t)?.[1];
        if (base && !base.endsWith("类")) for (const v of [`${base}类药物`, `${base}类药`, `${base}类`]) if (!matcherHas(kb, v)) m.add(v, { kind: "class", id: c.id });
      }
    // "抗病毒滴眼液", "抗生素鼻喷剂", "激素药膏": a class named with a topical, eye or nose form.
    for (const c of kb.classes.values())
      for (const t of c.zh) {
        const base = /^(.{2,}?)(?:类)?(?:药物?|剂)?$/.exec(t)?.[1];
        // "红霉素类" names a class, but "红霉素眼膏" is the drug's own product.
        if (!base || kb.drugs.some((d) => d.names.includes(base))) continue;
        for (const form of CLASS_FORMS) for (const v of [`${base}${form}`, `${base}类${form}`]) if (!matcherHas(kb, v)) m.add(v, { kind: "class", id: c.id });
      }
    // Longer words that contain a class term (生长激素) win leftmost-longest and are then ignored.
    for (const t of kb.notClassTerms) m.add(t, { kind: "other" });
    matchers.set(kb, m);
  }
  return m;
}

/** Dosage forms that follow a class word in "抗病毒滴眼液" (oral forms are left out: 抗病毒口服液 is a product name). */
const CLASS_FORMS = ["滴眼液", "眼药水", "眼药", "眼膏", "眼药膏", "滴耳液", "滴鼻液", "滴鼻剂", "鼻喷剂", "喷鼻剂", "鼻喷雾剂", "喷雾剂", "喷剂", "喷雾", "滴剂", "凝胶", "洗剂", "软膏", "乳膏", "药膏"];

/** Whether a word is already a name or class term of the knowledge base (a 类 variant must not shadow one). */
function matcherHas(kb: SafetyKnowledge, term: string): boolean {
  return kb.drugs.some((d) => d.names.includes(term)) || [...kb.classes.values()].some((c) => [...c.zh, ...(c.layZh ?? [])].includes(term));
}

/** A list header that prohibits or cautions ("不建议使用的药物：", "**禁用药物**", "慎用"): its items are not recommended. */
const PROHIBIT_HEADER = /不建议|不推荐|不宜|不要|不能|不可|避免|禁用|禁止|禁忌|忌用|慎用|勿用|切勿|不适合|不应|不该|(?<![区识辨类级])别(?:给|吃|用|让|喂|乱)|危险的药/;

/** A list header that recommends ("可以用的退烧药", "推荐", "可选"): its items are recommended even under a prohibiting lead-in. */
const RECOMMEND_HEADER = /可以用|可用|可以吃|可以选|可选|推荐|首选|建议(?:用|使用|选)|适合(?:用|的)|能用|安全的/;

/** "含伪麻黄碱和右美沙芬", "（含可待因的复方糖浆）", "成分是…", "泰诺（日片）含…", "…口服溶液：含…": what follows names a product's ingredients. */
const INGREDIENT_BEFORE = /(?:[（(，,、：:）)]|^)\s*(?:它|其|该药|这个药|这药|本品)?\s*(?:的)?\s*(?:其中|里面|内|中)?\s*(?:也|同时)?\s*(?:含|含有|(?<=(?:里面|里|中|内)\s*)有|成分(?:为|是|有|包括)?|主要成分(?:为|是|有|包括)?)\s*$/;
const INGREDIENT_JOIN = /^\s*(?:、|和|及|以及|与|跟|加)\s*$/;

/**
 * Drug names that are not a drug given: the basis of an amount ("按阿莫西林计每次…") and the
 * ingredients of a product named just before ("小儿伪麻美芬滴剂，含伪麻黄碱和右美沙芬"), which the
 * product's own entry answers for. `spans` are the drug matches, sorted.
 */
export function nonProductMentions(norm: string, spans: { start: number; end: number }[], ids: string[], isCompound: (id: string) => boolean = () => false): boolean[] {
  const out = spans.map(() => false);
  // "惠菲宁（右美沙芬）", "联邦止咳露（含可待因的复方糖浆）": the answer's own gloss in brackets names what the
  // product is, and the finding takes that name; the product's own name then adds nothing.
  // A bracket that lists several ingredients ("小儿氨酚黄那敏颗粒（含对乙酰氨基酚、人工牛黄、氯苯那敏）") says what
  // the product contains, not what it is: the product answers, every drug in the bracket is an ingredient.
  // Without 含 too: a bracket that names two or more other drugs joined by list words
  // ("氨金黄敏颗粒（对乙酰氨基酚、金刚烷胺、人工牛黄、氯苯那敏）") is the product's ingredient list.
  const listEnd = spans.map((sp, i) => {
    // "含右美沙芬的复方止咳糖浆（右美沙芬+氯苯那敏+伪麻黄碱）": a product described by what it contains, then its full
    // ingredient list in brackets, is one product whose bracket lists ingredients like any other product's.
    // "右美沙芬糖浆复方制剂（含右美沙芬、伪麻黄碱）": a product word after the name, then what the product contains.
    const tail = describedProductTail(norm, sp) || namedProductTail(norm, sp);
    const m = /^(?:糖浆|口服液|口服溶液|溶液|滴剂|颗粒|冲剂|片|胶囊|混悬液|合剂)?\s*[（(]\s*(含有?|成分(?:是|为|有)?|主要成分(?:是|为|有)?)?([^（()）\n。]{1,60})[）)]/.exec(norm.slice(sp.end + tail, sp.end + tail + 80));
    if (!m || !/[、，,和及与+＋]/.test(m[2]!)) return -1;
    const end = sp.end + tail + m[0].length;
    if (!m[1] && !tail && (!isCompound(ids[i]!) || /^\s*(?:或|或者|也可|也可以|还可|以及|及|替代|换)/.test(m[2]!) || spans.filter((x, k) => k > i && x.end <= end && ids[k] !== ids[i]).length < 2)) return -1;
    return end;
  });
  const inList = spans.map(() => false);
  spans.forEach((sp, i) => { if (listEnd[i]! > 0) for (let k = i + 1; k < spans.length && spans[k]!.end <= listEnd[i]!; k++) inList[k] = true; });
  // A gloss names one thing: a bracket that goes on to list others ("阿司匹林（尼美舒利、安乃近也行）") is none.
  const glossed = spans.map((sp, i) => listEnd[i]! < 0 && i + 1 < spans.length && ids[i + 1] !== ids[i] && /^\s*[（(]\s*(?:含有?|即|也就是|成分(?:是|为)?)?\s*$/.test(norm.slice(sp.end, spans[i + 1]!.start))
    && !/^[^（()）\n。]{0,40}?[、和及与+＋]/.test(norm.slice(spans[i + 1]!.end, spans[i + 1]!.end + 40).split(/[）)]/)[0]!));
  spans.forEach((sp, i) => {
    if (inList[i]) { out[i] = true; return; }
    // "青霉素类", "红霉素类药物", "阿司匹林类": a drug's name followed by 类 names the drugs like it, a class.
    if (/^类(?!似|固醇)/.test(norm.slice(sp.end, sp.end + 3))) { out[i] = true; return; }
    if (glossed[i]) { out[i] = true; return; }
    if (i > 0 && glossed[i - 1]) return;
    // "按阿莫西林计", and "阿莫西林克拉维酸钾，按阿莫西林每次15mg/kg": a component named as the basis of the
    // compound's amount is the compound's dose.
    if (/按\s*$/.test(norm.slice(Math.max(0, sp.start - 2), sp.start))
      && (/^\s*(?:计|算|计算|折算)/.test(norm.slice(sp.end, sp.end + 3)) || ids.some((id, k) => k < i && id !== ids[i] && id.startsWith(`${ids[i]}_`)))) { out[i] = true; return; }
    // "每次15ml（约含阿莫西林1371mg）", "10袋（阿莫西林2000mg）": a component of a product named earlier, restating
    // an amount's content in brackets, is the amount's basis, not a second drug given.
    if (/[\d一二两三四五六七八九十半]\s*(?:ml|毫升|片|袋|包|粒|滴|支|mg|毫克)\s*[（(]\s*(?:约|大约|相当于|折合|即|含有?|约含有?)*\s*$/.test(norm.slice(Math.max(0, sp.start - 16), sp.start))
      && /^\s*(?:约|大约)?\s*\d/.test(norm.slice(sp.end, sp.end + 6)) && ids.some((id, k) => k < i && id !== ids[i] && id.startsWith(`${ids[i]}_`))) { out[i] = true; return; }
    const prev = spans[i - 1];
    if (!prev || sp.start - prev.end > 24 || /[。！？!?；;\n]/.test(norm.slice(prev.end, sp.start))) return;
    const between = norm.slice(prev.end, sp.start);
    if (out[i - 1] && INGREDIENT_JOIN.test(between)) out[i] = true;
    else if (between.length <= 12 && INGREDIENT_BEFORE.test(between)) out[i] = true;
  });
  return out;
}

/** After "含X", the rest of the product's name up to its product word ("含右美沙芬的复方止咳糖浆"): its length, or 0. */
const DESCRIBED_TAIL = /^的[^，。；;,、\n（()）]{0,10}?(?:复方|糖浆|口服液|溶液|合剂|滴剂|颗粒|冲剂|片|胶囊|感冒药|止咳药|止咳水|止咳露|制剂)[^，。；;,、\n（()）]{0,6}?(?=\s*[（(])/;
function describedProductTail(norm: string, sp: { start: number; end: number }): number {
  if (!/含有?\s*$/.test(norm.slice(Math.max(0, sp.start - 3), sp.start))) return 0;
  return DESCRIBED_TAIL.exec(norm.slice(sp.end, sp.end + 24))?.[0].length ?? 0;
}

/** After a drug's name, a product word that a bracket opening with 含 or 成分 follows ("右美沙芬糖浆复方制剂（含…"): its length, or 0. */
const NAMED_TAIL = /^[^，。；;,、\n（()）]{0,8}?(?:复方|糖浆|口服液|溶液|合剂|滴剂|颗粒|冲剂|片|胶囊|制剂|感冒药|止咳药)[^，。；;,、\n（()）]{0,4}?(?=\s*[（(]\s*(?:含|成分|主要成分))/;
function namedProductTail(norm: string, sp: { start: number; end: number }): number {
  return NAMED_TAIL.exec(norm.slice(sp.end, sp.end + 20))?.[0].length ?? 0;
}

/** Whether an entry is a product of several ingredients (a compound entry, a cold combination, a 复方). */
function compoundTest(kb: SafetyKnowledge): (id: string) => boolean {
  return (id) => {
    const d = kb.drugById.get(id);
    return !!d && (d.id.endsWith("_compound") || d.classes.includes("cold_combination") || d.nameZh.includes("复方"));
  };
}

/** A product word and a bracket that opens its ingredients, before the drug ("止咳糖浆（含右美沙芬", "感冒药（成分有伪麻黄碱"). */
const PRODUCT_BEFORE = /(?:糖浆|口服液|溶液|感冒药|止咳药|止咳水|止咳露|复方制剂|滴剂|药水|感冒颗粒|感冒冲剂|感冒片)\s*[（(]\s*(?:含有?|成分(?:是|为|有)?|主要成分(?:是|为|有)?)\s*$/;

/** What names a product after "含X的" ("含可待因的止咳糖浆", "含伪麻黄碱的儿童感冒药"). */
const PRODUCT_AFTER = /^\s*(?:成分)?的[^，。；;,\n]{0,8}?(?:糖浆|口服液|溶液|感冒药|止咳药|止咳水|止咳露|复方|制剂|滴剂|药水|药物?|片|颗粒|冲剂|胶囊)/;

/** A product word, then in the same sentence what it contains ("…的感冒药，含伪麻黄碱", "这种止咳糖浆里面含有可待因"). */
const PRODUCT_CLAUSE_BEFORE = /(?:感冒药|止咳药|止咳糖浆|糖浆|口服液|感冒颗粒|颗粒|冲剂|滴剂|复方制剂|止咳水|止咳露|止痛药|(?:这个|这种|这款|此|该)药)[^。！？!?\n；;]{0,10}?[，,]?\s*(?:它|其|因为|因|由于)?\s*(?:的)?\s*(?:里面|里|其中|中)?\s*(?:也|同时)?\s*(?:含有?|有)\s*$/;

/**
 * "含可待因的止咳糖浆" names a product that contains the drug, not the drug itself: where the knowledge
 * base has that drug's compound entry (`<id>_compound`, with the compound's own age limit) the mention is
 * that entry's.
 */
function asCompound(kb: SafetyKnowledge, text: string, m: Match<{ kind: "drug"; drug: Drug }>): Match<{ kind: "drug"; drug: Drug }> {
  const compound = kb.drugById.get(`${m.payload.drug.id}_compound`);
  if (!compound) return m;
  // "止咳糖浆（含右美沙芬）": the product named first, its ingredient in the bracket after.
  const productBefore = PRODUCT_BEFORE.test(text.slice(Math.max(0, m.start - 16), m.start));
  // "艾畅是儿童专用的感冒药，含伪麻黄碱": a product the knowledge base does not name, then what it contains.
  const containedBy = /(?:含有?|(?:里面|里|中)有)\s*$/.test(text.slice(Math.max(0, m.start - 3), m.start)) && PRODUCT_CLAUSE_BEFORE.test(text.slice(Math.max(0, m.start - 30), m.start));
  // "右美沙芬的复方糖浆": the product word 复方 right after the ingredient names a compound that holds it.
  const compoundAfter = /^\s*(?:成分)?(?:的|类)?\s*复方(?!制剂中|中)/.test(text.slice(m.end, m.end + 8));
  if (!productBefore && !containedBy && !compoundAfter && (!/含有?\s*$/.test(text.slice(Math.max(0, m.start - 2), m.start)) || !PRODUCT_AFTER.test(text.slice(m.end, m.end + 16)))) return m;
  return { ...m, payload: { kind: "drug", drug: compound } };
}

/**
 * "惠菲宁（美敏伪麻溶液，含右美沙芬、氯苯那敏、伪麻黄碱）": a compound product whose bracket lists an ingredient
 * with a more restrictive compound entry is reported as that entry, as if the product were named by its ingredients.
 */
function byBracketedIngredients(kb: SafetyKnowledge, norm: string, m: Match<{ kind: "drug"; drug: Drug }>, ingredients: Match<{ kind: "drug"; drug: Drug }>[]): Match<{ kind: "drug"; drug: Drug }> {
  let own = COMPOUND_PRECEDENCE.indexOf(m.payload.drug.id);
  // "小儿右美沙芬糖浆复方制剂（含右美沙芬、伪麻黄碱）": a product named after one ingredient, with its ingredients in
  // brackets, is the compound of what it lists (convention 9).
  const named = own < 0 ? namedProductTail(norm, m) : 0;
  const productFirst = own < 0 && (named > 0 || (/(?:糖浆|口服液|溶液|合剂|滴剂|颗粒|冲剂|片|胶囊|制剂)$/.test(m.term) && /^\s*(?:[（(]|[，,]\s*(?:它|其)?)\s*(?:含|成分|主要成分)/.test(norm.slice(m.end, m.end + 8))));
  if (productFirst) own = COMPOUND_PRECEDENCE.indexOf(`${m.payload.drug.id}_compound`);
  if (own < 0) return m;
  let best = own;
  // The product's own bracket decides over its brand name: "可愈糖浆（含右美沙芬和愈创甘油醚）" lists no codeine,
  // so it is the compound of what it does list, even where the brand's usual formula is another.
  let bracketBest = -1;
  let ownListed = false;
  const tail = describedProductTail(norm, m) || named;
  let others = 0;
  for (const x of ingredients) {
    if (x.start < m.end + tail || !/^\s*(?:[（(][^（()）\n。]*|[，,]\s*(?:它|其)?\s*(?:含有?|成分(?:是|为|有)?|主要成分(?:是|为|有)?)[^（()）\n。；;，,]*)$/.test(norm.slice(m.end + tail, x.start))) continue;
    if (`${x.payload.drug.id}_compound` === m.payload.drug.id) ownListed = true;
    if (x.payload.drug.id !== m.payload.drug.id) others++;
    const rank = COMPOUND_PRECEDENCE.indexOf(`${x.payload.drug.id}_compound`);
    if (rank >= 0 && (bracketBest < 0 || rank < bracketBest)) bracketBest = rank;
    if (rank >= 0 && rank < best) best = rank;
  }
  if (bracketBest > own && !ownListed) best = bracketBest;
  if (productFirst && !others) return m;
  return best === own && !productFirst ? m : { ...m, payload: { kind: "drug", drug: kb.drugById.get(COMPOUND_PRECEDENCE[best]!)! } };
}

/** The compound entries a product described by its ingredients takes, most restrictive first. */
const COMPOUND_PRECEDENCE = ["codeine_compound", "pseudoephedrine_compound", "dextromethorphan_compound"];
const RUN_JOIN = /^\s*(?:、|和|及|以及|与|跟|加|\+|＋|\/)?\s*$/;
/** A product word after ingredient names ("右美沙芬伪麻黄碱复方糖浆", "含右美沙芬和伪麻黄碱的止咳糖浆"). */
const PRODUCT_WORD_AFTER = /^\s*(?:的)?[^，。；;,、\n（()）]{0,8}?(?:复方|糖浆|口服液|口服溶液|溶液|合剂|滴剂|颗粒|冲剂|片|胶囊|感冒药|止咳药|止咳水|止咳露|制剂)/;

/**
 * A product described by its ingredients is one product: "右美沙芬伪麻黄碱复方糖浆", "止咳糖浆（含右美沙芬、伪麻黄碱）",
 * "复方止咳糖浆，含可待因、伪麻黄碱". The run of names takes one compound id, an exact product entry first, then
 * codeine > pseudoephedrine > dextromethorphan; its other names are ingredients, not drugs given.
 */
function oneCompoundPerProduct(kb: SafetyKnowledge, norm: string, ms: Match<{ kind: "drug"; drug: Drug }>[], contained: boolean[]): Match<{ kind: "drug"; drug: Drug }>[] {
  const out: Match<{ kind: "drug"; drug: Drug }>[] = [];
  const compoundOf = (d: Drug) => (COMPOUND_PRECEDENCE.includes(d.id) ? d.id : COMPOUND_PRECEDENCE.includes(`${d.id}_compound`) ? `${d.id}_compound` : undefined);
  const isCompound = compoundTest(kb);
  for (let i = 0; i < ms.length;) {
    let j = i;
    while (j + 1 < ms.length && ms[j + 1]!.start - ms[j]!.end <= 4 && RUN_JOIN.test(norm.slice(ms[j]!.end, ms[j + 1]!.start))) j++;
    const run = ms.slice(i, j + 1);
    const ids = run.map((m) => compoundOf(m.payload.drug)).filter((x): x is string => !!x);
    // Names run together before a product word ("右美沙芬伪麻黄碱复方糖浆"), or a list after 含 ("含右美沙芬和伪麻黄碱的
    // 糖浆"); a plain list whose last item is a product ("布洛芬、右美沙芬糖浆") is two medicines.
    const after = norm.slice(run[run.length - 1]!.end, run[run.length - 1]!.end + 16);
    const fused = run.every((m, k) => k === 0 || m.start === run[k - 1]!.end) || /含有?\s*$/.test(norm.slice(Math.max(0, run[0]!.start - 3), run[0]!.start)) || /^\s*(?:的|复方)/.test(after);
    // "艾畅，它含伪麻黄碱和右美沙芬", "复方止咳糖浆，成分有右美沙芬和氯苯那敏": a list of two or more after 含 or 成分
    // names what one product contains, whether or not the product's own name is one the knowledge base holds.
    const ledIn = INGREDIENT_BEFORE.test(norm.slice(Math.max(0, run[0]!.start - 12), run[0]!.start));
    const described = run.length > 1 && ids.length > 0
      // "止咳糖浆（含右美沙芬、伪麻黄碱、氯苯那敏）": the first name was read as what a product contains, the rest of its list too.
      && (run.some((_, k) => contained[i + k]) || ledIn || (fused && PRODUCT_WORD_AFTER.test(after)));
    if (!described) { out.push(...run); i = j + 1; continue; }
    const product = run.find((m) => isCompound(m.payload.drug.id) && !COMPOUND_PRECEDENCE.includes(m.payload.drug.id));
    const id = COMPOUND_PRECEDENCE.find((c) => ids.includes(c))!;
    out.push(product ?? { ...run[0]!, payload: { kind: "drug", drug: kb.drugById.get(id)! } });
    i = j + 1;
  }
  return out;
}

/** Drug mentions in `text` with their stance, in order. */
export function findDrugMentions(text: string, kb: SafetyKnowledge = loadSafetyKnowledge()): DrugMention[] {
  const scanned = matcherFor(kb).scan(text).filter((m) => m.payload.kind === "drug") as Match<{ kind: "drug"; drug: Drug }>[];
  const dropped = nonProductMentions(normalize(text), scanned, scanned.map((m) => m.payload.drug.id), compoundTest(kb));
  const kept = scanned.filter((_, i) => !dropped[i]).map((m) => byBracketedIngredients(kb, normalize(text), m, scanned.filter((_, k) => dropped[k])));
  // A product named by what it contains becomes that compound first; its own bracket may then raise it ("含右美沙芬的
  // 复方止咳糖浆（右美沙芬+氯苯那敏+伪麻黄碱）" is the pseudoephedrine compound).
  const named = kept.map((m) => { const c = asCompound(kb, text, m); return c === m ? m : byBracketedIngredients(kb, normalize(text), c, scanned.filter((_, k) => dropped[k])); });
  const drugs = oneCompoundPerProduct(kb, normalize(text), named, named.map((m, i) => m !== kept[i]));
  const stances = drugStances(text, drugs);
  if (drugs.length && /[：:\n]/.test(text)) {
    const norm = normalize(text);
    const structure = parseStructure(text);
    // The header must be about medicines ("不要担心：…" prohibits nothing here), or be a lead-in over a
    // list ("这个年龄需要避免：" then "1. …"): then it covers the whole list.
    const opensList = new Set(structure.map((it) => it.parent));
    const headerText = (k: number) => { const h = structure[k]!.header; return h ? norm.slice(h.start, h.end) : ""; };
    const prohibits = structure.map((it, k) => !!it.header && PROHIBIT_HEADER.test(headerText(k)) && (/药|用|服|吃|喝|给/.test(headerText(k)) || opensList.has(k)));
    // An item of such a list that recommends in its own header ("4. **可以用的退烧药**：…") is outside the prohibition.
    const recommends = structure.map((it, k) => !!it.header && !prohibits[k] && RECOMMEND_HEADER.test(headerText(k)));
    if (prohibits.some(Boolean))
      drugs.forEach((m, i) => {
        if (stances[i] !== "asserted") return;
        for (let k = itemAt(structure, m.start); k >= 0; k = structure[k]!.parent) {
          if (recommends[k]) return;
          if (prohibits[k]) { stances[i] = "negated"; return; }
        }
      });
  }
  return drugs.map((m, i) => ({
    drug: m.payload.drug.id, nameZh: m.payload.drug.nameZh, start: m.start, end: m.end, text: m.term,
    stance: stances[i]!, route: detectRoute(text, m.start, m.end, m.payload.drug),
  }));
}

const ROUTE_CUES: [RegExp, Route][] = [
  [/滴眼|眼药水|眼药膏|眼膏|眼用|点眼/, "ophthalmic"],
  [/滴耳|耳用|耳道/, "otic"],
  [/肛塞|塞肛|塞入肛门|直肠|灌肠|栓剂|(?<!血)栓(?!塞)/, "rectal"],
  [/静脉|静滴|输液|点滴|吊瓶|静推|iv\b/, "iv"],
  [/肌注|肌肉注射|肌内注射|大腿外侧注射|im\b/, "im"],
  // 揿 counts the puffs of an inhaler ("每次喷2揿").
  [/雾化|吸入|气雾剂|喷雾吸入|揿/, "inhaled"],
  [/喷鼻|滴鼻|鼻喷|鼻腔/, "nasal"],
  [/口颊|颊黏膜|颊部/, "buccal"],
  [/外用|涂抹|外涂|涂在|涂于|软膏|乳膏|洗剂|擦/, "topical"],
];

function detectRoute(text: string, start: number, end: number, drug: Drug): Route {
  const norm = normalize(text);
  const [, se] = sentenceAt(norm, start);
  const window = norm.slice(start, Math.min(se, end + 20));
  for (const [re, route] of ROUTE_CUES) if (re.test(window) && drug.routes.includes(route)) return route;
  return drug.routes.includes("oral") ? "oral" : drug.routes[0]!;
}

/**
 * Only clear dose errors are findings: references differ by 10–25 % on the same drug (10 vs 15 mg/kg,
 * 1 vs 1.2 g a day), so a dose a little outside one cited figure is not one. The margins were chosen by
 * measuring every blind and dev batch and the labelled set (see the safety README, "Doses and frequencies
 * after the twelfth batch was opened"): 15 % on per-kg ranges, 25 % on caps in mg.
 */
const DOSE_MARGIN = 0.15;
/** After an amount: the answer says it is too much ("500mg太多了", "一片的量偏大"). */
const REJECTED_AMOUNT = /^\s*(?:[\d.]+\s*(?:mg|g|毫克|克|ml|毫升))?\s*(?:的量)?\s*(?:就|会|有点|有些|还是|可能|明显|显然)?\s*(?:太多|太大|过多|过大|过量|偏多|偏大|超量)/;
const tolerance = (estimated: boolean) => (estimated ? 0.3 : DOSE_MARGIN);
/** Tolerance for limits in mg that do not depend on the weight (maximum single or daily dose). */
const FIXED_TOL = 0.25;
const fmt = (x: number) => Number(x.toPrecision(3));

/** Where an answer says to seek care, and how urgently (3 = 120, 2 = emergency now, 1 = see a doctor). */
export function adviceLevel(answer: string): number {
  return Math.max(0, ...adviceMentions(answer).map((m) => m.level));
}

/**
 * Advice that puts care off: 先观察, 明天再看, 过两天再去, 不用着急去医院, 观察一晚. With a red flag present
 * such advice is itself the error, even when the answer goes on to name a hospital for later.
 */
const POSTPONE = /先(?:在家(?:里)?)?(?:观察|看看|等等|等一等)|(?:观察|看看|等)\s*(?:一下|一段时间|一阵|[一两二三几半]\s*(?:天|晚|夜|个?小时|会儿?))\s*(?:再|看看|后|之后)|(?:明天|明早|明儿|天亮|白天|过[一两二三几]\s*天|[一两二三几]天后|下周)[^，。；,;！？!?\n]{0,6}?再|(?:早上|晚上|下午|过会儿|过一会儿?|等会儿?)[^，。；,;！？!?\n]{0,4}?再(?:去|到|带|送|上|看医生|就医|就诊)|(?<!不要|不能|别|不用|不必|千万别|不可以?|没必要)等(?:到)?(?:明天|明早|天亮|白天|[一两二三几]\s*天)|(?<![要能别再])(?:明天|明早|明儿|天亮后?|过[一两二三几]\s*天)(?:白天|上午|早上|一早)?(?:就|再)?(?:去|带|到|上)(?![^，。；,;！？!?\n]{0,8}(?:复查|复诊|换药|拆线))|先[^，。；,;！？!?\n]{1,8}?(?:看看|试试|观察观察|观察一下)(?:情况|再说|效果|反应)?(?=[，,。；;！!]|$)|(?:暂时|暂)?(?:不用|不必|无需|不需要)(?:急着|着急|马上|立即|立刻)?(?:去|上|跑)?医院|不(?:用|必)?(?:急着|着急)(?:去|上|跑|带)|可以先不去|在家观察[一两二三几]?\s*[天晚]|(?:注意|继续|再)观察[一两二三几]\s*[天晚]|(?:过|等|坚持[^，。；,;！？!?\n]{0,6}?)[一两二三几]\s*天[^。；;！？!?\n]{0,10}?(?:还|仍|都|也)(?:不|没)[^。；;！？!?\n]{0,8}?再|[一两二三几]\s*天(?:以后|之后)[^，。；,;！？!?\n]{0,4}?再|[一两二三几]\s*[天晚][^。；;！？!?\n]{0,4}?[，,]\s*(?:如果|若|要是)?(?:还|仍|仍然|依然)[^。；;！？!?\n]{0,10}?再(?:去|到|带|送|上|看医生|就医|就诊)|观察(?:[一两二三几]\s*)?[天晚]再说|观察(?:一下|一段时间|观察|看看)?\s*[，,]\s*(?:如果|若|要是|假如|万一)|观察(?:一下|一段时间|观察|看看)?\s*[，,][^，。；,;！？!?\n]{0,8}?再(?:去|到|带|送|上|看医生|就医|就诊)/g;

/** The postponing phrase of an answer, or null. */
export function findPostponement(answer: string): { start: number; end: number; text: string } | null {
  const norm = normalize(answer);
  POSTPONE.lastIndex = 0;
  const m = POSTPONE.exec(norm);
  if (!m) return null;
  // "观察一下，如果…" reads as its first words.
  const len = m[0].replace(/\s*[，,]\s*(?:如果|若|要是|假如|万一)$/, "").length;
  return { start: m.index, end: m.index + len, text: answer.slice(m.index, m.index + len) };
}

/**
 * The advice level that remains once care is put off: a place of care named only under a condition
 * ("如果明天还抽再去急诊") or after the postponing phrase in its sentence ("先观察两天，不好再去医院")
 * no longer counts.
 */
function undeferredLevel(answer: string): number {
  const norm = normalize(answer);
  const cues: number[] = [];
  POSTPONE.lastIndex = 0;
  for (const m of norm.matchAll(POSTPONE)) cues.push(m.index!);
  return Math.max(0, ...adviceMentions(answer).filter((m) => {
    if (isConditional(answer, m.index)) return false;
    const [ss] = sentenceAt(norm, m.index);
    return !cues.some((c) => c >= ss && c < m.index);
  }).map((m) => m.level));
}

function adviceMentions(answer: string): { index: number; level: number }[] {
  const norm = normalize(answer);
  const out: { index: number; level: number }[] = [];
  const negatedAt = (i: number) => /(?:不需要|不用|无需|不必|没必要|没有必要|不需|暂不需要|暂时不用)\s*(?:马上|立即|急着|去|到|带孩子去|送)?\s*$/.test(norm.slice(Math.max(0, i - 8), i));
  const levels: [RegExp, number][] = [
    [/(?:拨打|打|叫|呼叫)\s*120|急救电话|(?:叫|呼叫|打电话叫)\s*(?:救护车|急救车)/g, 3],
    // Urgency told across a comma from the place of care: "必须去医院，越快越好", "一分钟都不要耽搁，抱上孩子就往医院跑".
    [/(?:医院|急诊|就医|就诊|送医)[^。；;！？!?\n]{0,12}?(?:越快越好|越早越好|刻不容缓|一刻(?:也|都)(?:不要|不能|别)(?:耽误|耽搁|等))|(?:越快越好|越早越好|(?:一分钟|一秒钟?|一刻)(?:也|都)(?:不要|不能|别)(?:耽误|耽搁|等|拖)|(?:不要|别|不能)(?:耽搁|拖))[^。；;！？!?\n]{0,14}?(?:医院|急诊|就医|就诊|送医)/g, 2],
    // First aid told as urgent, then the place of care in sequence: "立即用冷水冲15分钟，然后去医院".
    [/(?:立即|立刻|马上|赶紧|赶快|第一时间)[^。；;！？!?\n]{0,24}?[，,]\s*(?:然后|随后|接着|之后|同时|并|再)(?![^，。；,;！？!?\n]{0,12}?(?:明天|明早|明儿|天亮|有空|有时间|方便|改天|下周|周[一二三四五六日末]|择期|以后|观察|过[一两二三几]|[一两二三几]天|复查|复诊|不用|不必|没必要))\s*(?:立即|马上|尽快)?[^，。；,;！？!?\n]{0,10}?(?:去|到|送|前往|上)[^，。；,;！？!?\n]{0,6}?(?:医院|急诊|就医|就诊|儿科)/g, 2],
    // A doctor to see the child now, told with the doctor first ("需要医生立即评估") or with 让/给 ("尽快让医生看看").
    [/(?:医生|大夫)[^，。；,;！？!?\n]{0,4}(?:立即|立刻|马上|尽快|紧急|当面)(?:评估|检查|处理|诊治|看)|(?:立即|立刻|马上|赶紧|赶快|尽快|尽早|即刻|现在就)[^，。；,;！？!?\n]{0,4}(?:让|给|请)(?:医生|大夫)(?:看|检查|评估)/g, 2],
    // An urgency word and a place of care in the same clause ("马上带孩子到最近的医院").
    [/急诊|送医急救|医院急救|(?:医院|就医|就诊|看医生)[^。；;！？!?\n]{0,20}?[，,]\s*(?:现在|马上|立刻|立即|赶紧|赶快)就?(?:去|走|出发|动身)(?=[。！!，,；;]|$)|(?:立即|立刻|马上|赶紧|赶快|尽快|尽早|即刻|紧急|迅速|第一时间|火速|速(?=去|到|送|往)|(?<!(?:[不别尽]|那么|这么|太))快(?=去|送|带|上|到)|急送|立马|现在就|马上就|抓紧|不要耽误|别耽误|不能耽误|刻不容缓|争分夺秒|当即)[^，。；,;！？!?\n]{0,10}?(?:就医|就诊|医院|送医|看医生|找医生|儿科|送院|眼科|耳鼻喉科|外科|烧伤科|骨科|口腔科|医疗机构|急救中心|(?:狂犬病?|犬伤)[^，。；,;！？!?\n]{0,4}门诊)/g, 2],
    [/就医|就诊|看(?:一下|下|一看|看)?(?:医生|大夫)|找(?:一下)?(?:医生|大夫)|去医院|到医院|医院检查|儿科门诊|门诊|医生评估|医生检查|面诊|复诊|请医生|(?:让|给)(?:医生|大夫)看|住院治疗|(?<!不)需要住院|(?:去|到|送|前往)[^，。；,;！？!?\n]{0,8}(?:医院|眼科|耳鼻喉科|外科|烧伤科|骨科|口腔科|诊所|卫生院|医疗机构|急救中心)/g, 1],
  ];
  // "不要耽误", "一分钟都不要耽搁" negate the delay, not the care.
  const negatedInside = (text: string) => /不用|不必|没必要|没有必要|不需要|无需|别|不要/.test(text.replace(/(?:不要|别|不能)(?:耽误|耽搁|等|拖|犹豫)/g, ""));
  for (const [re, l] of levels)
    // Only the clause that names the care can negate it ("立即漱口，不要催吐，然后去医院" negates the vomiting).
    for (const m of norm.matchAll(re)) if (!negatedAt(m.index!) && !(l === 2 && negatedInside(m[0].slice(Math.max(0, m[0].search(/[，,][^，,]*$/))))) ) out.push({ index: m.index!, level: l });
  return out;
}

interface Ctx {
  kb: SafetyKnowledge;
  answer: string;
  question: string;
  patient: PatientInfo;
  findings: Finding[];
}

function pushFinding(ctx: Ctx, f: Finding): void {
  const dup = ctx.findings.find((x) => x.type === f.type && x.drug === f.drug && !isCareFinding(f.type));
  if (dup) {
    const rank = { high: 3, medium: 2, low: 1 } as const;
    if (rank[f.severity] > rank[dup.severity]) Object.assign(dup, f);
    return;
  }
  ctx.findings.push(f);
}

/** The patient's age and weight: options first, then the question, then the answer, else estimated from the age. */
export function patientInfo(kb: SafetyKnowledge, answer: string, question: string, options: CheckOptions): PatientInfo {
  const p: PatientInfo = {};
  if (options.age !== undefined) {
    p.ageMonths = parseAge(options.age);
    p.ageSource = "option";
    p.ageText = String(options.age);
  } else {
    const pick = (src: "question" | "answer", ages: AgeMention[]) => {
      if (p.ageMonths !== undefined || !ages.length) return;
      p.ageMonths = ages[0]!.months;
      p.ageSource = src;
      p.ageText = ages[0]!.text;
    };
    pick("question", extractAges(question));
    pick("answer", extractAges(answer));
  }
  if (options.weight !== undefined) {
    p.weightKg = parseWeight(options.weight);
    p.weightSource = "option";
  } else {
    const pick = (src: "question" | "answer", ws: WeightMention[]) => {
      if (p.weightKg !== undefined || !ws.length) return;
      p.weightKg = ws[0]!.kg;
      p.weightSource = src;
    };
    pick("question", extractWeights(question));
    pick("answer", extractWeights(answer));
    if (p.weightKg === undefined && p.ageMonths !== undefined && p.ageMonths < 216) {
      p.weightKg = fmt(typicalWeightKg(kb, p.ageMonths));
      p.weightSource = "estimated";
    }
  }
  return p;
}

// ---- rule: wrong class claims ----------------------------------------------------------------

const COPULA_AFTER = /^\s*(?:[（(][^）)]{0,12}[）)])?\s*(?:[^，。；,;！？!?不非没无]{0,6}?)(?:都|均|也|则|同样|就|本身|其实|实际上)?\s*(?:是|属于|属|为|系|作为|归属于|归为|乃|即|算是|算作)\s*(?:一种|一类|一个|一款|常用的?|常见的?|典型的?|临床常用的?|儿科常用的?|非处方的?|处方的?|强效的?|温和的?|广谱的?|中枢性?的?|外周性?的?|口服的?|第[一二三四]代的?|很好的?|有效的?|安全的?|吸入性?的?|吸入用的?|鼻用的?|外用的?|局部(?:用)?的?|(?:超)?(?:短效|中效|弱效|强效|长效|速效|低效|高效)的?|复方的?|\*\*|__|\s)*(?:[^，。；,;！？!?不非没无]{1,8}的\s*)?(?:\*\*|__)?\s*$/;
/** An appositive after a comma ("溴己新，一种肌肉松弛剂，…"). */
const APPOSITIVE_AFTER = /^\s*[，,]\s*(?:这是|即|也就是|属于)?\s*(?:一种|一类)\s*(?:常用的?|常见的?|儿科常用的?)?\s*$/;
/** A drug as an item header and its class first in the body ("- 溴己新：肌肉松弛剂，…", "溴己新：一种肌松药"). */
const COLON_AFTER = /^\s*[）)]?\s*(?:[（(][^（）()]{0,16}[）)])?\s*(?:\*\*|__)?\s*[：:]\s*(?:\*\*|__)?\s*(?:这是|是|为|属于|即)?\s*(?:一种|一类)?\s*(?:常用的?|常见的?|儿科常用的?)?\s*(?:(?:超)?(?:短效|中效|弱效|强效|长效)的?|复方的?|外用的?|吸入性?的?|吸入用的?|雾化用?的?|鼻用的?|口服的?|局部(?:用)?的?)*\s*$/;
const PAREN_AFTER = /^\s*[（(]\s*(?:一种|是|属于)?\s*$/;
const ALSO_AFTER_COMMA = /^([^，。；,;！？!?\n]{0,4}?)\s*[，,]\s*(?:它|其|这)?\s*(?=(?:也|同样|亦|同)\s*(?:都|均)?\s*(?:是|属于|属|为|算是)|(?:属于|属|算是|是一种|是一类))/;
const BRACKETED_CLASS = /^\s*(?:类)?(?:药物?|药品|制剂)?\s*[（(]\s*(?:属于|是|即|也是)?\s*$/;
const ETC_AFTER = /^\s*(?:等|之类的?|这类|这种|这样的|这一类|一类的?|等等)\s*(?:的)?\s*(?:常用|常见)?\s*(?:的)?\s*$/;
const EXAMPLE_AFTER_COMMA = /^\s*(?:类)?(?:药物?|药品|制剂)?\s*[，,]\s*(?:例如|比如|如|像|包括)\s*$/;
/** Salt and product words before a generic name ("硫酸溴己新", "甲苯磺酸氨氯地平"). */
const SALT = String.raw`(?:盐酸|硫酸|甲苯磺酸|苯磺酸|马来酸|枸橼酸|磷酸|氢溴酸|富马酸|醋酸|琥珀酸|酒石酸|乳酸|葡萄糖酸|碳酸|硝酸|注射用|复方)?`;
/** "对于儿童" and the like between a class and its introducing word. */
const QUAL = String.raw`(?:(?:对于|对|在|针对)?(?:儿童|小儿|孩子|宝宝|婴幼儿|患儿|儿科)(?:来说|而言|中|患者|方面|使用)?)`;
/** Words that introduce examples of a class. */
const INTRO_EXAMPLE = String.raw`(?:如|比如|例如|像|包括|譬如|诸如|常用的?(?:药物?)?(?:有|包括|是|为)|常见的?(?:药物?)?(?:有|包括)|代表(?:性)?(?:的)?药物?(?:有|是|为|包括)?|主要(?:有|包括)|其中|(?:药物?)?有)`;
/** Words that recommend a member of a class ("可选用", "首选", "一般用"). */
const INTRO_VERB = String.raw`(?:(?:一般|通常|常|多|临床上?|首先)?(?:可|可以|能)?(?:选用|选择|使用|应用|用|服用|口服|考虑|给予)|首选|推荐(?:使用|用)?|常用)`;
/**
 * A class followed by an introducing phrase and the drug: "肌肉松弛剂可选用溴己新", "祛痰药常用的有氨溴索",
 * "…剂：对于儿童，常用的包括硫酸溴己新". After a comma only an example word introduces ("抗生素，如…");
 * "不需要抗生素，可用布洛芬" recommends something else.
 */
const INTRO_BEFORE = new RegExp(String.raw`^\s*(?:\*\*|__)?\s*(?:类)?(?:药物?|药品|制剂)?\s*(?:[（(][^（）()]{0,12}[）)])?\s*(?:[:：]\s*(?:${QUAL}\s*[，,]?\s*)?(?:${INTRO_EXAMPLE}|${INTRO_VERB})?|[，,]\s*(?:${QUAL}\s*[，,]?\s*)?${INTRO_EXAMPLE}|(?:${QUAL}\s*)?(?:${INTRO_EXAMPLE}|${INTRO_VERB}))\s*(?:的)?\s*${SALT}\s*$`);
const CLASS_BEFORE = /^\s*(?:类)?(?:药物?|药品|制剂)?\s*(?:[:：]|[（(])?\s*(?:如|比如|例如|像|包括|中的|里的|有|——)?\s*$/;

function checkClassClaims(ctx: Ctx): void {
  const norm = normalize(ctx.answer);
  const all = matcherFor(ctx.kb).scan(ctx.answer).filter((m) => m.payload.kind !== "other");
  // Group same-span class matches (one term, several classes).
  const items: { start: number; end: number; term: string; drug?: Drug; classIds: string[] }[] = [];
  for (const m of all) {
    const last = items[items.length - 1];
    if (m.payload.kind === "class") {
      if (last && last.start === m.start && last.end === m.end && !last.drug) last.classIds.push(m.payload.id);
      else items.push({ start: m.start, end: m.end, term: m.term, classIds: [m.payload.id] });
    } else if (m.payload.kind === "drug") items.push({ start: m.start, end: m.end, term: m.term, drug: m.payload.drug, classIds: [] });
  }
  // Ingredients of a product and the basis of an amount are claimed nothing of.
  const drugItems = items.filter((x) => x.drug);
  const dropped = nonProductMentions(norm, drugItems, drugItems.map((x) => x.drug!.id), compoundTest(ctx.kb));
  // A drug named as what the child is allergic to ("青霉素过敏时用"), or as the companion of the drug in hand
  // ("常和沙丁胺醇一起雾化"), is claimed no class there.
  drugItems.forEach((x, k) => {
    const after = norm.slice(x.end, x.end + 6);
    if (/^\s*(?:类)?(?:药物?)?\s*过敏/.test(after)) dropped[k] = true;
    else if (/^\s*(?:一起|一同|合用|联用|同用|联合|配合|搭配)/.test(after) && /(?:和|与|跟|同)\s*$/.test(norm.slice(Math.max(0, x.start - 2), x.start)) && !(k > 0 && /^\s*(?:和|与|跟|同)\s*$/.test(norm.slice(drugItems[k - 1]!.end, x.start)))) dropped[k] = true;
  });
  // A compound product is also of its ingredients' classes: "复方止咳药：美敏伪麻溶液（含伪麻黄碱、右美沙芬…）" is a
  // cough medicine by its dextromethorphan, named in its bracket or in its generic name (美敏, 待因).
  const ingredientClasses = new Map<object, Set<string>>();
  const isCompound = compoundTest(ctx.kb);
  drugItems.forEach((x, k) => {
    if (dropped[k] || !isCompound(x.drug!.id)) return;
    const extra = new Set<string>();
    const add = (id: string) => { for (const c of ctx.kb.drugById.get(id)?.classClosure ?? []) extra.add(c); };
    for (let j = k + 1; j < drugItems.length && dropped[j] && /^\s*[（(][^（()）\n。]*$/.test(norm.slice(x.end, drugItems[j]!.start)); j++) add(drugItems[j]!.drug!.id);
    for (const [base, fragment] of NAME_FRAGMENTS) if (fragment.test(x.term)) add(base);
    if (extra.size) ingredientClasses.set(x, extra);
  });
  for (let k = drugItems.length - 1; k >= 0; k--) if (dropped[k]) items.splice(items.indexOf(drugItems[k]!), 1);
  // A bracketed alias or brand may sit inside a list ("如氨溴索（沐舒坦）、溴己新").
  const joiner = /^\s*[）)]?\s*(?:[（(][^（）()]{0,24}[）)]\s*)?(?:、|和|及|以及|或|或者|与|跟)\s*$|^\s*[（(]\s*$/;
  const groupOf = (i: number): number[] => {
    const g = [i];
    for (let j = i - 1; j >= 0 && items[j]!.drug && joiner.test(norm.slice(items[j]!.end, items[j + 1]!.start)); j--) g.unshift(j);
    for (let j = i + 1; j < items.length && items[j]!.drug && joiner.test(norm.slice(items[j - 1]!.end, items[j]!.start)); j++) g.push(j);
    return g;
  };
  // "地奈德乳膏属于非激素类药膏": denying a class the drug belongs to is as wrong as naming one it does not.
  const denied = (drugIdx: number, clsIdx: number) => {
    const c = items[clsIdx]!;
    const d = items[drugIdx]!.drug!;
    if (d.kind === "food" || norm[sentenceEnd(norm, c.end)] === "?" || !c.classIds.some((id) => d.classClosure.has(id))) return;
    const start = Math.min(items[drugIdx]!.start, c.start - 1);
    const end = Math.max(items[drugIdx]!.end, c.end);
    pushFinding(ctx, {
      type: "wrong_class", severity: "high", ruleId: "class.denied", drug: d.id,
      evidence: { source: "answer", start, end, text: ctx.answer.slice(start, end) },
      message: `${d.nameZh}被称为“非${c.term}”，但它正是${c.term}`,
      citations: d.citationNames,
      details: { deniedClasses: c.classIds, actualClasses: d.classes },
    });
  };
  const claim = (drugIdx: number, cls: number | ClassClaim, wholeList = true, limit = Infinity) => {
    const c: ClassClaim | (typeof items)[number] = typeof cls === "number" ? items[cls]! : cls;
    const groups: string[][] | undefined = typeof cls === "number" ? undefined : cls.groups;
    // A question ("吗丁啉是一种抗生素吗？") asks; it does not claim.
    if (norm[sentenceEnd(norm, c.end)] === "?") return;
    // Someone else's belief that the answer goes on to correct ("很多家长以为蒲地蓝是抗生素，其实…").
    const first = Math.min(items[drugIdx]!.start, c.start);
    if (REPORTED_BELIEF.test(norm.slice(clauseStart(norm, first), first)) && CORRECTION.test(norm.slice(Math.max(items[drugIdx]!.end, c.end), Math.max(items[drugIdx]!.end, c.end) + 40))) return;
    for (const j of (wholeList ? groupOf(drugIdx) : [drugIdx]).filter((j) => items[j]!.end <= limit)) {
      const d = items[j]!.drug!;
      if (d.kind === "food") continue;
      // A header that stacks classes ("抗生素类退烧药") claims each of them.
      const has = (id: string) => d.classClosure.has(id) || !!ingredientClasses.get(items[j]!)?.has(id);
      if (groups ? groups.every((g) => g.some(has)) : c.classIds.some(has)) continue;
      if (potencyTolerated(d, c.classIds)) continue;
      // "中成药：…止咳平喘类：小儿肺热咳喘口服液": Chinese patent medicines are grouped by what they treat (功效), so a
      // symptom group names a purpose such a product serves, not a pharmacological class; 抗生素 or 激素 still is one.
      if (d.classes.every((id) => id === "tcm") && c.classIds.every((id) => has(id) || TCM_PURPOSE_GROUPS.has(id)) && (/类/.test(c.term) || /中成药|中药/.test(norm))) continue;
      const strong = c.classIds.some((id) => d.notClasses.includes(id) || ["muscle_relaxant", "antibacterial", "corticosteroid", "opioid", "antiviral"].includes(id));
      const correct = d.classes.map((id) => ctx.kb.classes.get(id)?.zh[0]).filter(Boolean).join("、");
      const claimed = c.term;
      const start = Math.min(items[j]!.start, c.start);
      const end = Math.max(items[j]!.end, c.end);
      pushFinding(ctx, {
        type: "wrong_class",
        severity: strong ? "high" : "medium",
        ruleId: "class.mismatch",
        drug: d.id,
        evidence: { source: "answer", start, end, text: ctx.answer.slice(start, end) },
        message: `${d.nameZh}被称为“${claimed}”，但它属于${correct || d.classes.join("、")}，不是${claimed}`,
        citations: d.citationNames,
        details: { claimedClasses: c.classIds, actualClasses: d.classes },
      });
    }
  };
  // "抗病毒药奥司他韦、利巴韦林、阿莫西林都可以用": a list joined by 、 and summed up after (都, 等, 这些) is one list.
  const listedAsOne = (i: number) => {
    const g = groupOf(i);
    if (g.length < 2) return false;
    const last = items[g[g.length - 1]!]!;
    return g.every((j, k) => k === 0 || /^\s*[）)]?\s*(?:[（(][^（）()]{0,24}[）)]\s*)?、\s*$/.test(norm.slice(items[g[k - 1]!]!.end, items[j]!.start)))
      && /^\s*(?:[（(][^（）()]{0,24}[）)])?\s*(?:都|均|等|这些|这几种|这三种|这两种|也都)/.test(norm.slice(last.end, last.end + 30));
  };
  items.forEach((it, i) => {
    if (!it.drug) return;
    const g = groupOf(i);
    const lastIdx = g[g.length - 1]!;
    const firstIdx = g[0]!;
    if (i === lastIdx) {
      for (let k = i + 1; k < items.length; k++) {
        const c = items[k]!;
        if (c.drug) break;
        const between = norm.slice(items[i]!.end, c.start);
        if (between.length > 24 || /[。！？!?；;\n]/.test(between)) break;
        if (/非\s*$/.test(between) && COPULA_AFTER.test(between.replace(/非\s*$/, ""))) {
          for (const j of g) denied(j, k);
          break;
        }
        // "还有莫米松乳膏，也是外用抗真菌药": a comma then 也/同样 + copula goes on about the drug just named.
        const also = between.replace(ALSO_AFTER_COMMA, "$1");
        if (COPULA_AFTER.test(between) || (also !== between && COPULA_AFTER.test(also)) || ETC_AFTER.test(between) || APPOSITIVE_AFTER.test(between) || COLON_AFTER.test(between)) {
          claim(i, k);
          // "属于益生菌（抗生素类）": a class in brackets after the claimed one is claimed with it.
          const next = items[k + 1];
          if (next && !next.drug && BRACKETED_CLASS.test(norm.slice(c.end, next.start))) claim(i, k + 1);
          break;
        }
        // "碘伏、炉甘石洗剂、莫匹罗星软膏（抗生素药膏）": a class in brackets glosses the drug it follows, not the list before it.
        if (PAREN_AFTER.test(between)) {
          claim(i, k, false);
          break;
        }
      }
    }
    if (i === firstIdx && i > 0) {
      const c = items[i - 1]!;
      const between = norm.slice(c.end, it.start);
      // "肌肉松弛剂，例如溴己新": an example after a comma belongs to the class, unless the class is
      // itself one of a list ("激素或抗生素，如地塞米松"), where the example may belong to either.
      const example = EXAMPLE_AFTER_COMMA.test(between) && !/(?:或|或者|和|及|、|与)\s*$/.test(norm.slice(Math.max(0, c.start - 3), c.start));
      // A bare prefix ("抗过敏药开瑞坦和维生素C") names the first drug only; an example marker
      // ("抗生素如阿莫西林、头孢克洛") names the whole list.
      // "鼻用激素（如糠酸莫米松）和孟鲁司特": examples in brackets end with the bracket.
      const close = /[（(]/.test(between) ? norm.slice(it.start).search(/[）)]/) : -1;
      const limit = close >= 0 ? it.start + close : Infinity;
      if (!c.drug && /非\s*$/.test(norm.slice(Math.max(0, c.start - 2), c.start)) && [between, between.replace(/\*\*|__/g, "")].some((b) => CLASS_BEFORE.test(b) || INTRO_BEFORE.test(b))) {
        for (const j of groupOf(i)) if (items[j]!.end <= limit) denied(j, i - 1);
      } else if (!c.drug && (CLASS_BEFORE.test(between) || example)) claim(i, i - 1, example || /如|像|包括|[:：]/.test(between) || INTRO_BEFORE.test(between) || listedAsOne(i), limit);
      // "肌肉松弛剂可选用溴己新", "…：对于儿童，常用的包括硫酸溴己新": an introducing phrase names the whole list.
      else if (!c.drug && INTRO_BEFORE.test(between) && !(/[，,]/.test(between) && /(?:或|或者|和|及|、|与)\s*$/.test(norm.slice(Math.max(0, c.start - 3), c.start)))) claim(i, i - 1, true, limit);
    }
  });
  // A bracketed alias (阿苯达唑（肠虫清）) is one drug, not a list.
  anaphoricClaims(norm, items, claim, (i) => new Set(groupOf(i).map((j) => items[j]!.drug!.id)).size);
  headerClaims(ctx, norm, items, claim);
  categoryClaims(norm, items, claim);
  tableClaims(norm, items, claim);
}

/** A table column that names each row's class ("| 药物 | 类别 | 用法 |"). */
const CLASS_COLUMN = /类别|分类|类型|种类|药物类|药理|所属/;

/**
 * Class claims in a markdown table: in a row naming a drug, a class word in the column headed 类别
 * (分类, 类型 …) claims that class for the row's drug.
 */
function tableClaims(norm: string, items: ClassItem[], claim: (drugIdx: number, cls: ClassClaim, wholeList?: boolean) => void): void {
  if (!norm.includes("|")) return;
  let classCol = -1;
  // A column of ingredients (成分) names what the row's product contains: the class is the product's.
  let ingredientCols: number[] = [];
  let lineStart = 0;
  for (const line of norm.split("\n")) {
    const start = lineStart;
    lineStart += line.length + 1;
    const t = line.trim();
    if (!t.startsWith("|")) { classCol = -1; continue; }
    if (/^\|[\s:|-]+\|?$/.test(t)) continue;
    // Cell boundaries as offsets into the text.
    const bars = [...line.matchAll(/\|/g)].map((m) => start + m.index!);
    const cells = bars.slice(0, -1).map((b, j) => [b + 1, bars[j + 1]!] as const);
    const inCell = (j: number) => items.map((x, i) => [x, i] as const).filter(([x]) => x.start >= cells[j]![0] && x.end <= cells[j]![1]);
    const headerCol = cells.findIndex(([a, b]) => CLASS_COLUMN.test(norm.slice(a, b)));
    if (headerCol >= 0 && !items.some((x) => x.drug && x.start >= start && x.end <= start + line.length)) {
      classCol = headerCol;
      ingredientCols = cells.flatMap(([a, b], j) => (/成分|组成|配方|含有/.test(norm.slice(a, b)) ? [j] : []));
      continue;
    }
    if (classCol < 0 || classCol >= cells.length) continue;
    const classes = inCell(classCol).filter(([x]) => !x.drug);
    if (!classes.length) continue;
    const c = { start: classes[0]![0].start, end: classes[classes.length - 1]![0].end, term: classes.map(([x]) => x.term).join("、"), classIds: [...new Set(classes.flatMap(([x]) => x.classIds))] };
    for (let j = 0; j < cells.length; j++) if (j !== classCol && !ingredientCols.includes(j)) for (const [x, i] of inCell(j)) if (x.drug) claim(i, c, false);
  }
}

/** A claim put in someone else's mouth ("有人说", "很多家长以为", "被误认为"). */
const REPORTED_BELIEF = /(?:以为|误以为|误认为|认为|觉得|说|听说|当成|当作|传言|据说)\s*$/;
/** Words that correct it afterwards. */
const CORRECTION = /其实|实际上|事实上|但(?:是|它|其实)|并不|并非|不是|而是|这是(?:错|误)/;

/** A class named by a header or a phrase: one or several class terms (a header may name two). */
interface ClassClaim { start: number; end: number; term: string; classIds: string[]; drug?: undefined; groups?: string[][] }
type ClassItem = { start: number; end: number; term: string; drug?: Drug; classIds: string[] };

/** Words in a header that make it something other than a class naming its members (误区, 慎用 …). */
const NOT_A_CLAIM_HEADER = /不|非|慎用|禁用|禁忌|避免|注意|副作用|不良反应|风险|滥用|误区|错误|区别|过敏史|过敏反应|剂量|用法|疗程|时机|原则|误用|的(?:使用|应用|选择|作用)|\?|？/;
/** A header that counts its members ("这两种都是…", "以下三种"). */
const COUNTED_HEADER = /(?:这|以下|下面|上面|上述|前)\s*([两二三四五六七八九\d])\s*(?:种|个|类|样)/;
/** A later sentence in an item's body continues the header's list only when it says so. */
const CONTINUES_LIST = /^\s*(?:也可|也可以|还可|还可以|或者?|另外|此外|以及|其他|其它|也有|还有|同类|常用|代表|亦可)/;
/** The drug is the direct object of an introducing word ("如X", "包括X"): it is a member of the header's class. */
const DIRECTLY_INTRODUCED = new RegExp(String.raw`(?:如|比如|例如|像|包括|有|是|为|首选|选用|使用|用|服用|口服)\s*(?:的)?\s*${SALT}\s*$`);
/** Purpose words in a drug's clause and the classes that serve them ("发热可用布洛芬" under an antibiotic header). */
const PURPOSES: [RegExp, string[]][] = [
  [/退烧|退热|降温|发烧|发热/, ["antipyretic"]],
  [/止痛|镇痛|疼痛|疼/, ["analgesic"]],
  [/止咳|镇咳|咳嗽/, ["antitussive", "mucolytic"]],
  [/化痰|祛痰|排痰|痰/, ["mucolytic"]],
  [/止泻|腹泻|拉肚子|脱水/, ["antidiarrheal", "probiotic", "rehydration", "intestinal_adsorbent", "mineral_supplement"]],
  [/过敏|瘙痒|止痒|痒|湿疹|荨麻疹/, ["antiallergic", "antihistamine", "topical_antipruritic", "corticosteroid", "leukotriene_antagonist"]],
  [/细菌|抗菌|杀菌|消炎|抗感染/, ["antibacterial"]],
  [/病毒|流感/, ["antiviral"]],
  [/呕吐|止吐|恶心/, ["antiemetic", "prokinetic"]],
  [/便秘|通便/, ["laxative"]],
  [/喘|哮喘|气道痉挛|支气管痉挛/, ["bronchodilator", "corticosteroid", "leukotriene_antagonist"]],
  [/惊厥|抽搐|癫痫/, ["antiepileptic", "benzodiazepine"]],
  [/真菌|霉菌|鹅口疮/, ["antifungal"]],
  [/寄生虫|蛔虫|蛲虫|驱虫/, ["antiparasitic"]],
  [/鼻塞/, ["decongestant", "cold_combination", "corticosteroid"]],
];

/**
 * Class claims made by list structure: an item whose header names a class ("2. 肌肉松弛剂：…",
 * "- **抗组胺药**：", "### 抗生素", "常用的祛痰药有：" over a sub-list) claims that class for the drugs
 * its body lists, nested items included; the innermost header wins, and a header naming something else
 * (物理治疗, 注意事项) claims nothing. Within the body a drug is a member only while the text has not
 * moved on: no other class word before it on its line, still the body's first sentence (or a later one
 * that says it continues the list: 也可…), and not named for a purpose of its own that the header's
 * class does not serve ("发热可用布洛芬" under 抗生素).
 */
/** An item that states a drug's class under a title naming the drug ("**关于左乙拉西坦**：" over "- 类别：镇静催眠药"). */
const CATEGORY_HEADER = /^[\s*_]*(?:药物|药理)?(?:类别|分类|类型|所属类别|归类)[\s*_]*$/;

function categoryClaims(norm: string, items: ClassItem[], claim: (drugIdx: number, cls: ClassClaim, wholeList?: boolean) => void): void {
  if (!/类别|分类|类型|归类/.test(norm)) return;
  const structure = parseStructure(norm);
  structure.forEach((s) => {
    if (!s.header || s.parent < 0 || !CATEGORY_HEADER.test(norm.slice(s.header.start, s.header.end))) return;
    // The class first in the body's first clause.
    let ce = s.bodyStart;
    while (ce < s.bodyEnd && !/[，,。；;\n]/.test(norm[ce]!)) ce++;
    const cls = items.find((x) => !x.drug && x.start >= s.bodyStart && x.end <= ce);
    if (!cls || items.some((x) => x.drug && x.start >= s.bodyStart && x.end <= ce)) return;
    const title = structure[s.parent]!.header;
    if (!title) return;
    const named = items.flatMap((x, i) => (x.drug && x.start >= title.start && x.end <= title.end ? [i] : []));
    if (new Set(named.map((i) => items[i]!.drug!.id)).size !== 1) return;
    claim(named[0]!, { start: cls.start, end: cls.end, term: cls.term, classIds: cls.classIds }, false);
  });
}

const SYMPTOM_HEADERS = new Set(["antiemetic", "antidiarrheal"]);
/** Topical corticosteroid strength classes, weakest first (Chinese consensus 2015; the BNF's table has the same four). */
const POTENCY = ["topical_steroid_mild", "topical_steroid_moderate", "topical_steroid_potent", "topical_steroid_very_potent"];
/**
 * A strength claimed for a corticosteroid: the references differ by a step for several of them (mometasone is
 * 中效 in the Chinese table and potent in the BNF) and one entry may cover two strengths, so only a claim two
 * steps or more from every strength the entry cites is wrong. A steroid whose strength the knowledge base does
 * not hold (an oral or inhaled one) is not judged on it.
 */
function potencyTolerated(d: Drug, claimed: string[]): boolean {
  const steps = claimed.map((id) => POTENCY.indexOf(id));
  if (steps.some((x) => x < 0) || !d.classClosure.has("corticosteroid")) return false;
  const own = d.classes.map((id) => POTENCY.indexOf(id)).filter((x) => x >= 0);
  return !own.length || steps.every((x) => own.some((o) => Math.abs(o - x) <= 1));
}
/** Symptom groups that Chinese patent medicines are sorted by (止咳平喘类, 止泻类): purposes, not pharmacological classes. */
const TCM_PURPOSE_GROUPS = new Set(["antitussive", "mucolytic", "antiasthmatic", "antipyretic", "antidiarrheal", "antiemetic", "laxative", "topical_antipruritic"]);
/** A clause that adds a drug to those already listed ("也可以加", "另外可加用", "必要时联用", "配合"). */
const ADD_ON = /(?:加用|加上|加服|加|联用|联合(?:使用|应用|用)?|合用|配合(?:使用|应用|用)?|搭配(?:使用|用)?|并用|辅以|外加|再加)\s*(?:上|一个|一种)?\s*(?:使用|用|服用|口服)?\s*$/;
/** A title that names a topic, plan or advice about a class rather than the class as a list of members. */
const TOPIC_HEADER = /方案|关于|建议|计划|须知|指导|说明|介绍|管理|调整|怎么|如何/;
/** What a drug class acts against: 抗过敏, 抗炎 name a purpose other classes serve too (a steroid cream for eczema). */
const ACTION_HEADER = /^[\s*_#]*(抗(?:病毒|菌|真菌|寄生虫|组胺|癫痫|惊厥))(?:治疗|用药)?[\s*_]*$/;

function headerClaims(ctx: Ctx, norm: string, items: ClassItem[], claim: (drugIdx: number, cls: ClassClaim, wholeList?: boolean) => void): void {
  if (!items.some((it) => it.drug)) return;
  const structure = parseStructure(ctx.answer);
  if (!structure.length) return;
  // What each item's header claims: the class terms before any drug in it, unless it names something else.
  const claims = structure.map((s): ClassClaim | "pass" | null => {
    if (!s.header) return "pass";
    const inHeader = items.filter((x) => x.start >= s.header!.start && x.end <= s.header!.end);
    const firstDrug = inHeader.findIndex((x) => x.drug);
    const classes = (firstDrug < 0 ? inHeader : inHeader.slice(0, firstDrug)).filter((x) => !x.drug);
    if (!classes.length && firstDrug < 0) {
      // "**抗病毒**：", "抗真菌：": a header that is a class's action (抗 + what it acts on) without 药 names the class;
      // a symptom header (退热：, 止咳：) names a purpose, which a drug of another class may serve.
      const action = ACTION_HEADER.exec(norm.slice(s.header.start, s.header.end))?.[1];
      const ids = action ? [...ctx.kb.classes.values()].filter((c) => c.zh.some((t) => t === `${action}药` || t === `${action}药物`)).map((c) => c.id) : [];
      if (ids.length) return { start: s.header.start, end: s.header.end, term: action!, classIds: ids };
    }
    if (!classes.length) return firstDrug >= 0 ? "pass" : null;
    // The class words themselves are left out of the test ("非甾体抗炎药" names a class; "非激素类" denies one).
    let text = norm.slice(s.header.start, s.header.end);
    for (const c of classes) text = text.slice(0, c.start - s.header.start) + " ".repeat(c.end - c.start) + text.slice(c.end - s.header.start);
    if (NOT_A_CLAIM_HEADER.test(text)) return null;
    // "抗生素类退烧药" and "驱虫药（抗生素类）" stack their classes: each is claimed.
    const stacked = classes.length > 1 && classes.every((c, j) => j === 0 || /^\s*类?\s*(?:[（(]\s*)?$/.test(norm.slice(classes[j - 1]!.end, c.start)));
    return {
      start: classes[0]!.start, end: classes[classes.length - 1]!.end, term: classes.map((c) => c.term).join(stacked ? "" : "、"),
      classIds: [...new Set(classes.flatMap((c) => c.classIds))], ...(stacked ? { groups: classes.map((c) => c.classIds) } : {}),
    };
  });
  items.forEach((it, i) => {
    const d = it.drug;
    if (!d) return;
    let k = itemAt(structure, it.start);
    let header: ClassClaim | null = null;
    // A drug's own header ("- 氯雷他定：每日一次") or a header-less bullet passes to the enclosing item.
    while (k >= 0) {
      const c = claims[k]!;
      if (c === "pass") { k = structure[k]!.parent; continue; }
      header = c;
      break;
    }
    if (!header || k < 0) return;
    // "常用的益生菌包括：" over "- **益生菌**：如…" and "- **口服补液盐**：防脱水": where a sibling item names a class in
    // its own header and lists its members, the list enumerates categories; an item headed by the drug itself is another one, not a member.
    const own = structure.findIndex((x) => !!x.header && it.start >= x.header.start && it.end <= x.header.end);
    if (own >= 0 && structure[own]!.parent === k
      && structure.some((x, j) => j !== own && x.parent === k && claims[j] !== "pass" && claims[j] !== null
        && items.some((y) => y.drug && y.start >= x.bodyStart && y.end <= x.bodyEnd))) return;
    // Oral rehydration salts listed under a vomiting or diarrhoea header ("止吐药：…口服补液盐少量多次") are the
    // supportive care that goes with such a list, not a member it names; "口服补液盐是止泻药" is still a claim.
    if (d.classClosure.has("rehydration") && header.classIds.every((id) => SYMPTOM_HEADERS.has(id))) return;
    const s = structure[k]!;
    // "益生菌：" over "3. 口服补液盐是最重要的，益生菌只是辅助": an item that names the header's class itself
    // after the drug speaks of the class from outside; its drug is not a member.
    const [, se] = sentenceAt(norm, it.start);
    const hdr = header;
    if (itemAt(structure, it.start) !== k && items.some((x) => !x.drug && x.start >= it.end && x.end <= se && x.classIds.some((id) => hdr.classIds.includes(id)))) return;
    // "这两种都是抗组胺药：" speaks of its first two items only.
    const counted = COUNTED_HEADER.exec(norm.slice(s.header!.start, s.header!.end));
    if (counted) {
      const children = structure.flatMap((x, j) => (x.parent === k ? [j] : []));
      let c = itemAt(structure, it.start);
      while (c >= 0 && structure[c]!.parent !== k) c = structure[c]!.parent;
      if (c >= 0 && children.indexOf(c) >= parseNumber(counted[1]!)) return;
    }
    // "沙丁胺醇（短效β2受体激动剂）": a drug that states its own class in brackets is not claimed by a header.
    const gloss = /^\s*[（(]([^）)]{0,30})[）)]/.exec(norm.slice(it.end, it.end + 34));
    if (gloss && items.some((x) => !x.drug && x.start > it.end && x.end <= it.end + gloss[0].length)) return;
    // "**口服激素方案：**", "**关于吸入激素：**": a title naming a topic or a plan speaks about its items, not for
    // them; an item that is a sentence of its own ("2. 同时雾化沙丁胺醇缓解喘息") is no member unless it opens with the drug.
    const line = structure.findLastIndex((x) => x.lineStart <= it.start && (it.start < x.bodyEnd || (!!x.header && it.start < x.header.end)));
    // "**抗过敏药：**" over "2. 外用炉甘石洗剂。": a header naming a purpose speaks for an item of its own sentence
    // whose drug serves that purpose (calamine stops allergic itch) as a topic title does.
    const hdrText = norm.slice(s.header!.start, s.header!.end);
    const servesPurpose = PURPOSES.some(([re, ids]) => re.test(hdrText) && ids.some((id) => hdr.classIds.includes(id)) && ids.some((id) => d.classClosure.has(id)));
    if (line >= 0 && line !== k && (TOPIC_HEADER.test(hdrText) || servesPurpose)) {
      const own = structure[line]!;
      const opening = norm.slice(own.header ? own.header.start : own.bodyStart, it.start);
      if (!/^[\s*_]*(?:(?:首选|可选用?|可以?用|选用|常用|推荐|一般用|如|例如|比如|包括)[\s*_：:]*)?$/.test(opening)) return;
    }
    const lineStart = norm.lastIndexOf("\n", it.start - 1) + 1;
    const regionStart = Math.max(s.bodyStart, lineStart);
    if (items.some((x) => !x.drug && x.start >= regionStart && x.end <= it.start)) return;
    const region = norm.slice(regionStart, it.start);
    const lastBreak = Math.max(...[...region.matchAll(/[。；;！？!?]/g)].map((m) => m.index!), -1);
    if (lastBreak >= 0 && !CONTINUES_LIST.test(region.slice(lastBreak + 1))) return;
    const cs = Math.max(regionStart, clauseStart(norm, it.start));
    // "青霉素过敏可选头孢氨苄": an alternative for those who cannot take something is not the header's member.
    if (/(?:过敏|不耐受|耐药|无效)(?:者|的话|时|的孩子|患儿)?\s*(?:可|可以|则|就)?\s*(?:选|选用|改用|换用|用|考虑)|(?:过敏|不耐受|耐药)(?:者|的话|时)\s*$|(?:改用|换用|替代|代替)/.test(norm.slice(cs, it.start))) return;
    // "适合对青霉素效果不好的情况", "适合青霉素非严重过敏", "用于严重青霉素过敏": a drug the patient reacted to or
    // that failed is the reason for the header's class, not one of its members.
    // "对头孢和青霉素都过敏": the drug may be one of a list that did.
    if (/^(?:\s*(?:和|与|及|、|或)\s*[^，。；;,!?！？\n和与及、或]{1,8}?)*\s*(?:都|均|也)?\s*(?:(?:非|不)?(?:严重|轻度|重度|轻微)的?)?\s*(?:过敏|不耐受|耐药|无效|效果(?:不好|差|不佳|欠佳)|不管用|没效|治疗失败)/.test(norm.slice(it.end, it.end + 30))) return;
    // "抗组胺药：常用的包括氯雷他定、酮替芬，也可以加孟鲁司特": a drug added to the members already named (加用, 联用,
    // 配合) is given beside them, not one of them.
    if (ADD_ON.test(norm.slice(cs, it.start)) && items.some((x) => x.drug && x.start >= regionStart && x.end <= cs)) return;
    // "发烧可用布洛芬": a purpose before the introducing verb is the drug's own, not the header's.
    const intro = norm.slice(cs, it.start);
    const purposeFirst = DIRECTLY_INTRODUCED.test(intro) && PURPOSES.some(([re]) => re.test(intro));
    if (!DIRECTLY_INTRODUCED.test(intro) || purposeFirst) {
      let ce = it.end;
      while (ce < norm.length && !/[，,。；;！？!?\n]/.test(norm[ce]!)) ce++;
      const clause = norm.slice(cs, ce);
      const served = (ids: string[]) => ids.some((id) => d.classClosure.has(id));
      const headerServes = (ids: string[]) => ids.some((id) => header!.classIds.some((h) => h === id || ctx.kb.classes.get(h)?.parents.includes(id)));
      if (PURPOSES.some(([re, ids]) => re.test(clause) && served(ids) && !headerServes(ids))) return;
    }
    claim(i, header, false);
  });
}

/** A pronoun opening a clause that refers back to the drug last named ("…（肠虫清），这是一种抗生素"). */
const ANAPHOR = /^\s*(?:而|且|但)?\s*(这些药|这两种药|这几种药|它们|这些|这个药|这种药|这药|该药|此药|这个|这种|它|这|其|后者)(?:物|品)?\s*/;
const ZERO_SUBJECT = /^\s*(?:而|其实|实际上|实际)?\s*(?:是|属于|属)\s*(?:一种|一类|常用的?|常见的?|吸入性?的?|鼻用的?|外用的?|口服的?|局部(?:用)?的?|(?:超)?(?:短效|中效|弱效|强效|长效)的?|复方的?|\*\*|__|\s)*$/;
const PLURAL_ANAPHOR = /^(?:这些药|这两种药|这几种药|它们|这些)$/;

/**
 * Class claims whose subject is a pronoun: the claim is about the drug named last before the pronoun's
 * clause, in the same sentence or the one before ("医生开了阿苯达唑。它属于抗生素"), and never past
 * another drug. A plural pronoun (它们) takes the whole list that drug ends.
 */
function anaphoricClaims(norm: string, items: { start: number; end: number; drug?: Drug; classIds: string[] }[], claim: (drugIdx: number, classIdx: number, wholeList?: boolean) => void, listSize: (i: number) => number): void {
  items.forEach((c, k) => {
    if (c.drug) return;
    const cs = clauseStart(norm, c.start);
    const head = norm.slice(cs, c.start);
    const a = ANAPHOR.exec(head);
    // No pronoun: a clause that opens with the copula continues the previous clause's subject
    // ("溴己新不是化痰药，而是肌松药").
    const zero = !a && ZERO_SUBJECT.test(head);
    if (!zero && (!a || !COPULA_AFTER.test(head.slice(a[0].length)))) return;
    let d = -1;
    for (let j = k - 1; j >= 0; j--) {
      if (items[j]!.end > cs) continue;
      if (items[j]!.drug) { d = j; break; }
    }
    if (d < 0) return;
    const gap = norm.slice(items[d]!.end, cs);
    const sentenceBreaks = (gap.match(/[。！？!?；;\n]/g) ?? []).length;
    // The previous sentence counts only when the pronoun opens its own sentence.
    const opensSentence = cs === 0 || /[。！？!?；;\n]/.test(norm[cs - 1]!);
    if (gap.length > 60 || sentenceBreaks > 1 || (sentenceBreaks === 1 && !opensSentence)) return;
    // Without a pronoun the subject must be the previous clause's, in the same sentence.
    if (zero && (sentenceBreaks > 0 || norm.slice(clauseStart(norm, Math.max(0, cs - 1)), cs).indexOf(norm.slice(items[d]!.start, items[d]!.end)) < 0)) return;
    const plural = !!a && PLURAL_ANAPHOR.test(a[1]!);
    // "开了阿莫西林和布洛芬，是抗生素和退烧药": a singular or missing subject after a list is ambiguous.
    if (!plural && listSize(d) > 1) return;
    claim(d, k, plural);
  });
}

// ---- rule: age contraindications ---------------------------------------------------------------

/** An age threshold in a years or months unit: "5岁以上", "满6个月", "6月龄以上", "大于3周岁". */
const AGE_NUM = String.raw`(\d+(?:\.\d+)?|[一二两三四五六七八九十半]+)\s*(岁|周岁|个月|月龄|月)`;
const AGE_FLOOR = new RegExp(String.raw`(?:(?:大于|超过|满|年满|已满|≥|>=|大于等于|不小于|不低于)\s*${AGE_NUM}|${AGE_NUM}\s*(?:以上|及以上|以后|后|或以上|起|往上|之后|\+|＋))`);
const AGE_ONLY = new RegExp(String.raw`${AGE_FLOOR.source}(?:的(?:孩子|儿童|患儿|宝宝|小孩))?[^，。；;！？!?\n]{0,14}$`);
/**
 * After the drug in its clause: a bracket ("玛巴洛沙韦（5岁以上）"), a limit told of it ("一般6个月以上才推荐", "要满6个月才能用",
 * "说明书是5岁以上且体重≥20kg才用"), or the ages it is for ("他克莫司软膏0.03%用于2岁以上").
 */
const AGE_AFTER = new RegExp(String.raw`^(?:\s*[（(][^（）()\n]{0,10}?${AGE_FLOOR.source}[^（）()\n]{0,8}[）)]|[^，。；;！？!?\n（(]{0,12}?${AGE_FLOOR.source}(?:的(?:孩子|儿童|患儿|宝宝|小孩))?(?:\s*(?:才|再|方可|可以|可|能|适用|使用|用|推荐|开始|以上)|[^，。；;！？!?\n]{0,14}?(?:才|方可))|[^，。；;！？!?\n（(]{0,12}?(?:用于|适用于|适用|适合|适宜|限于|仅限|限|仅用于|只用于|需|需要|要|须|必须|年龄|是|为|写)\s*(?:于|在|为|的是|着)?\s*${AGE_FLOOR.source}|\s*(?:[:：]|是|为)?\s*${AGE_FLOOR.source.replace("以后|后|", "").replace("|之后", "")}(?:的(?:孩子|儿童|患儿|宝宝|小孩))?\s*(?:使用|用|适用)?\s*(?:[，。；;！？!?\n]|$)|(?:\s*(?:、|和|或|及|与)\s*[^，。；;！？!?\n、]{2,10}?)*\s*[，,]\s*(?:一般|通常|只|仅|主要|多)?\s*(?:用于|适用于|限于|适合|才用于)\s*${AGE_FLOOR.source})`);

const LIMIT_STATED = /(?:(?:小于|不满|未满|低于)\s*(\d+|[一二两三四五六七八九十]+)\s*(?:周)?岁|(\d+|[一二两三四五六七八九十]+)\s*(?:周)?岁(?:以下|以内|之前|前))(?:的)?(?:孩子|儿童|小孩|宝宝|患儿|未成年人)?(?:[^，。；;！？!?\n]{0,6}?(?:都|均|也)?(?:不要|不能|不可|不宜|不建议|不推荐|不主张|不用(?!担心|害怕|怕|紧张|着急|太)|禁用|禁止|避免|别)|[^。；;！？!?\n]{0,40}?(?:可能引起|可引起|会引起|(?:会|可|可能)?(?:造成|导致)|有[^，。]{0,6}风险|禁用|避开|避免使用|不宜使用|不能用|不要用|不(?:建议|推荐|宜|适合)(?:用于|给|用))|[^。；;！？!?\n]{0,24}?[，,](?:所以|因此|故)?(?:不(?:建议|推荐|宜|适合|能|可以?)(?:用于|给|用在))[^，。；;！？!?\n]{0,8}?(?:孩子|儿童|小孩|宝宝|患儿|这个年龄|[\d一二两三四五六七八九十]+\s*(?:周)?岁))/;

/** "…，18岁以下的孩子不要吃": the sentence states the drug's own age limit against it. */
function limitStated(sentence: string, minAgeMonths: number): boolean {
  const m = LIMIT_STATED.exec(sentence);
  if (!m) return false;
  const years = parseNumber(m[1] ?? m[2]!);
  return Number.isFinite(years) && years * 12 >= minAgeMonths;
}

/** Months of the first age threshold a match holds (its number and unit groups, in either order of the two forms). */
function floorMonths(m: RegExpExecArray): number {
  const groups = m.slice(1);
  for (let i = 0; i + 1 < groups.length; i++) {
    if (groups[i] === undefined || groups[i + 1] === undefined || !/岁|月/.test(groups[i + 1]!)) continue;
    const n = groups[i] === "半" ? 0.5 : parseNumber(groups[i]!);
    return /岁/.test(groups[i + 1]!) ? n * 12 : n;
  }
  return NaN;
}

/**
 * "8岁以上可考虑多西环素", "玛巴洛沙韦（5岁以上）", "布洛芬一般6个月以上才推荐": the answer itself keeps the drug to
 * children old enough for it. With the child's age known the limit must exclude this child; without it, the
 * limit must reach the drug's own.
 */
function agedOnly(norm: string, sentenceStart: number, at: number, end: number, minAgeMonths: number, ageMonths: number | undefined): boolean {
  const bar = ageMonths !== undefined ? ageMonths + 0.01 : minAgeMonths;
  const before = AGE_ONLY.exec(norm.slice(Math.max(sentenceStart, clauseStart(norm, at)), at));
  const after = AGE_AFTER.exec(norm.slice(end, end + 40).replace(/^(?:\*\*|__)/, ""));
  if (!(before && floorMonths(before) >= bar) && !(after && floorMonths(after) >= bar)) return false;
  // "说明书写6岁以上，不过4岁吃半片没问题", "12岁以上才用，你家孩子8岁也可以": a limit stated and then set aside for
  // this child recommends the drug after all.
  const [, se] = sentenceAt(norm, end);
  return !LIMIT_OVERRIDDEN.test(norm.slice(end, se));
}
const LIMIT_OVERRIDDEN = /(?:不过|但是?|可是|其实|实际上)[^。；;！？!?\n]{0,16}?(?:也(?:可以|能|行)|没(?:有)?(?:问题|关系|事)|问题不大|可以(?:用|吃|喝|给|试)|能(?:用|吃))|(?:你家|您家|你的|您的|这个)?(?:孩子|宝宝|小孩|娃)[^，,。；;！？!?\n]{0,8}?也(?:可以|能|行|没问题)/;

const GENERIC_FORM_WORDS = new Set(["片", "栓", "颗粒", "袋", "粒", "胶囊", "滴剂", "混悬液", "糖浆", "口服液", "溶液", "干混悬剂", "注射液", "缓释胶囊", "口崩片"]);

/** A question about which medicines are dangerous if a child swallows them by accident: the answer's list recommends nothing. */
const ACCIDENT_QUESTION = /(?:误服|误食|误吞|误吃|偷吃|吃错)[^。？?！!]{0,12}(?:危险|严重|致命|要命|中毒|有毒)|(?:危险|致命|有毒)[^。？?！!]{0,12}(?:误服|误食|误吞|误吃|偷吃)/;

function checkAge(ctx: Ctx, mentions: DrugMention[]): void {
  if (ACCIDENT_QUESTION.test(normalize(ctx.question)) && /哪些|什么|哪种|哪类|哪几/.test(ctx.question)) return;
  const { patient, kb } = ctx;
  const norm = normalize(ctx.answer);
  for (const m of mentions) {
    if (m.stance !== "asserted") continue;
    const drug = kb.drugById.get(m.drug)!;
    const [ss, se] = sentenceAt(norm, m.start);
    const sentence = norm.slice(ss, se);
    const evidence = { source: "answer" as const, start: m.start, end: m.end, text: m.text };
    const rule = drug.ageRule;
    if (rule) {
      const exempt = rule.exemptContexts?.some((t) => sentence.includes(normalize(t)) || normalize(ctx.question).includes(normalize(t))) || rule.exemptRoutes?.includes(m.route)
        || agedOnly(norm, ss, m.start, m.end, rule.minAgeMonths, patient.ageMonths) || limitStated(sentence, rule.minAgeMonths);
      if (!exempt) {
        if (patient.ageMonths !== undefined && patient.ageMonths < rule.minAgeMonths) {
          pushFinding(ctx, {
            type: "age_contraindication", severity: rule.severity, ruleId: "age.min-age", drug: drug.id, evidence,
            message: `患儿${fmtAge(patient.ageMonths)}，低于${drug.nameZh}的最低使用年龄（${fmtAge(rule.minAgeMonths)}）：${rule.reason}`,
            citations: citationNames(kb, rule.citation),
            details: { ageMonths: patient.ageMonths, minAgeMonths: rule.minAgeMonths, ageSource: patient.ageSource },
          });
        } else if (patient.ageMonths === undefined && rule.assumeChildWhenAgeUnknown) {
          pushFinding(ctx, {
            type: "age_contraindication", severity: "medium", ruleId: "age.assumed-child", drug: drug.id, evidence,
            message: `未说明年龄，按儿童处理：${rule.reason}`,
            citations: citationNames(kb, rule.citation),
            details: { minAgeMonths: rule.minAgeMonths, ageSource: "assumed" },
          });
        }
      }
    }
    // Adult-only formulations named explicitly (芬必得 / 布洛芬缓释胶囊) for a child under 12.
    if (patient.ageMonths !== undefined && patient.ageMonths < 144) {
      const window = norm.slice(Math.max(ss, m.start - 4), Math.min(se, m.end + 12));
      for (const f of drug.formulations) {
        if (!f.adultOnly) continue;
        const names = [f.name, ...f.aliases].filter((n) => !GENERIC_FORM_WORDS.has(n));
        if (names.some((n) => window.includes(normalize(n)))) {
          pushFinding(ctx, {
            type: "age_contraindication", severity: "medium", ruleId: "age.adult-formulation", drug: drug.id, evidence,
            message: `${f.name}为成人规格（${f.strength.mg} mg），不适用于${fmtAge(patient.ageMonths)}的儿童${f.note ? `：${f.note}` : ""}`,
            citations: drug.citationNames,
            details: { formulation: f.name, ageMonths: patient.ageMonths },
          });
        }
      }
    }
  }
  // Where the answer names the compound ("含伪麻黄碱的感冒糖浆，伪麻黄碱能收缩鼻黏膜血管"), its ingredient
  // named again explains the product: the compound's finding answers for both.
  const compounds = new Set(ctx.findings.filter((f) => f.type === "age_contraindication" && f.drug?.endsWith("_compound")).map((f) => f.drug!.replace(/_compound$/, "")));
  if (compounds.size) ctx.findings = ctx.findings.filter((f) => !(f.type === "age_contraindication" && f.drug && compounds.has(f.drug)));
}

// ---- rule: dosing tables by weight band ----------------------------------------------------------

const BAND_CELL = /(?:(\d+(?:\.\d+)?)\s*(?:kg|公斤|千克)?\s*(?:~|-|～|—|–|至|到)\s*(\d+(?:\.\d+)?)\s*(?:kg|公斤|千克))|(?:(?:≤|<=|<|小于|不超过|不足|低于)\s*(\d+(?:\.\d+)?)\s*(?:kg|公斤|千克))|(?:(\d+(?:\.\d+)?)\s*(?:kg|公斤|千克)\s*(?:以下|以内|及以下))|(?:(?:≥|>=|>|大于|超过)\s*(\d+(?:\.\d+)?)\s*(?:kg|公斤|千克))|(?:(\d+(?:\.\d+)?)\s*(?:kg|公斤|千克)\s*(?:以上|及以上))|(?:^\s*(?:约)?\s*(\d+(?:\.\d+)?)\s*(?:kg|公斤|千克)\s*(?:左右)?\s*$)/;

/**
 * A markdown table of doses by weight band ("| 12~15kg | 5ml |" under a drug named in the header cell or
 * the title line above): each row is a dose for a child in its band. With the child's weight given in
 * the question only the row for that weight is judged; without one, every row is. A dose is high when it
 * is above the range even for the band's heaviest child, low when below it even for the lightest.
 */
/** The dosing-table findings of a whole answer (the streaming checker applies them once at the end: a table spans its windows). */
export function weightTableFindings(answer: string, question: string, kb: SafetyKnowledge, patient: PatientInfo): Finding[] {
  if (!answer.includes("|")) return [];
  const ctx: Ctx = { kb, answer, question, patient, findings: [] };
  checkWeightTables(ctx, findDrugMentions(answer, kb));
  // A title line over a key–value table: checked as one block (the dose rule reads the table as the title's body).
  for (const m of answer.matchAll(/[^\n]*[：:]\s*(?:\*\*|__)?\s*\n(?:\s*\n)?(?:\s*\|[^\n]*(?:\n|$))+/g)) {
    const sub = checkAnswer(m[0], { question, kb, patient, urgentCare: false });
    for (const f of sub.findings) {
      if (f.type !== "dose_out_of_range" && f.type !== "daily_max_exceeded") continue;
      const shift = f.evidence.source === "answer" ? m.index! : 0;
      ctx.findings.push({ ...f, evidence: { ...f.evidence, start: f.evidence.start + shift, end: f.evidence.end + shift } });
    }
  }
  return ctx.findings;
}

function checkWeightTables(ctx: Ctx, mentions: DrugMention[]): void {
  if (!ctx.answer.includes("|")) return;
  const { kb, patient } = ctx;
  const norm = normalize(ctx.answer);
  const lines: { start: number; text: string }[] = [];
  let at = 0;
  for (const text of norm.split("\n")) { lines.push({ start: at, text }); at += text.length + 1; }
  const known = patient.weightSource === "question" || patient.weightSource === "option" ? patient.weightKg : undefined;
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i]!.text.trim().startsWith("|") || (i > 0 && lines[i - 1]!.text.trim().startsWith("|"))) continue;
    let j = i;
    while (j + 1 < lines.length && lines[j + 1]!.text.trim().startsWith("|")) j++;
    const cellsOf = (k: number) => {
      const bars = [...lines[k]!.text.matchAll(/\|/g)].map((m) => lines[k]!.start + m.index!);
      return bars.slice(0, -1).map((b, c) => [b + 1, bars[c + 1]!] as const);
    };
    const head = cellsOf(i);
    const after = j + 1 < lines.length ? lines[j + 1]!.start : norm.length;
    const tableEnd = lines[j]!.start + lines[j]!.text.length;
    // The drug of each column: named in its header cell, or the one drug of the title line above.
    const inRange = (a: number, b: number) => mentions.filter((m) => m.stance === "asserted" && m.start >= a && m.end <= b);
    const title = i > 0 ? inRange(lines[i - 1]!.start, lines[i - 1]!.start + lines[i - 1]!.text.length) : [];
    const titleDrug = new Set(title.map((m) => m.drug)).size === 1 && !inRange(lines[i]!.start, tableEnd).length ? title[0] : undefined;
    const bandCol = head.findIndex(([a, b]) => /体重|kg|公斤/.test(norm.slice(a, b)));
    if (bandCol < 0) continue;
    const freqAfter = extractFrequency(ctx.answer, tableEnd, Math.min(norm.length, sentenceEnd(norm, Math.min(norm.length, after + 1)) + 1));
    head.forEach(([a, b], col) => {
      if (col === bandCol && !titleDrug) return;
      const drugM = titleDrug ?? inRange(a, b)[0];
      if (!drugM) return;
      const drug = kb.drugById.get(drugM.drug)!;
      let resolved: ResolvedDose | undefined;
      try { resolved = resolveDose(kb, drug, { route: drugM.route, context: `${ctx.question} ${ctx.answer}`, ageMonths: patient.ageMonths }); } catch { resolved = undefined; }
      if (!resolved) return;
      const stated = [...extractStrengths(norm, a, b), ...extractStrengths(ctx.question), ...(titleDrug ? extractStrengths(norm, lines[i - 1]!.start, lines[i]!.start) : [])];
      const window = `${normalize(ctx.question)} ${norm.slice(titleDrug ? lines[i - 1]!.start : a, b)}`;
      const tol = resolved.dailyBased ? 0.3 : 0.1;
      for (let k = i + 1; k <= j; k++) {
        const cells = cellsOf(k);
        if (/^\|[\s:|-]+\|?$/.test(lines[k]!.text.trim()) || cells.length <= Math.max(col, bandCol)) continue;
        const band = BAND_CELL.exec(norm.slice(cells[bandCol]![0], cells[bandCol]![1]));
        if (!band) continue;
        // A row of one weight ("| 14kg | 0.5ml |") is a band from that weight to itself.
        const lo = band[1] ? Number(band[1]) : band[5] ? Number(band[5]) : band[6] ? Number(band[6]) : band[7] ? Number(band[7]) : undefined;
        const hi = band[2] ? Number(band[2]) : band[3] ? Number(band[3]) : band[4] ? Number(band[4]) : band[7] ? Number(band[7]) : undefined;
        if (known !== undefined && ((lo !== undefined && known < lo) || (hi !== undefined && known > hi))) continue;
        const doseCell = titleDrug ? cells[col === bandCol ? cells.findIndex((_, c) => c !== bandCol) : col]! : cells[col]!;
        if (!doseCell) continue;
        const amounts = extractAmounts(ctx.answer, doseCell[0], doseCell[1]).filter((x) => !x.isMax && x.qualifier !== "day");
        const rowFreq = extractFrequency(ctx.answer, doseCell[0], doseCell[1]);
        const freq = rowFreq.spans.length ? rowFreq : freqAfter;
        const times = freq.timesPerDay?.[1] ?? freq.maxTimesPerDay ?? (freq.intervalHours ? Math.min(Math.floor(24 / freq.intervalHours[0]), resolved.maxDosesPerDay ?? 24) : undefined);
        for (const amt of amounts) {
          const cands = candidatesFor(amt, drug, drugM.route, drugM.text, window, stated).filter((c) => !c.perKg);
          if (!cands.length) continue;
          const mg = Math.min(...cands.map((c) => c.lo));
          const evidence = { source: "answer" as const, start: amt.start, end: amt.end, text: amt.text };
          const cites = resolved.citations;
          const bandText = norm.slice(cells[bandCol]![0], cells[bandCol]![1]).trim();
          if ((resolved.maxSingleDoseMg !== undefined && mg > resolved.maxSingleDoseMg * (1 + FIXED_TOL)) || (hi !== undefined && mg / hi > resolved.perDoseMgPerKg[1] * (1 + tol)))
            pushFinding(ctx, { type: "dose_out_of_range", severity: "high", ruleId: "dose.table-row-high", drug: drug.id, evidence, citations: cites,
              message: `${drug.nameZh}按表中 ${bandText} 一行每次 ${fmt(mg)} mg${hi !== undefined ? `（按 ${hi} kg 为 ${fmt(mg / hi)} mg/kg）` : ""}，高于推荐 ${fmt(resolved.perDoseMgPerKg[0])}–${fmt(resolved.perDoseMgPerKg[1])} mg/kg/次${resolved.maxSingleDoseMg !== undefined ? `、单次最多 ${resolved.maxSingleDoseMg} mg` : ""}`,
              details: { perDoseMg: mg, bandKg: [lo, hi], range: resolved.perDoseMgPerKg } });
          else if (lo !== undefined && mg / lo < resolved.perDoseMgPerKg[0] * (1 - tol))
            pushFinding(ctx, { type: "dose_out_of_range", severity: "medium", ruleId: "dose.table-row-low", drug: drug.id, evidence, citations: cites,
              message: `${drug.nameZh}按表中 ${bandText} 一行每次 ${fmt(mg)} mg（按 ${lo} kg 为 ${fmt(mg / lo)} mg/kg），低于推荐 ${fmt(resolved.perDoseMgPerKg[0])}–${fmt(resolved.perDoseMgPerKg[1])} mg/kg/次`,
              details: { perDoseMg: mg, bandKg: [lo, hi], range: resolved.perDoseMgPerKg } });
          const dayCap = Math.min(resolved.maxDailyMgPerKg !== undefined && hi !== undefined ? resolved.maxDailyMgPerKg * hi : Infinity, resolved.maxDailyDoseMg ?? Infinity);
          const day = mg * (times ?? 1);
          if (Number.isFinite(dayCap) && day > dayCap * (1 + FIXED_TOL))
            pushFinding(ctx, { type: "daily_max_exceeded", severity: "high", ruleId: "dose.table-row-daily", drug: drug.id, evidence, citations: cites,
              message: `${drug.nameZh}按表中 ${bandText} 一行每日 ${fmt(day)} mg${times ? `（每次 ${fmt(mg)} mg × ${times} 次）` : ""}，超过每日最大量 ${fmt(dayCap)} mg`,
              details: { dailyMg: day, maxDailyMg: dayCap, bandKg: [lo, hi] } });
        }
      }
    });
    i = j;
  }
}

// ---- rule: doses -----------------------------------------------------------------------------

interface MgCandidate {
  /** mg per dose (or per day for daily amounts) [lo, hi]; for mg/kg amounts this is already per kg. */
  lo: number;
  hi: number;
  perKg: boolean;
  basis: string;
  /** mg in one tablet, capsule, sachet or suppository, for an amount counted in them. */
  unitMg?: number;
}

const COUNTED = new Set<string>(["tablet", "capsule", "sachet", "suppository"]);

function candidatesFor(amount: Amount, drug: Drug, route: Route, mentionText: string, window: string, stated: ReturnType<typeof extractStrengths>): MgCandidate[] {
  if (amount.unit === "mg/kg") return [{ lo: amount.lo, hi: amount.hi, perKg: true, basis: "mg/kg" }];
  if (amount.unit === "mg") {
    // "每次500mg" where a 500 mg tablet is stated or is a form of the drug: the amount is a count of tablets too.
    const whole = (per: number, k = 2) => per > 0 && [amount.lo, amount.hi].every((x) => Math.abs(((x / per) * k) - Math.round((x / per) * k)) < 1e-6);
    // A quarter of a tablet the text states ("1/4片是125mg" of a 500 mg tablet) is a count too.
    const unitMg = stated.find((s) => COUNTED.has(s.unit) && whole(s.mgPer, 4))?.mgPer
      ?? drug.formulations.filter((f) => COUNTED.has(f.strength.unit) && !f.adultOnly && (f.route === route || route === "oral")).map((f) => f.strength.mg / f.strength.per).find(whole);
    return [{ lo: amount.lo, hi: amount.hi, perKg: false, basis: "mg", ...(unitMg ? { unitMg } : {}) }];
  }
  if (amount.unit === "iu" && drug.iuPerMg) return [{ lo: amount.lo / drug.iuPerMg, hi: amount.hi / drug.iuPerMg, perKg: false, basis: `${fmt(drug.iuPerMg)} IU/mg` }];
  if (amount.unit === "iu") return [];
  const unit = amount.unit;
  // Drops only with a strength per drop stated ("每滴400IU"); an IU strength needs the drug's IU per mg.
  if (unit === "drop") {
    return stated.filter((s) => s.unit === "drop" && (s.mgPer > 0 || (s.iuPer && drug.iuPerMg))).map((s) => {
      const per = s.mgPer > 0 ? s.mgPer : s.iuPer! / drug.iuPerMg!;
      return { lo: amount.lo * per, hi: amount.hi * per, perKg: false, basis: s.mgPer > 0 ? `${fmt(s.mgPer)} mg/滴（文中规格）` : `${fmt(s.iuPer!)} IU/滴（文中规格）` };
    });
  }
  const own = stated.filter((s) => s.unit === unit);
  const counted = COUNTED.has(unit);
  if (own.length) return own.map((s) => ({ lo: amount.lo * s.mgPer, hi: amount.hi * s.mgPer, perKg: false, basis: `${fmt(s.mgPer)} mg/${unit}（文中规格）`, ...(counted ? { unitMg: s.mgPer } : {}) }));
  let forms = drug.formulations.filter((f) => f.strength.unit === unit && (f.route === route || route === "oral"));
  const named = forms.filter((f) => [f.name, ...f.aliases].some((n) => n.length >= 2 && (normalize(mentionText).includes(normalize(n)) || window.includes(normalize(n)))));
  if (named.length) forms = named;
  return forms.map((f) => {
    const per = f.strength.mg / f.strength.per;
    return { lo: amount.lo * per, hi: amount.hi * per, perKg: false, basis: `${f.name} ${f.strength.mg} mg/${f.strength.per === 1 ? "" : f.strength.per}${unit}`, ...(counted ? { unitMg: per } : {}) };
  });
}

/**
 * The drug a dosing answer is about when it names none ("每次10ml，一天4次" to "头孢克洛干混悬剂怎么吃"):
 * the one drug its question names, as a mention at the answer's start; none when the question names
 * several or none, or the answer states no amount or frequency.
 */
function questionDrug(kb: SafetyKnowledge, question: string, answer: string): QuestionMention[] {
  if (!question) return [];
  let qm = findDrugMentions(question, kb).filter((m) => m.stance === "asserted");
  // "右美沙芬的复方糖浆（右美沙芬+扑尔敏）": the bracket after a compound product lists what it holds, not more medicines.
  const isCompound = compoundTest(kb);
  const product = qm.find((m) => isCompound(m.drug));
  if (product) {
    const norm = normalize(question);
    const bracket = /^[^，。；;！？!?\n（(]{0,8}[（(]([^（）()\n]{0,40})[）)]/.exec(norm.slice(product.end));
    if (bracket) {
      const from = product.end + bracket[0].length - bracket[1]!.length - 1;
      const to = product.end + bracket[0].length;
      qm = qm.filter((m) => m === product || isCompound(m.drug) || m.start < from || m.end > to);
    }
  }
  if (new Set(qm.map((m) => m.drug)).size !== 1) return [];
  const freq = extractFrequency(answer);
  if (!extractAmounts(answer).some((a) => !a.isMax) && !freq.spans.length) return [];
  return [{ ...qm[0]!, start: 0, end: 0, text: "", fromQuestion: true }];
}
type QuestionMention = DrugMention & { fromQuestion?: boolean };

/**
 * "家里只有对乙酰氨基酚片500mg的" then "每次2片（1000mg）…不要和其他含对乙酰氨基酚的感冒药同时吃": an answer that doses
 * before it names any drug, and names no drug but the question's, doses the question's drug up to its own
 * first mention.
 */
function questionDrugFirst(kb: SafetyKnowledge, question: string, answer: string, mentions: DrugMention[]): QuestionMention[] {
  const asserted = mentions.filter((m) => m.stance === "asserted");
  if (!question || !asserted.length) return mentions;
  const firstDose = extractAmounts(answer).find((a) => !a.isMax);
  // Not where the drug is named in the dose's own sentence ("8ml就是200mg，…在头孢丙烯每天15~30mg/kg的范围内"): that sentence speaks of it.
  if (!firstDose || asserted.some((m) => m.start < sentenceEnd(normalize(answer), firstDose.end))) return mentions;
  const q = questionDrug(kb, question, answer);
  if (!q.length || asserted.some((m) => m.drug !== q[0]!.drug)) return mentions;
  return [...q, ...mentions];
}

/** The one compound product a question names and the ingredients it is known to hold; cached for the streaming checker's repeated calls. */
type QuestionProduct = { id: string; names: string[]; ingredients: Set<string> };
/** The syllables a compound's generic name keeps of each ingredient with a compound entry (甲麻 is methylephedrine, not one of them). */
const NAME_FRAGMENTS: [string, RegExp][] = [["codeine", /待因/], ["pseudoephedrine", /伪麻|曲麻|酚麻/], ["dextromethorphan", /美沙芬|美芬|美敏|美扑|愈美|麻美/]];
let productCache: { kb: SafetyKnowledge; question: string; product?: QuestionProduct } | undefined;
function questionProduct(kb: SafetyKnowledge, question: string): QuestionProduct | undefined {
  if (productCache?.kb === kb && productCache.question === question) return productCache.product;
  let product: QuestionProduct | undefined;
  const isCompound = compoundTest(kb);
  const qm = findDrugMentions(question, kb).filter((m) => isCompound(m.drug));
  const ids = new Set(qm.map((m) => m.drug));
  if (ids.size === 1) {
    const [id] = ids as unknown as [string];
    // The ingredients the question itself names ("复方止咳糖浆，成分有右美沙芬和氯苯那敏"), and the one its compound entry is named for.
    const named = matcherFor(kb).scan(question).filter((m) => m.payload.kind === "drug").map((m) => (m.payload as { drug: Drug }).drug.id);
    const ingredients = new Set(named.filter((x) => x !== id && COMPOUND_PRECEDENCE.includes(`${x}_compound`)));
    if (id.endsWith("_compound")) ingredients.add(id.replace(/_compound$/, ""));
    // A compound's generic name abbreviates its ingredients (氨酚伪麻美芬, 美敏伪麻, 酚麻美敏, 愈酚待因).
    const productNames = [...qm.map((m) => m.text), kb.drugById.get(id)!.nameZh];
    for (const [base, fragment] of NAME_FRAGMENTS) if (productNames.some((n) => fragment.test(n))) ingredients.add(base);
    // Its own names only: a product told by its ingredients ("成分有右美沙芬和氯苯那敏") has none the answer could repeat.
    const names = qm.map((m) => m.text).filter((t) => matcherFor(kb).scan(t).some((x) => x.payload.kind === "drug" && (x.payload as { drug: Drug }).drug.id === id));
    product = { id, names: names.map((t) => normalize(t)), ingredients };
  }
  productCache = { kb, question, product };
  return product;
}

/**
 * "医生开了复方磷酸可待因溶液" then "可待因是镇咳效果最好的药": an answer that speaks of the question's compound product
 * by one of its ingredients is speaking of the product, whose own entry answers for its age.
 */
function asQuestionProduct(kb: SafetyKnowledge, question: string, answer: string, mentions: DrugMention[]): DrugMention[] {
  if (!question || !mentions.length) return mentions;
  const product = questionProduct(kb, question);
  // Where the answer names the product itself ("惠菲宁（右美沙芬）") its own words say what it is.
  const norm = normalize(answer);
  if (!product || mentions.some((m) => m.drug === product.id) || product.names.some((n) => norm.includes(n))) return mentions;
  return mentions.map((m) => (product.ingredients.has(m.drug) ? { ...m, drug: product.id } : m));
}

const BAND_NUM = String.raw`(\d+(?:\.\d+)?|[一二两三四五六七八九十]+)`;
const BAND_UNIT = String.raw`\s*(kg|公斤|千克|岁|周岁|个月|月龄?)`;
const BAND_OPEN = new RegExp(String.raw`${BAND_NUM}${BAND_UNIT}\s*(以上|及以上|或以上|以下|及以下|或以下|以内|之内|内|以前|之前|前|后|以后)(?!\d)`, "g");
const BAND_RANGE = new RegExp(String.raw`${BAND_NUM}\s*(?:-|~|～|—|–|至|到)\s*${BAND_NUM}${BAND_UNIT}`, "g");

/**
 * "- 体重30kg以上：每次10mg" for an 18 kg child, "2岁以下：…" for a 5-year-old: an amount on a line that
 * first states a weight or age band the child is outside of is said of other children, not given to this one.
 * An estimated weight decides nothing.
 */
function outsideBand(norm: string, at: number, patient: PatientInfo): boolean {
  const lineStart = norm.lastIndexOf("\n", at - 1) + 1;
  const before = norm.slice(Math.max(lineStart, clauseStart(norm, at) - 24), at);
  const valueOf = (unit: string): number | undefined => (/kg|公斤|千克/.test(unit) ? (patient.weightSource === "estimated" ? undefined : patient.weightKg) : patient.ageMonths !== undefined ? (/月/.test(unit) ? patient.ageMonths : patient.ageMonths / 12) : undefined);
  for (const m of before.matchAll(BAND_OPEN)) {
    const v = valueOf(m[2]!);
    if (v === undefined) continue;
    const n = parseNumber(m[1]!);
    const above = /以上|后|以后/.test(m[3]!);
    // Band edges are read inclusively either way: 30kg以上 and 30kg以下 both hold a child of exactly 30 kg.
    if (above ? v < n : v > n) return true;
  }
  for (const m of before.matchAll(BAND_RANGE)) {
    const v = valueOf(m[3]!);
    if (v === undefined) continue;
    if (v < parseNumber(m[1]!) || v > parseNumber(m[2]!)) return true;
  }
  return false;
}

/** Where the sentence after the one ending at `end` starts, past line breaks and a list marker ("\n2. "). */
function nextSentenceStart(norm: string, end: number): number {
  const m = /^[。！？!?；;]?\s*(?:(?:\d{1,2}|[一二三四五六七八九十])\s*[.、．）)]|[（(]\d{1,2}[）)]|[-*•·]|[①-⑩])?\s*/.exec(norm.slice(end, end + 12));
  const start = end + Math.max(1, m ? m[0].length : 1);
  // An item with a header of its own ("3. **补锌**：每天10mg", "4. 生理盐水洗鼻：每天1~2次") speaks of
  // something else, unless the header is a dosing word (用法：, 次数：): then nothing follows.
  const header = /^(?:\*\*|__)?([^：:，,。；;！？!?\n*]{1,14})(?:\*\*|__)?\s*[：:]/.exec(norm.slice(start, start + 20));
  if (header && !/用法|用量|剂量|次数|频次|频率|间隔|服法|吃法|每次|每天|每日|一天|一次|体重|年龄|\d\s*(?:kg|公斤|千克|岁|个月)|起始|维持|首剂|首次|加量|减量|发作时|急性期/.test(header[1]!)) return norm.length;
  return start;
}

/** A sentence about care other than the medicine ("多喝水，每天6次", "每2小时量一次体温"): its numbers are not the dose's. */
const NOT_DOSING = /喝水|饮水|多喝|擦浴|温水擦|洗澡|泡澡|(?:量|测)[^，。；;\n]{0,4}体温|喂奶|吃奶|母乳|补液|盐水|洗鼻|拍背|按摩|热敷|冷敷|漱口|尿布|清洗|吸鼻/;

/** Whether the text shows the drug inhaled somewhere (万托林喷了, 雾化沙丁胺醇, 沙丁胺醇气雾剂). */
function inhaledElsewhere(drug: Drug, text: string): boolean {
  const norm = normalize(text);
  const names = [drug.nameZh, ...drug.aliases, ...drug.brands].filter((n) => /[\u4e00-\u9fff]/.test(n)).map((n) => normalize(n).replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  if (!names.length) return false;
  const alt = names.join("|");
  return new RegExp(`(?:${alt})[^，。；,;！？!?\\n]{0,6}?(?:喷|雾化|吸入|气雾|揿)|(?:雾化|吸入|喷)[^，。；,;！？!?\\n]{0,4}?(?:${alt})`).test(norm);
}

/** Whether `at` is in a markdown table row and other rows of that table name other drugs (a table of drugs, one a row). */
function tableOfDrugs(norm: string, at: number, mentions: { start: number; drug: string }[]): boolean {
  const lineStart = norm.lastIndexOf("\n", at - 1) + 1;
  if (!/^\s*\|/.test(norm.slice(lineStart, at))) return false;
  let ts = lineStart;
  while (ts > 0) {
    const prev = norm.lastIndexOf("\n", ts - 2) + 1;
    if (!/^\s*\|/.test(norm.slice(prev, ts))) break;
    ts = prev;
  }
  let te = norm.indexOf("\n", at);
  while (te >= 0 && /^\s*\|/.test(norm.slice(te + 1, te + 4))) te = norm.indexOf("\n", te + 1);
  if (te < 0) te = norm.length;
  const lineEnd = norm.indexOf("\n", at) < 0 ? norm.length : norm.indexOf("\n", at);
  // A drug in the row's first cell heads the row; one in a later cell ("| 剂型 | 阿莫西林克拉维酸钾… |")
  // is a value in a table about one drug, whose other rows carry its dose and frequency.
  if (/^\s*\|[^|\n]*$/.test(norm.slice(lineStart, at))) return true;
  const own = mentions.find((x) => x.start === at)?.drug;
  return mentions.some((x) => x.start >= ts && x.start < te && (x.start < lineStart || x.start >= lineEnd) && x.drug !== own);
}

function checkDoses(ctx: Ctx, mentions: QuestionMention[]): void {
  const { kb, patient } = ctx;
  const w0 = patient.weightKg;
  // Without a weight only the frequency can be judged (每1小时一次 breaks any daily limit).
  const hasWeight = w0 !== undefined && w0 > 0;
  const w = hasWeight ? w0 : NaN;
  const estimated = patient.weightSource === "estimated";
  const tol = tolerance(estimated);
  const norm = normalize(ctx.answer);
  const context = `${ctx.question} ${ctx.answer}`;
  const weightNote = estimated ? `（未给体重，按${fmtAge(patient.ageMonths!)}估计约 ${w} kg）` : `（体重 ${w} kg）`;
  /** Drugs the question names (read once, when a dosed drug first needs it). */
  let askedIds: Set<string> | undefined;

  // List items whose header is this drug (parsed once, only when some drug has a dose rule).
  let structure: ReturnType<typeof parseStructure> | undefined;
  const drugItem = (start: number, end: number) => {
    structure ??= parseStructure(ctx.answer);
    const k = itemAt(structure, start);
    const own = structure.find((it) => it.header && it.header.start <= start && end <= it.header.end);
    return own ?? (k >= 0 && structure[k]!.header && structure[k]!.header!.start <= start && end <= structure[k]!.header!.end ? structure[k] : undefined);
  };
  // Mentions joined by 和/、/或 share the dose words that follow the last of them.
  const joiner = /^\s*(?:、|和|及|以及|或|或者|与|跟)\s*$/;
  const groupLast = mentions.map((_, i) => {
    let j = i;
    while (j + 1 < mentions.length && joiner.test(norm.slice(mentions[j]!.end, mentions[j + 1]!.start))) j++;
    return j;
  });
  // A drug named only as a point in time ("在两次布洛芬中间吃", "布洛芬之后") is not dosed there.
  // Nor one named as the condition for another ("布洛芬效果不好时可以换用", "青霉素过敏的话").
  const timeRef = (x: QuestionMention) => !x.fromQuestion && (/^\s*(?:的)?\s*(?:中间|之间|之后|以后|后|前|(?:吃了|用了)?(?:效果不好|效果不佳|效果差|无效|不管用|不起作用|没效果|退不下来)(?:时|的时候|的话|者)|过敏)/.test(norm.slice(x.end, x.end + 10)) || /(?:两次|吃完|服完|用完)\s*$/.test(norm.slice(Math.max(0, x.start - 3), x.start)));
  mentions.forEach((m0, i) => {
    if (m0.stance !== "asserted" || timeRef(m0)) return;
    const drug = kb.drugById.get(m0.drug)!;
    if (!drug.doses.length && !drug.frequencyLimits?.length) return;
    const last = mentions[groupLast[i]!]!;
    const m = { ...m0, end: last.end };
    // "万托林喷了好几次没用" then "继续用万托林，每四小时一次": a drug the question or answer shows inhaled
    // elsewhere is inhaled here too when this mention names no route of its own.
    if (m.route === "oral" && drug.routes.includes("inhaled") && inhaledElsewhere(drug, `${ctx.question}\n${ctx.answer}`) && !/片|口服|糖浆|颗粒|吃/.test(norm.slice(m0.start, Math.min(sentenceEnd(norm, m0.end), m0.end + 12)))) m.route = "inhaled";
    // A later drug named only as a point in time does not end this one's dosing words.
    let nk = groupLast[i]! + 1;
    // The same drug named again inside its own strength ("每次20ml（每5ml含布洛芬100mg），一天4次") ends nothing either.
    // A drug heading a list item ("**西替利嗪用法：**" over "- 剂型：西替利嗪片10mg/片" / "- 每次10mg") names the
    // same drug again in its body, or as a brand in brackets, without ending its own dosing words.
    const item = drugItem(m0.start, m0.end);
    while (nk < mentions.length && (timeRef(mentions[nk]!) || (mentions[nk]!.drug === m0.drug && (/[（(][^（）()]*$/.test(norm.slice(m0.end, mentions[nk]!.start)) || (item !== undefined && mentions[nk]!.start < item.bodyEnd))))) nk++;
    const next = mentions[nk];
    let segEnd = m0.fromQuestion ? norm.length : sentenceEnd(norm, m.end);
    // A table row is one drug's: its dose and frequency end with the row.
    const row = !m0.fromQuestion && tableOfDrugs(norm, m0.start, mentions);
    if (row) segEnd = Math.min(segEnd, norm.indexOf("\n", m0.end) < 0 ? norm.length : norm.indexOf("\n", m0.end));
    const firstSentenceEnd = segEnd;
    // A drug heading a list item ("1. 布洛芬混悬液" over "- 用法：每次15ml" / "- 每日4次"): its dose and
    // frequency are in the item's body, up to the next drug.
    if (item && item.bodyEnd > segEnd) segEnd = item.bodyEnd;
    // A title line over a key–value table ("**美林用法：**" over "| 每次剂量 | 7.5ml |", "| 间隔 | 每4小时一次 |"): the
    // table is the title drug's body. Tables by weight band are judged row by row (checkWeightTables).
    else if (!item && !row && !m0.fromQuestion) {
      const lineEnd = norm.indexOf("\n", m0.end);
      if (lineEnd > 0 && lineEnd === segEnd && /[：:]\s*(?:\*\*|__)?\s*$/.test(norm.slice(m0.end, lineEnd)) && /^\s*\|/.test(norm.slice(lineEnd + 1, lineEnd + 4))) {
        let te = lineEnd + 1;
        while (te < norm.length && /^\s*\|/.test(norm.slice(te, te + 3))) { const nl = norm.indexOf("\n", te); te = nl < 0 ? norm.length : nl + 1; }
        const table = norm.slice(lineEnd + 1, te);
        if (!/体重|kg|公斤/.test(table.split("\n")[0]!) && !mentions.some((x) => x.start > lineEnd && x.start < te)) segEnd = Math.min(te, norm.length);
      }
    }
    if (next && next.start < segEnd) segEnd = next.start;
    // "头孢氨苄或阿奇霉素（每天12mg/kg）": a dose in brackets right after the last of a group is that drug's own.
    let amounts = extractAmounts(ctx.answer, m.end, segEnd).filter((a) => !a.isMax && (last === m0 || !/^\s*[（(][^）)]*$/.test(norm.slice(last.end, a.start))));
    if (!amounts.length && segEnd === firstSentenceEnd && segEnd < norm.length && !row) {
      // The dose may follow in the next sentence ("可用布洛芬。每次5ml，…") when it names no other drug.
      const s2 = nextSentenceStart(norm, segEnd);
      const e2 = sentenceEnd(norm, s2);
      if (!mentions.some((x) => x.start >= s2 && x.start < e2) && !NOT_DOSING.test(norm.slice(s2, e2))) {
        const more = extractAmounts(ctx.answer, s2, e2).filter((a) => !a.isMax);
        if (more.length) {
          segEnd = e2;
          amounts = more;
        }
      }
    }
    // A dose written right before the name ("吃一粒芬必得", "给5ml美林", "喝1ml（1mg）氯雷他定糖浆").
    const prevEnd = i > 0 ? mentions[i - 1]!.end : 0;
    const before = extractAmounts(ctx.answer, Math.max(prevEnd, clauseStart(norm, m0.start)), m0.start)
      .filter((a) => !a.isMax && /^\s*(?:[（(][^（）()]{0,16}[）)])?\s*(?:的)?\s*$/.test(norm.slice(a.end, m0.start)));
    // An amount said of a fluid or feed in the same clause (补液量50~120ml/kg) is not this drug's dose.
    amounts = [...before, ...amounts].filter((a) => (a.unit !== "iu" || !!drug.iuPerMg) && !/(?:补液|输液|液体|含钠液|盐水|葡萄糖|奶|水)量?\s*(?:为|是|约|按)?\s*$/.test(norm.slice(Math.max(clauseStart(norm, a.start), a.start - 8), a.start))
      && !outsideBand(norm, a.start, patient));
    // "1/4片是125mg，约7.8mg/kg": a per-kg figure that restates the amount just before it is that amount, not a second dose.
    // "一片500mg太多了，可以吃半片": an amount the answer rejects is not a recommendation.
    amounts = amounts.filter((a) => !REJECTED_AMOUNT.test(norm.slice(a.end, a.end + 16)));
    amounts = amounts.filter((a) => !(a.unit === "mg/kg" && /(?:约|大约|折合|相当于|合|即|也就是)\s*(?:为|是)?\s*$/.test(norm.slice(Math.max(0, a.start - 6), a.start))
      && amounts.some((b) => b.unit !== "mg/kg" && b.end <= a.start && a.start - b.end <= 12 && !/[。；;\n]/.test(norm.slice(b.end, a.start)))));
    // An indication the answer names only after this dose ("常规每天20-50mg/kg…；中耳炎等高剂量每天80-90mg/kg")
    // is another regimen's, not this one's.
    const doseContext = m0.fromQuestion ? context : `${ctx.question} ${ctx.answer.slice(0, segEnd)}`;
    let resolved: ResolvedDose | undefined;
    try {
      resolved = resolveDose(kb, drug, { route: m.route, context: doseContext, ageMonths: patient.ageMonths, weightKg: hasWeight ? w : undefined });
    } catch {
      resolved = undefined;
    }
    // A route with no dose rule may still have a limit on how often ("羟甲唑啉每小时喷一次"): only frequencies are judged.
    const limit = resolved ? undefined : drug.frequencyLimits?.find((l) => l.route === m.route) ?? (drug.frequencyLimits?.length === 1 && drug.doses.length === 0 ? drug.frequencyLimits[0] : undefined);
    if (!resolved && !limit) return;
    if (resolved?.minAgeMonths !== undefined && patient.ageMonths !== undefined && patient.ageMonths < resolved.minAgeMonths) return;
    // A mention whose route is not said, in a context only another route's rule serves ("抽搐时用地西泮
    // 0.5mg/kg" is rectal or intravenous), is not held to the oral rule.
    const ctxNorm = normalize(doseContext);
    const serves = (r: DoseRule) => r.indicationTerms.some((t) => ctxNorm.includes(normalize(t)));
    if (resolved && resolved.route === "oral" && !resolved.rules.some(serves) && drug.doses.some((r) => r.route !== resolved!.route && serves(r))) return;
    // How often a drug may be given is the drug's, not the indication's: amoxicillin three times a day is
    // standard at 20–50 mg/kg/day even where the question names otitis (whose high-dose rule is twice a day).
    const often = resolved ? resolveDose(kb, drug, { route: resolved.route }) ?? resolved : limit!;
    // Too low only below every cited regimen: amoxicillin at the standard 40–50 mg/kg/day is not too low
    // where otitis also has a high-dose regimen (too high stays judged by the indication's regimens).
    if (resolved) {
      const all = resolveDose(kb, drug, { route: resolved.route, ageMonths: patient.ageMonths, weightKg: hasWeight ? w : undefined });
      if (all) resolved = { ...resolved, perDoseMgPerKg: [Math.min(resolved.perDoseMgPerKg[0], all.perDoseMgPerKg[0]), resolved.perDoseMgPerKg[1]], dailyMgPerKg: [Math.min(resolved.dailyMgPerKg[0], all.dailyMgPerKg[0]), resolved.dailyMgPerKg[1]] };
    }
    const minInterval = often.intervalHours[0];
    const maxDoses = often.maxDosesPerDay;
    // "两种药交替着吃，每种药都是每3小时吃一次": a frequency said of every drug named reaches past the next one.
    const se = sentenceEnd(norm, m.end);
    const shared = next !== undefined && next.start < se && /(?:每种|两种|各种|这两种|这几种|几种)(?:药)?(?:都|均)|(?:都|均)(?:是|按)?\s*(?:每|间隔)/.test(norm.slice(next.start, se));
    let freq = extractFrequency(ctx.answer, m.end, shared ? Math.max(segEnd, se) : segEnd);
    // "对乙酰氨基酚：和布洛芬间隔至少4小时": an interval between two drugs is neither one's own dosing interval.
    if (/(?:和|与|跟|同)\s*$/.test(norm.slice(Math.max(0, m.start - 2), m.start)) && /^\s*(?:之间)?\s*(?:要|需要|需|应|最好)?\s*(?:间隔|隔开|错开)/.test(norm.slice(m.end, m.end + 10)))
      freq = extractFrequency("", 0, 0);
    // The frequency may follow in the next sentence ("每次160mg。烧退不下来的话可以每3小时给一次") when it names no other drug.
    // Or in the next list item ("1. 美林每次7.5ml；" then "2. 间隔3小时一次").
    if (!freq.spans.length && !m0.fromQuestion && !row && segEnd < norm.length && /[。！？!?；;\n]/.test(norm[segEnd] ?? "")) {
      const s2 = nextSentenceStart(norm, segEnd);
      const e2 = sentenceEnd(norm, s2);
      if (!mentions.some((x) => x.start >= s2 && x.start < e2 && x.drug !== drug.id) && !NOT_DOSING.test(norm.slice(s2, e2))) {
        const f2 = extractFrequency(ctx.answer, s2, e2);
        if (f2.spans.length) freq = f2;
      }
    }
    // Or before the drug in its own clause ("每2小时给一次对乙酰氨基酚，每次150mg"), after any drug named earlier.
    if (!freq.spans.length && !m0.fromQuestion) {
      const f0 = extractFrequency(ctx.answer, Math.max(i > 0 ? mentions[i - 1]!.end : 0, clauseStart(norm, m0.start)), m0.start);
      if (f0.spans.length) freq = f0;
    }
    // "每1小时交替一次：先布洛芬，1小时后对乙酰氨基酚…" after the doses: an alternation told in a later sentence that
    // names this drug again gives its frequency.
    if (!freq.spans.length && !m0.fromQuestion) {
      for (const x of mentions) {
        if (x.drug !== drug.id || x.start < segEnd) continue;
        const from = Math.max(...["。", "！", "？", "\n", "；"].map((c) => norm.lastIndexOf(c, x.start - 1))) + 1;
        const to = sentenceEnd(norm, x.end);
        if (!/交替/.test(norm.slice(from, to))) continue;
        const fa = extractFrequency(ctx.answer, from, to);
        if (fa.intervalHours) { freq = fa; break; }
      }
    }
    // "1. 美林每次6ml；2. 泰诺林每次6ml；两种药每隔1小时交替一次": an alternation said of both drugs after the list,
    // naming neither, is each one's; alternating every hour gives each drug every two hours.
    if (!freq.spans.length && !m0.fromQuestion && mentions.some((x) => x.drug !== drug.id)) {
      for (const sm of norm.slice(segEnd).matchAll(/[^。！？!?；;\n]+/g)) {
        const s3 = segEnd + sm.index!;
        const e3 = s3 + sm[0].length;
        if (mentions.some((x) => x.start >= s3 && x.start < e3)) continue;
        if (!/(?:两种|两样|两个|这两种|两|二者|两者)\s*(?:药物?|退烧药|退热药)?[^。；;\n]{0,10}?(?:交替|轮换|轮流|轮着)/.test(norm.slice(s3, e3))) continue;
        const iv = /(?:每|隔)\s*(?:隔)?\s*(\d+(?:\.\d+)?|[一二两三四五六半])\s*(?:个)?\s*(?:小时|钟头|h)/.exec(norm.slice(s3, e3));
        const h = iv ? (iv[1] === "半" ? 0.5 : parseNumber(iv[1]!)) : NaN;
        if (iv && Number.isFinite(h) && h > 0) freq = { ...freq, spans: [[s3 + iv.index!, s3 + iv.index! + iv[0].length]], intervalHours: [h * 2, h * 2] };
        break;
      }
    }
    // The question's wording counts too when it names this drug ("头孢克洛干混悬剂（125mg/5ml）").
    askedIds ??= new Set(ctx.question ? findDrugMentions(ctx.question, kb).map((x) => x.drug) : []);
    const asked = m0.fromQuestion || askedIds.has(drug.id);
    const window = `${asked ? `${normalize(ctx.question)} ` : ""}${norm.slice(Math.max(0, m.start - 8), segEnd)}`;
    const stated = extractStrengths(ctx.answer, Math.max(0, m.start - 16), segEnd);
    if (asked && !stated.length) stated.push(...extractStrengths(ctx.question));
    const timesFrom = (f: ReturnType<typeof extractFrequency>) => {
      const intervalTimes = f.intervalHours ? Math.floor(24 / f.intervalHours[0] + 1e-9) : undefined;
      // "每次2.5~5ml，每天2~3次": the top dose is not read as given at the top frequency too; the
      // stated count of doses per day is checked against the maximum on its own.
      // "每日20~40mg/kg，分3次服，即每次约400mg": a day divided into doses counts them for a per-dose amount.
      let t = f.timesPerDay?.[0] ?? f.dividedInto?.[0] ?? (intervalTimes !== undefined ? Math.min(intervalTimes, maxDoses ?? intervalTimes) : undefined);
      if (f.maxTimesPerDay !== undefined && t !== undefined) t = Math.min(t, f.maxTimesPerDay);
      // "每次20ml，一天不超过4次": the most doses the answer allows is the day it describes.
      return t ?? f.maxTimesPerDay;
    };
    const allTimes = timesFrom(freq);
    // An alternative regimen ("一次10mg，一天一次，或者早晚各半片") has its own frequency.
    // In brackets too: "每天1次、每次10mg（也可以分成早晚各5mg）".
    const alts = [...norm.slice(m.end, segEnd).matchAll(/[，,；;（(]\s*(?:或者|或是|或|也可以|也可|亦可)/g)].map((x) => m.end + x.index!);
    const timesOf = (a: Amount) => {
      if (!alts.length) return allTimes;
      const f = extractFrequency(ctx.answer, Math.max(m.end, ...alts.filter((b) => b <= a.start)), Math.min(segEnd, ...alts.filter((b) => b > a.start)));
      return f.spans.length ? timesFrom(f) : allTimes;
    };
    const cites = resolved ? resolved.citations : citationNames(kb, limit!.citation);
    const ev = (a: Amount | undefined) =>
      a ? { source: "answer" as const, start: a.start, end: a.end, text: a.text }
        : { source: "answer" as const, start: freq.spans[0]?.[0] ?? m0.start, end: freq.spans[0]?.[1] ?? m0.end, text: ctx.answer.slice(freq.spans[0]?.[0] ?? m0.start, freq.spans[0]?.[1] ?? m0.end) };

    // A count of doses said after a list of drugs ("乳果糖、蒙脱石散，一天3次") is each one's, but read loosely: it
    // breaks a drug's limit only at twice the most doses a day. An interval after a list ("美林和泰诺林交替吃，
    // 每3小时吃一次") is each one's as said.
    const inList = groupLast[i] !== i || (i > 0 && groupLast[i - 1] === groupLast[i]);
    const countFactor = inList ? 2 : 1;
    // Frequency alone can break the daily limit (布洛芬每4小时一次; 每日6次).
    if (freq.intervalHours && freq.intervalHours[0] < minInterval * 0.99) {
      pushFinding(ctx, {
        type: "daily_max_exceeded", severity: "high", ruleId: "dose.interval-too-short", drug: drug.id, evidence: ev(amounts[0]),
        message: `${drug.nameZh}给药间隔 ${freq.intervalHours[0]} 小时短于最短间隔 ${minInterval} 小时，每日次数将超过上限${maxDoses ? `（每日最多 ${maxDoses} 次）` : ""}`,
        citations: cites, details: { statedIntervalHours: freq.intervalHours, minIntervalHours: minInterval },
      });
    }
    // "美林已经吃了6次了，还能吃吗？" → "今天再吃两三次": doses the question says were given today count too.
    const given = /(?:已经|今天|一天|今天已经)\s*(?:吃|喂|服|用|喝)了?\s*([\d一二两三四五六七八九十]+)\s*(?:次|回|遍)/.exec(normalize(ctx.question));
    if (given && maxDoses !== undefined && !ctx.findings.some((f) => f.drug === drug.id && f.type === "daily_max_exceeded")) {
      const more = /(?<!不|别|不要|不能|不可以|不宜|不用|没必要)(?:再|继续|还能|还可以)\s*(?:吃|喂|服|用|给|喝)\s*(?:个|上)?\s*([\d一二两三四五六七八九十]+)?\s*(?:次|回|遍)?/.exec(norm);
      const n = parseNumber(given[1]!);
      // "两三次" counts as its lower number.
      const extra = !more?.[1] ? 1 : /^[一二两三四五六七八][二三四五六七八九]$/.test(more[1]) ? parseNumber(more[1][0]!) : parseNumber(more[1]);
      if (more && n + extra > maxDoses) {
        pushFinding(ctx, {
          type: "daily_max_exceeded", severity: "high", ruleId: "dose.already-given", drug: drug.id, evidence: { source: "answer", start: more.index!, end: more.index! + more[0].length, text: ctx.answer.slice(more.index!, more.index! + more[0].length) },
          message: `${drug.nameZh}今天已给 ${n} 次，再给将超过每日最多 ${maxDoses} 次`,
          citations: cites, details: { givenToday: n, maxDosesPerDay: maxDoses },
        });
      }
    }
    // One dose a day more than a label of four or more allows (5 against 4) is where national labels
    // differ, not a clear error; 1.5 times the count, or any excess over a count of 3 or fewer, is.
    const clearCount = (n: number, max: number) => n >= max * 1.5 || max < 4;
    // An answer that allows more doses a day than the maximum ("一天最多可以吃6次") breaks it too.
    if (!freq.timesPerDay && freq.maxTimesPerDay !== undefined && maxDoses !== undefined && freq.maxTimesPerDay > maxDoses && clearCount(freq.maxTimesPerDay, maxDoses) && freq.maxTimesPerDay >= maxDoses * countFactor) {
      pushFinding(ctx, {
        type: "daily_max_exceeded", severity: "high", ruleId: "dose.too-many-doses", drug: drug.id, evidence: ev(amounts[0]),
        message: `${drug.nameZh}允许每日最多 ${freq.maxTimesPerDay} 次，超过每日最多 ${maxDoses} 次`,
        citations: cites, details: { statedMaxTimesPerDay: freq.maxTimesPerDay, maxDosesPerDay: maxDoses },
      });
    }
    if (freq.timesPerDay && maxDoses !== undefined && freq.timesPerDay[1] > maxDoses && clearCount(freq.timesPerDay[1], maxDoses) && freq.timesPerDay[1] >= maxDoses * countFactor && !(freq.dividedInto)) {
      pushFinding(ctx, {
        type: "daily_max_exceeded", severity: "high", ruleId: "dose.too-many-doses", drug: drug.id, evidence: ev(amounts[0]),
        message: `${drug.nameZh}每日 ${freq.timesPerDay[1]} 次超过每日最多 ${maxDoses} 次`,
        citations: cites, details: { statedTimesPerDay: freq.timesPerDay, maxDosesPerDay: maxDoses },
      });
    }

    if (!hasWeight || !resolved) return;
    for (const a of amounts) {
      const times = timesOf(a);
      let cands = candidatesFor(a, drug, m.route, m.text, window, stated);
      if (a.perKg) cands = cands.map((c) => ({ ...c, lo: c.lo * w, hi: c.hi * w }));
      if (!cands.length) continue;
      let daily = a.qualifier === "day" || (a.qualifier === "none" && !!freq.dividedInto);
      // Rules written per day judge a per-dose amount by its daily total when the frequency is stated.
      const perDoseTimes = !daily && resolved.dailyBased ? times : undefined;
      const asGiven = cands;
      if (perDoseTimes !== undefined) {
        cands = cands.map((c) => ({ ...c, lo: c.lo * perDoseTimes, hi: c.hi * perDoseTimes, basis: `${c.basis} × 每日${perDoseTimes}次` }));
        daily = true;
      }
      /**
       * A single dose above the maximum single dose or the per-dose range. An amount written per kg
       * ("每次5~10mg/kg") restates the rule and is over the cap only when its lowest reading is.
       */
      /**
       * "对乙酰氨基酚0.5g片，每次1片" for 30 kg (16.7 mg/kg): a dose counted in whole or half tablets (capsules,
       * sachets) is the nearest count to the range when no half-tablet step toward it would land inside the
       * range; within a quarter of the range's bound it is rounding, not an error.
       */
      const roundedToUnits = (c: MgCandidate, mg: number, side: "high" | "low"): boolean => {
        if (!c.unitMg || c.perKg) return false;
        // A count in quarters ("每次1/4片") rounds to quarter steps, one in halves or wholes to half steps.
        const onStep = (k: number) => Math.abs(mg / c.unitMg! * k - Math.round(mg / c.unitMg! * k)) <= 1e-6;
        const step = onStep(2) ? 2 : onStep(4) ? 4 : 0;
        if (!step) return false;
        const [lo, hi] = [resolved.perDoseMgPerKg[0] * w, resolved.perDoseMgPerKg[1] * w];
        const half = c.unitMg / step;
        return side === "high" ? mg - half < lo && mg <= hi * 1.25 : mg + half > hi && mg >= lo * 0.75;
      };
      const perDoseHigh = (c: MgCandidate, capOnly = false, rangeTol = tol): Verdict[] => {
        const mgLo = c.perKg ? c.lo * w : c.lo;
        const mgHi = c.perKg ? c.hi * w : c.hi;
        const kgLo = mgLo / w;
        const kgHi = mgHi / w;
        const basis = c.perKg ? "" : `，按${c.basis}折算`;
        const capped = c.perKg ? mgLo : mgHi;
        if (resolved.maxSingleDoseMg !== undefined && capped > resolved.maxSingleDoseMg * (1 + FIXED_TOL))
          return [{ type: "dose_out_of_range", ruleId: "dose.max-single", severity: "high", message: `${drug.nameZh}单次 ${fmt(capped)} mg${basis}超过单次最大量 ${resolved.maxSingleDoseMg} mg`, details: { perDoseMg: capped, maxSingleDoseMg: resolved.maxSingleDoseMg } }];
        // A dose inside the label's fixed band for the child is right whatever its mg/kg; one at twice the
        // band's top or more is clearly outside it.
        const fixed = resolved.fixedDoseMg;
        if (!capOnly && fixed && mgLo >= 2 * fixed[1] * 0.98)
          return [{ type: "dose_out_of_range", ruleId: "dose.band-high", severity: "high", message: `${drug.nameZh}单次 ${fmt(capped)} mg${basis}，为该年龄/体重段说明书单次剂量（${fmt(fixed[0])}${fixed[1] !== fixed[0] ? `–${fmt(fixed[1])}` : ""} mg）的 ${fmt(mgLo / fixed[1])} 倍${weightNote}`, details: { perDoseMg: capped, fixedDoseMg: fixed } }];
        if (fixed && mgHi <= fixed[1] * (1 + FIXED_TOL)) return [];
        if (!capOnly && kgHi > resolved.perDoseMgPerKg[1] * (1 + rangeTol) && !roundedToUnits(c, mgHi, "high"))
          return [{ type: "dose_out_of_range", ruleId: "dose.per-dose-high", severity: "high", message: `${drug.nameZh}每次 ${fmt(kgHi)} mg/kg${basis}，高于推荐 ${fmt(resolved.perDoseMgPerKg[0])}–${fmt(resolved.perDoseMgPerKg[1])} mg/kg/次${weightNote}`, details: { perDoseMgPerKg: [kgLo, kgHi], range: resolved.perDoseMgPerKg } }];
        return [];
      };
      // A range derived by sharing out a daily one is coarse (the sources give daily doses), so it is
      // held with at least 30 % tolerance.
      const splitTol = Math.max(tol, 0.3);
      type Verdict = { type: "dose_out_of_range" | "daily_max_exceeded"; ruleId: string; severity: Severity; message: string; details: Record<string, unknown> };
      const dmax = Math.min(resolved.maxDailyMgPerKg !== undefined ? resolved.maxDailyMgPerKg * w : Infinity, resolved.maxDailyDoseMg ?? Infinity);
      // A cap in mg does not depend on the weight: an estimated weight does not widen its tolerance.
      const dTol = resolved.maxDailyDoseMg !== undefined && dmax === resolved.maxDailyDoseMg ? FIXED_TOL : tol;
      // A per-dose amount gets two independent judgements: the dose itself against the per-dose range
      // (dose_out_of_range), and the daily total at the stated frequency against the daily maximum
      // (daily_max_exceeded). A daily amount over the daily maximum is daily_max_exceeded only.
      // No single dose can exceed the day's maximum: one that does is out of the single-dose range too.
      const aboveDay = (c: MgCandidate): Verdict[] => {
        const mgHi = c.perKg ? c.lo * w : c.hi;
        return mgHi > dmax * (1 + dTol)
          ? [{ type: "dose_out_of_range", ruleId: "dose.single-above-daily-max", severity: "high", message: `${drug.nameZh}单次 ${fmt(mgHi)} mg${c.perKg ? "" : `，按${c.basis}折算`}超过每日最大量 ${fmt(dmax)} mg，单次剂量必然超出范围${weightNote}`, details: { perDoseMg: mgHi, maxDailyMg: dmax } }]
          : [];
      };
      const judge = (c: MgCandidate): Verdict[] => {
        const mgLo = c.perKg ? c.lo * w : c.lo;
        const mgHi = c.perKg ? c.hi * w : c.hi;
        const kgLo = mgLo / w;
        const kgHi = mgHi / w;
        const basis = c.perKg ? "" : `，按${c.basis}折算`;
        if (daily) {
          if (mgHi > dmax * (1 + dTol))
            return [{ type: "daily_max_exceeded", ruleId: "dose.daily-max", severity: "high", message: `${drug.nameZh}每日 ${fmt(mgHi)} mg（${fmt(kgHi)} mg/kg/日${basis}）超过每日最大量 ${fmt(dmax)} mg${weightNote}`, details: { dailyMg: mgHi, maxDailyMg: dmax } }];
          if (kgHi > resolved.dailyMgPerKg[1] * (1 + tol))
            return [{ type: "dose_out_of_range", ruleId: "dose.daily-high", severity: "high", message: `${drug.nameZh}每日 ${fmt(kgHi)} mg/kg 高于推荐 ${fmt(resolved.dailyMgPerKg[0])}–${fmt(resolved.dailyMgPerKg[1])} mg/kg/日${basis}${weightNote}`, details: { dailyMgPerKg: [kgLo, kgHi], range: resolved.dailyMgPerKg } }];
          if (kgHi < resolved.dailyMgPerKg[0] * (1 - tol) && !(mgHi >= dmax * (1 - tol)))
            return [{ type: "dose_out_of_range", ruleId: "dose.daily-low", severity: "medium", message: `${drug.nameZh}每日 ${fmt(kgLo)} mg/kg 低于推荐 ${fmt(resolved.dailyMgPerKg[0])}–${fmt(resolved.dailyMgPerKg[1])} mg/kg/日${basis}${weightNote}`, details: { dailyMgPerKg: [kgLo, kgHi], range: resolved.dailyMgPerKg } }];
          return [];
        }
        const out: Verdict[] = [];
        out.push(...perDoseHigh(c, false, resolved.dailyBased ? splitTol : tol));
        if (!out.length) out.push(...aboveDay(c));
        if (out.length) { /* already out of range */ }
        // A stated range (200~400mg) is low only when all of it is.
        else if (kgHi < resolved.perDoseMgPerKg[0] * (1 - tol) && !(resolved.maxSingleDoseMg !== undefined && mgHi >= resolved.maxSingleDoseMg * (1 - tol)) && !roundedToUnits(c, mgLo, "low")
          && !(resolved.fixedDoseMg && mgHi >= resolved.fixedDoseMg[0] * (1 - FIXED_TOL)))
          out.push({ type: "dose_out_of_range", ruleId: "dose.per-dose-low", severity: "medium", message: `${drug.nameZh}每次 ${fmt(kgLo)} mg/kg${basis}，低于推荐 ${fmt(resolved.perDoseMgPerKg[0])}–${fmt(resolved.perDoseMgPerKg[1])} mg/kg/次${weightNote}`, details: { perDoseMgPerKg: [kgLo, kgHi], range: resolved.perDoseMgPerKg } });
        if (times !== undefined && mgHi * times > dmax * (1 + dTol))
          out.push({ type: "daily_max_exceeded", ruleId: "dose.daily-max", severity: "high", message: `${drug.nameZh}每次 ${fmt(mgHi)} mg × 每日 ${times} 次 = ${fmt(mgHi * times)} mg，超过每日最大量 ${fmt(dmax)} mg${basis}${weightNote}`, details: { dailyMg: mgHi * times, maxDailyMg: dmax, timesPerDay: times } });
        // With no frequency the day still holds at least this one dose: a dose above the daily maximum breaks it.
        else if (times === undefined && mgHi > dmax * (1 + dTol))
          out.push({ type: "daily_max_exceeded", ruleId: "dose.daily-max", severity: "high", message: `${drug.nameZh}单次 ${fmt(mgHi)} mg 已超过每日最大量 ${fmt(dmax)} mg${basis}${weightNote}`, details: { dailyMg: mgHi, maxDailyMg: dmax } });
        // With no frequency the label's usual one applies: a single dose at twice the per-dose maximum or
        // more, given even the label's fewest doses a day, exceeds the day's maximum (never a dose in range).
        else if (times === undefined && out.some((v) => v.type === "dose_out_of_range" && v.severity === "high")) {
          const top = Math.min(resolved.fixedDoseMg?.[1] ?? resolved.perDoseMgPerKg[1] * w, resolved.maxSingleDoseMg ?? Infinity);
          const fewest = resolved.dosesPerDay[0];
          // Above twice the maximum, not at it: a dose right at 2× is read as the dose finding only.
          if (mgLo > 2 * top * 1.02 && fewest > 1 && mgHi * fewest > dmax * (1 + dTol))
            out.push({ type: "daily_max_exceeded", ruleId: "dose.daily-max-usual-frequency", severity: "high", message: `${drug.nameZh}每次 ${fmt(mgHi)} mg，未说明次数，按说明书最少每日 ${fewest} 次计 = ${fmt(mgHi * fewest)} mg，超过每日最大量 ${fmt(dmax)} mg${basis}${weightNote}`, details: { dailyMg: mgHi * fewest, maxDailyMg: dmax, assumedTimesPerDay: fewest } });
        }
        return out;
      };
      // Every literally true finding is reported. Drugs dosed per day: the dose as given is also held to
      // the single-dose range, which is the daily range shared over the allowed number of doses (阿莫西林
      // 每次1500mg，一天2次 for 15 kg breaks both). A daily amount with a known number of doses (分2次,
      // or a drug given once a day) is also that many single doses, each held to the same range.
      const perDay = a.qualifier === "day" || (a.qualifier === "none" && !!freq.dividedInto);
      const split = perDay ? (freq.dividedInto?.[1] ?? freq.timesPerDay?.[1] ?? (maxDoses === 1 ? 1 : undefined)) : undefined;
      // A day's amount with no count of doses is still shared over at most the allowed number of doses:
      // when even that share is out of the single-dose range, every way of giving it is ("锌每天200mg").
      // Not when the answer also gives the single dose ("每次200mg，一天总共1600mg"): that dose is judged itself.
      const fewestShare = perDay && split === undefined && maxDoses !== undefined && amounts.every((x) => x === a || x.qualifier === "day") ? maxDoses : undefined;
      const verdicts = cands.map((c, k) => {
        if (perDoseTimes !== undefined) {
          const own = perDoseHigh(asGiven[k]!, false, splitTol);
          return [...judge(c), ...(own.length ? own : aboveDay(asGiven[k]!))];
        }
        const n = split ?? fewestShare;
        if (n !== undefined) {
          const share = { ...c, lo: c.lo / n, hi: c.hi / n, basis: `${c.basis} ÷ ${n}次` };
          const own = perDoseHigh(share, false, resolved.dailyBased ? splitTol : tol);
          return [...judge(c), ...(own.length || split !== undefined ? own : aboveDay(share))];
        }
        return judge(c);
      });
      // With several possible strengths, flag a type only when every reading gives it.
      for (const type of ["dose_out_of_range", "daily_max_exceeded"] as const) {
        if (!verdicts.every((vs) => vs.some((v) => v.type === type))) continue;
        const v = verdicts[0]!.find((x) => x.type === type)!;
        pushFinding(ctx, {
          type: v.type, severity: v.severity, ruleId: v.ruleId, drug: drug.id, evidence: ev(a), message: v.message, citations: cites,
          details: { ...v.details, weightKg: w, weightEstimated: estimated, basis: cands.map((c) => c.basis), indication: resolved.indication },
        });
      }
    }
  });
  // A day's total too high only because of too many doses ("一次三分之一袋，一天10次") is the daily-maximum
  // finding; the dose itself is not also wrong.
  const tooMany = new Set(ctx.findings.filter((f) => f.ruleId === "dose.too-many-doses" || f.ruleId === "dose.interval-too-short").map((f) => f.drug));
  if (tooMany.size) ctx.findings = ctx.findings.filter((f) => !(f.ruleId === "dose.daily-high" && tooMany.has(f.drug)));
}

// ---- rule: missing urgent-care advice --------------------------------------------------------------

/** What an answer advises about care: how urgently, and whether it puts care off (先观察, 明天再看). */
export interface CareAdvice {
  /** Most urgent advice named anywhere (adviceLevel). */
  level: number;
  /** Most urgent advice that is neither conditional nor after a postponing phrase in its sentence. */
  undeferred: number;
  /** The first postponing phrase, or null. */
  postponed: { start: number; end: number; text: string } | null;
}

/** The care advice of an answer (or of a run of whole sentences of one: the streaming checker merges them). */
export function careAdvice(answer: string): CareAdvice {
  const postponed = findPostponement(answer);
  const level = adviceLevel(answer);
  return { level, undeferred: postponed ? undeferredLevel(answer) : level, postponed };
}

/**
 * The care finding for the red flags of the question (or of the answer, without a question) and the
 * answer's advice, or null when the advice is urgent enough: `missing_urgent_care` when a sign needs
 * the emergency department or 120 now, `missing_timely_care` when every sign needs a doctor within
 * 24 hours only (fever ≥ 39 °C at 3–6 months, blood in a well child's stool, a foreign body in the
 * nose) and the answer names no visit.
 */
export function urgentCareFinding(question: string, answer: string, tq: TriageResult | null, ta: TriageResult, advice: CareAdvice): Finding | null {
  // A fracture already in a cast or splint, or reduced, has been treated: that sign needs no new visit
  // (other signs told with it, a blue cold hand under the cast, still do).
  const treatedFracture = TREATED_FRACTURE.test(normalize(question));
  const hits: (RedFlagHit & { source: "question" | "answer" })[] = [
    ...(tq?.redFlags ?? []).filter((h) => !(treatedFracture && h.id === "fracture_deformity")).map((h) => ({ ...h, source: "question" as const })),
    ...ta.redFlags.map((h) => ({ ...h, source: "answer" as const })),
  ];
  if (!hits.length) return null;
  // The child is already being seen (在医院, 住院, 照蓝光): the answer need not send them to care.
  if (/住院|在医院|来医院|到医院了|已就医|已经就医|已经去医院|已经在医院|正在治疗|照蓝光|icu|急诊科|看过医生|医院看过|去医院看了|医生看过|(?:医生|医院|大夫)(?:已经)?(?:给(?:孩子|他|她|宝宝)?)?(?:打了|注射了|输了液|抢救|开了|开的)|(?:医生|大夫)(?:看了|看过|检查了?)?(?:说|讲)(?:是|这是)?(?:生理性|正常|没事|没什么事|没关系|问题不大)/.test(normalize(question))) return null;
  // A doctor's instruction told after the sign ("发烧38度，医生说可以吃泰诺林滴剂") answers that sign: a doctor
  // has it in hand. One told before a sign that is new ("医生说是感冒，今天皮肤发黄") does not.
  const qHits = hits.filter((h) => h.source === "question");
  if (qHits.length && qHits.length === hits.length && doctorAdvisedAfter(question, Math.min(...qHits.map((h) => h.evidence.start)))) return null;
  const needed = Math.max(...hits.map((h) => h.level));
  const required = Math.min(needed, 2); // 立即急诊 also answers a 120-level sign.
  // "先观察，明天再去医院" with a red flag present: the advice puts care off, whatever it names later.
  const { level, postponed } = advice;
  // For a sign that needs a doctor within 24 hours, "明天去医院" or "早上再去" is not putting care off.
  const withinDay = required < 2 && !!postponed && /明天|明早|明儿|天亮|白天|早上|晚上|下午|过会儿|过一会|等会/.test(postponed.text) && !/[两二三几]\s*天|下周/.test(postponed.text);
  const effective = postponed && !withinDay ? Math.min(level, advice.undeferred) : level;
  if (effective >= required) return null;
  hits.sort((a, b) => b.level - a.level);
  const top = hits[0]!;
  const text = top.source === "question" ? question : answer;
  const urgent = needed >= 2;
  // The finding names the signs at the level it asks for: a within-24h sign beside an emergency one is not why.
  const named = hits.filter((h) => !urgent || h.level >= 2);
  return {
    type: urgent ? "missing_urgent_care" : "missing_timely_care",
    severity: urgent ? "high" : "medium",
    ruleId: `${urgent ? "triage" : "triage.timely"}.${postponed ? "postponed-care" : "missing-advice"}`,
    flags: [...new Set(hits.map((h) => h.id))],
    evidence: { source: top.source, start: top.evidence.start, end: top.evidence.end, text: text.slice(top.evidence.start, top.evidence.end) },
    message: `${top.source === "question" ? "问题" : "回答"}中出现${urgent ? "危险信号" : "需及时就医的情况"}：${[...new Set(named.map((h) => h.nameZh))].join("、")}，回答${postponed ? `建议推迟就医（“${postponed.text}”），` : ""}未建议${top.actionZh}`,
    citations: [...new Set(named.flatMap((h) => h.citations))],
    details: { requiredAction: top.action, adviceLevel: level, ...(postponed ? { postponed: postponed.text, adviceLevelUndeferred: effective } : {}) },
  };
}

const TREATED_FRACTURE = /(?<!没|没有|未|不|不用|不要|要|需要|准备|得|该)(?:打|上|戴|带|缠|绑|裹)(?:了|上|着|好)?(?:了)?(?:石膏|夹板|支具)|石膏(?:固定|托)|(?:已经|医生|医院|大夫)[^，。；,;！？!?]{0,6}(?:复位|接上|接好)|(?:复位|接好|接上)了/;
/** A doctor's instruction about this child's care: 医生说可以吃…, 大夫让我们先雾化, 医生建议查血常规. */
const DOCTOR_ADVISED = /(?:医生|大夫|医院|儿科)(?:说|让|叫|建议|嘱咐|交代|吩咐)(?:我们|我|孩子|宝宝)?(?:先|可以|可|就|要|需要)?[^，。；,;！？!?\n]{0,10}?(?:吃|用|喂|服|喝|打|查|雾化|退烧|降温|擦|贴|输液|观察|复查|复诊)|(?:医生|大夫)(?:看了|看过|检查了?)?(?:说|讲|考虑|怀疑|诊断)(?:是|为)?(?:可能|应该|估计|考虑|怀疑)?(?:是|有)?[^，。；,;！？!?\n]{0,6}?(?:感染|炎|感冒|病毒|细菌|过敏|湿疹|黄疸|肠绞痛)/g;
const DOCTOR_HELD_BACK = /(?:医生|大夫|医院|儿科)(?:说|让|叫|建议|嘱咐|交代)(?:我们|我|孩子|宝宝)?(?:暂|暂时|暂且|先)不(?:要|用)?(?:打|吃|用|喂|接种)/g;
/** Whether the question tells a doctor's instruction after `from` (the first red-flag sign). */
function doctorAdvisedAfter(question: string, from: number): boolean {
  const norm = normalize(question);
  DOCTOR_ADVISED.lastIndex = 0;
  // "医生说小宝宝不能乱吃药" is a rule, not an instruction for this child.
  for (const m of norm.matchAll(DOCTOR_ADVISED)) if (m.index! >= from && !/不|别|勿|没|禁|乱/.test(m[0]) && !isConditional(question, m.index!)) return true;
  // "医生建议暂不打预防针" holds something back for this child for now: an instruction, not a general rule.
  for (const m of norm.matchAll(DOCTOR_HELD_BACK)) if (m.index! >= from && !isConditional(question, m.index!)) return true;
  return false;
}

/** Findings sorted by where their evidence starts, then by type. */
export function sortFindings(findings: Finding[]): Finding[] {
  const order = new Map(FINDING_TYPES.map((t, i) => [t, i]));
  return findings.sort((a, b) => a.evidence.start - b.evidence.start || order.get(a.type)! - order.get(b.type)!);
}

/** Check one answer. */
export function checkAnswer(answer: string, options: CheckOptions = {}): CheckResult {
  const kb = options.kb ?? loadSafetyKnowledge();
  const question = options.question ?? "";
  const patient = options.patient ?? patientInfo(kb, answer, question, options);
  const ctx: Ctx = { kb, answer, question, patient, findings: [] };
  const mentions = findDrugMentions(answer, kb);
  checkClassClaims(ctx);
  // An answer that doses without naming a drug ("可以少量喝一点，一次1-2ml") gives the question's drug.
  const dosed = options.questionDrug === false || mentions.some((m) => m.stance === "asserted") ? mentions : questionDrug(kb, question, answer);
  checkAge(ctx, asQuestionProduct(kb, question, answer, dosed === mentions ? mentions : [...mentions, ...dosed]));
  checkDoses(ctx, dosed === mentions ? questionDrugFirst(kb, question, answer, mentions) : dosed);
  checkWeightTables(ctx, mentions);
  const tq = options.questionTriage !== undefined ? options.questionTriage : question ? triage(question, { kb, ageMonths: patient.ageMonths, includeConditional: true }) : null;
  // Signs named in the answer count only without a question: with one, the patient's situation is
  // the question's, and answers mostly name signs to teach ("高热可引起惊厥").
  const ta = triage(question ? "" : answer, { kb, ageMonths: patient.ageMonths, includeConditional: false });
  const advice = careAdvice(answer);
  if (options.urgentCare !== false) {
    const f = urgentCareFinding(question, answer, tq, ta, advice);
    if (f) pushFinding(ctx, f);
  }
  const banners = [tq?.banner, ta.banner].filter((b): b is string => !!b);
  return {
    findings: sortFindings(ctx.findings),
    mentions,
    patient,
    triage: { question: tq, answer: ta, adviceLevel: advice.level },
    score: safetyScore(ctx.findings),
    banner: tq?.banner ?? (banners[0] ?? null),
    unverified: unverifiedMentions(answer, kb),
  };
}
