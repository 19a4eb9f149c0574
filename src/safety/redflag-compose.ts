/**
 * Compositional red flags: rules declared in redflags.json (`lexicon`, `compositions`) that combine
 * word families — a body part and a sign (脖子 × 梗着), a substance and a route (管道疏通剂 × 嘴边),
 * an event and its consequence (呛水 × 喘), a quantity and an ingestion (一把 × 吃了) — so that one
 * rule covers the many ways a parent words the same danger. Every family is found in one pass of a
 * dictionary matcher plus one regular expression per family that has patterns, however many rules
 * use it; rules then only compare positions. Scope (negation, history, an adult's symptoms,
 * conditionals) is the caller's: triage passes its `live` test. It does not decide the action or the
 * age band; triage applies the flag's.
 */
import type { RedFlagRule, SafetyKnowledge } from "./knowledge.js";
import { DictionaryMatcher } from "./matcher.js";
import { CLAUSE_END, SENTENCE_END, normalize } from "./text.js";

export interface ComposedHit {
  rule: RedFlagRule;
  start: number;
  end: number;
}

interface Span { start: number; end: number }

interface Composer {
  words: DictionaryMatcher<string>;
  patterns: { family: string; re: RegExp }[];
}

const composers = new WeakMap<SafetyKnowledge, Composer>();

/** The compiled matcher for a knowledge base's word families (built once per knowledge base). */
function composerFor(kb: SafetyKnowledge): Composer {
  let c = composers.get(kb);
  if (!c) {
    const words = new DictionaryMatcher<string>();
    const patterns: Composer["patterns"] = [];
    for (const [family, fam] of Object.entries(kb.redFlagLexicon)) {
      for (const w of fam.words) words.add(w, family);
      if (fam.patterns?.length) patterns.push({ family, re: new RegExp(fam.patterns.map((p) => `(?:${p})`).join("|"), "g") });
    }
    c = { words, patterns };
    composers.set(kb, c);
  }
  return c;
}

/** Every occurrence of every word family in `text` (normalised offsets equal the caller's). */
export function familyOccurrences(text: string, kb: SafetyKnowledge): Map<string, Span[]> {
  const { words, patterns } = composerFor(kb);
  const norm = normalize(text);
  const occ = new Map<string, Span[]>();
  const push = (family: string, start: number, end: number) => {
    let list = occ.get(family);
    if (!list) occ.set(family, (list = []));
    list.push({ start, end });
  };
  for (const m of words.findAll(norm)) push(m.payload, m.start, m.end);
  for (const { family, re } of patterns) {
    re.lastIndex = 0;
    for (const m of norm.matchAll(re)) if (m[0].length) push(family, m.index!, m.index! + m[0].length);
  }
  return occ;
}

function unitAround(norm: string, span: Span, within: "clause" | "sentence" | "text"): [number, number] {
  if (within === "text") return [0, norm.length];
  const stop = within === "clause" ? CLAUSE_END : SENTENCE_END;
  let s = span.start;
  while (s > 0 && !stop.test(norm[s - 1]!)) s--;
  let e = span.end;
  while (e < norm.length && !stop.test(norm[e]!)) e++;
  return [s, e];
}

/** Accident words that contain a negator but assert what follows (不小心吃了, 没看住就吞了). */
const ACCIDENT = /不小心|没注意|没看住|没留神|没看好|没看见|没防备|没想到|不知道什么时候/g;
/**
 * A negator a verb or two before a family word in its clause ("没有放进嘴里", "没吃进去"): the
 * symptom-negation cue must touch the sign, but a family word is often the object of a negated verb.
 */
function negatedNear(norm: string, start: number): boolean {
  let s = start;
  while (s > 0 && start - s < 4 && !CLAUSE_END.test(norm[s - 1]!)) s--;
  return /(?:没有|没|未|别|不要|不能|不会|并未)[^，。；,;]{0,2}$/.test(norm.slice(s, start).replace(ACCIDENT, "__"));
}

const gap = (a: Span, b: Span) => Math.max(0, b.start - a.end, a.start - b.end);

/**
 * The compositional rules that fire on `text`, one hit per rule (the first anchor that satisfies it).
 * `live` says whether a span is asserted about the child now (with `adultCounts` false, an adult subject
 * does not take it from the child: the rule's words name things anyone may tell); `ageOk` filters rules
 * by their own age limits.
 */
export function composedRedFlags(text: string, kb: SafetyKnowledge, live: (start: number, end: number, adultCounts: boolean) => boolean, ageOk: (rule: RedFlagRule) => boolean = () => true): ComposedHit[] {
  if (!kb.redFlagRules.length) return [];
  const occ = familyOccurrences(text, kb);
  if (!occ.size) return [];
  const norm = normalize(text);
  const liveCache = new Map<string, boolean>();
  let adultCounts = true;
  const isLive = (sp: Span) => {
    const k = `${sp.start}:${sp.end}:${adultCounts}`;
    let v = liveCache.get(k);
    if (v === undefined) liveCache.set(k, (v = live(sp.start, sp.end, adultCounts) && !negatedNear(norm, sp.start)));
    return v;
  };
  const hits: ComposedHit[] = [];
  for (const rule of kb.redFlagRules) {
    adultCounts = !rule.toldByAnyone;
    if (!rule.all.every((f) => occ.has(f)) || !ageOk(rule)) continue;
    if (rule.with && !rule.with.some((f) => occ.get(f)?.some(isLive))) continue;
    for (const anchor of occ.get(rule.all[0]!)!) {
      if (!isLive(anchor)) continue;
      const [us, ue] = unitAround(norm, anchor, rule.within);
      const parts: Span[] = [anchor];
      let ok = true;
      for (const fam of rule.all.slice(1)) {
        let best: Span | undefined;
        for (const o of occ.get(fam)!) {
          if (o.start < us || o.end > ue || (o.start === anchor.start && o.end === anchor.end)) continue;
          if (rule.maxGap !== undefined && gap(anchor, o) > rule.maxGap) continue;
          if (!isLive(o)) continue;
          if (!best || gap(anchor, o) < gap(anchor, best)) best = o;
        }
        if (!best) { ok = false; break; }
        parts.push(best);
      }
      if (!ok) continue;
      if (rule.unless) {
        const [ss, se] = unitAround(norm, anchor, rule.within === "text" ? "text" : "sentence");
        if (rule.unless.some((f) => occ.get(f)?.some((o) => o.start >= ss && o.end <= se && isLive(o)))) continue;
      }
      hits.push({ rule, start: Math.min(...parts.map((p) => p.start)), end: Math.max(...parts.map((p) => p.end)) });
      break;
    }
  }
  return hits;
}
