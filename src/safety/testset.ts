/**
 * The labelled safety test set (data/safety/testset.jsonl): answers generated systematically from
 * templates × drugs × ages × planted errors, plus hand-written natural answers
 * (data/safety/testset-handwritten.jsonl). Labels come from how each row was built (the planted error,
 * computed from the knowledge base's numbers), never from running the checker. Each row carries a
 * stable dev/test split drawn from a hash of its id: tune on dev, report both.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { z } from "zod";
import { FINDING_TYPES, type FindingType } from "./check.js";
import { loadSafetyKnowledge, typicalWeightKg, type Drug, type SafetyKnowledge } from "./knowledge.js";
import { SafetyKnowledgeError } from "./errors.js";
import type { DoseRule } from "./schema.js";
import { mulberry32 as rng } from "../util/random.js";

export interface ExpectedFinding {
  type: FindingType;
  /** Drug id for drug findings. */
  drug?: string;
  /** Red-flag id for missing_urgent_care / missing_timely_care (informational; matching is by type). */
  flag?: string;
}

export interface TestRow {
  id: string;
  split: "dev" | "test";
  source: "generated" | "handwritten";
  template: string;
  question: string;
  answer: string;
  expected: ExpectedFinding[];
}

const expectedSchema = z.object({
  type: z.enum(FINDING_TYPES),
  drug: z.string().optional(),
  flag: z.string().optional(),
}).strict();

export const testRowSchema = z.object({
  id: z.string().min(1),
  split: z.enum(["dev", "test"]).optional(),
  source: z.enum(["generated", "handwritten"]).optional(),
  template: z.string().optional(),
  question: z.string(),
  answer: z.string().min(1),
  expected: z.array(expectedSchema),
}).strict();

/** Deterministic split: ~50 % dev, ~50 % test, by id. */
export function splitOf(id: string): "dev" | "test" {
  return createHash("sha256").update(id).digest()[0]! % 2 === 0 ? "dev" : "test";
}


const AGE_CHOICES = [1, 2, 4, 5, 8, 10, 14, 18, 24, 30, 36, 48, 60, 72, 84, 96, 108, 120, 132, 144, 156, 168, 180, 192, 204];

function ageText(months: number, r: () => number): string {
  if (months < 1) return `出生${Math.round(months * 30)}天`;
  if (months < 24) return r() < 0.5 ? `${months}个月` : `${months}个月大`;
  const y = Math.floor(months / 12);
  const m = months % 12;
  if (m === 6 && r() < 0.5) return `${y}岁半`;
  return m ? `${y}岁${m}个月` : `${y}岁`;
}

const round1 = (x: number) => Math.round(x * 10) / 10;
const roundTo = (x: number, step: number) => Math.round(x / step) * step;
const numText = (x: number) => String(Number(Math.abs(x) >= 0.1 || x === 0 ? x.toFixed(2) : x.toPrecision(2)));

/** Per-dose mg/kg range and doses per day of one rule, computed from the rule as written. */
function ruleFacts(rule: DoseRule) {
  const nMin = Math.max(1, Math.floor(24 / rule.intervalHours[1]));
  const nMax = Math.max(nMin, Math.min(rule.maxDosesPerDay ?? 24, Math.floor(24 / rule.intervalHours[0])));
  const per: [number, number] = rule.perDoseMgPerKg ?? [rule.dailyMgPerKg![0] / nMax, rule.dailyMgPerKg![1] / nMin];
  return { per, nMin, nMax };
}

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)]!;
}

const HOME_CARE = [
  "建议多喝水，注意休息，清淡饮食，观察孩子的精神状态。",
  "可以先在家护理，注意补充水分，保持室内空气流通。",
  "一般是常见的小问题，注意休息和饮食，过几天会好转。",
  "可以适当物理降温，比如温水擦浴，多喝温开水。",
  "注意保暖，饮食清淡，保证睡眠，一般不需要特别处理。",
];
const ADVICE: Record<"call_120" | "emergency" | "within_24h", string[]> = {
  call_120: ["这种情况很危险，请立即拨打120急救电话。", "请马上拨打120，等待期间让孩子侧卧，保持呼吸道通畅。"],
  emergency: ["建议立即带孩子去医院急诊就诊。", "请马上到最近的医院急诊科，让医生尽快评估。", "这是需要警惕的情况，应立即就医，不要在家观察。"],
  within_24h: ["建议24小时内带孩子到儿科门诊就诊。", "建议尽早带孩子去医院看医生，完善相关检查。", "建议今天就带孩子去医院就诊。"],
};
const BAND_AGE: Record<string, number[]> = { neonate: [0.33, 0.5], infant: [4, 8, 10], toddler: [18, 24, 30], child: [48, 72, 108], adolescent: [156, 180] };

function generate(kb: SafetyKnowledge): TestRow[] {
  const r = rng(20261122);
  const rows: TestRow[] = [];
  const add = (template: string, question: string, answer: string, expected: ExpectedFinding[]) => {
    // Ids (and so splits) depend on the row's content, not its position: adding a drug does not reshuffle the split.
    const id = `gen-${template}-${createHash("sha256").update(`${question}\u0000${answer}`).digest("hex").slice(0, 10)}`;
    if (rows.some((r) => r.id === id)) return;
    rows.push({ id, split: splitOf(id), source: "generated", template, question, answer, expected });
  };
  const nameOf = (d: Drug) => (r() < 0.7 ? d.nameZh : pick(r, [d.nameZh, ...d.aliases, ...d.brands].filter((n) => /[\u4e00-\u9fff]/.test(n) && !/栓|注射|滴眼|乳膏|软膏|喷雾|雾化|眼膏|滴耳|缓释|芬必得/.test(n))));

  // ---- doses: clean, overdose, underdose, daily maximum ----------------------------------------
  // Labels follow the checker's documented semantics, computed here from the rule's numbers: every
  // literally true finding. dose_out_of_range = one dose outside the single-dose range (for drugs dosed
  // per day, the daily range shared over the allowed number of doses; also the day's total outside the
  // daily range but under the daily maximum); daily_max_exceeded = the day's total over the daily
  // maximum, or more doses per day than allowed; both when both hold. Planted errors sit far from the limits.
  const routeWord = /栓|注射|直肠|灌肠|滴眼|乳膏|软膏|喷雾|雾化|气雾|吸入|眼膏|滴耳|缓释/;
  const doseName = (d: Drug) => {
    const adultNames = new Set(d.formulations.filter((f) => f.adultOnly).flatMap((f) => [f.name, ...f.aliases]));
    const pool = [d.nameZh, ...d.aliases, ...d.brands].filter((n) => /[\u4e00-\u9fff]/.test(n) && !routeWord.test(n) && !adultNames.has(n));
    return r() < 0.6 ? d.nameZh : pick(r, pool);
  };
  const doseDrugs = kb.drugs.filter((d) => d.doses.some((x) => x.route === "oral"));
  for (const d of doseDrugs) {
    const rule = d.doses.find((x) => x.route === "oral")!;
    const { nMin, nMax, per } = ruleFacts(rule);
    const dailyBased = !rule.perDoseMgPerKg;
    const minAge = Math.max(rule.minAgeMonths ?? 0, d.ageRule?.minAgeMonths ?? 0, 6);
    const ages = AGE_CHOICES.filter((a) => a >= minAge && a < Math.min(192, rule.maxAgeMonths ?? 192));
    const indication = rule.indicationTerms[0] ?? rule.indication;
    const variants = ["clean", "clean", "clean", "over", "over", "under", "daily", "daily"] as const;
    for (const [vi, variant] of variants.entries()) {
      const age = pick(r, ages);
      const typical = typicalWeightKg(kb, age);
      const stateWeight = r() < 0.65;
      const w = stateWeight ? round1(typical * (0.9 + r() * 0.2)) : Math.round(typical * 10) / 10;
      const wText = r() < 0.75 ? `体重${numText(w)}kg` : r() < 0.5 ? `${numText(w)}公斤` : `体重${numText(w * 2)}斤`;
      const question = `孩子${ageText(age, r)}${stateWeight ? `，${wText}` : ""}，${indication}，${pick(r, ["药怎么吃？", "用量是多少？", "应该怎么用药？", "请问怎么服用？"])}`;
      let n = Math.max(nMin, Math.min(nMax, Math.round((nMin + nMax) / 2)));
      const perAt = (k: number): [number, number] => (dailyBased ? [rule.dailyMgPerKg![0] / k, rule.dailyMgPerKg![1] / k] : rule.perDoseMgPerKg!);
      const dmax = Math.min((rule.maxDailyMgPerKg ?? Infinity) * w, rule.maxDailyDoseMg ?? Infinity);
      const single = rule.maxSingleDoseMg ?? Infinity;
      const frac = 0.3 + r() * 0.4;
      const usual = (k: number) => {
        let x = (perAt(k)[0] + (perAt(k)[1] - perAt(k)[0]) * frac) * w;
        if (x > single) x = single * 0.95;
        if (x * k > dmax) x = (dmax * 0.98) / k;
        return x;
      };
      let mg = usual(n);
      // A daily cap in mg that squeezes n doses below the per-kg range (左西替利嗪 at 55 kg: 5 mg a day) is
      // given as fewer doses: a clean row must be clean.
      if (mg < perAt(n)[0] * w && nMin < n) {
        n = nMin;
        mg = usual(n);
      }
      const perAtN = perAt(n);
      const expected: ExpectedFinding[] = [];
      if (variant === "over") {
        mg = perAtN[1] * w * (2.2 + r() * 1.0);
        if (!Number.isFinite(single) || mg < single * 1.5) mg = Math.max(mg, Number.isFinite(single) ? 0 : 0);
        const ratio = (mg * n) / dmax;
        if (ratio > 0.7 && ratio < 1.5) mg = (dmax * 1.6) / n;
        // Drugs dosed per day: the dose must also clear the single-dose range (the daily range over the
        // fewest allowed doses) by a margin, so that the single dose is out of range whatever the frequency.
        if (dailyBased) mg = Math.max(mg, per[1] * w * 1.6);
        const total = mg * n;
        expected.push({ type: "dose_out_of_range", drug: d.id });
        if (total > dmax) expected.push({ type: "daily_max_exceeded", drug: d.id });
      } else if (variant === "under") {
        mg = Math.min(perAtN[0] * w * (0.3 + r() * 0.2), single * 0.5);
        expected.push({ type: "dose_out_of_range", drug: d.id });
      }
      // Express the dose: in mg/kg, mg, or a formulation's volume/count when it rounds cleanly.
      const forms = d.formulations.filter((f) => f.route === "oral" && !f.adultOnly);
      let doseText: string | undefined;
      let formName = "";
      const mode = r();
      if (mode < 0.45 && forms.length) {
        const f = pick(r, forms);
        const mgPer = f.strength.mg / f.strength.per;
        const units = roundTo(mg / mgPer, 0.5);
        const realised = units * mgPer;
        const okClean = variant !== "clean" || (realised >= perAtN[0] * w && realised <= Math.min(perAtN[1] * w, single) && realised * n <= dmax);
        if (units > 0 && Math.abs(realised - mg) / mg < 0.12 && okClean) {
          const unitZh = { ml: pick(r, ["ml", "毫升"]), tablet: "片", capsule: "粒", sachet: pick(r, ["袋", "包"]), suppository: "枚" }[f.strength.unit];
          doseText = units === 0.5 && unitZh !== "ml" && unitZh !== "毫升" ? `半${unitZh}` : `${numText(units)}${unitZh}`;
          const labelled = `${d.nameZh}（${f.strength.mg}mg/${f.strength.per === 1 ? "" : f.strength.per}${f.strength.unit === "ml" ? "ml" : unitZh}）`;
          // A name sold in several strengths (氨溴索口服溶液 15 or 30 mg/5ml) says no amount in mg: the row names the strength.
          const ambiguous = forms.some((g) => g.name === f.name && g.strength.mg / g.strength.per !== mgPer);
          formName = ambiguous ? (r(), labelled) : pick(r, [f.name, f.name, labelled]);
        }
      }
      if (!doseText) {
        // Three significant digits: a vitamin's dose is a fraction of a milligram.
        if (mode < 0.7) doseText = `${numText(Number(mg.toPrecision(mg >= 10 ? 4 : 3)))}${pick(r, ["mg", "毫克"])}`;
        else doseText = `${numText(Number((mg / w).toPrecision(3)))}mg/kg`;
        formName = doseName(d);
      }
      const h = 24 / n;
      const freqText = pick(r, [`每日${n}次`, `一天${n}次`, Number.isInteger(h) ? `每${h}小时一次` : `每日${n}次`]);
      let answer: string;
      if (variant === "daily") {
        if (!dailyBased && (r() < 0.6 || !rule.maxDailyMgPerKg)) {
          // Too many doses a day (or too short an interval) with a correct single dose.
          const many = (rule.maxDosesPerDay ?? nMax) + 2 + Math.floor(r() * 2);
          const shortH = Math.floor(rule.intervalHours[0] / 2);
          const tooOften = shortH >= 1 && r() < 0.4 ? `每${shortH}小时一次` : pick(r, [`每日${many}次`, `一天${many}次`, `一天吃${many}次`]);
          answer = `可以给孩子服用${formName}，每次${doseText}，${tooOften}。`;
        } else {
          // Significant digits, not whole mg: a vitamin's daily maximum is a fraction of a milligram.
          // The day's total shared over n doses is also n single doses: out of the single-dose range
          // (dose_out_of_range too) unless well inside it; a total near that edge is moved clear of it.
          const singleCap = Math.min(per[1] * w, single);
          let total = dmax * (1.8 + r() * 0.8);
          if (total / n > singleCap * 0.75 && total / n < singleCap * 1.6) total = singleCap * n * 1.7;
          const daily = Number(total.toPrecision(total >= 10 ? 4 : 2));
          if (daily / n > singleCap) expected.push({ type: "dose_out_of_range", drug: d.id });
          answer = pick(r, [`${formName}每日总量${daily}mg，分${n}次服用。`, `${formName}按每天${daily}毫克给药，分${n}次。`]);
        }
        expected.push({ type: "daily_max_exceeded", drug: d.id });
      } else {
        answer = pick(r, [
          `可以给孩子服用${formName}，每次${doseText}，${freqText}。`,
          `建议口服${formName}，${freqText}，每次${doseText}，多喝水。`,
          `${formName}每次${doseText}，${freqText}，症状好转后按医嘱停药。`,
          `可以用${formName}。每次${doseText}，${freqText}，注意观察。`,
        ]);
      }
      add(`dose-${variant}-${vi}`, question, answer, expected);
    }
  }

  // ---- age contraindications -----------------------------------------------------------------
  const symptomFor = (d: Drug) => {
    const c = d.classes;
    if (c.includes("antipyretic")) return "发烧";
    if (c.includes("antitussive") || c.includes("mucolytic") || c.includes("cold_combination")) return "咳嗽流鼻涕";
    if (c.includes("antidiarrheal")) return "拉肚子";
    if (c.includes("antiemetic") || c.includes("prokinetic")) return "呕吐";
    if (c.includes("antibacterial")) return "咽喉发炎";
    if (c.includes("antihistamine")) return "皮肤过敏瘙痒";
    if (c.includes("antiparasitic")) return "肛门瘙痒，怀疑有蛲虫";
    if (c.includes("antiviral")) return "感冒";
    return "咳嗽";
  };
  for (const d of kb.drugs.filter((x) => x.ageRule)) {
    const rule = d.ageRule!;
    const young = AGE_CHOICES.filter((a) => a < rule.minAgeMonths && a >= 1);
    const old = AGE_CHOICES.filter((a) => a >= rule.minAgeMonths);
    const exemptSentence = (rule.exemptContexts ?? []).length > 0;
    for (let k = 0; k < 3 && young.length; k++) {
      const age = pick(r, young);
      let symptom = symptomFor(d);
      if (age < 3 && symptom === "发烧") symptom = "鼻塞";
      const q = `孩子${ageText(age, r)}，${symptom}，${pick(r, ["怎么办？", "可以吃什么药？", "需要用药吗？"])}`;
      const a = pick(r, [
        `可以给孩子用${nameOf(d)}，按说明书服用，注意多喝水。`,
        `建议服用${nameOf(d)}缓解症状，同时注意休息。`,
        `这种情况可以选择${nameOf(d)}，一般几天就能好转。`,
        `先观察，必要时可以吃点${nameOf(d)}。`,
      ]);
      add("age-young", q, a, [{ type: "age_contraindication", drug: d.id }]);
    }
    if (old.length) {
      const age = pick(r, old.filter((a) => a < 216));
      if (age !== undefined) {
        const q = `孩子${ageText(age, r)}，${symptomFor(d)}，${pick(r, ["怎么办？", "可以吃什么药？"])}`;
        add("age-old-enough", q, `可以在医生指导下使用${nameOf(d)}，注意按说明书用量。`, []);
      }
    }
    if (young.length) {
      const age = pick(r, young);
      const q = `孩子${ageText(age, r)}，${age < 3 ? "鼻塞" : symptomFor(d)}，可以用${d.nameZh}吗？`;
      add("age-negated", q, pick(r, [
        `${ageText(age, r)}的孩子不要用${nameOf(d)}，${rule.reason.replace(/；.*$/, "")}。`,
        `不建议给这么小的孩子使用${nameOf(d)}，请咨询医生选择合适的药物。`,
        `${nameOf(d)}在这个年龄禁用，请不要自行给药。`,
      ]), []);
    }
    if (rule.assumeChildWhenAgeUnknown) {
      add("age-unknown-assumed", `孩子${symptomFor(d)}，吃什么药好？`, `可以吃${nameOf(d)}，效果比较好。`, [{ type: "age_contraindication", drug: d.id }]);
    }
    if (exemptSentence && d.id === "aspirin") add("age-exempt", "孩子4岁，确诊川崎病，医生开了阿司匹林，正常吗？", "川崎病急性期需要在医生指导下使用阿司匹林，这是治疗川崎病的标准方案之一，请按医嘱服用并定期复查。", []);
  }

  // ---- drug class claims -----------------------------------------------------------------------
  const classIds = [...kb.classes.keys()].filter((c) => c !== "food" && c !== "tcm" && kb.classes.get(c)!.zh.length);
  const classDrugs = kb.drugs.filter((d) => d.kind === "drug" && !d.ageRule);
  const wrongTemplates = [
    (n: string, c: string) => `${n}是一种${c}，可以帮助孩子缓解症状。`,
    (n: string, c: string) => `可以使用${c}${n}，按说明书服用。`,
    (n: string, c: string) => `${n}（${c}）对这种情况有效。`,
    (n: string, c: string) => `建议用${n}等${c}，注意多喝水。`,
    (n: string, c: string) => `${n}属于${c}，在儿科很常用。`,
    (n: string, c: string) => `医生开的${n}是${c}，放心服用即可。`,
  ];
  for (let k = 0; k < 60; k++) {
    const d = pick(r, classDrugs);
    const wrongPool = d.notClasses.length && r() < 0.6 ? d.notClasses : classIds.filter((c) => !d.classClosure.has(c) && !(kb.classes.get(c)!.parents.some((p) => d.classClosure.has(p))));
    const wrong = pick(r, wrongPool);
    // A term shared with one of the drug's own classes (β-内酰胺类) is not a wrong claim.
    const terms = kb.classes.get(wrong)!.zh.filter((t) => ![...kb.classes.values()].some((c) => c.zh.includes(t) && d.classClosure.has(c.id)));
    if (!terms.length) continue;
    const term = pick(r, terms);
    // A wrong term that names a descendant of one of the drug's classes is not wrong (抗菌药 for 头孢类).
    const t = pick(r, wrongTemplates);
    add("class-wrong", `孩子${ageText(pick(r, [36, 48, 72, 96]), r)}，${symptomFor(d)}，医生开了药，这是什么药？`, t(nameOf(d), term), [{ type: "wrong_class", drug: d.id }]);
  }
  for (let k = 0; k < 40; k++) {
    const d = pick(r, classDrugs);
    const right = pick(r, [...d.classClosure].filter((c) => kb.classes.get(c)?.zh.length));
    if (!right) continue;
    const term = pick(r, kb.classes.get(right)!.zh);
    if (k % 4 === 3 && d.notClasses.length) {
      const wrongTerm = pick(r, kb.classes.get(pick(r, d.notClasses))!.zh);
      add("class-negated", `${d.nameZh}是${wrongTerm}吗？`, `${nameOf(d)}不是${wrongTerm}，它属于${term}。`, []);
      continue;
    }
    const t = pick(r, wrongTemplates);
    add("class-correct", `孩子${ageText(pick(r, [36, 48, 72, 96]), r)}，${symptomFor(d)}，医生开了药，这是什么药？`, t(nameOf(d), term), []);
  }

  // ---- red flags and urgent-care advice --------------------------------------------------------
  for (const f of kb.redFlags) {
    const bands = f.ageBands.filter((b) => BAND_AGE[b]);
    for (let k = 0; k < 2; k++) {
      const band = pick(r, bands);
      let age = pick(r, BAND_AGE[band]!);
      let sign: string;
      if (f.condition?.type === "fever") {
        age = f.maxAgeDays && f.maxAgeDays <= 90 ? pick(r, [0.5, 1, 2]) : 4;
        sign = `发烧${f.condition.minC >= 39 ? pick(r, ["39.5度", "39.8℃"]) : pick(r, ["38.3度", "38.6℃", "38.5度"])}`;
      } else if (f.condition?.type === "fever_days") {
        sign = `发烧${pick(r, ["5天", "6天了", "一周"])}，体温38.5度左右`;
        age = pick(r, [24, 48, 72]);
      } else if (f.condition?.type === "blood_pressure") {
        // A reading over the line the flag names on its own (an adolescent's 180/120), or the stage-2 one with a symptom.
        const c = f.condition;
        sign = k === 0 ? `量血压${c.severe.systolic + 10}/${c.severe.diastolic}` : `${pick(r, c.symptoms)}，量血压${c.withSymptom.systolic + 10}/${c.withSymptom.diastolic + 5}`;
        age = pick(r, [144, 168]);
      } else if (f.condition?.type === "cooccur") {
        // The companion sign is one the flag itself asks for (a head injury with vomiting, a choke with a cough that will not stop).
        sign = `${pick(r, f.terms)}，之后${pick(r, f.condition.terms)}`;
      } else sign = pick(r, f.terms);
      if (f.minAgeDays !== undefined && age * 30.44 < f.minAgeDays) age = Math.ceil(f.minAgeDays / 30.44) + 1;
      // A sign limited to young infants (distension under 3 months) needs an age inside its window.
      if (f.maxAgeDays !== undefined && age * 30.44 >= f.maxAgeDays) age = pick(r, [0.5, 1, 2].filter((m) => m * 30.44 < f.maxAgeDays! && (f.minAgeDays === undefined || m * 30.44 >= f.minAgeDays)));
      const q = `孩子${ageText(age, r)}，${sign}，${pick(r, ["怎么办？", "需要注意什么？", "在家怎么处理？"])}`;
      // A sign that needs a doctor within 24 hours only is a missing timely visit, not missing emergency care.
      add("redflag-missing", q, pick(r, HOME_CARE), [{ type: f.action === "within_24h" ? "missing_timely_care" : "missing_urgent_care", flag: f.id }]);
      const action = f.action;
      add("redflag-advised", q, `${pick(r, ADVICE[action])}${pick(r, ["", "在去医院的路上注意观察孩子的呼吸和精神状态。"])}`, []);
    }
  }
  for (let k = 0; k < 30; k++) {
    const f = pick(r, kb.redFlags.filter((x) => !x.condition && x.ageBands.includes("child")));
    const term = pick(r, f.terms);
    const age = pick(r, [36, 48, 72]);
    if (k % 2 === 0) add("redflag-negated", `孩子${ageText(age, r)}，咳嗽两天，${pick(r, ["没有", "无", "没有出现"])}${term}，精神还好，怎么办？`, pick(r, HOME_CARE), []);
    else add("redflag-conditional", `孩子${ageText(age, r)}，流鼻涕两天，怎么护理？`, `${pick(r, HOME_CARE)}如果出现${term}等情况，请立即就医。`, []);
  }
  return rows;
}

/** Rows of a JSONL test-set file, validated line by line (errors name file, line and field). */
function parseRows(file: string, defaultSource: TestRow["source"]): TestRow[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new SafetyKnowledgeError(`${file}: cannot read the test set (${(err as Error).message})`, file);
  }
  const rows: TestRow[] = [];
  text.split("\n").forEach((line, i) => {
    if (!line.trim()) return;
    let data: unknown;
    try {
      data = JSON.parse(line);
    } catch (err) {
      throw new SafetyKnowledgeError(`${file}:${i + 1}: invalid JSON: ${(err as Error).message}`, file);
    }
    const res = testRowSchema.safeParse(data);
    if (!res.success) {
      const issue = res.error.issues[0]!;
      throw new SafetyKnowledgeError(`${file}:${i + 1}: field ${issue.path.join(".") || "(row)"}: ${issue.message}`, file);
    }
    const row = res.data;
    rows.push({
      id: row.id, split: row.split ?? splitOf(row.id), source: row.source ?? defaultSource, template: row.template ?? defaultSource,
      question: row.question, answer: row.answer, expected: row.expected,
    });
  });
  return rows;
}

/** Hand-written rows (data/safety/testset-handwritten.jsonl). */
export function readHandwritten(file: string): TestRow[] {
  return parseRows(file, "handwritten").map((r) => ({ ...r, source: "handwritten" }));
}

/** Read a test set file (JSONL of TestRow). */
export function readTestSet(file: string): TestRow[] {
  return parseRows(file, "generated");
}

/** The whole test set: generated rows plus hand-written ones. */
export function buildTestSet(kb: SafetyKnowledge = loadSafetyKnowledge()): TestRow[] {
  return [...generate(kb), ...readHandwritten(join(kb.dir, "testset-handwritten.jsonl"))];
}

/** Write the test set as JSONL; returns counts. */
export function writeTestSet(out?: string): { file: string; rows: number; dev: number; test: number } {
  const kb = loadSafetyKnowledge();
  const rows = buildTestSet(kb);
  const file = out ?? join(kb.dir, "testset.jsonl");
  writeFileSync(file, rows.map((r) => JSON.stringify(r)).join("\n") + "\n");
  return { file, rows: rows.length, dev: rows.filter((r) => r.split === "dev").length, test: rows.filter((r) => r.split === "test").length };
}
