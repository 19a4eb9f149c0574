/**
 * The record shapes the readers produce. Readers turn each source format into one of these, with
 * file and line kept beside the value (`Located<T>`), so later steps can cite provenance.
 */

export type Role = "system" | "user" | "assistant";

export interface Message {
  role: Role;
  content: string;
}

/** One `##` section of a textbook or guideline passage file. */
export interface PassageSection {
  /** The document title (the `#` heading, or the file name when there is none). */
  title: string;
  /** The section heading ("" for text before the first section heading). */
  section: string;
  /** For a sub-section (### and deeper): the enclosing ## heading. */
  parent?: string;
  /** Paragraphs of the section, in order (split on blank lines). */
  paragraphs: string[];
  /** Metadata from a `<!-- key: value; … -->` line, e.g. department, age_group, source. */
  meta: Record<string, string>;
}

export interface Triple {
  head: string;
  relation: string;
  tail: string;
}

/** A single-turn CMD-style row (`department,title,ask,answer`). */
export interface CmdRow {
  department: string;
  title: string;
  ask: string;
  answer: string;
}

export interface DialogueTurn {
  role: "patient" | "doctor";
  text: string;
}

/** A multi-turn consultation. */
export interface Consultation {
  id: string;
  department?: string;
  age?: string;
  title?: string;
  turns: DialogueTurn[];
  diagnosis?: string;
  advice?: string;
}

/** An instruction example after column mapping: a conversation ending with an assistant turn. */
export interface InstructionExample {
  system?: string;
  messages: Message[];
  /** Extra fields of the source record that we keep (e.g. task labels). */
  extra: Record<string, unknown>;
}

export interface PreferencePair {
  /** The conversation before the answer (last message is the user's). */
  prompt: Message[];
  system?: string;
  chosen: string;
  rejected: string;
  extra: Record<string, unknown>;
}
