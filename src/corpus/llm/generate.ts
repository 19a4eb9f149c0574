/**
 * LLM-assisted builders on top of `LlmClient` and the resumable journal: questions written from
 * passage sections and answered by distillation (MedKQ&A / TreRecom records), and DFPO preference
 * pairs (humanistic rephrasing of a reference answer as chosen, a weaker answer as rejected).
 * Every item is journaled, so a rerun after an interruption continues where it stopped, and every
 * request is cached on disk by the client.
 */
import { join } from "node:path";
import type { Located } from "../errors.js";
import type { PassageSection } from "../readers/types.js";
import { questionForSection, recordId, type SourceInfo } from "../tasks/templates.js";
import type { TaskRecord } from "../tasks/types.js";
import type { LlmClient } from "../../llm/client.js";
import { Journal, runResumable } from "../../llm/journal.js";
import { distillationPrompt, humanisticRephrasePrompt, parseQuestionList, questionWritingPrompt, tripleQuestionPrompt, validateAnswer, weakerAnswerPrompt } from "./prompts.js";

export interface DfpoPair {
  prompt: string;
  chosen: string;
  rejected: string;
  task?: string;
  source: string;
  provenance: string;
  generator: string;
}

export interface LlmRunOptions {
  workDir: string;
  concurrency: number;
  signal?: AbortSignal;
  onProgress?: (what: string, done: number, total: number) => void;
}

/** For each section: ask for `perSection` questions, then answer each from the section text. */
export async function llmSectionQa(client: LlmClient, sections: Located<PassageSection>[], perSection: number, info: SourceInfo, o: LlmRunOptions): Promise<TaskRecord[]> {
  const journal = new Journal<TaskRecord[]>(join(o.workDir, `llm-qa-${info.source}.journal.jsonl`));
  const results = await runResumable(
    sections,
    (s) => `${s.file}:${s.line}`,
    async (s) => {
      const text = s.value.paragraphs.join("\n\n");
      const { task } = questionForSection(s.value.title, s.value.section, s.value.parent);
      const qReply = await client.chat(questionWritingPrompt(s.value.title, s.value.section, text, perSection), {
        temperature: 0.7,
        validate: (c) => {
          const r = parseQuestionList(c);
          return typeof r === "string" ? r : undefined;
        },
      });
      const questions = (parseQuestionList(qReply.content) as string[]).slice(0, perSection);
      const out: TaskRecord[] = [];
      for (const [qi, question] of questions.entries()) {
        const a = await client.chat(distillationPrompt(question, `《${s.value.title}》${s.value.section}\n${text}`), { temperature: 0.3, validate: validateAnswer });
        const provenance = `${info.display(s.file)}:L${s.line}#${s.value.section || s.value.title}#llm-q${qi + 1}`;
        const generator = `llm:${client.model}`;
        const rec: TaskRecord = {
          id: recordId([task, provenance, question, a.content]),
          task,
          source: s.value.meta.source ?? info.source,
          provenance,
          generator,
          messages: [
            { role: "user", content: question },
            { role: "assistant", content: a.content.trim() },
          ],
        };
        const dept = s.value.meta.department ?? info.department;
        const age = s.value.meta.age_group ?? info.ageGroup;
        if (dept) rec.department = dept;
        if (age) rec.ageGroup = age;
        out.push(rec);
      }
      return out;
    },
    journal,
    { concurrency: o.concurrency, ...(o.signal ? { signal: o.signal } : {}), onProgress: (d, t) => o.onProgress?.("llm questions", d, t) },
  );
  return results.flat();
}

export interface HeadFacts {
  head: string;
  facts: string;
  provenance: string;
}

const TREATMENT_Q = /治疗|药|护理|怎么办|处理/;

/** For each KG head: ask for `perHead` questions the facts answer, then answer each from the facts. */
export async function llmTripleQa(client: LlmClient, heads: HeadFacts[], perHead: number, info: SourceInfo, o: LlmRunOptions): Promise<TaskRecord[]> {
  const journal = new Journal<TaskRecord[]>(join(o.workDir, `llm-kg-${info.source}.journal.jsonl`));
  const results = await runResumable(
    heads,
    (h) => h.provenance,
    async (h) => {
      const qReply = await client.chat(tripleQuestionPrompt(h.head, h.facts, perHead), {
        temperature: 0.7,
        validate: (c) => {
          const r = parseQuestionList(c);
          return typeof r === "string" ? r : undefined;
        },
      });
      const questions = (parseQuestionList(qReply.content) as string[]).slice(0, perHead);
      const out: TaskRecord[] = [];
      for (const [qi, question] of questions.entries()) {
        const a = await client.chat(distillationPrompt(question, `关于“${h.head}”的知识图谱事实：\n${h.facts}`), { temperature: 0.3, validate: validateAnswer });
        const provenance = `${h.provenance}#llm-q${qi + 1}`;
        const task = TREATMENT_Q.test(question) ? "TreRecom" : "MedKQ&A";
        const rec: TaskRecord = {
          id: recordId([task, provenance, question, a.content]),
          task,
          source: info.source,
          provenance,
          generator: `llm:${client.model}`,
          messages: [
            { role: "user", content: question },
            { role: "assistant", content: a.content.trim() },
          ],
        };
        if (info.department) rec.department = info.department;
        out.push(rec);
      }
      return out;
    },
    journal,
    { concurrency: o.concurrency, ...(o.signal ? { signal: o.signal } : {}), onProgress: (d, t) => o.onProgress?.("llm KG questions", d, t) },
  );
  return results.flat();
}

/** Preference pairs from single-turn records: chosen = humanistic rephrase, rejected = weaker answer. */
export async function llmPreferencePairs(client: LlmClient, records: TaskRecord[], o: LlmRunOptions): Promise<DfpoPair[]> {
  const journal = new Journal<DfpoPair>(join(o.workDir, "llm-dfpo.journal.jsonl"));
  return runResumable(
    records,
    (r) => r.id,
    async (r) => {
      const question = r.messages[r.messages.length - 2]!.content;
      const reference = r.messages[r.messages.length - 1]!.content;
      const chosen = await client.chat(humanisticRephrasePrompt(question, reference), { temperature: 0.7, validate: validateAnswer });
      const rejected = await client.chat(weakerAnswerPrompt(question), { temperature: 0.7, validate: validateAnswer });
      const pair: DfpoPair = { prompt: question, chosen: chosen.content.trim(), rejected: rejected.content.trim(), task: r.task, source: r.source, provenance: r.provenance, generator: `llm:${client.model}` };
      return pair;
    },
    journal,
    { concurrency: o.concurrency, ...(o.signal ? { signal: o.signal } : {}), onProgress: (d, t) => o.onProgress?.("llm preference pairs", d, t) },
  );
}
