/**
 * The generator contract's option handling: defaults are the seed's, each request gets its own resolved
 * object (nothing leaks between requests), temperature 0 stays 0 (greedy), and every bad field is
 * refused with its name before any work.
 */
import { describe, expect, it } from "vitest";
import { DEFAULT_OPTIONS, GenerationRequestError, resolveOptions, validateInput, type GenerationRequest } from "./generator.js";

function fieldOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof GenerationRequestError) return e.field;
    throw e;
  }
  throw new Error("expected a GenerationRequestError");
}

describe("resolveOptions", () => {
  it("fills the seed's defaults and a seed, in a fresh object per request", () => {
    const a = resolveOptions({});
    expect(a).toMatchObject({ ...DEFAULT_OPTIONS, stop: [] });
    expect(Number.isInteger(a.seed)).toBe(true);
    const b = resolveOptions({ temperature: 0, stop: ["\n"], seed: 7 });
    expect(b.temperature).toBe(0);
    expect(b.seed).toBe(7);
    const c = resolveOptions({});
    expect(c.temperature).toBe(DEFAULT_OPTIONS.temperature);
    expect(c.stop).toEqual([]);
    expect(c).not.toBe(a);
  });

  it("takes request values over session defaults over the built-in defaults", () => {
    const r = resolveOptions({ topP: 0.5 }, { topP: 0.9, maxNewTokens: 64 });
    expect(r.topP).toBe(0.5);
    expect(r.maxNewTokens).toBe(64);
  });

  it("names the field of every bad option", () => {
    expect(fieldOf(() => resolveOptions({ temperature: -1 }))).toBe("temperature");
    expect(fieldOf(() => resolveOptions({ temperature: Number.NaN }))).toBe("temperature");
    expect(fieldOf(() => resolveOptions({ topP: 0 }))).toBe("topP");
    expect(fieldOf(() => resolveOptions({ topK: 1.5 }))).toBe("topK");
    expect(fieldOf(() => resolveOptions({ maxNewTokens: 0 }))).toBe("maxNewTokens");
    expect(fieldOf(() => resolveOptions({ repetitionPenalty: 0 }))).toBe("repetitionPenalty");
    expect(fieldOf(() => resolveOptions({ seed: -3 }))).toBe("seed");
    expect(fieldOf(() => resolveOptions({ stop: ["ok", ""] }))).toBe("stop[1]");
    expect(fieldOf(() => resolveOptions({ stop: Array.from({ length: 17 }, () => "x") }))).toBe("stop");
    expect(fieldOf(() => resolveOptions({ maxNewTokens: "5" as unknown as number }))).toBe("maxNewTokens");
  });
});

describe("validateInput", () => {
  const ok: GenerationRequest = { messages: [{ role: "system", content: "s" }, { role: "user", content: "a" }, { role: "assistant", content: "b" }, { role: "user", content: "c" }] };
  it("accepts a system message then alternating turns ending with the user, or a raw prompt", () => {
    expect(() => validateInput(ok)).not.toThrow();
    expect(() => validateInput({ prompt: "hi" })).not.toThrow();
  });
  it("names the field of a bad conversation", () => {
    expect(fieldOf(() => validateInput({ messages: [] }))).toBe("messages");
    expect(fieldOf(() => validateInput({ prompt: "" }))).toBe("prompt");
    expect(fieldOf(() => validateInput({ messages: [{ role: "bot" as "user", content: "x" }] }))).toBe("messages[0].role");
    expect(fieldOf(() => validateInput({ messages: [{ role: "user", content: 3 as unknown as string }] }))).toBe("messages[0].content");
    expect(fieldOf(() => validateInput({ messages: [{ role: "user", content: "a" }, { role: "user", content: "b" }] }))).toBe("messages[1].role");
    expect(fieldOf(() => validateInput({ messages: [{ role: "user", content: "a" }, { role: "assistant", content: "b" }] }))).toBe("messages[1].role");
    expect(fieldOf(() => validateInput({ messages: [{ role: "user", content: "a" }, { role: "system", content: "b" }] }))).toBe("messages[1].role");
  });
});
