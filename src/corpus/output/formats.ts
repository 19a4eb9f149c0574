/**
 * Output record shapes: TaskRecord → LLaMA-Factory Alpaca (`instruction, input, output, system,
 * history`) and ShareGPT (`conversations: [{from, value}]`, `system`), each carrying our metadata
 * columns (task, source, department, age_group, provenance, id, generator), which LLaMA-Factory ignores
 * and our own loaders use; and flattening of a conversation into plain text for the CPT corpus.
 */
import type { TaskRecord } from "../tasks/types.js";

export interface AlpacaRecord {
  instruction: string;
  input: string;
  output: string;
  /** Always present ("" when none) so every row has the columns dataset_info.json maps. */
  system: string;
  history: [string, string][];
  task: string;
  source: string;
  department?: string;
  age_group?: string;
  provenance: string;
  id: string;
  generator: string;
}

export interface SharegptRecord {
  conversations: { from: "human" | "gpt"; value: string }[];
  system: string;
  task: string;
  source: string;
  department?: string;
  age_group?: string;
  provenance: string;
  id: string;
  generator: string;
}

function meta(r: TaskRecord) {
  const m: { task: string; source: string; department?: string; age_group?: string; provenance: string; id: string; generator: string } = {
    task: r.task,
    source: r.source,
    provenance: r.provenance,
    id: r.id,
    generator: r.generator,
  };
  if (r.department) m.department = r.department;
  if (r.ageGroup) m.age_group = r.ageGroup;
  return m;
}

export function toAlpaca(r: TaskRecord): AlpacaRecord {
  const msgs = r.messages;
  const history: [string, string][] = [];
  for (let i = 0; i + 1 < msgs.length - 2; i += 2) history.push([msgs[i]!.content, msgs[i + 1]!.content]);
  return { instruction: msgs[msgs.length - 2]!.content, input: "", output: msgs[msgs.length - 1]!.content, system: r.system ?? "", history, ...meta(r) };
}

export function toSharegpt(r: TaskRecord): SharegptRecord {
  return {
    conversations: r.messages.map((m) => ({ from: m.role === "user" ? ("human" as const) : ("gpt" as const), value: m.content })),
    system: r.system ?? "",
    ...meta(r),
  };
}

/** Plain-text form of a conversation for continued pre-training ("问：…\n答：…" per turn). */
export function flattenRecord(r: TaskRecord): string {
  const parts: string[] = [];
  for (const m of r.messages) parts.push(m.role === "user" ? `问：${m.content}` : `答：${m.content}`);
  return parts.join("\n");
}

/** The text used for dedup and leakage checks: every turn, user and assistant. */
export function recordText(r: TaskRecord): string {
  return r.messages.map((m) => m.content).join("\n");
}
