/**
 * Compositional red flags: rules declared in redflags.json (`lexicon`, `compositions`) that combine
 * word families — a body part and a sign (脖子 × 梗着), a substance and a route (管道疏通剂 × 嘴边),
 * an event and its consequence (呛水 × 喘), a quantity and an ingestion (一把 × 吃了) — so that one
 * rule covers the many ways a parent words the same danger. Every family's plain words are found in one
 * pass of a dictionary matcher; a family's patterns are one regular expression, run only when a rule
 * needs that family; rules then only compare positions. Scope (negation, history, an adult's symptoms,
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
  /** Each family's occurrence that made the hit (anchor first): a sign is recurring only if all of them are. */
  parts: { start: number; end: number }[];
}

interface Span { start: number; end: number }

interface Composer {
  words: DictionaryMatcher<string>;
  /** One regular expression per family that has patterns, run only when a rule asks for the family. */
  patterns: Map<string, RegExp>;
  /** Per rule, its `all` and `with` families with plain-word families first (they cost nothing more to test). */
  order: Map<RedFlagRule, { all: string[]; with?: string[] }>;
}

const composers = new WeakMap<SafetyKnowledge, Composer>();

/** The compiled matcher for a knowledge base's word families (built once per knowledge base). */
function composerFor(kb: SafetyKnowledge): Composer {
  let c = composers.get(kb);
  if (!c) {
    const words = new DictionaryMatcher<string>();
    const patterns = new Map<string, RegExp>();
    for (const [family, fam] of Object.entries(kb.redFlagLexicon)) {
      for (const w of fam.words) words.add(w, family);
      if (fam.patterns?.length) patterns.set(family, new RegExp(fam.patterns.map((p) => `(?:${p})`).join("|"), "g"));
    }
    const cheapFirst = (fams: string[]) => [...fams].sort((a, b) => Number(patterns.has(a)) - Number(patterns.has(b)));
    const order = new Map(kb.redFlagRules.map((r) => [r, { all: cheapFirst(r.all), ...(r.with ? { with: cheapFirst(r.with) } : {}) }] as const));
    c = { words, patterns, order };
    composers.set(kb, c);
  }
  return c;
}

/**
 * Occurrences of word families in one text: every family's plain words from one dictionary pass, and a
 * family's patterns the first time it is asked for (a rule whose plain-word families are absent never
 * runs the others' regular expressions).
 */
class Occurrences {
  private readonly found = new Map<string, Span[]>();
  private readonly patternsRun = new Set<string>();
  /** Every plain-word occurrence, of any family. */
  private readonly plain: (Span & { family: string })[] = [];
  constructor(private readonly norm: string, private readonly composer: Composer) {
    for (const m of composer.words.findAll(norm)) {
      this.push(m.payload, m.start, m.end);
      this.plain.push({ family: m.payload, start: m.start, end: m.end });
    }
  }
  /**
   * Whether a look-alike's occurrence is only part of a longer word of another family ("扣子" inside
   * "扣子电池"): the text names the longer thing, so the look-alike is not there.
   */
  insideLonger(o: Span, family: string): boolean {
    return this.plain.some((p) => p.family !== family && p.start <= o.start && o.end <= p.end && p.end - p.start > o.end - o.start);
  }
  private push(family: string, start: number, end: number): void {
    let list = this.found.get(family);
    if (!list) this.found.set(family, (list = []));
    list.push({ start, end });
  }
  get(family: string): Span[] {
    const re = this.composer.patterns.get(family);
    if (re && !this.patternsRun.has(family)) {
      this.patternsRun.add(family);
      re.lastIndex = 0;
      for (const m of this.norm.matchAll(re)) if (m[0].length) this.push(family, m.index!, m.index! + m[0].length);
    }
    return this.found.get(family) ?? [];
  }
  /** Whether a family occurs, trying plain words before running any pattern. */
  has(family: string): boolean {
    return (this.found.get(family)?.length ?? 0) > 0 || (this.composer.patterns.has(family) && this.get(family).length > 0);
  }
}

// Triage asks about the same text once per dictionary sign with look-alikes (familyInSentence,
// familyAround) and once for the rules: its occurrences are found once. A few recent texts are kept, as
// normalize does; an Occurrences only ever adds a family's pattern matches the first time it is asked.
const recentOccurrences = new WeakMap<Composer, Map<string, Occurrences>>();
function occurrencesOf(norm: string, composer: Composer): Occurrences {
  let recent = recentOccurrences.get(composer);
  if (!recent) recentOccurrences.set(composer, (recent = new Map()));
  let occ = recent.get(norm);
  if (!occ) {
    occ = new Occurrences(norm, composer);
    if (recent.size >= 4) recent.delete(recent.keys().next().value!);
    recent.set(norm, occ);
  }
  return occ;
}

/** Every occurrence of every word family in `text` (normalised offsets equal the caller's). */
export function familyOccurrences(text: string, kb: SafetyKnowledge): Map<string, Span[]> {
  const occ = new Occurrences(normalize(text), composerFor(kb));
  const out = new Map<string, Span[]>();
  for (const family of Object.keys(kb.redFlagLexicon)) {
    const list = occ.get(family);
    if (list.length) out.set(family, list);
  }
  return out;
}

/**
 * Whether a family of `families` occurs in the sentence around `pos` and is live there: the look-alike
 * test of a dictionary sign ("嘴唇有点紫，刚吃完紫葡萄").
 */
export function familyInSentence(text: string, kb: SafetyKnowledge, families: string[], pos: number, live: (start: number, end: number) => boolean): boolean {
  const norm = normalize(text);
  const occ = occurrencesOf(norm, composerFor(kb));
  const [ss, se] = unitAround(norm, { start: pos, end: pos }, "sentence");
  return families.some((f) => occ.get(f).some((o) => o.start >= ss && o.end <= se && !occ.insideLonger(o, f) && live(o.start, o.end) && !negatedNear(norm, o.start)));
}

/** Whether a live occurrence of one of `families` spans [start, end) (the sign's words are inside a look-alike phrase). */
export function familyAround(text: string, kb: SafetyKnowledge, families: string[], start: number, end: number, live: (start: number, end: number) => boolean): boolean {
  const occ = occurrencesOf(normalize(text), composerFor(kb));
  return families.some((f) => occ.get(f).some((o) => o.start <= start && end <= o.end && live(o.start, o.end)));
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

/** Words that contain a negator but assert what follows (不小心吃了, 没看住就吞了, 特别疼, 没一会儿就吐了). */
const ACCIDENT = /不小心|没注意|没看住|没留神|没看好|没看见|没防备|没想到|不知道什么时候|特别|分别|区别|别人|别的|告别|没多久|没过多久|没一会儿?/g;
/**
 * A negator a verb or two before a family word in its clause ("没有放进嘴里", "没吃进去"): the
 * symptom-negation cue must touch the sign, but a family word is often the object of a negated verb.
 */
function negatedNear(norm: string, start: number): boolean {
  let s = start;
  while (s > 0 && start - s < 4 && !CLAUSE_END.test(norm[s - 1]!)) s--;
  // "不是喷射状": 不是 denies the manner the word names (a spit-up told as not projectile).
  return /(?:没有|没|未|别|不要|不能|不会|并未)[^，。；,;]{0,2}$|不是$/.test(norm.slice(s, start).replace(ACCIDENT, "__"));
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
  const norm = normalize(text);
  const composer = composerFor(kb);
  const occ = occurrencesOf(norm, composer);

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
    const order = composer.order.get(rule)!;
    if (!order.all.every((f) => occ.has(f)) || !ageOk(rule)) continue;
    let withPart: Span | undefined;
    if (order.with && !order.with.some((f) => (withPart = occ.get(f).find(isLive)))) continue;
    for (const anchor of occ.get(rule.all[0]!)) {
      if (!isLive(anchor)) continue;
      const [us, ue] = unitAround(norm, anchor, rule.within);
      const parts: Span[] = [anchor];
      let ok = true;
      for (const fam of rule.all.slice(1)) {
        let best: Span | undefined;
        for (const o of occ.get(fam)) {
          if (o.start < us || o.end > ue || (o.start === anchor.start && o.end === anchor.end)) continue;
          if (rule.maxGap !== undefined && gap(anchor, o) > rule.maxGap) continue;
          if (!isLive(o)) continue;
          if (!best || gap(anchor, o) < gap(anchor, best)) best = o;
        }
        if (!best) { ok = false; break; }
        parts.push(best);
      }
      if (!ok) continue;
      // The composed phrase as a whole must be live too ("无按压后不褪色": the negation opens the phrase,
      // and 压 is only the end of the word 按压, so the phrase starts where the run of its family does).
      // Parts told in different clauses ("呛水…，现在有点喘") are judged each on its own, and the evidence is the anchor.
      let whole = { start: Math.min(...parts.map((p) => p.start)), end: Math.max(...parts.map((p) => p.end)) };
      for (const o of occ.get(rule.all[0]!)) if (o.start < whole.start && o.end >= anchor.start) whole.start = o.start;
      if (/[。！？!?；;\n，,：:]/.test(norm.slice(whole.start, whole.end))) whole = { start: anchor.start, end: anchor.end };
      else if ((whole.start !== anchor.start || whole.end !== anchor.end) && !isLive(whole)) continue;
      if (rule.unless) {
        const [ss, se] = unitAround(norm, anchor, rule.within === "text" ? "text" : "sentence");
        if (rule.unless.some((f) => occ.get(f).some((o) => o.start >= ss && o.end <= se && !occ.insideLonger(o, f) && isLive(o)))) continue;
      }
      hits.push({ rule, ...whole, parts: withPart ? [...parts, withPart] : parts });
      break;
    }
  }
  return hits;
}
