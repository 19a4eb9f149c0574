import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SafetyKnowledgeError } from "./errors.js";
import { defaultSafetyDir, loadSafetyKnowledge, typicalWeightKg } from "./knowledge.js";
import { tempDir } from "../../test/helpers/tempdir.js";


const dir = defaultSafetyDir();
const files = ["drugs.json", "classes.json", "redflags.json", "growth.json"];

/** A copy of the knowledge base with one file edited. */
function variant(file: string, edit: (data: any) => void, raw?: string): string {
  const d = tempDir("pedgpt-safety-");
  for (const f of files) writeFileSync(join(d, f), readFileSync(join(dir, f)));
  if (raw !== undefined) writeFileSync(join(d, file), raw);
  else {
    const data = JSON.parse(readFileSync(join(dir, file), "utf8"));
    edit(data);
    writeFileSync(join(d, file), JSON.stringify(data, null, 2));
  }
  return d;
}

function loadError(d: string): SafetyKnowledgeError {
  try {
    loadSafetyKnowledge({ dir: d });
  } catch (err) {
    expect(err).toBeInstanceOf(SafetyKnowledgeError);
    return err as SafetyKnowledgeError;
  }
  throw new Error("expected the load to fail");
}

describe("knowledge base", () => {
  const kb = loadSafetyKnowledge();
  it("has the promised size and a citation on every entry", () => {
    expect(kb.drugs.length).toBeGreaterThanOrEqual(80);
    expect(kb.redFlags.length).toBeGreaterThanOrEqual(20);
    for (const d of kb.drugs) {
      expect(d.citationNames.length).toBeGreaterThan(0);
      for (const r of d.doses) expect(r.citation.length).toBeGreaterThan(0);
    }
    for (const f of kb.redFlags) expect(f.citationNames.length).toBeGreaterThan(0);
    const bands = new Set(kb.redFlags.flatMap((f) => f.ageBands));
    expect([...bands].sort()).toEqual(["adolescent", "child", "infant", "neonate", "toddler"]);
  });
  it("knows what bromhexine and ambroxol are not", () => {
    for (const id of ["bromhexine", "ambroxol"]) {
      const d = kb.drugById.get(id)!;
      expect(d.classClosure.has("mucolytic")).toBe(true);
      expect(d.notClasses).toContain("muscle_relaxant");
    }
  });
  it("interpolates typical weights", () => {
    expect(typicalWeightKg(kb, 24)).toBe(12);
    expect(typicalWeightKg(kb, 27)).toBeCloseTo(12.55, 2);
  });
});

describe("knowledge base validation errors name file, entry and field", () => {
  it("reports invalid JSON with its line", () => {
    const e = loadError(variant("drugs.json", () => {}, '{\n  "schemaVersion": 1,\n  oops\n}'));
    expect(e.message).toMatch(/drugs\.json: invalid JSON at line 3/);
  });
  it("reports a wrong schema version", () => {
    const e = loadError(variant("classes.json", (d) => { d.schemaVersion = 2; }));
    expect(e.message).toMatch(/classes\.json: schema validation failed/);
    expect(e.message).toMatch(/schemaVersion/);
  });
  it("reports a missing field with the entry id", () => {
    const e = loadError(variant("drugs.json", (d) => { delete d.drugs[1].classes; }));
    expect(e.message).toMatch(/drugs\[1\] \(id "ibuprofen"\) field classes/);
  });
  it("reports min > max in a dose range", () => {
    const e = loadError(variant("drugs.json", (d) => { d.drugs[1].doses[0].perDoseMgPerKg = [10, 5]; }));
    expect(e.message).toMatch(/drugs\[1\] \(id "ibuprofen"\) field doses\[0\]\.perDoseMgPerKg: expected \[min, max\] with min ≤ max, found \[10, 5\]/);
  });
  it("reports a frequency limit on a route that has dose rules, or with a bad interval", () => {
    const limit = { route: "oral", intervalHours: [4, 6], maxDosesPerDay: 4, citation: ["BNFC"] };
    expect(loadError(variant("drugs.json", (d) => { d.drugs[1].frequencyLimits = [limit]; })).message).toMatch(/id "ibuprofen"\) field frequencyLimits\[0\]\.route: route "oral" has dose rules/);
    expect(loadError(variant("drugs.json", (d) => { d.drugs[1].frequencyLimits = [{ ...limit, route: "nasal", intervalHours: [0, 6] }]; })).message).toMatch(/frequencyLimits\[0\]\.intervalHours: expected a positive interval/);
  });
  it("reports unknown classes, sources and age bands", () => {
    expect(loadError(variant("drugs.json", (d) => { d.drugs[0].classes.push("wizardry"); })).message).toMatch(/id "paracetamol"\) field classes: unknown class "wizardry"/);
    expect(loadError(variant("drugs.json", (d) => { d.drugs[0].citations.push("NOPE"); })).message).toMatch(/unknown source key "NOPE"/);
    expect(loadError(variant("redflags.json", (d) => { d.redFlags[0].ageBands = ["elderly"]; })).message).toMatch(/redFlags\[0\] \(id "convulsion"\) field ageBands: unknown age band "elderly"/);
  });
  it("reports an invalid red-flag pattern", () => {
    const e = loadError(variant("redflags.json", (d) => { d.redFlags[0].patterns = ["(unclosed"]; }));
    expect(e.message).toMatch(/redFlags\[0\] \(id "convulsion"\) field patterns\[0\]: invalid regular expression/);
  });
  it("reports a name shared by two drugs", () => {
    const e = loadError(variant("drugs.json", (d) => { d.drugs[1].aliases.push("泰诺林"); }));
    expect(e.message).toMatch(/name "泰诺林" is already used by drug "paracetamol"/);
  });
  it("reports a missing file", () => {
    const d = tempDir("pedgpt-safety-");
    expect(loadError(d).message).toMatch(/classes\.json: cannot read the file/);
  });
});
