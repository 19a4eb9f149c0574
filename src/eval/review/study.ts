/**
 * Building a review study from answer files (the JSONL `pedgpt eval generate` writes, or any file with
 * `id`, `question` and `response` per line): items are the questions every compared pair of models
 * answered; an item a model failed or lacks is counted and reported, never silently dropped.
 */
import { readAnswers } from "../generate/generate.js";
import { ReviewDbError, type ReviewDb } from "./db.js";

export interface StudyModel {
  name: string;
  answers: string;
}

export interface StudySummary {
  items: number;
  /** Per model: items it has no usable answer for (missing or failed). */
  unusable: Record<string, number>;
}

export function createStudyFromAnswers(db: ReviewDb, study: string, models: readonly StudyModel[]): StudySummary {
  if (models.length < 2) throw new ReviewDbError(db.file, "a study compares two or more models: give --model NAME=ANSWERS.jsonl at least twice");
  const names = new Set<string>();
  const loaded = models.map((m) => {
    if (names.has(m.name)) throw new ReviewDbError(db.file, `model name ${JSON.stringify(m.name)} given twice`);
    names.add(m.name);
    const raw = readAnswers(m.answers);
    const answers = new Map<string, { question: string; answer: string }>();
    for (const [id, a] of raw) {
      if (a.response === undefined || a.response.trim() === "") continue;
      if (a.question === undefined) throw new ReviewDbError(m.answers, `line ${a.line}: field "question" is needed to show the item to reviewers`);
      answers.set(id, { question: a.question, answer: a.response });
    }
    return { name: m.name, source: m.answers, answers, ids: [...raw.keys()] };
  });
  // Every id any model's file names: a model without a usable answer for it is counted.
  const all = new Set(loaded.flatMap((m) => m.ids));
  const unusable: Record<string, number> = {};
  for (const m of loaded) unusable[m.name] = [...all].filter((id) => !m.answers.has(id)).length;
  const items = db.createStudy(study, loaded);
  if (items === 0) throw new ReviewDbError(db.file, "no question was answered by two of the models; nothing to review");
  return { items, unusable };
}
