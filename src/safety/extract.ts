/**
 * Pattern extraction from Chinese free text: patient age and weight, temperatures and fever duration,
 * dose amounts with units (mg/kg, mg, g, ml, 片, 袋, 粒, 半片 …, ranges 5-10), per-dose vs per-day
 * qualifiers, frequencies (每日3次, 每6-8小时, 分3次, tid) and formulation strengths (100mg/5ml).
 * It reads numbers and units; it does not know drugs (check.ts ties amounts to drug mentions).
 * All offsets are UTF-16 offsets into the caller's text (normalisation preserves length).
 */
import { normalize, parseNumber, NUM, RANGE_SEP, clauseAt } from "./text.js";

export interface AgeMention {
  months: number;
  start: number;
  end: number;
  text: string;
  /** True when the age word is a band (新生儿) rather than a stated number. */
  approximate: boolean;
}

const THRESHOLD_AFTER = /^\s*(?:以下|以上|以内|之前|之后|以前|以后|前|后|起|及以上|及以下|或以上|或以下|内|至|到|-|~|～|—|–|的儿童禁用|者禁用|禁用|慎用)/;
const THRESHOLD_BEFORE = /(?:满|超过|大于|小于|不满|未满|不足|不到|低于|高于|≥|≤|<|>|从|自|年龄在|\d\s*(?:-|~|～|—|–|至|到)\s*|[一二两三四五六七八九十]\s*(?:至|到))\s*$/;
/** A number of months/years right after a symptom is a duration, not an age (咳嗽3个月了). */
const DURATION_BEFORE = /(?:咳嗽|咳|发烧|发热|烧|腹泻|拉肚子|拉稀|吐|呕吐|病|疼|痛|持续|反复|已经用|用药|吃药|服药|服用|湿疹|便秘|流鼻涕|鼻塞|打呼噜|喘|过敏|出现|断断续续|最近|近|快|了)\s*$/;

function isThreshold(norm: string, start: number, end: number): boolean {
  const before = norm.slice(Math.max(0, start - 6), start);
  // "刚满两个月" states the child's age; "满6个月后" is a threshold.
  if (/(?:刚|才|刚刚|已经?|今天|正好|快)\s*满\s*$/.test(before) && !THRESHOLD_AFTER.test(norm.slice(end, end + 6))) return false;
  return THRESHOLD_AFTER.test(norm.slice(end, end + 6)) || THRESHOLD_BEFORE.test(before);
}

// The extractors run on every sentence window and every triage: their patterns (built from NUM and the
// like) are compiled once, on first use, not on every call. Only matchAll reads them, which copies a
// global pattern, so sharing one is safe.
const ONCE: Record<string, RegExp> = {};

/** Every age mention that reads as the patient's age (thresholds like "6个月以下" and durations are skipped). */
export function extractAges(text: string): AgeMention[] {
  const norm = normalize(text);
  const out: AgeMention[] = [];
  const push = (months: number, start: number, end: number, approximate = false) => {
    if (!Number.isFinite(months) || months < 0 || months > 12 * 25) return;
    if (out.some((a) => start < a.end && end > a.start)) return;
    out.push({ months, start, end, text: text.slice(start, end), approximate });
  };
  const durationBefore = (start: number) => {
    const [cs] = clauseAt(norm, start);
    return DURATION_BEFORE.test(norm.slice(Math.max(cs, start - 6), start));
  };
  const years = (ONCE.years ??= new RegExp(String.raw`(${NUM})\s*(?:周岁|岁)(?:\s*(${NUM})\s*个?月)?(半)?`, "g"));
  for (const m of norm.matchAll(years)) {
    const s = m.index!, e = s + m[0].length;
    if (isThreshold(norm, s, e) || durationBefore(s)) continue;
    const y = parseNumber(m[1]!);
    const mo = m[2] ? parseNumber(m[2]) : 0;
    push(y * 12 + (Number.isFinite(mo) ? mo : 0) + (m[3] ? 6 : 0), s, e);
  }
  // 俩/仨 are spoken 两个/三个 ("俩月", "俩多月"); 个来月 is "about N months".
  const months = (ONCE.months ??= new RegExp(String.raw`(${NUM}|俩|仨)\s*(个多月|个半月|个来月|个月|月龄|月大|多月|来月|月(?=[，,。；;了大零多半\s]|$))`, "g"));
  for (const m of norm.matchAll(months)) {
    const s = m.index!, e = s + m[0].length;
    if (isThreshold(norm, s, e) || durationBefore(s)) continue;
    // A bare "N月" or "N多月" is an age only for 俩/仨 or with a child word right before ("宝宝两月"); otherwise a date.
    if (/^(?:多月|来月|月)$/.test(m[2]!) && !/^[俩仨]$/.test(m[1]!) && !/(?:宝宝|孩子|宝|娃|婴儿|闺女|儿子|女儿|小孩|才|刚)\s*$/.test(norm.slice(Math.max(0, s - 3), s))) continue;
    const n = m[1] === "俩" ? 2 : m[1] === "仨" ? 3 : parseNumber(m[1]!);
    push(n + (m[2] === "个半月" ? 0.5 : 0), s, e);
  }
  // "宝宝20天，…" states an age only when the clause ends there ("宝宝3天没拉" is a duration).
  const days = (ONCE.days ??= new RegExp(String.raw`(?:出生(?:以)?后?|生后|刚出生|出生了|生下来|生出来|落地|下生|生了)\s*(?:才|刚|刚刚|已经|有|满|就)?\s*(?:第)?\s*(${NUM})\s*(?:多|来)?\s*(天|日|周|个?星期|个?礼拜|个?(?:多)?小时)|(${NUM})\s*(?:多|来)?\s*(天|日|周)\s*(?:大|龄|(?=的\s*(?:宝宝|娃|孩子|婴儿|宝贝|小孩|闺女|儿子|女儿|小宝)))|(?<=(?:宝宝|孩子|婴儿|小孩|女儿|儿子|新生儿|娃|闺女|宝贝|丫头)\s*(?:才|刚|刚刚|出生)?\s*)(${NUM})\s*(?:多|来)?\s*(天|周)(?=\s*(?:了)?\s*(?:[，,。；;]|$))`, "g"));
  for (const m of norm.matchAll(days)) {
    const s = m.index!, e = s + m[0].length;
    if (isThreshold(norm, s, e)) continue;
    if (/孕\s*$/.test(norm.slice(Math.max(0, s - 2), s))) continue;
    const n = parseNumber(m[1] ?? m[3] ?? m[5]!);
    const unit = m[2] ?? m[4] ?? m[6]!;
    push(((/周|星期|礼拜/.test(unit) ? 7 : /小时/.test(unit) ? 1 / 24 : 1) * n) / 30.4, s, e);
  }
  // "还没满仨月" states an age just under the number, when the clause ends there (not "不到3个月的宝宝不能吃").
  const under = (ONCE.under ??= new RegExp(String.raw`(?:还没满|还不满|没满|未满|不满|不到)\s*(${NUM}|俩|仨)\s*(?:个)?(?:多)?月(?:大)?(?=\s*(?:[，,。；;]|$))`, "g"));
  for (const m of norm.matchAll(under)) {
    const n = m[1] === "俩" ? 2 : m[1] === "仨" ? 3 : parseNumber(m[1]!);
    if (Number.isFinite(n) && n > 0) push(n - 0.5, m.index!, m.index! + m[0].length, true);
  }
  // "宝宝快三个月了" is an age just under the number too, when 快/将近 follows the child word or opens the clause,
  // and so is "快三个月的宝宝" ("咳嗽快三个月了" is a duration).
  const nearly = (ONCE.nearly ??= new RegExp(String.raw`(?<=(?:宝宝|孩子|娃|婴儿|闺女|儿子|女儿|小孩|宝贝|^|[，,。；;])\s*)(?:快要|快|将近|眼看就)\s*(${NUM}|俩|仨)\s*(?:个)?月(?:大)?(?:了)?(?=\s*(?:[，,。；;]|$|的\s*(?:宝宝|孩子|娃|婴儿|小孩|宝贝|闺女|儿子|女儿|小宝|男孩|女孩)))`, "g"));
  for (const m of norm.matchAll(nearly)) {
    const n = m[1] === "俩" ? 2 : m[1] === "仨" ? 3 : parseNumber(m[1]!);
    if (Number.isFinite(n) && n > 0) push(n - 0.5, m.index!, m.index! + m[0].length, true);
  }
  const underYears = (ONCE.underYears ??= new RegExp(String.raw`(?:还没满|还不满|没满|未满|不满|不到)\s*(${NUM}|俩|仨)\s*(?:周)?岁(?:半)?(?=\s*(?:[，,。；;]|$))`, "g"));
  for (const m of norm.matchAll(underYears)) {
    const n = m[1] === "俩" ? 2 : m[1] === "仨" ? 3 : parseNumber(m[1]!);
    if (Number.isFinite(n) && n > 0) push(n * 12 - 6 + (/半$/.test(m[0]) ? 6 : 0), m.index!, m.index! + m[0].length, true);
  }
  // Milestone words for an age: 满月 (1 month), 百天 (about 3 months), 周岁 alone (12 months).
  for (const m of norm.matchAll(/(?:刚|才|已经|已)?满月(?![饼酒照])|百天(?![照宴])|(?:刚|才|满|过了?)\s*周岁/g)) {
    const s = m.index!;
    if (THRESHOLD_AFTER.test(norm.slice(s + m[0].length, s + m[0].length + 4))) continue;
    push(/满月/.test(m[0]) ? 1 : /百天/.test(m[0]) ? 3.3 : 12, s, s + m[0].length, true);
  }
  // "半个月的宝宝", "宝宝半个月大" state an age; "咳嗽半个月了" is a duration, so a child word or 大 must tie it.
  for (const m of norm.matchAll(/(?<=(?:宝宝|孩子|娃|婴儿|闺女|儿子|女儿|小孩|宝贝|出生|生下来)\s*(?:才|刚|刚刚|刚满|已经)?\s*)半个(?:多)?月(?:大)?|半个(?:多)?月(?:大|(?=的\s*(?:宝宝|孩子|娃|婴儿|小孩|宝贝|闺女|儿子|女儿|小宝)))/g)) {
    const s = m.index!;
    if (durationBefore(s)) continue;
    push(/多/.test(m[0]) ? 0.6 : 0.5, s, s + m[0].length, true);
  }
  // 月子里 is the first month after birth ("还在月子里的宝宝").
  for (const m of norm.matchAll(/新生儿|刚出生的|早产儿|新生宝宝|(?:还在|还没出)?月子里(?:的)?(?=\s*(?:宝宝|孩子|娃|婴儿|小孩|闺女|儿子|，|,|发烧|发热))/g)) {
    const s = m.index!;
    if (/(?:和|及|与)\s*$/.test(norm.slice(Math.max(0, s - 2), s)) || THRESHOLD_AFTER.test(norm.slice(s + m[0].length, s + m[0].length + 4))) continue;
    push(0.5, s, s + m[0].length, true);
  }
  return out.sort((a, b) => a.start - b.start);
}

export interface WeightMention {
  kg: number;
  start: number;
  end: number;
  text: string;
}

/** Stated body weights (12kg, 15公斤, 体重24斤 → 12 kg); per-kg units, bands and thresholds are skipped. */
export function extractWeights(text: string): WeightMention[] {
  const norm = normalize(text);
  const out: WeightMention[] = [];
  const re = (ONCE.weights ??= new RegExp(String.raw`(${NUM})(${RANGE_SEP}${NUM})?\s*(?:来|多)?\s*(kg|公斤|千克|斤)(?![a-z/])`, "g"));
  for (const m of norm.matchAll(re)) {
    const s = m.index!, e = s + m[0].length;
    const before = norm.slice(Math.max(0, s - 6), s);
    if (/[/每]\s*$/.test(before) || /(?:超过|大于|小于|低于|不足|≥|≤|<|>|增加了?|减轻了?|长了|涨了|掉了|少于|多于)\s*$/.test(before)) continue;
    if (/^\s*(?:以上|以下|以内|者|左右以上|体重以上)/.test(norm.slice(e, e + 4))) continue;
    if (m[2]) continue; // a weight band (15-20kg) describes a dosing band, not this child
    const n = parseNumber(m[1]!);
    if (!Number.isFinite(n) || n <= 0) continue;
    out.push({ kg: m[3] === "斤" ? n / 2 : n, start: s, end: e, text: text.slice(s, e) });
  }
  return out;
}

export interface FeverInfo {
  /** Highest stated temperature in °C, if any. */
  maxTempC?: number;
  /** Whether a fever word (发烧/发热 …) appears, with its span. */
  feverSpans: [number, number][];
  /** Whether 高烧/高热 appears. */
  highFever: boolean;
  /** Longest stated fever duration in days. */
  days?: number;
  daysSpan?: [number, number];
  tempSpan?: [number, number];
}

const FEVER_TERMS = /发烧|发热|高烧|高热|低烧|低热|烧到|体温升高|体温高|烧得厉害|一直烧/g;

/** Fever words, temperatures (38.5℃, 39度, 体温38) and durations (发烧5天, 烧了一周). */
export function extractFever(text: string): FeverInfo {
  const norm = normalize(text);
  const info: FeverInfo = { feverSpans: [], highFever: false };
  for (const m of norm.matchAll(FEVER_TERMS)) {
    info.feverSpans.push([m.index!, m.index! + m[0].length]);
    if (m[0] === "高烧" || m[0] === "高热") info.highFever = true;
  }
  // A bare reading right after a fever word counts too ("低烧37.8", "发烧38.5").
  const temp = (ONCE.temp ??= new RegExp(String.raw`(?:体温\s*(?:达到?|升到|高达|最高|为|是)?\s*|烧到\s*|(?:发烧|发热|低烧|低热|高烧|高热)\s*(?:了|有|在)?\s*(?=(?:3[4-9]|4[0-3])(?:\.\d)?(?![\d.]|\s*(?:天|日|周|次|小时|个))))(${NUM})(?:\s*(?:度|℃|°c|°))?|(${NUM})\s*(?:度|℃|°c|°)`, "g"));
  for (const m of norm.matchAll(temp)) {
    const v = parseNumber(m[1] ?? m[2]!);
    if (!(v >= 34 && v <= 43)) continue;
    if (/(?:超过|以上|大于|≥|>)\s*$/.test(norm.slice(Math.max(0, m.index! - 4), m.index!)) && !/体温/.test(m[0])) continue;
    if (/^\s*(?:以上|以下|时|就|再|才)/.test(norm.slice(m.index! + m[0].length, m.index! + m[0].length + 3))) continue;
    if (info.maxTempC === undefined || v > info.maxTempC) {
      info.maxTempC = v;
      info.tempSpan = [m.index!, m.index! + m[0].length];
    }
  }
  // A reading without a unit where the thermometer is named ("一量38.3", "夹了下表38.2", "额温枪显示38.6"),
  // a spoken decimal ("38度2"), or a bare decimal in a sentence about heat ("摸着滚烫，38.5").
  const reading = (ONCE.reading ??= new RegExp(String.raw`(?:量|测|夹|表|体温计|温度计|额温枪?|耳温枪?|腋温|肛温|显示|温度)[^，。；,;!?！？\d]{0,6}?(?<![\d.])((?:3[5-9]|4[0-2])(?:\.\d)?)(?![\d.])|(?<![\d.])(3[5-9]|4[0-2])\s*度\s*([1-9])(?![\d.]|\s*(?:天|日|周|次|小时|个))|(?<![\d.])((?:3[5-9]|4[0-2])\.\d)(?![\d.])`, "g"));
  const NOT_TEMP_AFTER = /^\s*(?:kg|公斤|斤|千克|cm|厘米|ml|毫升|元|块|mg|g(?![a-z])|%|万|岁|个|天|日|周|次|小时|分钟|秒|号|米|码|以上|以下|时|就|再|才)/;
  for (const m of norm.matchAll(reading)) {
    const end = m.index! + m[0].length;
    if (NOT_TEMP_AFTER.test(norm.slice(end, end + 3))) continue;
    let v: number;
    if (m[1]) v = parseNumber(m[1]);
    else if (m[2]) v = Number(`${m[2]}.${m[3]}`);
    else {
      // A bare decimal in the fever range is a temperature unless its clause measures something else.
      const [ss, se] = clauseAt(norm, m.index!);
      if (/体重|身高|头围|胆红素|黄疸值|指数|血糖|浓度|斤|公斤|kg|cm|厘米|分数|成绩|码/.test(norm.slice(ss, se))) continue;
      v = parseNumber(m[4]!);
    }
    if (!(v >= 35 && v <= 42.9)) continue;
    if (info.maxTempC === undefined || v > info.maxTempC) {
      info.maxTempC = v;
      info.tempSpan = [m.index!, end];
    }
  }
  const dur = (ONCE.dur ??= new RegExp(
    String.raw`(?:发烧|发热|高烧|高热|烧)[^，。；,;!?！？]{0,10}?(?<![\d.])(${NUM})\s*(天|日|周|个?星期)|(${NUM})\s*(天|日|周|个?星期)\s*(?:来|了|以来)?\s*(?:一直|反复|持续|都)?\s*(?:发烧|发热|高烧|高热|烧)`,
    "g",
  ));
  for (const m of norm.matchAll(dur)) {
    const n = parseNumber(m[1] ?? m[3]!);
    const unit = m[2] ?? m[4]!;
    const d = /周|星期/.test(unit) ? n * 7 : n;
    if (Number.isFinite(d) && (info.days === undefined || d > info.days)) {
      info.days = d;
      info.daysSpan = [m.index!, m.index! + m[0].length];
    }
  }
  return info;
}

export interface BloodPressureReading {
  systolic?: number;
  diastolic?: number;
  span: [number, number];
}

/**
 * Blood pressure readings in mmHg: "血压190/120", "190/120mmHg", "高压190，低压120", "收缩压165". A pair
 * of numbers with a slash counts only where blood pressure or mmHg is named beside it (a dose "5/10" is not).
 */
export function extractBloodPressure(text: string): BloodPressureReading[] {
  const norm = normalize(text);
  const out: BloodPressureReading[] = [];
  const plausible = (sys: number, dia?: number) => sys >= 50 && sys <= 300 && (dia === undefined || (dia >= 20 && dia < sys));
  const pair = /(?<![\d.])(\d{2,3})\s*多?\s*[/／]\s*(\d{2,3})(?![\d.])(\s*(?:mmhg|毫米汞柱))?/g;
  for (const m of norm.matchAll(pair)) {
    const before = norm.slice(Math.max(0, m.index! - 12), m.index!);
    // "测了170/110" reads a pair as blood pressure only where the text speaks of it ("血压一直高，…测了170/110").
    if (!m[3] && !/血压[^，。；,;！？!?\d]{0,8}$/.test(before) && !(/(?:测|量)[^，。；,;！？!?\d]{0,4}$/.test(before) && /血压/.test(norm))) continue;
    const sys = Number(m[1]), dia = Number(m[2]);
    if (plausible(sys, dia)) out.push({ systolic: sys, diastolic: dia, span: [m.index!, m.index! + m[0].length] });
  }
  const named = /(?:高压|收缩压)[^，。；,;！？!?\d]{0,4}(\d{2,3})(?![\d.])(?:[^。；;！？!?\d]{0,8}(?:低压|舒张压)[^，。；,;！？!?\d]{0,4}(\d{2,3})(?![\d.]))?|(?:低压|舒张压)[^，。；,;！？!?\d]{0,4}(\d{2,3})(?![\d.])/g;
  for (const m of norm.matchAll(named)) {
    if (out.some((r) => r.span[0] <= m.index! && m.index! < r.span[1])) continue;
    if (m[1]) {
      const sys = Number(m[1]), dia = m[2] ? Number(m[2]) : undefined;
      if (plausible(sys, dia)) out.push({ systolic: sys, ...(dia !== undefined ? { diastolic: dia } : {}), span: [m.index!, m.index! + m[0].length] });
    } else {
      const dia = Number(m[3]);
      if (dia >= 20 && dia <= 200) out.push({ diastolic: dia, span: [m.index!, m.index! + m[0].length] });
    }
  }
  return out;
}

export type AmountUnit = "mg/kg" | "mg" | "ml" | "tablet" | "capsule" | "sachet" | "suppository" | "drop" | "iu";

export interface Amount {
  start: number;
  end: number;
  text: string;
  lo: number;
  hi: number;
  unit: AmountUnit;
  /** The amount is for a whole day (每日…, mg/kg/d, or followed by 分N次). */
  perDay: boolean;
  /** The amount is a stated ceiling (不超过…, 最大…), not a dose to give. */
  isMax: boolean;
  /** Which qualifier was written: per dose (每次, /次), per day (每日, /d), or none. */
  qualifier: "dose" | "day" | "none";
  /** A volume or count per kg of body weight (0.5ml/kg); mg/kg amounts use unit "mg/kg" instead. */
  perKg: boolean;
}

export interface Strength {
  start: number;
  end: number;
  /** mg per one `unit` (0 for a drop strength stated in IU only). */
  mgPer: number;
  /** IU per one `unit`, for strengths written in IU ("每滴400IU"). */
  iuPer?: number;
  unit: "ml" | "tablet" | "capsule" | "sachet" | "suppository" | "drop";
}

export interface Frequency {
  /** Stated doses per day [lo, hi] (每日3次, 每日2-3次, tid). */
  timesPerDay?: [number, number];
  /** Stated interval in hours [lo, hi] (每6-8小时). */
  intervalHours?: [number, number];
  /** Stated division of a daily amount (分3次). */
  dividedInto?: [number, number];
  /** Stated cap on doses per day (24小时内不超过4次). */
  maxTimesPerDay?: number;
  spans: [number, number][];
}

const UNIT_RE = String.raw`(mg\s*/\s*\(?\s*(?:kg|千克|公斤)(?:\s*[·.*]\s*(?:d|日|天)\s*\)?|\s*\)?\s*/\s*(?:d|日|天|day|次))?|毫克\s*(?:/|每)\s*(?:千克|公斤|kg)(?:\s*(?:/|·|每)\s*(?:日|天|次))?|mg|毫克|μg|ug|mcg|微克|g(?![a-z])|克(?!拉|林|洛|肟|霉)|ml|毫升|片(?!剂)|粒|胶囊|袋|包|枚|栓|滴(?!剂|眼|鼻|耳)|万?(?:iu|国际单位|单位))(半)?`;

function unitOf(raw: string): { unit: AmountUnit; factor: number; perDay: boolean; perDose: boolean } {
  const u = raw.replace(/\s+/g, "");
  if (/^(mg|毫克)(\/|每)/.test(u)) return { unit: "mg/kg", factor: 1, perDay: /(d|日|天|day)\)?$/.test(u), perDose: /次$/.test(u) };
  if (u === "mg" || u === "毫克") return { unit: "mg", factor: 1, perDay: false, perDose: false };
  if (u === "g" || u === "克") return { unit: "mg", factor: 1000, perDay: false, perDose: false };
  if (/^(μg|ug|mcg|微克)$/.test(u)) return { unit: "mg", factor: 0.001, perDay: false, perDose: false };
  if (u === "ml" || u === "毫升") return { unit: "ml", factor: 1, perDay: false, perDose: false };
  if (u === "片") return { unit: "tablet", factor: 1, perDay: false, perDose: false };
  if (u === "粒" || u === "胶囊") return { unit: "capsule", factor: 1, perDay: false, perDose: false };
  if (u === "袋" || u === "包") return { unit: "sachet", factor: 1, perDay: false, perDose: false };
  if (u === "枚" || u === "栓") return { unit: "suppository", factor: 1, perDay: false, perDose: false };
  if (u === "滴") return { unit: "drop", factor: 1, perDay: false, perDose: false };
  return { unit: "iu", factor: /^万/.test(u) ? 10000 : 1, perDay: false, perDose: false };
}

/** A strength per drop in mg, μg or IU ("每滴含400IU", "400IU/滴"). */
const perDrop = (n: string, u: string): Omit<Strength, "start" | "end"> => {
  const v = parseNumber(n);
  if (/iu|单位/i.test(u)) return { mgPer: 0, iuPer: v * (/^万/.test(u) ? 10000 : 1), unit: "drop" };
  return { mgPer: v * (/^(?:μg|ug|mcg|微克)$/.test(u) ? 0.001 : 1), unit: "drop" };
};
const DROP_UNIT = String.raw`(万?(?:iu|国际单位|单位)|mg|毫克|μg|ug|mcg|微克)`;

const STRENGTH_PATTERNS: { re: RegExp; build: (m: RegExpMatchArray) => Omit<Strength, "start" | "end"> | undefined }[] = [
  { // 每滴400IU, 每滴含维生素D 400单位, 一滴约含10μg
    re: new RegExp(String.raw`(?:每|一|1)\s*滴\s*(?:约|大约)?\s*(?:含|为|含有|是)?\s*(?:[^，。,\d]{0,6})?(${NUM})\s*${DROP_UNIT}`, "gi"),
    build: (m) => perDrop(m[1]!, m[2]!),
  },
  { // 400IU/滴, 400单位每滴
    re: new RegExp(String.raw`(${NUM})\s*${DROP_UNIT}\s*(?:[/／每]|一)\s*滴`, "gi"),
    build: (m) => perDrop(m[1]!, m[2]!),
  },
  { // 100mg/5ml, 40mg/ml, 0.1g/5ml
    re: new RegExp(String.raw`(${NUM})\s*(mg|毫克|g|克)\s*[/:：]\s*(${NUM})?\s*(ml|毫升)`, "g"),
    build: (m) => ({ mgPer: parseNumber(m[1]!) * (/^(g|克)$/.test(m[2]!) ? 1000 : 1) / (m[3] ? parseNumber(m[3]) : 1), unit: "ml" }),
  },
  { // 15ml:0.6g (Chinese label style)
    re: new RegExp(String.raw`(${NUM})\s*(ml|毫升)\s*[:：]\s*(${NUM})\s*(mg|毫克|g|克)`, "g"),
    build: (m) => ({ mgPer: (parseNumber(m[3]!) * (/^(g|克)$/.test(m[4]!) ? 1000 : 1)) / parseNumber(m[1]!), unit: "ml" }),
  },
  { // 每5ml含100mg, 每袋含0.1g, 每片200mg
    re: new RegExp(String.raw`每\s*(${NUM})?\s*(ml|毫升|片|袋|包|粒|支)\s*(?:含|为|含有)?\s*(?:[^，。,\d]{0,6})?(${NUM})\s*(mg|毫克|g|克)`, "g"),
    build: (m) => {
      const unit = m[2] === "ml" || m[2] === "毫升" ? "ml" : m[2] === "片" ? "tablet" : m[2] === "粒" ? "capsule" : "sachet";
      return { mgPer: (parseNumber(m[3]!) * (/^(g|克)$/.test(m[4]!) ? 1000 : 1)) / (m[1] ? parseNumber(m[1]) : 1), unit };
    },
  },
  { // 50mg一袋, 500mg一片 (the question's product: "头孢克肟颗粒，50mg一袋"); after a verb of taking ("每晚吃10mg一片") it is a dose
    re: new RegExp(String.raw`(?<![\d.])(?<!(?:吃|服|喂|用|给|喝|塞|每次|一次|单次)\s*)(${NUM})\s*(mg|毫克|g|克)\s*(?:的)?\s*(?:(?:一|1|每)\s*(片|袋|包|粒|支|枚)(?![\u4e00-\u9fff]{0,2}(?:次|天|日))|(?:的)(片子|药片|小片|片剂|胶囊|颗粒|栓剂|片(?![\d一二两三四五六七八九十半]|剂)))`, "g"),
    build: (m) => {
      const u = m[3] ?? m[4]!;
      return { mgPer: parseNumber(m[1]!) * (/^(g|克)$/.test(m[2]!) ? 1000 : 1), unit: /片/.test(u) ? "tablet" : /粒|胶囊/.test(u) ? "capsule" : /枚|栓/.test(u) ? "suppository" : "sachet" };
    },
  },
  { // 对乙酰氨基酚片0.3g, 沙丁胺醇片（2mg）: a product's form word followed by its strength (not "1片0.3g" or "吃布洛芬片0.2g", amounts)
    re: new RegExp(String.raw`(?<=[\u4e00-\u9fff])(?<![零〇一二两三四五六七八九十半每])(?<!(?:吃|服|喂|用|给|塞|喝)[^，。；,;\n]{0,12})(片|胶囊|颗粒|栓|栓剂|干混悬剂)\s*[（(]?\s*(${NUM})\s*(mg|毫克|g|克)(?!\s*[/／每]|\s*[:：]|[（(]|\s*(?:一次|每次))`, "g"),
    build: (m) => ({ mgPer: parseNumber(m[2]!) * (/^(g|克)$/.test(m[3]!) ? 1000 : 1), unit: /片/.test(m[1]!) ? "tablet" : /胶囊/.test(m[1]!) ? "capsule" : /栓/.test(m[1]!) ? "suppository" : "sachet" }),
  },
  { // 100mg/袋, 0.125g/片
    re: new RegExp(String.raw`(${NUM})\s*(mg|毫克|g|克)\s*/\s*(片|袋|包|粒|支|枚)`, "g"),
    build: (m) => ({ mgPer: parseNumber(m[1]!) * (/^(g|克)$/.test(m[2]!) ? 1000 : 1), unit: m[3] === "片" ? "tablet" : m[3] === "粒" ? "capsule" : m[3] === "枚" ? "suppository" : "sachet" }),
  },
];

/** Formulation strengths stated in [from, to). */
export function extractStrengths(text: string, from = 0, to = text.length): Strength[] {
  const norm = normalize(text).slice(0, to);
  const out: Strength[] = [];
  for (const p of STRENGTH_PATTERNS) {
    p.re.lastIndex = from;
    for (const m of norm.matchAll(p.re)) {
      if (m.index! < from) continue;
      const s = p.build(m);
      if (!s || !Number.isFinite(s.mgPer) || (s.mgPer <= 0 && !(s.iuPer! > 0))) continue;
      const span = { start: m.index!, end: m.index! + m[0].length };
      if (out.some((o) => span.start < o.end && span.end > o.start)) continue;
      out.push({ ...s, ...span });
    }
  }
  return out;
}

const MAX_BEFORE = /(?:不超过|不要超过|不宜超过|不能超过|不得超过|不可超过|勿超过|最大剂量(?:为|是)?|最大量(?:为|是)?|最大|最多|最高|上限(?:为|是)?|极量(?:为|是)?|至多|≤|<=|<)\s*(?:每次|一次|单次|每日|每天|一日|一天|日)?\s*(?:剂量)?\s*(?:为|是)?\s*$/;
const PER_DAY_BEFORE = /(?:每日|每天|一日|一天|全天|全日|24小时内?|每24小时|日剂量|日总量|一日总量|每日总量|每天总量)\s*(?:总量|总剂量|剂量|总共|一共|加起来|累计)?\s*(?:可以|可|能|最多可以)?\s*(?:为|是|按|按照|给予?|口服|服用|用|吃|喝|约|共|吃到|用到|给到|吃够|喝够|用够|吃满|吃了|喝了)?\s*$/;
const PER_DOSE_BEFORE = /(?:每次|单次|每回|每顿|(?<![天日时周])一次)\s*(?:剂量|用量)?\s*(?:就|都|再)?\s*(?:为|是|按|按照|给予?|口服|服用|冲服|冲|泡|喂|服|用|吃|喝|约|可)?\s*$/;

/** A count of doses and an opening bracket ("最多4次（"): the amount in the bracket is the day's total. */
const RESTATED_COUNT = new RegExp(String.raw`(最多|不超过|至多|不要超过|不能超过|不宜超过)?\s*(?:${NUM})\s*(?:次|回)\s*[（(]\s*(?:共|共计|合计|即|也就是|一共|总共)?\s*$`);

/** Dose amounts in [from, to), with strengths masked out. */
export function extractAmounts(text: string, from = 0, to = text.length): Amount[] {
  const norm = normalize(text).slice(0, to);
  // A strength may open before `from` ("氯雷他定片（10mg）" read from after the product's name): look back for it.
  const masked = extractStrengths(text, Math.max(0, from - 12), to);
  // A fraction in words ("十分之一袋", "四分之一片") is an amount too.
  const re = ONCE.amounts ??= new RegExp(String.raw`((?:[一二两三四五六七八九十\d]+)分之(?:[一二两三四五六七八九\d]+)|${NUM}|半)(?:${RANGE_SEP}(${NUM}))?\s*${UNIT_RE}`, "g");
  re.lastIndex = from;
  const out: Amount[] = [];
  for (const m of norm.matchAll(re)) {
    const s = m.index!;
    if (s < from) continue;
    const e = s + m[0].length;
    if (masked.some((x) => s < x.end && e > x.start)) continue;
    if (/[\d.]$/.test(norm.slice(Math.max(0, s - 1), s))) continue;
    const u = unitOf(m[3]!);
    const frac = /^(.+)分之(.+)$/.exec(m[1]!);
    let lo = frac ? parseNumber(frac[2]!) / parseNumber(frac[1]!) : parseNumber(m[1]!);
    let hi = m[2] ? parseNumber(m[2]) : lo;
    if (!Number.isFinite(lo) || !Number.isFinite(hi)) continue;
    if (m[4]) { lo += 0.5; hi += 0.5; }
    lo *= u.factor; hi *= u.factor;
    const [cs] = clauseAt(norm, s);
    const before = norm.slice(Math.max(cs, s - 14), s);
    const after = norm.slice(e, e + 6);
    // "24小时内最多4次（4片）": an amount in brackets after a count of doses restates the day's total.
    const restated = RESTATED_COUNT.exec(before);
    // "每天总量不超过40mg/kg，即1200mg": an amount restating a maximum is the maximum.
    const lastOut = out[out.length - 1];
    const isMax = MAX_BEFORE.test(before) || /^\s*(?:以内|以下|为限|封顶)/.test(after) || !!restated?.[1]
      || (!!lastOut?.isMax && /^\s*[，,（(]?\s*(?:即|也就是|相当于|约|大约)\s*$/.test(norm.slice(lastOut.end, s)))
      // "最大不超过54mg/天（部分青少年到72mg）": a bracket raising the maximum for another group is a maximum too.
      || (!!lastOut?.isMax && /^\s*(?:[/／]\s*(?:天|日))?\s*[（(]\s*[^，,。；;）)\d]{0,10}?(?:可用到|可到|可达|可至|到|达|至)\s*$/.test(norm.slice(lastOut.end, s)));
    if (/^\s*(?:以上)/.test(after)) continue;
    // A concentration (血钙12mg/dl, 5mg/L) is a measurement, not a dose; an inhaler's strength (100μg/揿) is per puff.
    if (/^\s*\/\s*(?:dl|l\b|分升|升|μl|ul|揿|喷|吸|按)/.test(after) || /每\s*(?:揿|喷|吸)\s*(?:含)?\s*$/.test(norm.slice(Math.max(0, s - 4), s))) continue;
    const perKg = u.unit !== "mg/kg" && /^\s*\/\s*(?:kg|千克|公斤)/.test(after);
    // "体重×15mg", "15mg乘以体重": an amount multiplied by the weight is per kg.
    if (u.unit === "mg" && (/体重\s*(?:×|x|\*|乘以?)\s*$/i.test(before) || /^\s*(?:×|x|\*|乘以?)\s*体重/i.test(after))) u.unit = "mg/kg";
    // "按每公斤体重5～10毫克" is a mg/kg dose written out in words.
    if (u.unit === "mg" && /(?:每|按)\s*(?:公斤|千克|kg)\s*(?:体重)?\s*(?:给|用|服|按)?\s*$/.test(before)) {
      u.unit = "mg/kg";
    }
    let qualifier: Amount["qualifier"] = u.perDay || restated ? "day" : u.perDose ? "dose" : "none";
    if (qualifier === "none") {
      const dayM = PER_DAY_BEFORE.exec(before);
      const doseM = PER_DOSE_BEFORE.exec(before);
      if (dayM && doseM) qualifier = dayM.index > doseM.index ? "day" : "dose";
      else if (dayM) qualifier = "day";
      else if (doseM) qualifier = "dose";
      else if (/^\s*\/\s*(?:d|日|天)/.test(after)) qualifier = "day";
      else if (/^\s*\/\s*次/.test(after)) qualifier = "dose";
    }
    // "1袋加4/5袋": two counts of the same unit added up are one amount.
    const prev = out[out.length - 1];
    // "每次1袋，…一天拉几次就吃几袋，七八袋也没问题": after a per-dose amount, an unqualified one that follows a word
    // for the day (with no count of doses closing it: "一天3次，首剂2袋") is the day's total, never a single dose.
    if (qualifier === "none" && prev?.qualifier === "dose" && prev.unit === u.unit) {
      const between = norm.slice(prev.end, s);
      const day = /(?:一天|每天|一日|每日|全天|24小时|总共|一共|加起来|累计)(?![^]*(?:[\d一二两三四五六七八九十]+|[\d]+\s*[-~～至到]\s*\d+)\s*(?:次|回|顿))[^]*$/.test(between);
      if (day && !/[。！？!?\n]/.test(between)) qualifier = "day";
    }
    if (prev && prev.unit === u.unit && !prev.perKg && !perKg && /^\s*(?:加|加上|再加|又|\+|＋)\s*$/.test(norm.slice(prev.end, s))) {
      out[out.length - 1] = { ...prev, end: e, text: text.slice(prev.start, e), lo: prev.lo + Math.min(lo, hi), hi: prev.hi + Math.max(lo, hi) };
      continue;
    }
    // "每次250mg（1粒）", "每天2ml（20mg）": an amount in brackets right after another restates it, per the same.
    if (qualifier === "none" && prev && /^\s*[（(]\s*(?:约|即|大约|相当于|也就是)?\s*$/.test(norm.slice(prev.end, s))) qualifier = prev.qualifier;
    out.push({ start: s, end: e, text: text.slice(s, e), lo: Math.min(lo, hi), hi: Math.max(lo, hi), unit: u.unit, perDay: qualifier === "day", isMax, qualifier, perKg });
  }
  return out;
}

const range = (a: string, b: string | undefined): [number, number] => {
  // Two neighbouring numerals are a range ("八九次", "两三次"): 8–9, 2–3.
  const pair = !b && /^[一二两三四五六七八][二三四五六七八九]$/.test(a) ? [parseNumber(a[0]!), parseNumber(a[1]!)] : null;
  if (pair && pair[1] === pair[0]! + 1) return [pair[0]!, pair[1]];
  const lo = parseNumber(a);
  const hi = b ? parseNumber(b) : lo;
  return [Math.min(lo, hi), Math.max(lo, hi)];
};

/** A verb of taking a medicine, between the frequency words (一天吃三次, 4小时喂一次). */
const TAKE = String.raw`(?:给药|服用|口服|用药|使用|雾化|服|吃|喝|用|喂|给|塞|喷|滴|吸)`;
/** Hours: 小时, 个钟头, h. */
const HOURS = String.raw`(?:小时|钟头|h(?![a-z]))`;
/** One time of day a dose is given at (早晚各一次). */
const DAYPART = String.raw`(?:早上|早晨|上午|中午|下午|晚上|睡前|早|中|午|晚)`;

/** Dosing frequency statements in [from, to). */
export function extractFrequency(text: string, from = 0, to = text.length): Frequency {
  // "一个半小时", "2个半钟头" are 1.5 and 2.5 hours; rewritten in place, same length, so offsets hold.
  const norm = normalize(text).slice(0, to).replace(/(?<![\d一二两三四五六七八九十])([1-9一二两三四五六七八九])个半(?=\s*(?:小时|钟头))/g, (_, d: string) => `${parseNumber(d)}.5`);
  const f: Frequency = { spans: [] };
  const seg = (re: RegExp) => {
    re.lastIndex = from;
    return [...norm.matchAll(re)].filter((m) => m.index! >= from);
  };
  for (const m of seg(ONCE.freq1 ??= new RegExp(String.raw`(?:每日|每天|一日|一天|24小时内?|每24小时)\s*(?:不超过|不要超过|最多|不宜超过|不得超过|不能超过|不可超过|至多)\s*(?:可以|可|能|只能)?\s*${TAKE}?\s*(${NUM})\s*(?:次|回|遍)|(?:不超过|不要超过|最多|不宜超过|至多)\s*(${NUM})\s*次\s*[/／]\s*(?:日|天|24小时)`, "g"))) {
    f.maxTimesPerDay = parseNumber(m[1] ?? m[2]!);
    f.spans.push([m.index!, m.index! + m[0].length]);
  }
  // Times per day: 每日3次, 一天吃三回, 一天里要吃3遍, 3次/日, 三次一天.
  const capped = (i: number) => /(?:不超过|最多|至多|不宜超过|不要超过|不得超过|不能超过)\s*$/.test(norm.slice(Math.max(0, i - 5), i));
  // "不用4小时吃一次" rejects a frequency; it does not state one.
  const negated = (i: number) => /(?:不用|不要|别|不能|不可以|不必|无需|没必要|不需要|不宜)\s*(?:再|每)?\s*$/.test(norm.slice(Math.max(0, i - 5), i));
  const taken = (i: number) => negated(i) || f.spans.some(([a, b]) => i >= a && i < b);
  for (const m of seg(ONCE.freq2 ??= new RegExp(String.raw`(?:每日|每天|一日|一天|日|24小时内?|每24小时)\s*(?:里|内|之内|当中|中)?\s*(?:要|需|需要|可|可以|能|共|总共|一共)?\s*${TAKE}?\s*(?:药)?\s*(?:个|上)?\s*(${NUM})(?:${RANGE_SEP}(${NUM}))?\s*(?:次|回|遍|顿(?!饭))`, "g"))) {
    if (capped(m.index!) || taken(m.index!)) continue;
    f.timesPerDay = range(m[1]!, m[2]);
    f.spans.push([m.index!, m.index! + m[0].length]);
  }
  for (const m of seg(ONCE.freq3 ??= new RegExp(String.raw`(${NUM})(?:${RANGE_SEP}(${NUM}))?\s*(?:次|回|遍)\s*(?:[/／每]\s*(?:日|天|d)|一天|每天)(?![\u4e00-\u9fff]{0,2}(?:次|回))`, "g"))) {
    if (capped(m.index!) || taken(m.index!)) continue;
    f.timesPerDay = range(m[1]!, m[2]);
    f.spans.push([m.index!, m.index! + m[0].length]);
  }
  // One dose with each meal: 一日三餐后, 三餐前.
  for (const m of seg(ONCE.freq4 ??= new RegExp(String.raw`(?:每日|每天|一日|一天)?\s*(${NUM})\s*(?:餐|顿饭)\s*(?:后|前|时|中)`, "g"))) {
    if (taken(m.index!)) continue;
    f.timesPerDay = range(m[1]!, undefined);
    f.spans.push([m.index!, m.index! + m[0].length]);
  }
  // Times of day each given a dose: 早晚各一次 (2), 早中晚各1片 (3), 早上和晚上各吃一袋 (2).
  for (const m of seg(ONCE.freq5 ??= new RegExp(String.raw`((?:${DAYPART})(?:\s*(?:、|和|及|与|,|，)?\s*(?:${DAYPART}))+)\s*各`, "g"))) {
    if (taken(m.index!)) continue;
    const n = [...m[1]!.matchAll(ONCE.daypart ??= new RegExp(DAYPART, "g"))].length;
    f.timesPerDay = [n, n];
    f.spans.push([m.index!, m.index! + m[0].length]);
  }
  // Times of day with their count: 早晚两次 (2), 早中晚三次 (3).
  for (const m of seg(ONCE.freq106 ??= new RegExp(String.raw`((?:${DAYPART})(?:\s*(?:、|和|及|与)?\s*(?:${DAYPART}))+)\s*(?:共|一共)?\s*(?:${TAKE})?\s*(${NUM})\s*(?:次|回|遍)`, "g"))) {
    if (taken(m.index!)) continue;
    f.timesPerDay = range(m[2]!, undefined);
    f.spans.push([m.index!, m.index! + m[0].length]);
  }
  const interval = (lo: string, hi: string | undefined, at: number, len: number) => {
    // A gap from a meal or another medicine (饭后2小时再吃, 与益生菌间隔2小时) is not the dosing interval.
    const [cs, ce] = clauseAt(norm, at);
    if (/饭|餐|奶|进食|两者|两种|益生菌|其他药|别的药|分开|错开/.test(norm.slice(cs, ce))) return;
    // "益生菌不要和抗生素同时吃，…，要间隔2小时": a separation between two medicines said earlier in the sentence.
    let ss = cs;
    while (ss > 0 && !/[。！？!?\n]/.test(norm[ss - 1]!)) ss--;
    if (/间隔|隔开/.test(norm.slice(at, at + len)) && /益生菌|同时(?:吃|服|用)|同服|一起(?:吃|服|用)/.test(norm.slice(ss, ce))) return;
    f.intervalHours = range(lo, hi);
    f.spans.push([at, at + len]);
  };
  for (const m of seg(ONCE.freq107 ??= new RegExp(String.raw`(?:每|间隔(?:时间)?\s*(?:为|是|[：:])?|每隔|隔)\s*(?:至少|不少于)?\s*(${NUM})(?:${RANGE_SEP}(${NUM}))?\s*(?:个)?\s*${HOURS}`, "g"))) if (!negated(m.index!)) interval(m[1]!, m[2], m.index!, m[0].length);
  // Every hour with no number: 每小时一次, 每个小时喷一次, 每半小时吃一次.
  for (const m of seg(ONCE.freq108 ??= new RegExp(String.raw`每\s*(?:个)?\s*(半)?\s*(?:个)?\s*${HOURS}\s*(?:左右)?\s*(?:就)?\s*(?:${TAKE}|喷|滴|吸|雾化)?\s*(?:一|1)\s*(?:次|回|剂|顿|喷)`, "g"))) {
    if (taken(m.index!)) continue;
    interval(m[1] ? "0.5" : "1", undefined, m.index!, m[0].length);
  }
  // Interval without 每: 4小时一次, 4到6个小时吃一次, 6小时1剂.
  for (const m of seg(ONCE.freq109 ??= new RegExp(String.raw`(?<![每隔\d.])(${NUM}|半)(?:${RANGE_SEP}(${NUM}))?\s*(?:个)?\s*${HOURS}\s*(?:左右)?\s*(?:再|可|可以|就)?\s*${TAKE}?\s*(?:一|1)\s*(?:次|回|剂|顿)`, "g"))) {
    if (taken(m.index!)) continue;
    interval(m[1]!, m[2], m.index!, m[0].length);
  }
  // A repeat after N hours: 2小时后再吃一次, 过3个小时可以再喂, 隔2小时后重复.
  for (const m of seg(ONCE.freq110 ??= new RegExp(String.raw`(过|等|隔)?\s*(?<![每\d.])(${NUM}|半)(?:${RANGE_SEP}(${NUM}))?\s*(?:个)?\s*${HOURS}\s*(后|以后|之后)?\s*(?:[^，。；,;\d内]{0,6}?)?\s*(?:还|仍)?\s*(?:可|可以|能|就|需要|要)?\s*(?:再|重复|继续|又)\s*(?:${TAKE}|给药|用药|喂药)?`, "g"))) {
    // Without 过/隔/后 the hours count only before an explicit repeat of the dose ("4小时可以重复", "6小时再吃").
    if (taken(m.index!) || (!m[1] && !m[4] && !/重复|再\s*(?:吃|喂|服|用|给|喝|塞)/.test(m[0])) || /(?:不要|别|不能|不可|不用|勿)\s*再/.test(m[0])) continue;
    // "半小时后再量体温", "2小时后再看": a repeat of something other than the dose is no dosing interval.
    if (/再\s*$/.test(m[0]) && /^\s*(?:量|测|看|观察|复查|复诊|评估|查|检查|去|就诊|联系|来|决定)/.test(norm.slice(m.index! + m[0].length, m.index! + m[0].length + 3))) continue;
    interval(m[2]!, m[3], m.index!, m[0].length);
  }
  // "1～2小时后体温还没降，再补一次": a repeat after N hours under a condition told in between.
  for (const m of seg(ONCE.freq111 ??= new RegExp(String.raw`(?<![每\d.])(${NUM}|半)(?:${RANGE_SEP}(${NUM}))?\s*(?:个)?\s*${HOURS}\s*(?:后|以后|之后)[^。；;\d]{0,12}?(?:还|仍|仍然|依然)(?:没|不|未)[^。；;\d]{0,8}?[，,]\s*(?:就|可以|可)?\s*(?:再|又)\s*(?:补|吃|喂|服|用|给|喝|塞)`, "g"))) {
    if (taken(m.index!)) continue;
    interval(m[1]!, m[2], m.index!, m[0].length);
  }
  for (const m of seg(/every\s*(\d+)(?:\s*(?:-|to)\s*(\d+))?\s*(?:hours?|hrs?|h)\b/g)) {
    f.intervalHours = range(m[1]!, m[2]);
    f.spans.push([m.index!, m.index! + m[0].length]);
  }
  for (const m of seg(/(\d+)\s*times\s*(?:a|per)\s*day/g)) {
    f.timesPerDay = range(m[1]!, undefined);
    f.spans.push([m.index!, m.index! + m[0].length]);
  }
  for (const m of seg(/q\s*(\d+)\s*h/g)) {
    f.intervalHours = range(m[1]!, undefined);
    f.spans.push([m.index!, m.index! + m[0].length]);
  }
  for (const m of seg(/\b(qd|bid|tid|qid)\b/g)) {
    const n = { qd: 1, bid: 2, tid: 3, qid: 4 }[m[1] as "qd" | "bid" | "tid" | "qid"];
    f.timesPerDay = [n, n];
    f.spans.push([m.index!, m.index! + m[0].length]);
  }
  for (const m of seg(ONCE.freq112 ??= new RegExp(String.raw`分\s*(${NUM})(?:${RANGE_SEP}(${NUM}))?\s*次`, "g"))) {
    f.dividedInto = range(m[1]!, m[2]);
    f.spans.push([m.index!, m.index! + m[0].length]);
  }
  if (!f.timesPerDay && seg(/顿服|每日一次|每天一次|每晚(?!各)|每天(?:早上|晚上|睡前)(?:一次|吃|服|喝|给)|每早|睡前(?:一次|顿服)/g).length) f.timesPerDay = [1, 1];
  // "每天200mg，一次吃完": the day's amount taken at once. Only after a day word, so "每次5ml，一次喝完"
  // (finish the dose) says nothing of the day.
  if (!f.timesPerDay && !f.dividedInto && seg(/(?:每天|每日|一天|一日|全天|全日)[^。；;！？!?\n]{0,24}?一次性?(?:吃|喝|服|喂|给|用)?(?:完|下去|掉|补足|服下|吃下)/g).length) f.timesPerDay = [1, 1];
  return f;
}
