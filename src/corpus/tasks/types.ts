/**
 * The unit every task builder emits: one training conversation with its task label, source,
 * department / age group where known, and a provenance id pointing back to the input
 * ("passages/01-fare.md#L27" or "kg/triples.csv:L12,L15"). Output writers turn these into Alpaca,
 * ShareGPT and flattened CPT text.
 */
import type { Message } from "../readers/types.js";

export const TASKS = ["MedKQ&A", "EviDiag", "TreRecom"] as const;
export type PediatricTask = (typeof TASKS)[number];
/** "general" covers general, safety and self-cognition instructions mixed into SFT. */
export type TaskLabel = PediatricTask | "general";

export interface TaskRecord {
  /** Stable id: a hash of task + provenance + content. */
  id: string;
  task: TaskLabel;
  /** Name of the configured source (e.g. "textbook", "guideline", "kg", "consultation"). */
  source: string;
  department?: string;
  ageGroup?: string;
  /** file (relative to the config) + line/section. */
  provenance: string;
  /** "template", "passthrough", or "llm:<model>". */
  generator: string;
  system?: string;
  /** Alternating user/assistant, ending with the assistant. */
  messages: Message[];
}
