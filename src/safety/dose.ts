/**
 * Weight-based dose rules: resolving a drug's rules for a route and indication into one range, and the
 * dose calculator (`pedgpt safety dose`). The calculator gives per-dose and daily ranges, interval,
 * maximums and volumes for the knowledge base's formulations, or refuses with reasons (too young, no
 * pediatric dosing in the knowledge base, implausible weight). It is a check aid, not a prescription.
 */
import { SafetyInputError } from "./errors.js";
import { citationNames, loadSafetyKnowledge, typicalWeightKg, type Drug, type SafetyKnowledge } from "./knowledge.js";
import type { DoseRule, FixedDoseBand, Formulation, Route } from "./schema.js";
import { normalize, parseNumber } from "./text.js";

/** A drug's dose rules for one route folded into one set of limits. */
export interface ResolvedDose {
  drugId: string;
  route: Route;
  indication: string;
  /** mg/kg per dose [min, max]. */
  perDoseMgPerKg: [number, number];
  /** mg/kg per day [min, max] (stated by the rule, or per-dose × doses per day). */
  dailyMgPerKg: [number, number];
  maxSingleDoseMg?: number;
  maxDailyMgPerKg?: number;
  maxDailyDoseMg?: number;
  intervalHours: [number, number];
  /** Doses per day implied by the interval [min, max], capped by maxDosesPerDay. */
  dosesPerDay: [number, number];
  maxDosesPerDay?: number;
  minAgeMonths?: number;
  /** True when every rule is written per day (mg/kg/日): a dose is then judged by its daily total when the frequency is known. */
  dailyBased: boolean;
  /** The label's fixed single doses [lowest, highest] for this child's age and weight band (union over the rules), when a band covers the child. */
  fixedDoseMg?: [number, number];
  notes: string[];
  citations: string[];
  rules: DoseRule[];
}

function dosesPerDay(r: DoseRule): [number, number] {
  const lo = Math.max(1, Math.floor(24 / r.intervalHours[1] + 1e-9));
  const hi = Math.max(lo, Math.min(r.maxDosesPerDay ?? Infinity, Math.floor(24 / r.intervalHours[0] + 1e-9)));
  return [Math.min(lo, hi), hi];
}

function ruleRanges(r: DoseRule): { per: [number, number]; daily: [number, number]; n: [number, number] } {
  const n = dosesPerDay(r);
  if (r.perDoseMgPerKg) {
    const per = r.perDoseMgPerKg;
    const dailyHi = Math.min(per[1] * n[1], r.maxDailyMgPerKg ?? Infinity);
    return { per, daily: r.dailyMgPerKg ?? [per[0] * n[0], dailyHi], n };
  }
  const daily = r.dailyMgPerKg!;
  return { per: [daily[0] / n[1], daily[1] / n[0]], daily, n };
}

const minOpt = (xs: (number | undefined)[]) => (xs.some((x) => x === undefined) ? undefined : Math.max(...(xs as number[])));

/**
 * Fold the drug's rules for `route` into one range. With an indication present in `context`, only the
 * matching rules are used; otherwise the union (widest limits), so a check never flags a dose that
 * one of the indications allows.
 */
export function resolveDose(
  kb: SafetyKnowledge,
  drug: Drug,
  options: { route?: Route; context?: string; indication?: string; pick?: "union" | "first"; ageMonths?: number; weightKg?: number } = {},
): ResolvedDose | undefined {
  let rules = drug.doses.filter((r) => !options.route || r.route === options.route);
  if (rules.length === 0 && !options.route) return undefined;
  if (rules.length === 0) return undefined;
  // Rules by age band: with the age known, a band the child is past does not apply, and where the
  // drug's bands cover the age, rules for older children do not either.
  const age = options.ageMonths;
  if (age !== undefined && rules.some((r) => r.maxAgeMonths !== undefined)) {
    const notPast = rules.filter((r) => r.maxAgeMonths === undefined || age < r.maxAgeMonths);
    const inBand = notPast.filter((r) => (r.minAgeMonths ?? 0) <= age);
    rules = inBand.length ? inBand : notPast.length ? notPast : rules;
  }
  const ctx = normalize(`${options.indication ?? ""} ${options.context ?? ""}`);
  const byIndication = rules.filter((r) => ctx.includes(normalize(r.indication)) || r.indicationTerms.some((t) => ctx.includes(normalize(t))));
  if (options.indication && byIndication.length === 0)
    throw new SafetyInputError(`no dose rule for indication "${options.indication}" of ${drug.nameZh}; known indications: ${rules.map((r) => r.indication).join(", ")}`);
  if (byIndication.length) rules = byIndication;
  // The calculator shows one indication at a time: the rule named for the indication asked about
  // (急性中耳炎（高剂量） for 中耳炎), else the first listed, the usual one. The checker keeps the union:
  // a dose that one of the matching rules allows is not flagged.
  if (options.pick === "first") {
    const named = rules.filter((r) => r.indicationTerms.some((t) => ctx.includes(normalize(t)) && normalize(r.indication).includes(normalize(t))));
    rules = (named.length ? named : rules).slice(0, 1);
  }
  const ranges = rules.map(ruleRanges);
  const fixed = fixedBands(rules, age, options.weightKg);
  const notes = rules.map((r) => r.note).filter((n): n is string => !!n);
  return {
    drugId: drug.id,
    route: rules[0]!.route,
    indication: rules.map((r) => r.indication).join(" / "),
    perDoseMgPerKg: [Math.min(...ranges.map((x) => x.per[0])), Math.max(...ranges.map((x) => x.per[1]))],
    dailyMgPerKg: [Math.min(...ranges.map((x) => x.daily[0])), Math.max(...ranges.map((x) => x.daily[1]))],
    maxSingleDoseMg: minOpt(rules.map((r) => r.maxSingleDoseMg)),
    maxDailyMgPerKg: minOpt(rules.map((r) => r.maxDailyMgPerKg)),
    maxDailyDoseMg: minOpt(rules.map((r) => r.maxDailyDoseMg)),
    intervalHours: [Math.min(...rules.map((r) => r.intervalHours[0])), Math.max(...rules.map((r) => r.intervalHours[1]))],
    dosesPerDay: [Math.min(...ranges.map((x) => x.n[0])), Math.max(...ranges.map((x) => x.n[1]))],
    maxDosesPerDay: minOpt(rules.map((r) => r.maxDosesPerDay)),
    minAgeMonths: rules.every((r) => r.minAgeMonths !== undefined) ? Math.min(...rules.map((r) => r.minAgeMonths!)) : undefined,
    dailyBased: rules.every((r) => !r.perDoseMgPerKg),
    ...(fixed ? { fixedDoseMg: fixed } : {}),
    notes,
    citations: [...new Set(rules.flatMap((r) => citationNames(kb, r.citation)))],
    rules,
  };
}

/**
 * The fixed single doses the rules' bands give a child of this age and weight, as one [lowest, highest]
 * range. A band limited by age needs the age, one limited by weight the weight; a band the child falls
 * outside, or a missing age or weight it needs, gives nothing.
 */
function fixedBands(rules: DoseRule[], ageMonths: number | undefined, weightKg: number | undefined): [number, number] | undefined {
  const inBand = (b: FixedDoseBand) =>
    (b.minAgeMonths === undefined && b.maxAgeMonths === undefined || ageMonths !== undefined && (b.minAgeMonths ?? 0) <= ageMonths && (b.maxAgeMonths === undefined || ageMonths < b.maxAgeMonths))
    && (b.minKg === undefined && b.maxKg === undefined || weightKg !== undefined && weightKg > 0 && (b.minKg === undefined || weightKg >= b.minKg) && (b.maxKg === undefined || weightKg <= b.maxKg));
  const mg = rules.flatMap((r) => (r.fixedDoses ?? []).filter(inBand).map((b) => b.mg));
  return mg.length ? [Math.min(...mg.map((x) => x[0])), Math.max(...mg.map((x) => x[1]))] : undefined;
}

/** Find a drug by any of its names or its id (case- and width-insensitive). */
export function findDrug(kb: SafetyKnowledge, name: string): Drug | undefined {
  const key = normalize(name.trim());
  return kb.drugById.get(key) ?? kb.drugs.find((d) => d.names.some((n) => normalize(n) === key));
}

/** How a typed age or weight is read: `requireUnit` refuses a bare number (is "24" kg, 斤 or months?). */
export interface QuantityParseOptions {
  requireUnit?: boolean;
}

/** "12kg", "12 公斤", "24斤", "12" → kg (a bare number is refused with `requireUnit`). */
export function parseWeight(input: string | number, opts: QuantityParseOptions = {}): number {
  if (typeof input === "number") return input;
  const m = /^\s*([\d.]+|[零〇一二两三四五六七八九十百]+)\s*(kg|公斤|千克|斤)?\s*$/i.exec(normalize(input));
  const n = m ? parseNumber(m[1]!) : NaN;
  if (!m || !Number.isFinite(n)) throw new SafetyInputError(`cannot read weight "${input}"; expected e.g. 12kg, 12公斤 or 24斤`);
  if (!m[2] && opts.requireUnit) throw new SafetyInputError(`weight "${input}" has no unit; write e.g. 12kg, 12公斤 or 24斤 (1 斤 = 0.5 kg)`);
  return m[2] === "斤" ? n / 2 : n;
}

/** "2y", "18m", "10d", "3岁", "8个月", "2y6m", "1岁2个月", "新生儿", or a number of months (refused with `requireUnit`). */
export function parseAge(input: string | number, opts: QuantityParseOptions = {}): number {
  if (typeof input === "number") return input;
  const t = normalize(input.trim());
  if (/^新生儿$/.test(t)) return 0.5;
  const re = /([\d.]+|[零〇一二两三四五六七八九十百]+)\s*(y|yr|yrs|year|years|岁|周岁|m|mo|month|months|个月|月|w|wk|week|weeks|周|d|day|days|天)?/g;
  let months = 0;
  let any = false;
  let consumed = "";
  for (const m of t.matchAll(re)) {
    const n = parseNumber(m[1]!);
    if (!Number.isFinite(n)) continue;
    if (!m[2] && opts.requireUnit) throw new SafetyInputError(`age "${input}" has no unit; write e.g. 2y, 18m, 10d, 3岁 or 8个月`);
    const u = m[2] ?? "m";
    any = true;
    consumed += m[0];
    if (/^(y|yr|yrs|year|years|岁|周岁)$/.test(u)) months += n * 12;
    else if (/^(w|wk|week|weeks|周)$/.test(u)) months += (n * 7) / 30.44;
    else if (/^(d|day|days|天)$/.test(u)) months += n / 30.44;
    else months += n;
  }
  if (t.endsWith("半") && any) months += /岁半$/.test(t) ? 6 : 0.5;
  if (!any || consumed.replace(/\s/g, "").length + (t.endsWith("半") ? 1 : 0) < t.replace(/\s/g, "").length)
    throw new SafetyInputError(`cannot read age "${input}"; expected e.g. 2y, 18m, 10d, 3岁, 8个月 or a number of months`);
  return months;
}

export interface DoseRequest {
  drug: string;
  weightKg?: number;
  ageMonths?: number;
  indication?: string;
  route?: Route;
  kb?: SafetyKnowledge;
}

export interface FormulationVolume {
  formulation: string;
  strength: string;
  /** Amount per dose in the formulation's unit [min, max]. */
  perDose: [number, number];
  unit: "ml" | "片" | "粒" | "袋" | "枚";
  adultOnly: boolean;
  note?: string;
}

export interface DoseResult {
  ok: true;
  drug: { id: string; nameZh: string; nameEn: string };
  indication: string;
  route: Route;
  weightKg: number;
  weightEstimated: boolean;
  ageMonths?: number;
  perDoseMgPerKg: [number, number];
  perDoseMg: [number, number];
  dailyMg: [number, number];
  intervalHours: [number, number];
  maxDosesPerDay?: number;
  maxSingleDoseMg?: number;
  maxDailyDoseMg?: number;
  /** Which caps shortened the weight-based range. */
  cappedBy: string[];
  volumes: FormulationVolume[];
  warnings: string[];
  notes: string[];
  citations: string[];
}

export interface DoseRefusal {
  ok: false;
  drug?: { id: string; nameZh: string; nameEn: string };
  reasons: string[];
  citations: string[];
}

const UNIT_ZH = { ml: "ml", tablet: "片", capsule: "粒", sachet: "袋", suppository: "枚" } as const;
const round = (x: number, step: number) => Math.round(x / step) * step;
const fmt = (x: number) => Number(x.toPrecision(3));

function volumeOf(f: Formulation, mg: [number, number], ageMonths: number | undefined): FormulationVolume {
  const mgPerUnit = f.strength.mg / f.strength.per;
  const step = f.strength.unit === "ml" ? 0.1 : f.strength.unit === "sachet" ? 0.25 : f.strength.unit === "tablet" ? 0.25 : 1;
  // Round inwards so that every amount shown stays inside the mg range; a range narrower than one
  // measurable step shows the nearest step and says so.
  let lo = Math.ceil(mg[0] / mgPerUnit / step - 1e-9) * step;
  let hi = Math.floor(mg[1] / mgPerUnit / step + 1e-9) * step;
  let inexact: string | undefined;
  if (lo > hi) {
    lo = hi = Math.max(step, round((mg[0] + mg[1]) / 2 / mgPerUnit, step));
    inexact = "该规格无法在推荐范围内精确分剂量，所示为最接近的量";
  }
  const perDose: [number, number] = [fmt(lo), fmt(hi)];
  const adultOnly = !!f.adultOnly;
  const note = [f.note, inexact, adultOnly && (ageMonths === undefined || ageMonths < 144) ? "成人规格，儿童不宜" : undefined].filter(Boolean).join("；");
  return {
    formulation: f.name,
    strength: `${f.strength.mg} mg/${f.strength.per === 1 ? "" : f.strength.per + " "}${UNIT_ZH[f.strength.unit]}`,
    perDose, unit: UNIT_ZH[f.strength.unit], adultOnly,
    ...(note ? { note } : {}),
  };
}

/** Weight-based dose for one drug, or a refusal with reasons. */
export function calculateDose(req: DoseRequest): DoseResult | DoseRefusal {
  const kb = req.kb ?? loadSafetyKnowledge();
  const drug = findDrug(kb, req.drug);
  if (!drug) return { ok: false, reasons: [`“${req.drug}”不在安全知识库中（知识库版本 ${kb.kbVersion}），无法给出剂量`], citations: [] };
  const who = { id: drug.id, nameZh: drug.nameZh, nameEn: drug.nameEn };
  const reasons: string[] = [];
  const cites = new Set<string>();
  if (req.weightKg !== undefined && !(req.weightKg > 0 && req.weightKg <= 150)) reasons.push(`体重 ${req.weightKg} kg 不在合理范围（0–150 kg）`);
  if (req.ageMonths !== undefined && !(req.ageMonths >= 0 && req.ageMonths < 18 * 12)) reasons.push(`年龄 ${fmt(req.ageMonths)} 个月不在儿科范围（0–18 岁）`);
  if (req.weightKg === undefined && req.ageMonths === undefined) reasons.push("需要体重（--weight）或年龄（--age）之一才能按体重计算剂量");
  if (drug.ageRule && req.ageMonths !== undefined && req.ageMonths < drug.ageRule.minAgeMonths) {
    reasons.push(`年龄过小：${drug.ageRule.reason}（最低 ${fmtAge(drug.ageRule.minAgeMonths)}）`);
    for (const c of citationNames(kb, drug.ageRule.citation)) cites.add(c);
  }
  let resolved: ResolvedDose | undefined;
  try {
    resolved = resolveDose(kb, drug, { route: req.route, indication: req.indication, context: req.indication, pick: "first", ageMonths: req.ageMonths });
  } catch (err) {
    if (err instanceof SafetyInputError) reasons.push(err.message);
    else throw err;
  }
  if (!resolved && reasons.every((r) => !r.startsWith("no dose rule")))
    reasons.push(`知识库中没有${drug.nameZh}${req.route ? `（${req.route}）` : ""}的儿童按体重剂量，不作估算；请遵医嘱或查阅说明书/处方集`);
  if (resolved?.minAgeMonths !== undefined && req.ageMonths !== undefined && req.ageMonths < resolved.minAgeMonths) {
    reasons.push(`年龄过小：${resolved.indication}的按体重剂量适用于 ${fmtAge(resolved.minAgeMonths)} 及以上，该年龄需医生评估`);
    for (const c of resolved.citations) cites.add(c);
  }
  let weightKg = req.weightKg;
  let weightEstimated = false;
  if (req.ageMonths !== undefined && req.ageMonths >= 0 && req.ageMonths < 216) {
    const median = typicalWeightKg(kb, req.ageMonths);
    if (weightKg === undefined) {
      weightKg = fmt(median);
      weightEstimated = true;
    } else {
      const [lo, hi] = kb.growth.plausibleRatio;
      if (weightKg < median * lo || weightKg > median * hi)
        reasons.push(`体重 ${weightKg} kg 与年龄 ${fmtAge(req.ageMonths)} 不相符（同龄中位体重约 ${fmt(median)} kg，合理范围 ${fmt(median * lo)}–${fmt(median * hi)} kg），请核对`);
    }
  }
  if (reasons.length || !resolved || weightKg === undefined) return { ok: false, drug: who, reasons, citations: [...cites] };

  const w = weightKg;
  const cappedBy: string[] = [];
  let perDoseMg: [number, number] = [resolved.perDoseMgPerKg[0] * w, resolved.perDoseMgPerKg[1] * w];
  if (resolved.maxSingleDoseMg !== undefined && perDoseMg[1] > resolved.maxSingleDoseMg) {
    cappedBy.push(`单次最大 ${resolved.maxSingleDoseMg} mg`);
    perDoseMg = [Math.min(perDoseMg[0], resolved.maxSingleDoseMg), resolved.maxSingleDoseMg];
  }
  let dailyMg: [number, number] = [resolved.dailyMgPerKg[0] * w, resolved.dailyMgPerKg[1] * w];
  const dailyCap = Math.min(resolved.maxDailyMgPerKg !== undefined ? resolved.maxDailyMgPerKg * w : Infinity, resolved.maxDailyDoseMg ?? Infinity, perDoseMg[1] * resolved.dosesPerDay[1]);
  if (dailyMg[1] > dailyCap) {
    if (resolved.maxDailyDoseMg !== undefined && dailyCap === resolved.maxDailyDoseMg) cappedBy.push(`每日最大 ${resolved.maxDailyDoseMg} mg`);
    dailyMg = [Math.min(dailyMg[0], dailyCap), dailyCap];
  }
  const warnings: string[] = [];
  if (weightEstimated) warnings.push(`未提供体重，按 ${fmtAge(req.ageMonths!)} 同龄中位体重估计为 ${w} kg；请以实际体重计算`);
  if (drug.ageRule && req.ageMonths === undefined) warnings.push(`年龄限制：${drug.ageRule.reason}`);
  for (const c of drug.cautions) warnings.push(`注意：${c}`);
  const child = req.ageMonths === undefined || req.ageMonths < 144;
  const forms = drug.formulations.filter((f) => f.route === resolved.route && !(f.adultOnly && child));
  for (const f of drug.formulations) if (f.adultOnly && child && f.route === resolved.route) warnings.push(`${f.name}（${f.strength.mg} mg）为成人规格，儿童不宜使用`);
  const others = drug.doses.filter((r) => !resolved.rules.includes(r) && (!req.route || r.route === req.route));
  if (others.length) resolved.notes.push(`其他适应证（用 --indication 选择）：${others.map((r) => r.indication).join("、")}`);
  return {
    ok: true,
    drug: who,
    indication: resolved.indication,
    route: resolved.route,
    weightKg: w,
    weightEstimated,
    ...(req.ageMonths !== undefined ? { ageMonths: req.ageMonths } : {}),
    perDoseMgPerKg: resolved.perDoseMgPerKg,
    perDoseMg: [fmt(perDoseMg[0]), fmt(perDoseMg[1])],
    dailyMg: [fmt(dailyMg[0]), fmt(dailyMg[1])],
    intervalHours: resolved.intervalHours,
    ...(resolved.maxDosesPerDay !== undefined ? { maxDosesPerDay: resolved.maxDosesPerDay } : {}),
    ...(resolved.maxSingleDoseMg !== undefined ? { maxSingleDoseMg: resolved.maxSingleDoseMg } : {}),
    ...(resolved.maxDailyDoseMg !== undefined ? { maxDailyDoseMg: resolved.maxDailyDoseMg } : {}),
    cappedBy,
    volumes: forms.map((f) => volumeOf(f, perDoseMg, req.ageMonths)),
    warnings,
    notes: resolved.notes,
    citations: resolved.citations,
  };
}

export function fmtAge(months: number): string {
  if (months < 1) return `${Math.round(months * 30.44)} 天`;
  if (months < 24) return `${fmt(months)} 个月`;
  const y = Math.floor(months / 12);
  const m = Math.round(months - y * 12);
  return m ? `${y} 岁 ${m} 个月` : `${y} 岁`;
}
