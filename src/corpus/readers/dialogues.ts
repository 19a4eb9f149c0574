/**
 * Multi-turn consultation reader (JSON Lines, or a JSON array): records
 * `{id, department?, age?, title?, turns: [{role, text}], diagnosis?, advice?}` where roles alternate
 * patient → doctor. Accepts the role spellings patient/doctor, user/assistant, human/gpt and
 * 患者/医生 and the text keys `text`/`content`/`value`. Every violation is reported with its line.
 */
import type { EncodingOption } from "../io/encoding.js";
import { readJsonRecords } from "../io/json.js";
import type { IssueSink, Located } from "../errors.js";
import type { Consultation, DialogueTurn } from "./types.js";

const PATIENT = new Set(["patient", "user", "human", "患者", "病人", "家长"]);
const DOCTOR = new Set(["doctor", "assistant", "gpt", "医生", "大夫"]);

/** Validate one decoded consultation; returns the record or the reason it is bad. */
export function toConsultation(v: unknown, fallbackId: string): Consultation | string {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return "expected a JSON object with a \"turns\" array";
  const o = v as Record<string, unknown>;
  const turnsRaw = o.turns ?? o.dialogue ?? o.conversations;
  if (!Array.isArray(turnsRaw)) return "field \"turns\" must be an array of {role, text}";
  if (turnsRaw.length < 2) return `field "turns" must hold at least one patient turn and one doctor turn, got ${turnsRaw.length}`;
  const turns: DialogueTurn[] = [];
  for (let i = 0; i < turnsRaw.length; i++) {
    const t = turnsRaw[i] as Record<string, unknown> | null;
    if (t === null || typeof t !== "object") return `turns[${i}] must be an object {role, text}`;
    const roleRaw = String(t.role ?? t.from ?? t.speaker ?? "").trim().toLowerCase();
    const role = PATIENT.has(roleRaw) ? "patient" : DOCTOR.has(roleRaw) ? "doctor" : undefined;
    if (!role) return `turns[${i}].role must be patient or doctor, got ${JSON.stringify(t.role ?? t.from ?? t.speaker)}`;
    const text = t.text ?? t.content ?? t.value;
    if (typeof text !== "string") return `turns[${i}].text must be a string`;
    if (text.trim() === "") return `turns[${i}] (${role}) has empty text`;
    const expected = i % 2 === 0 ? "patient" : "doctor";
    if (role !== expected) return `turns[${i}] is ${role} but ${expected} was expected (turns alternate, starting with the patient)`;
    turns.push({ role, text });
  }
  if (turns[turns.length - 1]!.role !== "doctor") return "the last turn must be the doctor's (a patient question without an answer cannot be trained on)";
  const str = (k: string): string | undefined | { bad: string } => {
    const x = o[k];
    if (x === undefined || x === null) return undefined;
    if (typeof x === "number") return String(x);
    if (typeof x !== "string") return { bad: `field "${k}" must be a string` };
    return x.trim() === "" ? undefined : x;
  };
  const out: Consultation = { id: "", turns };
  for (const k of ["id", "department", "age", "title", "diagnosis", "advice"] as const) {
    const s = str(k);
    if (typeof s === "object") return s.bad;
    if (s !== undefined) out[k] = s;
  }
  if (!out.id) out.id = fallbackId;
  return out;
}

export async function* readConsultations(file: string, sink: IssueSink, encoding: EncodingOption = "auto"): AsyncGenerator<Located<Consultation>> {
  const { items } = await readJsonRecords(file, encoding);
  for await (const item of items) {
    if (!item.ok) {
      sink.report({ file, line: item.line, stage: "dialogues", reason: item.reason, excerpt: item.excerpt });
      continue;
    }
    const c = toConsultation(item.value, `line${item.line}`);
    if (typeof c === "string") {
      sink.report({ file, line: item.line, stage: "dialogues", reason: c, excerpt: JSON.stringify(item.value) });
      continue;
    }
    yield { value: c, file, line: item.line };
  }
}
