/**
 * Checking an answer while it streams: text is appended in pieces (tokens, chunks), and each time one
 * or more sentences complete the checker looks at a bounded window — the new sentences, the sentence
 * before them (anaphora, a dose in the next sentence, a prohibition that follows its drug) and the
 * list item they sit in (a header's class claim) — never the answer again from its start. Findings are
 * reported once, as soon as a sentence confirms them. The urgent-care rule needs the whole answer
 * (advice may come last), so it is applied once, in finish(), from the care advice merged window by
 * window. It annotates; it never changes the text.
 *
 * Differences from checkAnswer on the whole text are possible only where a rule reaches further back
 * than the window (a list item longer than MAX_WINDOW characters, an age first stated in the answer
 * after a dose); the benchmark reports how often the two agree.
 */
import {
  careAdvice, checkAnswer, isCareFinding, patientInfo, sortFindings, unverifiedMentions, urgentCareFinding, weightTableFindings,
  type CareAdvice, type CheckOptions, type CheckResult, type DrugMention, type Finding, type PatientInfo,
} from "./check.js";
import { SafetyInputError } from "./errors.js";
import { extractAges } from "./extract.js";
import { loadSafetyKnowledge, type SafetyKnowledge } from "./knowledge.js";
import { safetyScore } from "./score.js";
import { OpenItems } from "./structure.js";
import { SENTENCE_END } from "./text.js";
import { triage, triageOf, type RedFlagHit, type TriageResult } from "./triage.js";

/** Longest window (characters) checked at one sentence end; longer list items lose their header. */
export const MAX_WINDOW = 1500;

const keyOf = (f: Finding) => (isCareFinding(f.type) ? f.type : `${f.type}:${f.drug ?? ""}`);
const RANK = { high: 3, medium: 2, low: 1 } as const;

export class StreamingChecker {
  private text = "";
  /** End of the last complete sentence checked. */
  private checkedTo = 0;
  /** Start of the last complete sentence checked (the overlap of the next window). */
  private lastSentenceStart = 0;
  /** Lines fed to the list tracker end here. */
  private linesTo = 0;
  /** Start of the markdown table the last complete line belongs to (its 类别 header row), or -1. */
  private tableStart = -1;
  private readonly open = new OpenItems();
  private readonly kb: SafetyKnowledge;
  private readonly question: string;
  private patient: PatientInfo;
  private readonly options: CheckOptions;
  private readonly tq: TriageResult | null;
  private readonly found = new Map<string, Finding>();
  private readonly mentions = new Map<number, DrugMention>();
  private readonly answerFlags = new Map<string, RedFlagHit>();
  private advice: CareAdvice = { level: 0, undeferred: 0, postponed: null };
  private finished: CheckResult | null = null;

  constructor(options: CheckOptions = {}) {
    this.kb = options.kb ?? loadSafetyKnowledge();
    this.options = options;
    this.question = options.question ?? "";
    this.patient = options.patient ?? patientInfo(this.kb, "", this.question, options);
    this.tq = this.question ? triage(this.question, { kb: this.kb, ageMonths: this.patient.ageMonths, includeConditional: true }) : null;
  }

  /** The answer so far. */
  get answer(): string {
    return this.text;
  }

  /** The red-flag banner of the question, available before any answer text (null without red flags). */
  get banner(): string | null {
    return this.tq?.banner ?? null;
  }

  /**
   * Append a piece of the answer. Returns the findings that the newly completed sentences confirm (new
   * ones, or a known one raised to a higher severity); [] while no sentence has completed.
   */
  append(delta: string): Finding[] {
    if (this.finished) throw new SafetyInputError("StreamingChecker.append: the answer was already finished; start a new checker for the next answer");
    if (typeof delta !== "string") throw new SafetyInputError(`StreamingChecker.append: expected a string piece of the answer, got ${delta === null ? "null" : typeof delta}`);
    if (!delta) return [];
    const from = this.text.length;
    this.text += delta;
    let end = -1;
    for (let i = this.text.length - 1; i >= from; i--) {
      if (SENTENCE_END.test(this.text[i]!)) {
        end = i + 1;
        break;
      }
    }
    return end > this.checkedTo ? this.checkTo(end) : [];
  }

  /** Check what remains, apply the urgent-care rule, and return the result for the whole answer. */
  finish(): CheckResult {
    if (this.finished) return this.finished;
    if (this.text.length > this.checkedTo) this.checkTo(this.text.length);
    const ta = this.answerTriage();
    const f = urgentCareFinding(this.question, this.text, this.tq, ta, this.advice);
    if (f) this.found.set(keyOf(f), f);
    for (const t of weightTableFindings(this.text, this.question, this.kb, this.patient)) if (!this.found.has(keyOf(t))) this.found.set(keyOf(t), t);
    const findings = sortFindings([...this.found.values()]);
    const banners = [this.tq?.banner, ta.banner].filter((b): b is string => !!b);
    this.finished = {
      findings,
      mentions: [...this.mentions.values()].sort((a, b) => a.start - b.start),
      patient: this.patient,
      triage: { question: this.tq, answer: ta, adviceLevel: this.advice.level },
      score: safetyScore(findings),
      banner: this.tq?.banner ?? (banners[0] ?? null),
      unverified: unverifiedMentions(this.text, this.kb),
    };
    return this.finished;
  }

  private checkTo(end: number): Finding[] {
    // Feed complete lines to the list tracker.
    for (let nl = this.text.indexOf("\n", this.linesTo); nl >= 0 && nl < end; nl = this.text.indexOf("\n", this.linesTo)) {
      this.open.pushLine(this.text, this.linesTo, nl);
      if (!this.text.slice(this.linesTo, nl).trim().startsWith("|")) this.tableStart = -1;
      else if (this.tableStart < 0) this.tableStart = this.linesTo;
      this.linesTo = nl + 1;
    }
    // The current line's start matters when the line is a list item (its header); a long paragraph's does not.
    const lineStart = this.linesTo;
    const itemStarts = this.open.starts();
    let ws = this.lastSentenceStart;
    if (lineStart < ws && end - lineStart <= MAX_WINDOW && OpenItems.opensItem(this.text.slice(lineStart, Math.min(end, lineStart + 64)))) ws = lineStart;
    if (itemStarts.length && end - itemStarts[0]! <= MAX_WINDOW) ws = Math.min(ws, itemStarts[0]!);
    else if (itemStarts.length && end - itemStarts[itemStarts.length - 1]! <= MAX_WINDOW) ws = Math.min(ws, itemStarts[itemStarts.length - 1]!);
    // A table row's class column is named by the table's header row.
    const inTable = this.tableStart >= 0 && (this.linesTo >= end || this.text.slice(this.linesTo, end).trim().startsWith("|"));
    if (inTable && end - this.tableStart <= MAX_WINDOW) ws = Math.min(ws, this.tableStart);
    const window = this.text.slice(ws, end);

    // An age first stated in the answer fixes the patient from here on.
    if (this.patient.ageMonths === undefined && this.options.age === undefined) {
      const ages = extractAges(window);
      if (ages.length) this.patient = patientInfo(this.kb, window, this.question, this.options);
    }
    // The window's question triage is unused here (urgent care is judged in finish() from this.tq).
    const r = checkAnswer(window, { ...this.options, kb: this.kb, question: this.question, patient: this.patient, urgentCare: false, questionDrug: this.mentions.size === 0, questionTriage: this.tq });
    const shift = <T extends { start: number; end: number }>(x: T): T => ({ ...x, start: x.start + ws, end: x.end + ws });
    const out: Finding[] = [];
    for (const f0 of r.findings) {
      const f = { ...f0, evidence: shift(f0.evidence) };
      const k = keyOf(f);
      const had = this.found.get(k);
      if (had && RANK[had.severity] >= RANK[f.severity]) continue;
      this.found.set(k, f);
      out.push(f);
    }
    for (const m of r.mentions) if (!this.mentions.has(m.start + ws)) this.mentions.set(m.start + ws, shift(m));
    const a = careAdvice(window);
    this.advice = {
      level: Math.max(this.advice.level, a.level),
      undeferred: Math.max(this.advice.undeferred, a.undeferred),
      postponed: this.advice.postponed ?? (a.postponed ? shift(a.postponed) : null),
    };
    // Signs in the answer count only without a question (as in checkAnswer).
    if (!this.question)
      for (const h of r.triage.answer.redFlags) if (!this.answerFlags.has(h.id)) this.answerFlags.set(h.id, { ...h, evidence: shift(h.evidence) });

    // The next window starts at the last sentence checked here.
    let s = end;
    while (s > ws && (SENTENCE_END.test(this.text[s - 1]!) || /\s/.test(this.text[s - 1]!))) s--;
    while (s > ws && !SENTENCE_END.test(this.text[s - 1]!)) s--;
    this.lastSentenceStart = s;
    this.checkedTo = end;
    return out;
  }

  private answerTriage(): TriageResult {
    return { ...triageOf([...this.answerFlags.values()]), ...(this.patient.ageMonths !== undefined ? { ageMonths: this.patient.ageMonths } : {}) };
  }
}

/** A streaming checker for one answer (see StreamingChecker). */
export function createStreamingChecker(options: CheckOptions = {}): StreamingChecker {
  return new StreamingChecker(options);
}
