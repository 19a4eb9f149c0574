/**
 * The safety layer as serving shows it: the triage of the question before an answer (a banner when
 * red flags are found) and the checker's annotations after it, both with their citations. The answer
 * itself is never changed; these travel beside it (terminal lines, an API extension field, web panels).
 */
import { checkAnswer, type CheckResult, type Finding } from "../safety/check.js";
import { createStreamingChecker, type StreamingChecker } from "../safety/stream.js";
import { renderAnnotations } from "../safety/annotate.js";
import { triage } from "../safety/triage.js";
import type { ChatMessage } from "../tokenizer/templates.js";

export interface SafetyTriage {
  /** Chinese banner to show before the answer, or null when no red flag was found. */
  banner: string | null;
  action: string | null;
  actionZh: string | null;
  level: number;
  redFlags: { id: string; nameZh: string; actionZh: string; level: number; evidence: string; citations: string[] }[];
  citations: string[];
}

export interface SafetyAnnotations {
  /** Findings on the answer (and red flags it failed to address), with evidence and citations. */
  findings: Pick<Finding, "type" | "severity" | "ruleId" | "message" | "citations" | "evidence">[];
  /** The findings as a Chinese text block for display ("" when there are none). */
  text: string;
  /** Safety score in [0, 1]; 1 = no findings. */
  score: number;
}

/** The question a conversation asks now: its last user message. */
export function currentQuestion(messages: readonly ChatMessage[]): string {
  for (let i = messages.length - 1; i >= 0; i--) if (messages[i]!.role === "user") return messages[i]!.content;
  return "";
}

export function safetyBefore(question: string): SafetyTriage {
  const t = triage(question);
  return {
    banner: t.banner,
    action: t.action,
    actionZh: t.actionZh,
    level: t.level,
    redFlags: t.redFlags.map((f) => ({ id: f.id, nameZh: f.nameZh, actionZh: f.actionZh, level: f.level, evidence: f.evidence.text, citations: f.citations })),
    citations: t.citations,
  };
}

const findingView = (f: Finding): SafetyAnnotations["findings"][number] => ({ type: f.type, severity: f.severity, ruleId: f.ruleId, message: f.message, citations: f.citations, evidence: f.evidence });

function annotationsOf(r: CheckResult): SafetyAnnotations {
  // The question's banner is already shown before the answer; the block here lists findings only.
  return { findings: r.findings.map(findingView), text: renderAnnotations({ ...r, banner: null }), score: r.score };
}

/** Annotations for a whole answer at once (a non-streamed reply). */
export function safetyAfter(answer: string, question: string): SafetyAnnotations {
  return annotationsOf(checkAnswer(answer, { question }));
}

/**
 * Annotations for an answer as it is generated: feed each text piece; each call returns the findings
 * that the sentences it completed confirm (for live display), checked in a bounded window at sentence
 * ends, never by re-reading the answer from its start. finish() gives the same annotations as
 * safetyAfter on the whole text, without checking it again.
 */
export class SafetyStream {
  private readonly checker: StreamingChecker;

  constructor(question: string) {
    this.checker = createStreamingChecker({ question });
  }

  append(piece: string): SafetyAnnotations["findings"] {
    return this.checker.append(piece).map(findingView);
  }

  finish(): SafetyAnnotations {
    return annotationsOf(this.checker.finish());
  }
}
