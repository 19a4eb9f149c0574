import { describe, expect, it } from "vitest";
import { exactJaccard } from "../clean/minhash.js";
import { checkLeakage, splitWithoutLeakage, type SplitItem } from "./split.js";

/** Seeded pseudo-random Chinese text: distinct items share almost no 5-grams. */
function randomText(seed: number, n: number): string {
  let x = seed * 2654435761 + 1;
  let out = "";
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out += String.fromCharCode(0x4e00 + (x >>> 8) % 3000);
  }
  return out;
}

/** 200 distinct items, plus planted near-duplicates and same-prompt pairs. */
function corpus(): SplitItem[] {
  const items: SplitItem[] = [];
  for (let i = 0; i < 200; i++) {
    const prompt = `${randomText(i, 12)}？`;
    items.push({ id: `id${String(i).padStart(3, "0")}`, text: `${prompt}\n${randomText(i + 1000, 80)}。`, prompt });
  }
  // Near-duplicates of 20 items (a few characters edited, prompt changed) and 5 same-prompt pairs with different answers.
  for (let k = 0; k < 20; k++) {
    const src = items[k * 10]!;
    items.push({ id: `dup${k}`, text: src.text.slice(0, 40) + "家长应当" + src.text.slice(44), prompt: src.prompt.replace("？", "呢？") });
  }
  for (let k = 0; k < 5; k++) {
    const src = items[k * 10 + 5]!;
    items.push({ id: `samep${k}`, text: `${src.prompt}\n${randomText(k + 5000, 60)}`, prompt: src.prompt });
  }
  return items;
}

describe("leakage-free split", () => {
  it("is deterministic, roughly honours the test fraction, and keeps duplicates on one side", () => {
    const items = corpus();
    const a = splitWithoutLeakage(items, { testFraction: 0.2, seed: 7 });
    const b = splitWithoutLeakage([...items].reverse(), { testFraction: 0.2, seed: 7 });
    const sideA = new Map(items.map((it, i) => [it.id, a.sides[i]]));
    const sideB = new Map([...items].reverse().map((it, i) => [it.id, b.sides[i]]));
    expect([...sideA.entries()]).toEqual([...sideA.keys()].map((k) => [k, sideB.get(k)]));
    expect(a.report.test / items.length).toBeGreaterThan(0.1);
    expect(a.report.test / items.length).toBeLessThan(0.3);
    for (let k = 0; k < 20; k++) expect(sideA.get(`dup${k}`)).toBe(sideA.get(`id${String(k * 10).padStart(3, "0")}`));
    for (let k = 0; k < 5; k++) expect(sideA.get(`samep${k}`)).toBe(sideA.get(`id${String(k * 10 + 5).padStart(3, "0")}`));
    expect(a.report.check).toMatchObject({ method: "exhaustive", violations: 0 });
    expect(a.leaks).toEqual([]);
    // A different seed gives a different split.
    const c = splitWithoutLeakage(items, { testFraction: 0.2, seed: 8 });
    expect(c.sides).not.toEqual(a.sides);
  });

  it("passes an independent brute-force check on exact n-gram Jaccard", () => {
    const items = corpus();
    const { sides } = splitWithoutLeakage(items, { testFraction: 0.2, seed: 3, leakThreshold: 0.5 });
    const test = items.filter((_, i) => sides[i] === "test");
    const train = items.filter((_, i) => sides[i] === "train");
    let worst = 0;
    for (const t of test) for (const r of train) worst = Math.max(worst, exactJaccard(t.text, r.text));
    expect(worst).toBeLessThan(0.5);
    const trainPrompts = new Set(train.map((r) => r.prompt.replace(/\s/g, "")));
    expect(test.some((t) => trainPrompts.has(t.prompt.replace(/\s/g, "")))).toBe(false);
  });

  it("the check finds planted leaks (exhaustive and LSH) and the splitter repairs them", () => {
    const items = corpus();
    expect(exactJaccard(items.find((x) => x.id === "id000")!.text, items.find((x) => x.id === "dup0")!.text)).toBeGreaterThan(0.5);
    const testIds = new Set(["id000", "id015", "id033"]);
    const sides = items.map((it) => (testIds.has(it.id) ? ("test" as const) : ("train" as const)));
    for (const limit of [Infinity, 0]) {
      const r = checkLeakage(items, sides, { leakThreshold: 0.5, exhaustiveLimit: limit });
      expect(r.method).toBe(limit === 0 ? "lsh" : "exhaustive");
      // dup0 (train) duplicates id000 (test); samep1 (train) shares id015's prompt (test).
      expect(r.leaks.some((l) => l.test === "id000" && l.kind === "near-duplicate" && l.similarity >= 0.5)).toBe(true);
      expect(r.leaks.some((l) => l.test === "id015" && l.train === "samep1" && l.kind === "same-prompt")).toBe(true);
      expect(r.leaks.some((l) => l.test === "id033")).toBe(false);
    }
  });
});
