/**
 * Offline, template-based task builders:
 * - MedKQ&A from passage sections (a question chosen by the section's heading) and from KG triples
 *   grouped by (head, relation) ("X有哪些症状？" → "X的常见症状包括：A、B、C。");
 * - TreRecom from treatment sections, 治疗/治疗药物 triples, consultations' advice and CMD answers to
 *   treatment questions;
 * - EviDiag from multi-turn consultations (kept as multi-turn conversations) and single-turn CMD rows.
 * Each builder is a pure function from located input records to TaskRecords. Templates never invent
 * medical content: every answer is text from the source (or a list of KG tails), plus fixed safety
 * wording where a list of drugs would otherwise read as a prescription.
 */
import { createHash } from "node:crypto";
import type { Located } from "../errors.js";
import type { CmdRow, Consultation, InstructionExample, PassageSection, Triple } from "../readers/types.js";
import type { PediatricTask, TaskLabel, TaskRecord } from "./types.js";

export function recordId(parts: string[]): string {
  return createHash("sha1").update(parts.join("\u0001")).digest("hex").slice(0, 16);
}

function make(r: Omit<TaskRecord, "id">): TaskRecord {
  return { id: recordId([r.task, r.provenance, ...r.messages.map((m) => m.content)]), ...r };
}

interface SectionRule {
  match: RegExp;
  task: PediatricTask;
  question: (t: string) => string;
}

// Ordered: the first matching heading rule wins.
const SECTION_RULES: SectionRule[] = [
  { match: /治疗|处理|用药|药物|处置/, task: "TreRecom", question: (t) => `${t}应该如何治疗？` },
  { match: /护理|照护|家庭/, task: "TreRecom", question: (t) => `${t}患儿在家中应该如何护理？` },
  { match: /就医|就诊|急诊|警示|危险信号/, task: "MedKQ&A", question: (t) => `${t}患儿出现哪些情况需要及时就医？` },
  { match: /概述|简介|定义|概念|是什么/, task: "MedKQ&A", question: (t) => `什么是${t}？` },
  { match: /病因|原因|诱因|发病机制|病原/, task: "MedKQ&A", question: (t) => `${t}的常见病因有哪些？` },
  { match: /临床表现|症状|表现|体征/, task: "MedKQ&A", question: (t) => `${t}有哪些临床表现？` },
  { match: /鉴别/, task: "MedKQ&A", question: (t) => `${t}需要与哪些疾病相鉴别？` },
  { match: /诊断|评估|检查|判断/, task: "MedKQ&A", question: (t) => `${t}如何诊断和评估？` },
  { match: /并发症/, task: "MedKQ&A", question: (t) => `${t}可能出现哪些并发症？` },
  { match: /预防|疫苗|接种/, task: "MedKQ&A", question: (t) => `如何预防${t}？` },
  { match: /预后|转归/, task: "MedKQ&A", question: (t) => `${t}的预后如何？` },
  { match: /误区|注意/, task: "MedKQ&A", question: (t) => `关于${t}，家长有哪些常见误区和注意事项？` },
];

/** Strip a leading "儿童"/"小儿" and bracketed aliases for use inside questions. */
function topicOf(title: string): string {
  return title.replace(/[（(][^）)]*[）)]/g, "").trim();
}

export function questionForSection(title: string, section: string, parent?: string): { task: PediatricTask; question: string } {
  const t = topicOf(title);
  if (parent) {
    // A sub-section: the parent heading decides the task; the question names both levels.
    const rule = SECTION_RULES.find((r) => r.match.test(parent)) ?? SECTION_RULES.find((r) => r.match.test(section));
    return { task: rule?.task ?? "MedKQ&A", question: `${t}的${parent}中，“${section}”有哪些要点？` };
  }
  for (const r of SECTION_RULES) if (r.match.test(section)) return { task: r.task, question: r.question(t) };
  return { task: "MedKQ&A", question: section ? `关于${t}，请介绍“${section}”。` : `请介绍一下${t}。` };
}

export interface SourceInfo {
  source: string;
  department?: string;
  ageGroup?: string;
  /** Path used in provenance ids (relative, stable across machines). */
  display: (file: string) => string;
}

const CN_NUM: Record<string, number> = { 一: 1, 二: 2, 两: 2, 三: 3, 四: 4, 五: 5, 六: 6, 七: 7, 八: 8, 九: 9, 十: 10, 半: 0.5 };

/**
 * Age group of a free-text age ("2岁", "1岁3个月", "8个月", "出生5天", "6周", "十岁"), following the
 * usual Chinese pediatric periods: 新生儿 (< 28 days), 婴儿 (< 1 year), 幼儿 (1–3), 学龄前 (3–6),
 * 学龄 (6–12), 青春期 (≥ 12). Text that is already a group name is kept; undefined when unparseable.
 */
export function ageGroupOf(age: string): string | undefined {
  const a = age.trim();
  if (/^(新生儿|婴儿|婴幼儿|幼儿|学龄前|学龄|青春期|全年龄|学龄前及学龄|儿童)$/.test(a)) return a;
  const num = (s: string | undefined): number | undefined => {
    if (s === undefined) return undefined;
    if (/^\d+(\.\d+)?$/.test(s)) return Number(s);
    if (s === "十") return 10;
    const m = /^([一二两三四五六七八九])?十([一二三四五六七八九])?$/.exec(s);
    if (m) return (m[1] ? CN_NUM[m[1]]! : 1) * 10 + (m[2] ? CN_NUM[m[2]]! : 0);
    return CN_NUM[s];
  };
  const N = "(\\d+(?:\\.\\d+)?|[一二两三四五六七八九十半]+)";
  let days: number | undefined;
  let m: RegExpExecArray | null;
  if ((m = new RegExp(`${N}\\s*(?:天|日)`).exec(a)) && !/岁|月/.test(a)) days = num(m[1]);
  else if ((m = new RegExp(`${N}\\s*周`).exec(a)) && !/岁|月/.test(a)) days = (num(m[1]) ?? NaN) * 7;
  else {
    const y = new RegExp(`${N}\\s*岁(半)?`).exec(a);
    const mo = new RegExp(`${N}\\s*(?:个)?月`).exec(a);
    if (!y && !mo) return undefined;
    const years = (y ? (num(y[1]) ?? NaN) + (y[2] ? 0.5 : 0) : 0) + (mo ? (num(mo[1]) ?? NaN) / 12 : 0);
    days = years * 365;
  }
  if (days === undefined || !Number.isFinite(days)) return undefined;
  if (days < 28) return "新生儿";
  if (days < 365) return "婴儿";
  if (days < 3 * 365) return "幼儿";
  if (days < 6 * 365) return "学龄前";
  if (days < 12 * 365) return "学龄";
  return "青春期";
}

/** One passage section → one MedKQ&A or TreRecom record (answer = the section's text). */
export function fromPassageSection(sec: Located<PassageSection>, info: SourceInfo): TaskRecord {
  const { title, section, paragraphs, meta } = sec.value;
  const { task, question } = questionForSection(title, section, sec.value.parent);
  const r: Omit<TaskRecord, "id"> = {
    task,
    source: meta.source ?? info.source,
    provenance: `${info.display(sec.file)}:L${sec.line}#${section || title}`,
    generator: "template",
    messages: [
      { role: "user", content: question },
      { role: "assistant", content: paragraphs.join("\n\n") },
    ],
  };
  const dept = meta.department ?? info.department;
  const age = meta.age_group ?? info.ageGroup;
  if (dept) r.department = dept;
  if (age) r.ageGroup = age;
  return make(r);
}

/** Plain-text rendering of a section for the CPT corpus. */
export function passageText(sec: PassageSection): string {
  const head = [sec.title, sec.parent, sec.section].filter((x) => x).join("·");
  return `${head}\n${sec.paragraphs.join("\n\n")}`;
}

interface RelationRule {
  task: PediatricTask;
  question: (h: string) => string;
  answer: (h: string, tails: string[]) => string;
}

const list = (xs: string[]) => xs.join("、");
const DRUG_NOTE = "具体是否用药、剂量和疗程须由医生根据患儿年龄、体重和病情决定，切勿自行用药。";

const RELATION_RULES: Record<string, RelationRule> = {
  症状: { task: "MedKQ&A", question: (h) => `${h}有哪些症状？`, answer: (h, t) => `${h}的常见症状包括：${list(t)}。` },
  临床表现: { task: "MedKQ&A", question: (h) => `${h}有哪些临床表现？`, answer: (h, t) => `${h}的临床表现包括：${list(t)}。` },
  并发症: { task: "MedKQ&A", question: (h) => `${h}可能引起哪些并发症？`, answer: (h, t) => `${h}可能出现的并发症包括：${list(t)}。` },
  检查: { task: "MedKQ&A", question: (h) => `${h}需要做哪些检查？`, answer: (h, t) => `${h}常用的检查包括：${list(t)}。` },
  好发人群: { task: "MedKQ&A", question: (h) => `${h}好发于哪些人群？`, answer: (h, t) => `${h}的好发人群：${list(t)}。` },
  易感人群: { task: "MedKQ&A", question: (h) => `哪些人群容易患${h}？`, answer: (h, t) => `${h}的易感人群：${list(t)}。` },
  病因: { task: "MedKQ&A", question: (h) => `${h}的病因有哪些？`, answer: (h, t) => `${h}的常见病因包括：${list(t)}。` },
  病原体: { task: "MedKQ&A", question: (h) => `${h}由哪些病原体引起？`, answer: (h, t) => `${h}的常见病原体包括：${list(t)}。` },
  传播途径: { task: "MedKQ&A", question: (h) => `${h}是怎样传播的？`, answer: (h, t) => `${h}的传播途径包括：${list(t)}。` },
  预防: { task: "MedKQ&A", question: (h) => `如何预防${h}？`, answer: (h, t) => `预防${h}的措施包括：${list(t)}。` },
  就诊科室: { task: "MedKQ&A", question: (h) => `${h}应该去哪个科室就诊？`, answer: (h, t) => `${h}一般可就诊于：${list(t)}。` },
  鉴别诊断: { task: "MedKQ&A", question: (h) => `${h}需要与哪些疾病鉴别？`, answer: (h, t) => `${h}需要与以下疾病鉴别：${list(t)}。` },
  危险信号: { task: "MedKQ&A", question: (h) => `${h}患儿出现哪些情况需要立即就医？`, answer: (h, t) => `${h}患儿出现以下情况应立即就医：${list(t)}。` },
  禁忌: { task: "TreRecom", question: (h) => `${h}有哪些用药或护理禁忌？`, answer: (h, t) => `${h}需要注意的禁忌包括：${list(t)}。` },
  治疗药物: {
    task: "TreRecom",
    question: (h) => `${h}可以用哪些药物治疗？`,
    answer: (h, t) => `${h}常用的治疗药物包括：${list(t)}。${DRUG_NOTE}`,
  },
  治疗: { task: "TreRecom", question: (h) => `${h}有哪些治疗方法？`, answer: (h, t) => `${h}的治疗方法包括：${list(t)}。` },
  治疗方法: { task: "TreRecom", question: (h) => `${h}有哪些治疗方法？`, answer: (h, t) => `${h}的治疗方法包括：${list(t)}。` },
  护理: { task: "TreRecom", question: (h) => `${h}患儿应该如何护理？`, answer: (h, t) => `${h}的护理要点包括：${list(t)}。` },
};

export function relationRule(relation: string): RelationRule {
  return (
    RELATION_RULES[relation] ?? {
      task: "MedKQ&A",
      question: (h) => `${h}的${relation}是什么？`,
      answer: (h, t) => `${h}的${relation}：${list(t)}。`,
    }
  );
}

/** Triples grouped by (head, relation) in first-seen order. Memory: one entry per distinct group. */
export class TripleGroups {
  private readonly groups = new Map<string, { head: string; relation: string; tails: string[]; lines: number[]; file: string }>();
  add(t: Located<Triple>): void {
    const key = `${t.value.head}\u0001${t.value.relation}`;
    let g = this.groups.get(key);
    if (!g) {
      g = { head: t.value.head, relation: t.value.relation, tails: [], lines: [], file: t.file };
      this.groups.set(key, g);
    }
    if (!g.tails.includes(t.value.tail)) g.tails.push(t.value.tail);
    g.lines.push(t.line);
  }
  *records(info: SourceInfo): Generator<TaskRecord> {
    for (const g of this.groups.values()) {
      const rule = relationRule(g.relation);
      const r: Omit<TaskRecord, "id"> = {
        task: rule.task,
        source: info.source,
        provenance: `${info.display(g.file)}:L${g.lines.slice(0, 8).join(",L")}${g.lines.length > 8 ? ",…" : ""}`,
        generator: "template",
        messages: [
          { role: "user", content: rule.question(g.head) },
          { role: "assistant", content: rule.answer(g.head, g.tails) },
        ],
      };
      if (info.department) r.department = info.department;
      yield make(r);
    }
  }
  /** One plain-text paragraph per head for the CPT corpus. */
  *texts(): Generator<string> {
    const byHead = new Map<string, string[]>();
    for (const g of this.groups.values()) {
      const arr = byHead.get(g.head) ?? [];
      arr.push(relationRule(g.relation).answer(g.head, g.tails));
      byHead.set(g.head, arr);
    }
    for (const [, sentences] of byHead) yield sentences.join("");
  }
  /** Per head: its facts as sentences and where they came from (input for LLM question writing). */
  *heads(info: SourceInfo): Generator<{ head: string; facts: string; provenance: string; file: string }> {
    const byHead = new Map<string, { sentences: string[]; lines: number[]; file: string }>();
    for (const g of this.groups.values()) {
      const h = byHead.get(g.head) ?? { sentences: [], lines: [], file: g.file };
      h.sentences.push(relationRule(g.relation).answer(g.head, g.tails));
      h.lines.push(...g.lines);
      byHead.set(g.head, h);
    }
    for (const [head, h] of byHead) {
      const lines = [...h.lines].sort((a, b) => a - b);
      yield { head, facts: h.sentences.join("\n"), file: h.file, provenance: `${info.display(h.file)}:L${lines.slice(0, 8).join(",L")}${lines.length > 8 ? ",…" : ""}` };
    }
  }
  get size(): number {
    return this.groups.size;
  }
}

const TREATMENT_ASK = /怎么办|怎么治|如何治|治疗|吃什么药|用什么药|用药|吃药|可以吃|能吃|能用|偏方|打针|输液|挂水|退烧药|抗生素|消炎药/;

/** A consultation → one multi-turn EviDiag record, plus a TreRecom record when it has advice. */
export function fromConsultation(c: Located<Consultation>, info: SourceInfo): TaskRecord[] {
  const v = c.value;
  const base = { source: info.source, generator: "template" } as const;
  const dept = v.department ?? info.department;
  const age = (v.age ? ageGroupOf(v.age) : undefined) ?? info.ageGroup;
  const extra = (r: Omit<TaskRecord, "id">) => {
    if (dept) r.department = dept;
    if (age) r.ageGroup = age;
    return r;
  };
  const prov = `${info.display(c.file)}:L${c.line}#${v.id}`;
  const messages = v.turns.map((t) => ({ role: t.role === "patient" ? ("user" as const) : ("assistant" as const), content: t.text }));
  const out: TaskRecord[] = [make(extra({ ...base, task: "EviDiag", provenance: prov, messages }))];
  if (v.advice) {
    const facts = v.turns.filter((t) => t.role === "patient").map((t) => t.text.trim().replace(/[。！？!?]*$/, ""));
    const who = v.age ? `患儿${v.age}` : "患儿";
    const dx = v.diagnosis ? `初步考虑${v.diagnosis}。` : "";
    const q = `${who}，${facts.join("；")}。${dx}请给出治疗和护理建议。`;
    out.push(make(extra({ ...base, task: "TreRecom", provenance: `${prov}#advice`, messages: [{ role: "user", content: q }, { role: "assistant", content: v.advice }] })));
  }
  return out;
}

/** A CMD row → EviDiag (single-turn consultation) or TreRecom when the patient asks about treatment. */
export function fromCmdRow(r: Located<CmdRow>, info: SourceInfo): TaskRecord {
  const v = r.value;
  const ask = v.title && !v.ask.includes(v.title) ? `${v.title}。${v.ask}` : v.ask;
  const task: PediatricTask = TREATMENT_ASK.test(v.title + v.ask) ? "TreRecom" : "EviDiag";
  const rec: Omit<TaskRecord, "id"> = {
    task,
    source: info.source,
    provenance: `${info.display(r.file)}:L${r.line}`,
    generator: "template",
    messages: [
      { role: "user", content: ask },
      { role: "assistant", content: v.answer },
    ],
  };
  const dept = v.department || info.department;
  if (dept) rec.department = dept;
  if (info.ageGroup) rec.ageGroup = info.ageGroup;
  return make(rec);
}

const SELF_COGNITION = /你是谁|你叫什么|你是什么|介绍一下你自己|你的名字|谁开发|who are you/i;
const MEDICAL =
  /病|症|痛|热|烧|咳|喘|吐|泻|疹|痒|药|医|诊|治疗|疫苗|接种|婴|幼|儿|宝宝|孩子|新生|喂养|母乳|奶|辅食|体温|过敏|感染|发育|炎|菌|毒|血|糖|尿|便|肠|胃|肺|心|脑|眼|耳|鼻|喉|咽|皮|骨|牙|龋|睡眠|补液|近视|营养|肥胖|黄疸|抽搐|惊厥|多动|手术|开刀|检查|维生素|钙|铁|锌|剂量|感冒|征|伤|疾/;

/** Task label of an instruction example: explicit (`task` field or config), else a keyword guess. */
export function classifyInstruction(ex: InstructionExample, configured: TaskLabel | "auto"): TaskLabel {
  const explicit = ex.extra.task;
  if (typeof explicit === "string" && (["MedKQ&A", "EviDiag", "TreRecom", "general"] as string[]).includes(explicit)) return explicit as TaskLabel;
  if (configured !== "auto") return configured;
  const firstUser = ex.messages.find((m) => m.role === "user")?.content ?? "";
  if (SELF_COGNITION.test(firstUser)) return "general";
  if (!MEDICAL.test(firstUser)) return "general";
  if (ex.messages.length > 2) return "EviDiag";
  if (TREATMENT_ASK.test(firstUser)) return "TreRecom";
  return "MedKQ&A";
}

export function fromInstruction(ex: Located<InstructionExample>, configured: TaskLabel | "auto", info: SourceInfo): TaskRecord {
  const v = ex.value;
  const r: Omit<TaskRecord, "id"> = {
    task: classifyInstruction(v, configured),
    source: typeof v.extra.source === "string" ? v.extra.source : info.source,
    provenance: `${info.display(ex.file)}:L${ex.line}`,
    generator: "passthrough",
    messages: v.messages,
  };
  if (v.system) r.system = v.system;
  const dept = typeof v.extra.department === "string" ? v.extra.department : info.department;
  const age = typeof v.extra.age_group === "string" ? v.extra.age_group : info.ageGroup;
  if (dept) r.department = dept;
  if (age) r.ageGroup = age;
  return make(r);
}
