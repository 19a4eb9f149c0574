/**
 * Loads and validates the safety knowledge base (drugs, classes, red flags, typical weights) from the
 * versioned JSON files in data/safety/, and builds the lookup tables the checker needs. It does not
 * interpret text; see check.ts and triage.ts for that.
 *
 * Every error names the file, the entry (index and id) and the field, and says what was expected.
 */
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { z } from "zod";
import { SafetyKnowledgeError } from "./errors.js";
import {
  classFileSchema, drugFileSchema, growthFileSchema, redFlagFileSchema,
  type ActionId, type DrugClassEntry, type DrugEntry, type GrowthFile, type RedFlagComposition, type RedFlagEntry, type RedFlagFile,
  type RedFlagLexicon,
} from "./schema.js";

/** A drug entry with its citation keys resolved to source names. */
export interface Drug extends DrugEntry {
  /** Every name the text scanner looks for: nameZh, nameEn, aliases, brands. */
  names: string[];
  /** Resolved citation names for the entry. */
  citationNames: string[];
  /** The drug's classes plus all their ancestors. */
  classClosure: Set<string>;
}

export interface RedFlag extends RedFlagEntry {
  citationNames: string[];
}

/** A compositional red-flag rule with its flag and citations resolved. */
export interface RedFlagRule extends RedFlagComposition {
  target: RedFlag;
  citationNames: string[];
}

export interface SafetyKnowledge {
  kbVersion: string;
  drugs: Drug[];
  drugById: Map<string, Drug>;
  classes: Map<string, DrugClassEntry>;
  /** Words containing a class term that are not class names (classes.json `notClassTerms`). */
  notClassTerms: string[];
  redFlags: RedFlag[];
  /** Red flags only compositional rules recognise (redflags.json `composedFlags`). */
  composedFlags: RedFlag[];
  /** Word families and the compositional rules over them (redflags.json `lexicon`, `compositions`). */
  redFlagLexicon: RedFlagLexicon;
  redFlagRules: RedFlagRule[];
  ageBands: RedFlagFile["ageBands"];
  actions: Record<ActionId, { zh: string; level: number }>;
  growth: GrowthFile;
  /** Source key → full name, drugs, red flags and growth together. */
  sources: Map<string, string>;
  /** Directory the files were read from. */
  dir: string;
}

export interface LoadOptions {
  /** Directory holding drugs.json, classes.json, redflags.json, growth.json. Defaults to $PEDGPT_SAFETY_DIR or the repository's data/safety. */
  dir?: string;
}

/** data/safety relative to this module: src/safety/ and dist/safety/ both sit two levels under the repo root. */
export function defaultSafetyDir(): string {
  const env = process.env.PEDGPT_SAFETY_DIR;
  if (env) return resolve(env);
  return fileURLToPath(new URL("../../data/safety/", import.meta.url));
}

const cache = new Map<string, SafetyKnowledge>();

/** Load (once per directory) and validate the knowledge base. */
export function loadSafetyKnowledge(options: LoadOptions = {}): SafetyKnowledge {
  const dir = resolve(options.dir ?? defaultSafetyDir());
  const hit = cache.get(dir);
  if (hit) return hit;
  const kb = buildKnowledge(dir);
  cache.set(dir, kb);
  return kb;
}

function readJson(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new SafetyKnowledgeError(`${file}: cannot read the file (${(err as Error).message}); expected a JSON knowledge-base file`, file);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    const msg = (err as Error).message;
    const pos = /position (\d+)/.exec(msg);
    let where = "";
    if (pos) {
      const before = text.slice(0, Number(pos[1]));
      const line = before.split("\n").length;
      const col = Number(pos[1]) - before.lastIndexOf("\n");
      where = ` at line ${line}, column ${col}`;
    }
    throw new SafetyKnowledgeError(`${file}: invalid JSON${where}: ${msg}`, file);
  }
}

/** Describe a zod issue path like `drugs[3] (id "ibuprofen") field doses[0].perDoseMgPerKg`. */
function describePath(data: unknown, path: PropertyKey[]): string {
  if (path.length === 0) return "top level";
  const [list, index, ...rest] = path;
  if (typeof list === "string" && typeof index === "number") {
    const entry = (data as Record<string, unknown[]>)?.[list]?.[index] as { id?: unknown } | undefined;
    const id = entry && typeof entry === "object" && typeof entry.id === "string" ? ` (id "${entry.id}")` : "";
    const field = rest.length ? ` field ${formatPath(rest)}` : "";
    return `${list}[${index}]${id}${field}`;
  }
  return `field ${formatPath(path)}`;
}

function formatPath(path: PropertyKey[]): string {
  let out = "";
  for (const p of path) out += typeof p === "number" ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out;
}

function parseWith<S extends z.ZodType>(schema: S, file: string): z.infer<S> {
  const data = readJson(file);
  const result = schema.safeParse(data);
  if (!result.success) {
    const lines = result.error.issues.slice(0, 5).map((i) => `  ${describePath(data, i.path)}: ${i.message}`);
    const more = result.error.issues.length > 5 ? `\n  … and ${result.error.issues.length - 5} more` : "";
    throw new SafetyKnowledgeError(`${file}: schema validation failed:\n${lines.join("\n")}${more}`, file);
  }
  return result.data;
}

function fail(file: string, where: string, message: string): never {
  throw new SafetyKnowledgeError(`${file}: ${where}: ${message}`, file);
}

function checkRange(file: string, where: string, r: [number, number] | undefined): void {
  if (r && r[0] > r[1]) fail(file, where, `expected [min, max] with min ≤ max, found [${r[0]}, ${r[1]}]`);
}

function buildKnowledge(dir: string): SafetyKnowledge {
  const classesFile = join(dir, "classes.json");
  const drugsFile = join(dir, "drugs.json");
  const flagsFile = join(dir, "redflags.json");
  const growthFile = join(dir, "growth.json");
  const classFile = parseWith(classFileSchema, classesFile);
  const drugFile = parseWith(drugFileSchema, drugsFile);
  const flagFile = parseWith(redFlagFileSchema, flagsFile);
  const growth = parseWith(growthFileSchema, growthFile);

  const classes = new Map<string, DrugClassEntry>();
  classFile.classes.forEach((c, i) => {
    if (classes.has(c.id)) fail(classesFile, `classes[${i}] (id "${c.id}")`, "duplicate class id");
    classes.set(c.id, c);
  });
  classFile.classes.forEach((c, i) => {
    for (const p of c.parents) if (!classes.has(p)) fail(classesFile, `classes[${i}] (id "${c.id}") field parents`, `unknown parent class "${p}"; expected one of the ids in this file`);
  });
  const closureOf = (ids: string[]): Set<string> => {
    const out = new Set<string>();
    const stack = [...ids];
    while (stack.length) {
      const id = stack.pop()!;
      if (out.has(id)) continue;
      out.add(id);
      stack.push(...(classes.get(id)?.parents ?? []));
    }
    return out;
  };

  const sources = new Map<string, string>();
  for (const [k, v] of Object.entries({ ...drugFile.sources, ...flagFile.sources, ...growth.sources })) sources.set(k, v);
  const resolveCitations = (file: string, where: string, keys: string[], own: Record<string, string>): string[] =>
    keys.map((k) => own[k] ?? fail(file, where, `unknown source key "${k}"; expected a key of "sources" in this file`));

  const drugs: Drug[] = [];
  const drugById = new Map<string, Drug>();
  const nameOwner = new Map<string, string>();
  drugFile.drugs.forEach((d, i) => {
    const at = `drugs[${i}] (id "${d.id}")`;
    if (drugById.has(d.id)) fail(drugsFile, at, "duplicate drug id");
    for (const [field, ids] of [["classes", d.classes], ["notClasses", d.notClasses]] as const)
      for (const c of ids) if (!classes.has(c)) fail(drugsFile, `${at} field ${field}`, `unknown class "${c}"; expected an id from classes.json`);
    const citationNames = resolveCitations(drugsFile, `${at} field citations`, d.citations, drugFile.sources);
    if (d.ageRule) resolveCitations(drugsFile, `${at} field ageRule.citation`, d.ageRule.citation, drugFile.sources);
    d.doses.forEach((r, j) => {
      const w = `${at} field doses[${j}]`;
      resolveCitations(drugsFile, `${w}.citation`, r.citation, drugFile.sources);
      if (!r.perDoseMgPerKg && !r.dailyMgPerKg) fail(drugsFile, w, "expected perDoseMgPerKg or dailyMgPerKg");
      checkRange(drugsFile, `${w}.perDoseMgPerKg`, r.perDoseMgPerKg);
      checkRange(drugsFile, `${w}.dailyMgPerKg`, r.dailyMgPerKg);
      checkRange(drugsFile, `${w}.intervalHours`, r.intervalHours);
      if (r.intervalHours[0] <= 0) fail(drugsFile, `${w}.intervalHours`, "expected a positive interval in hours");
    });
    d.frequencyLimits?.forEach((l, j) => {
      const w = `${at} field frequencyLimits[${j}]`;
      resolveCitations(drugsFile, `${w}.citation`, l.citation, drugFile.sources);
      checkRange(drugsFile, `${w}.intervalHours`, l.intervalHours);
      if (l.intervalHours[0] <= 0) fail(drugsFile, `${w}.intervalHours`, "expected a positive interval in hours");
      if (d.doses.some((r) => r.route === l.route)) fail(drugsFile, `${w}.route`, `route "${l.route}" has dose rules; their interval and maxDosesPerDay apply`);
    });
    const names = [...new Set([d.nameZh, d.nameEn, ...d.aliases, ...d.brands])];
    for (const n of names) {
      const key = n.toLowerCase();
      const owner = nameOwner.get(key);
      if (owner && owner !== d.id) fail(drugsFile, at, `name "${n}" is already used by drug "${owner}"; each name must identify one entry`);
      nameOwner.set(key, d.id);
    }
    const drug: Drug = { ...d, names, citationNames, classClosure: closureOf(d.classes) };
    for (const c of d.notClasses)
      if (drug.classClosure.has(c)) fail(drugsFile, `${at} field notClasses`, `class "${c}" is also one of the drug's classes`);
    drugs.push(drug);
    drugById.set(d.id, drug);
  });

  const bandIds = new Set(flagFile.ageBands.map((b) => b.id));
  const redFlags: RedFlag[] = [];
  const flagIds = new Set<string>();
  const composedFlags: RedFlag[] = [];
  const readFlag = (list: "redFlags" | "composedFlags", out: RedFlag[]) => (f: RedFlagEntry, i: number) => {
    const at = `${list}[${i}] (id "${f.id}")`;
    if (flagIds.has(f.id)) fail(flagsFile, at, "duplicate red-flag id");
    flagIds.add(f.id);
    for (const b of f.ageBands) if (!bandIds.has(b)) fail(flagsFile, `${at} field ageBands`, `unknown age band "${b}"; expected one of ${[...bandIds].join(", ")}`);
    if (list === "redFlags" && f.terms.length === 0 && !f.condition && !f.patterns?.length) fail(flagsFile, `${at} field terms`, "expected at least one term, pattern or condition (a sign only rules recognise belongs in \"composedFlags\")");
    if (list === "composedFlags" && !flagFile.compositions?.some((c) => c.flag === f.id)) fail(flagsFile, at, "expected a composition naming this flag in \"compositions\"");
    f.patterns?.forEach((p, j) => {
      try {
        new RegExp(p, "g");
      } catch (err) {
        fail(flagsFile, `${at} field patterns[${j}]`, `invalid regular expression: ${(err as Error).message}`);
      }
    });
    if (!flagFile.actions[f.action]) fail(flagsFile, `${at} field action`, `action "${f.action}" is not defined in "actions"`);
    out.push({ ...f, citationNames: resolveCitations(flagsFile, `${at} field citation`, f.citation, flagFile.sources) });
  };
  flagFile.redFlags.forEach(readFlag("redFlags", redFlags));
  (flagFile.composedFlags ?? []).forEach(readFlag("composedFlags", composedFlags));
  for (const a of ["call_120", "emergency", "within_24h"] as const)
    if (!flagFile.actions[a]) fail(flagsFile, "field actions", `missing action "${a}"`);

  const lexicon: RedFlagLexicon = flagFile.lexicon ?? {};
  for (const [list, flags] of [["redFlags", flagFile.redFlags], ["composedFlags", flagFile.composedFlags ?? []]] as const)
    for (const field of ["unless", "unlessAround"] as const)
      flags.forEach((f, i) => f[field]?.forEach((n, j) => {
        if (!Object.hasOwn(lexicon, n)) fail(flagsFile, `${list}[${i}] (id "${f.id}") field ${field}[${j}]`, `unknown word family "${n}"; expected a key of "lexicon"`);
      }));
  for (const [name, fam] of Object.entries(lexicon)) {
    if (fam.words.length === 0 && !fam.patterns?.length) fail(flagsFile, `lexicon.${name}`, "expected at least one word or pattern");
    fam.patterns?.forEach((p, j) => {
      try {
        new RegExp(p, "g");
      } catch (err) {
        fail(flagsFile, `lexicon.${name} field patterns[${j}]`, `invalid regular expression: ${(err as Error).message}`);
      }
    });
  }
  const redFlagRules: RedFlagRule[] = [];
  const ruleIds = new Set<string>();
  (flagFile.compositions ?? []).forEach((c, i) => {
    const at = `compositions[${i}] (id "${c.id}")`;
    if (ruleIds.has(c.id)) fail(flagsFile, at, "duplicate composition id");
    ruleIds.add(c.id);
    const target = redFlags.find((f) => f.id === c.flag) ?? composedFlags.find((f) => f.id === c.flag) ?? fail(flagsFile, `${at} field flag`, `unknown red flag "${c.flag}"; expected an id from "redFlags" or "composedFlags"`);
    for (const field of ["all", "with", "unless"] as const)
      (c[field] ?? []).forEach((n, j) => {
        if (!Object.hasOwn(lexicon, n)) fail(flagsFile, `${at} field ${field}[${j}]`, `unknown word family "${n}"; expected a key of "lexicon"`);
      });
    if (c.minAgeDays !== undefined && c.maxAgeDays !== undefined && c.minAgeDays >= c.maxAgeDays)
      fail(flagsFile, `${at} field maxAgeDays`, `expected maxAgeDays above minAgeDays (${c.minAgeDays}), found ${c.maxAgeDays}`);
    if (c.maxGap !== undefined && c.all.length < 2) fail(flagsFile, `${at} field maxGap`, "a gap needs at least two families in \"all\"");
    const own = resolveCitations(flagsFile, `${at} field citation`, c.citation, flagFile.sources);
    redFlagRules.push({ ...c, target, citationNames: [...new Set([...target.citationNames, ...own])] });
  });
  // A family no rule or flag names is a typo or dead data: say so rather than carry it silently.
  const named = new Set([...redFlagRules.flatMap((r) => [...r.all, ...(r.with ?? []), ...(r.unless ?? [])]), ...[...redFlags, ...composedFlags].flatMap((f) => [...(f.unless ?? []), ...(f.unlessAround ?? [])])]);
  for (const name of Object.keys(lexicon)) if (!named.has(name)) fail(flagsFile, `lexicon.${name}`, "no composition or flag names this word family; expected it in a rule's all/with/unless or a flag's unless");

  resolveCitations(growthFile, "field citation", growth.citation, growth.sources);
  for (let i = 1; i < growth.medianWeightKg.length; i++)
    if (growth.medianWeightKg[i]![0] <= growth.medianWeightKg[i - 1]![0]) fail(growthFile, `field medianWeightKg[${i}]`, "expected ages in strictly increasing order");

  return {
    kbVersion: drugFile.kbVersion,
    drugs, drugById, classes, notClassTerms: classFile.notClassTerms ?? [], redFlags, composedFlags, redFlagLexicon: lexicon, redFlagRules,
    ageBands: flagFile.ageBands,
    actions: flagFile.actions as Record<ActionId, { zh: string; level: number }>,
    growth, sources, dir,
  };
}

/** Resolve citation keys to full source names (unknown keys are kept as they are; the loader rejects them). */
export function citationNames(kb: SafetyKnowledge, keys: string[]): string[] {
  return keys.map((k) => kb.sources.get(k) ?? k);
}

/** Median weight for an age in months, linearly interpolated. */
export function typicalWeightKg(kb: SafetyKnowledge, ageMonths: number): number {
  const table = kb.growth.medianWeightKg;
  if (ageMonths <= table[0]![0]) return table[0]![1];
  for (let i = 1; i < table.length; i++) {
    const [a1, w1] = table[i]!;
    if (ageMonths <= a1) {
      const [a0, w0] = table[i - 1]!;
      return w0 + ((w1 - w0) * (ageMonths - a0)) / (a1 - a0);
    }
  }
  return table[table.length - 1]![1];
}
