/**
 * Red-flag triage: finds signs in a question (or answer) that demand urgent care, given the child's
 * age band, and returns the advised action (立即拨打120 / 立即急诊 / 24小时内就医), a banner text and
 * the citations. Signs are dictionary terms, their looser forms (叫不醒 → 叫不太醒) and regex patterns
 * from the knowledge base, and compositional rules over word families (body part × sign, substance ×
 * route, event × consequence; redflag-compose.ts). Negated ("没有抽搐") and past ("惊厥史") signs never
 * fire; hypothetical ones ("如出现抽搐") fire only when asked to, and a plan for a sign that is not
 * happening now ("抽搐时医生说可以用地西泮灌肠") never does. It does not diagnose.
 */
import { extractAges, extractBloodPressure, extractFever, type AgeMention, type BloodPressureReading } from "./extract.js";
import { loadSafetyKnowledge, type RedFlag, type SafetyKnowledge } from "./knowledge.js";
import { DictionaryMatcher } from "./matcher.js";
import { composedRedFlags, familyAround, familyInSentence } from "./redflag-compose.js";
import type { ActionId } from "./schema.js";
import { isAboutAdult, isConditional, isRecurrent, isSymptomHistorical, isSymptomNegated } from "./scope.js";
import { normalize, sentenceAt } from "./text.js";

export interface Evidence {
  start: number;
  end: number;
  text: string;
}

export interface RedFlagHit {
  id: string;
  nameZh: string;
  action: ActionId;
  actionZh: string;
  level: number;
  evidence: Evidence;
  citations: string[];
}

export interface TriageOptions {
  /** Patient age in months when known from elsewhere (request metadata); otherwise read from the text. */
  ageMonths?: number;
  /** Count signs in hypothetical clauses ("如出现抽搐") too. Defaults to true for questions. */
  includeConditional?: boolean;
  kb?: SafetyKnowledge;
}

export interface TriageResult {
  redFlags: RedFlagHit[];
  /** The most urgent action among the red flags, or null when none. */
  action: ActionId | null;
  actionZh: string | null;
  level: number;
  /** A one-paragraph Chinese banner for display, or null when no red flag was found. */
  banner: string | null;
  citations: string[];
  /** The age used for age-restricted signs, if any. */
  ageMonths?: number;
  age?: AgeMention;
}

const matchers = new WeakMap<SafetyKnowledge, DictionaryMatcher<RedFlag>>();
function matcherFor(kb: SafetyKnowledge): DictionaryMatcher<RedFlag> {
  let m = matchers.get(kb);
  if (!m) {
    m = new DictionaryMatcher<RedFlag>();
    for (const f of kb.redFlags) for (const t of f.terms) m.add(t, f);
    matchers.set(kb, m);
  }
  return m;
}

/** A quantity between a verb and its object (吞了一颗纽扣电池, 喝了半瓶消毒液). */
const QUANTITY = String.raw`(?:[一二两三四五六七八九几半\d]+\s*(?:颗|个|枚|粒|块|片|瓶|口|盒|板|支|勺)|一些|一点|好几(?:颗|个|片|粒))`;

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/**
 * A looser pattern for a sign's phrasing, or null when the phrasing has no slot that natural speech
 * fills with extra words. Slots: a degree word inside a verb–result complement (叫不醒 → 叫不太醒,
 * 叫不怎么醒), an aspect word and a quantity between a verb and its object (吞了纽扣电池 →
 * 吞了一颗纽扣电池, 吞下纽扣电池), and a direction word before a directional verb (双眼上翻 → 双眼往上翻).
 */
export function fuzzyTermPattern(term: string): string | null {
  let out = "";
  let slots = 0;
  const chars = [...normalize(term)];
  chars.forEach((ch, i) => {
    const prev = chars[i - 1];
    const next = chars[i + 1];
    if (ch === "不" && prev && /[\u4e00-\u9fff]/.test(prev) && next && /[\u4e00-\u9fff]/.test(next)) {
      out += "不(?:太|大|怎么|很|是很|怎么太)?";
      slots++;
    } else if (ch === "了" && prev && next) {
      out += `(?:了|下|进|下了|进了|下去了?|进去了?)?\\s*${QUANTITY}?`;
      slots++;
    } else if ((ch === "上" || ch === "下") && prev && next && /[翻吊斜视]/.test(next)) {
      out += `(?:往|向|朝)?${ch}`;
      slots++;
    } else out += escapeRe(ch);
  });
  return slots ? out : null;
}

/**
 * Literal words one of which every match of `source` starts with, or null when the pattern does not
 * open with plain text: a leading run of characters ("右下腹…") or a leading group of plain
 * alternatives ("(?:肚子|腹部)…"). Lets triage skip a pattern whose opening words are absent.
 */
export function leadingLiterals(source: string): string[] | null {
  const plain = /^[\u4e00-\u9fffa-z0-9]+$/;
  // A top-level alternative ("想死|不想活") may start with any word: no common opening.
  let depth = 0;
  for (let i = 0; i < source.length; i++) {
    const ch = source[i];
    if (ch === "\\") { i++; continue; }
    if (ch === "(" || ch === "[") depth++;
    else if (ch === ")" || ch === "]") depth--;
    else if (ch === "|" && depth === 0) return null;
  }
  if (source.startsWith("(?:")) {
    let depth = 0;
    let end = -1;
    for (let i = 0; i < source.length; i++) {
      const ch = source[i];
      if (ch === "\\") { i++; continue; }
      if (ch === "(") depth++;
      else if (ch === ")" && --depth === 0) { end = i; break; }
    }
    if (end < 0 || /^[?*{]/.test(source.slice(end + 1))) return null;
    const alts = source.slice(3, end).split("|");
    return alts.every((a) => plain.test(a)) ? alts : null;
  }
  const run = /^[\u4e00-\u9fff]+/.exec(source)?.[0];
  if (!run) return null;
  // A quantifier after the run makes its last character optional.
  const lit = /^[?*{]/.test(source.slice(run.length)) ? run.slice(0, -1) : run;
  return lit ? [lit] : null;
}

const fuzzyCache = new WeakMap<SafetyKnowledge, Map<string, { re: RegExp; lead: string[] | null }[]>>();
/** Regexes for a flag: its own patterns, then the loose forms of its terms. */
function patternsFor(kb: SafetyKnowledge, flag: RedFlag): { re: RegExp; lead: string[] | null }[] {
  let byFlag = fuzzyCache.get(kb);
  if (!byFlag) fuzzyCache.set(kb, (byFlag = new Map()));
  let res = byFlag.get(flag.id);
  if (!res) {
    const sources = [...(flag.patterns ?? []), ...flag.terms.map(fuzzyTermPattern).filter((p): p is string => p !== null)];
    res = sources.map((p) => ({ re: new RegExp(p, "g"), lead: leadingLiterals(p) }));
    byFlag.set(flag.id, res);
  }
  return res;
}

function ageFits(kb: SafetyKnowledge, flag: RedFlag, ageMonths: number | undefined): boolean {
  const allBands = kb.ageBands.every((b) => flag.ageBands.includes(b.id));
  if (ageMonths === undefined) return (allBands || !!flag.assumeWhenAgeUnknown) && flag.minAgeDays === undefined && flag.maxAgeDays === undefined;
  const days = ageMonths * 30.44;
  if (flag.minAgeDays !== undefined && days < flag.minAgeDays) return false;
  if (flag.maxAgeDays !== undefined && days >= flag.maxAgeDays) return false;
  const band = kb.ageBands.find((b) => days >= b.minDays && days < b.maxDays) ?? kb.ageBands[kb.ageBands.length - 1]!;
  return flag.ageBands.includes(band.id);
}

/** Whether an occurrence of `phrase` in `text` covers [start, end). */
function covered(text: string, phrase: string, start: number, end: number): boolean {
  for (let i = text.indexOf(phrase, Math.max(0, start - phrase.length)); i >= 0 && i <= start; i = text.indexOf(phrase, i + 1))
    if (i + phrase.length >= end) return true;
  return false;
}

/** Words that put a sign at another time than now (现在, 刚才 …): a plan for "抽搐时" then is about now. */
const NOW = /现在|刚才|刚刚|正在|目前|此刻|这会儿|已经抽|还在/;
/** Words of a care plan someone gave for when a sign happens (医生说…可以用, 备用, 用多少). */
const PLAN = /医生(?:说|交代|嘱咐|让|开了?)|大夫(?:说|让)|医嘱|备用|备着|预案|用多少|给多少|怎么用|怎么给|可以用|可用/;

/**
 * A sign named as a past diagnosis or the reason for an earlier stay ("因为热性惊厥住过院", "医院说是单纯
 * 热性惊厥", "上个月抽过") rather than an event now: cues the general history scope does not list.
 */
const DIAGNOSIS_BEFORE = /(?:(?:医生|医院|大夫)[^，。；,;]{0,4}说是|诊断(?:为|是)?|确诊(?:为|是)?|考虑是|得过|有过|患过)[^，。；,;]{0,6}$/;
// "之后一直吃药" follows a past diagnosis; "撞了头之后一直吐" is an event whose consequence is now.
const DIAGNOSIS_AFTER = /^[^，。；,;]{0,4}(?:住过院|住院过|看过|治过|好了以后|之后一直(?!吐|呕|咳|哭|睡|嗜睡|迷糊|犯困|想睡|喘|抽|疼|痛|发烧|烧|昏|没精神|不醒|流))/;
const PAST_NEAR = /(?:上个?月|上周|上星期|上礼拜|上次|前几个月|前两个月|前几周|那次|之前那次)[^，。；,;！？!?]*$/;
export function isPastDiagnosis(text: string, start: number, end: number): boolean {
  const norm = normalize(text);
  let cs = start;
  while (cs > 0 && !/[，。；,;！？!?\n]/.test(norm[cs - 1]!)) cs--;
  const before = norm.slice(cs, start);
  if (NOW.test(before)) return false;
  if (DIAGNOSIS_BEFORE.test(before) || PAST_NEAR.test(before) || DIAGNOSIS_AFTER.test(norm.slice(end, end + 8))) return true;
  // "以前抽过一次，是高热惊厥": a clause that only names what the previous, past clause was.
  if (cs > 0 && /^\s*(?:是|就是|说是|医生说是|诊断是)[^，。；,;]{0,4}$/.test(before) && !SENTENCE_END_CHAR.test(norm[cs - 1]!)) {
    let ps = cs - 1;
    while (ps > 0 && !/[，。；,;！？!?\n]/.test(norm[ps - 1]!)) ps--;
    return PAST_ANY.test(norm.slice(ps, cs - 1));
  }
  return false;
}
const SENTENCE_END_CHAR = /[。；;！？!?\n]/;
const PAST_ANY = /以前|之前|上次|曾经|去年|前年|小时候|上个?月|上周|那次|[\d一二两三四五六七八九十几半]+\s*(?:年|个多月|个月|周|天)前/;

/**
 * Whether a sign at [start, end) is the occasion of a care plan rather than an event now: "抽搐时医生说
 * 可以用地西泮灌肠，用多少？" asks about a rescue plan; nothing is happening to the child.
 */
export function isPlanForSign(text: string, start: number, end: number): boolean {
  const norm = normalize(text);
  if (!/^(?:的)?(?:时候?|时)/.test(norm.slice(end, end + 3))) return false;
  const [ss, se] = sentenceAt(norm, start);
  const sentence = norm.slice(ss, se);
  return PLAN.test(norm.slice(end, se)) && !NOW.test(sentence);
}

/**
 * A sign someone fears or wants to prevent ("怕烧高了抽筋", "担心会惊厥", "防止热性惊厥") is not happening:
 * the cue opens the clause before the sign, with no word bringing it to now.
 */
const FEARED = /(?:(?<![可哪])怕(?![光冷热声吵痒风疼痛])|担心|害怕|防止|预防|以免|免得|避免|以防)[^，。；,;！？!?\s]{0,10}$/;
export function isFearedSign(text: string, start: number): boolean {
  const norm = normalize(text);
  let cs = start;
  while (cs > 0 && !/[，。；,;！？!?\n]/.test(norm[cs - 1]!)) cs--;
  const before = norm.slice(cs, start);
  return FEARED.test(before) && !NOW.test(before);
}

/**
 * A sign supposed rather than told ("万一孩子吞了该怎么办？想提前知道", "假如他抽搐了"): a question about what
 * to do if it happens, not about a child it is happening to. Narrower than a conditional (如果/若), which a
 * question may use for what is already there.
 */
const SUPPOSED = /(?:万一|假如|假设|倘若|以防万一)[^，。；,;！？!?\n]{0,14}$/;
export function isSupposedSign(text: string, start: number, end = start): boolean {
  const norm = normalize(text);
  const clauseBefore = (at: number) => { let cs = at; while (cs > 0 && !/[，。；,;！？!?\n]/.test(norm[cs - 1]!)) cs--; return norm.slice(cs, at); };
  return SUPPOSED.test(clauseBefore(start)) || (end - 1 > start && SUPPOSED.test(clauseBefore(end - 1)));
}

/**
 * "每次吸气的时候胸口都凹进去", "每次吃完奶都喷射样地吐": 每次 counts breaths or feeds, not episodes; the
 * sign is continuous, not recurring.
 */
function perBreath(text: string, start: number): boolean {
  const norm = normalize(text);
  let cs = start;
  while (cs > 0 && !/[，。；,;！？!?\n]/.test(norm[cs - 1]!)) cs--;
  const before = norm.slice(cs, start);
  return /(?:每次|每一次|一)(?:吸气|呼气|呼吸|喘气|出气|吸)/.test(before) || /(?:每次|每一次|每顿|每回)(?:吃|喝|喂)?(?:完|了)?(?:奶|母乳|奶粉)/.test(before);
}

/** Find red flags in `text`. */
export function triage(text: string, options: TriageOptions = {}): TriageResult {
  // No text, no sign (checkAnswer triages "" for the answer whenever there is a question): skip the flag loops.
  if (!text) return { ...triageOf([]), ...(options.ageMonths !== undefined ? { ageMonths: options.ageMonths } : {}) };
  const kb = options.kb ?? loadSafetyKnowledge();
  const includeConditional = options.includeConditional ?? true;
  const ages = extractAges(text);
  const age = options.ageMonths === undefined ? ages[0] : undefined;
  const ageMonths = options.ageMonths ?? age?.months;
  const live = (start: number, end = start, adultCounts = true) => !isSymptomNegated(text, start) && !isSymptomHistorical(text, start, end) && !(adultCounts && isAboutAdult(text, start)) && (includeConditional || !isConditional(text, start)) && !isPlanForSign(text, start, end) && !isPastDiagnosis(text, start, end) && !isFearedSign(text, start) && !isSupposedSign(text, start, end);

  const hits: RedFlagHit[] = [];
  const seen = new Set<string>();
  // Flags heard only as a recurring pattern so far: a later wording of the same flag that is about now
  // replaces the weaker hit ("最近老是尿多" then "今天又吐、喘气又深又快" is ketoacidosis now).
  const recurringOnly = new Map<string, number>();
  const add = (flag: RedFlag, ev: Evidence, citations = flag.citationNames, parts: { start: number; end: number }[] = [ev], composed = false) => {
    if (seen.has(flag.id) && !recurringOnly.has(flag.id)) return;
    // A look-alike context in the sentence (紫葡萄 for purple lips) makes the sign something else. A composed
    // hit has named its dangerous part (洁厕灵 × 舔) and carries its rule's own look-alikes: a harmless thing
    // told beside it ("纸巾和洁厕灵一起舔了") does not make the dangerous one harmless.
    if (!composed && flag.unless?.length && familyInSentence(text, kb, flag.unless, ev.start, live)) return;
    if (flag.unlessAround?.length && familyAround(text, kb, flag.unlessAround, ev.start, ev.end, live)) return;
    // A recurring sign ("偶尔还是有抽搐") asks for a prompt visit, not an ambulance; not under 3 months, where
    // any episode of a danger sign (a breathing pause, a fit) is the emergency itself (WHO IMCI, NICE NG143).
    const youngInfant = ageMonths !== undefined && ageMonths * 30.44 < 90;
    const recurring = !youngInfant && kb.actions[flag.action].level > kb.actions.within_24h.level && parts.every((p) => isRecurrent(text, p.start, p.end) && !perBreath(text, p.start));
    if (seen.has(flag.id) && recurring) return;
    const action: ActionId = recurring ? "within_24h" : flag.action;
    const a = kb.actions[action];
    const hit: RedFlagHit = { id: flag.id, nameZh: flag.nameZh, action, actionZh: a.zh, level: a.level, evidence: ev, citations };
    const weaker = recurringOnly.get(flag.id);
    if (weaker !== undefined) { hits[weaker] = hit; recurringOnly.delete(flag.id); return; }
    seen.add(flag.id);
    if (recurring) recurringOnly.set(flag.id, hits.length);
    hits.push(hit);
  };

  // A sign that counts only with another one (head injury with vomiting): the other must be live too.
  const cooccurs = (flag: RedFlag) => {
    if (flag.condition?.type !== "cooccur") return true;
    return flag.condition.terms.some((t) => {
      for (let i = text.indexOf(t); i >= 0; i = text.indexOf(t, i + 1)) if (live(i)) return true;
      return false;
    });
  };

  const termHits = matcherFor(kb).scan(text);
  for (const m of termHits) {
    const flag = m.payload;
    if (!live(m.start, m.end) || !ageFits(kb, flag, ageMonths)) continue;
    if (flag.exclude?.some((x) => covered(text, x, m.start, m.end))) continue;
    if (!cooccurs(flag)) continue;
    add(flag, { start: m.start, end: m.end, text: m.term });
  }

  const norm = normalize(text);
  for (const flag of kb.redFlags) {
    if (seen.has(flag.id) || !ageFits(kb, flag, ageMonths) || !cooccurs(flag)) continue;
    for (const { re: p, lead } of patternsFor(kb, flag)) {
      if (lead && !lead.some((w) => norm.includes(w))) continue;
      p.lastIndex = 0;
      // A loose match inside a dictionary term already judged (没有出现鼻血止不住: the term was negated) is that term.
      const judged = (s: number, e: number) => termHits.some((t) => t.payload === flag && t.start <= s && e <= t.end);
      const m = [...norm.matchAll(p)].find((x) => !judged(x.index!, x.index! + x[0].length) && live(x.index!, x.index! + x[0].length) && !flag.exclude?.some((e) => covered(text, e, x.index!, x.index! + x[0].length)));
      if (m) {
        add(flag, { start: m.index!, end: m.index! + m[0].length, text: text.slice(m.index!, m.index! + m[0].length) });
        // A match its look-alike explained (深呼吸的时候胸口往里凹) leaves the flag's other wordings to be tried.
        if (seen.has(flag.id)) break;
      }
    }
  }

  // Compositional rules: one pass over the word families, then positions only.
  const days = ageMonths === undefined ? undefined : ageMonths * 30.44;
  const ruleAgeOk = (r: { minAgeDays?: number; maxAgeDays?: number; target: RedFlag }) =>
    (!seen.has(r.target.id) || recurringOnly.has(r.target.id)) && ageFits(kb, r.target, ageMonths) &&
    (r.minAgeDays === undefined || (days !== undefined && days >= r.minAgeDays)) && (r.maxAgeDays === undefined || (days !== undefined && days < r.maxAgeDays));
  for (const h of composedRedFlags(text, kb, live, ruleAgeOk))
    add(h.rule.target, { start: h.start, end: h.end, text: text.slice(h.start, h.end) }, h.rule.citationNames, h.parts, true);

  const fever = extractFever(text);
  const liveFever = fever.feverSpans.filter(([s]) => live(s));
  const tempLive = fever.tempSpan && live(fever.tempSpan[0]) ? fever.maxTempC : undefined;
  for (const flag of kb.redFlags) {
    const c = flag.condition;
    if (!c || c.type === "cooccur" || !ageFits(kb, flag, ageMonths)) continue;
    if (c.type === "fever") {
      const byTemp = tempLive !== undefined && tempLive >= c.minC;
      const byWord = tempLive === undefined && liveFever.length > 0 && (c.minC <= 38 || fever.highFever);
      if (!byTemp && !byWord) continue;
      const [s, e] = byTemp ? fever.tempSpan! : liveFever[0]!;
      add(flag, { start: s, end: e, text: text.slice(s, e) });
    } else if (c.type === "fever_days") {
      if (fever.days === undefined || fever.days < c.minDays || !fever.daysSpan || !live(fever.daysSpan[0])) continue;
      const [s, e] = fever.daysSpan;
      add(flag, { start: s, end: e, text: text.slice(s, e) });
    } else if (c.type === "blood_pressure") {
      if (!/血压|mmhg|毫米汞柱|高压|低压|收缩压|舒张压/.test(norm)) continue;
      const atLeast = (r: BloodPressureReading, t: { systolic: number; diastolic: number }) => (r.systolic ?? 0) >= t.systolic || (r.diastolic ?? 0) >= t.diastolic;
      // A symptom that keeps coming back (偶尔头疼, 经常头疼) is the stage-2 child's clinic visit, not an acute end-organ sign.
      const symptom = c.symptoms.some((t) => { for (let i = norm.indexOf(t); i >= 0; i = norm.indexOf(t, i + 1)) if (live(i, i + t.length) && !isRecurrent(text, i, i + t.length)) return true; return false; });
      const r = extractBloodPressure(text).find((x) => live(x.span[0], x.span[1]) && (atLeast(x, c.severe) || (symptom && atLeast(x, c.withSymptom))));
      if (r) add(flag, { start: r.span[0], end: r.span[1], text: text.slice(r.span[0], r.span[1]) });
    }
  }

  return {
    ...triageOf(hits),
    ...(ageMonths !== undefined ? { ageMonths } : {}),
    ...(age ? { age } : {}),
  };
}

/** The triage result (most urgent action, banner, citations) for a set of red-flag hits. */
export function triageOf(hits: RedFlagHit[]): Omit<TriageResult, "ageMonths" | "age"> {
  hits = [...hits].sort((a, b) => b.level - a.level || a.evidence.start - b.evidence.start);
  const top = hits[0];
  const citations = [...new Set(hits.flatMap((h) => h.citations))];
  const banner = top
    ? `【就医提示】发现危险信号：${hits.map((h) => `${h.nameZh}（“${h.evidence.text}”）`).join("；")}。建议：${top.actionZh}。` +
      `本提示由规则自动生成，不替代医生诊断。依据：${citations.join("；")}。`
    : null;
  return { redFlags: hits, action: top?.action ?? null, actionZh: top?.actionZh ?? null, level: top?.level ?? 0, banner, citations };
}
