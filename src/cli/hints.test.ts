/**
 * Every command-line flag that a message or hint in the sources names (in text such as "pass
 * --allow-missing") is a flag some `pedgpt` command really has, so no hint sends a user to a flag
 * that does not exist.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import { describe, expect, it } from "vitest";
import { buildProgram } from "./main.js";

const SRC = fileURLToPath(new URL("..", import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) return sourceFiles(p);
    return p.endsWith(".ts") && !p.endsWith(".test.ts") ? [p] : [];
  });
}

/** Flags named inside string literals that read as text (they contain a space). */
function namedFlags(source: string): { flag: string; line: number }[] {
  const out: { flag: string; line: number }[] = [];
  for (const lit of source.matchAll(/(["'`])((?:\\.|(?!\1)[^\\\n])*)\1/g)) {
    const text = lit[2]!;
    if (!text.includes(" ")) continue;
    for (const m of text.matchAll(/(?:^|[\s(`'"])(--[a-z][a-z0-9_-]*[a-z0-9])/g)) {
      out.push({ flag: m[1]!, line: source.slice(0, lit.index).split("\n").length });
    }
  }
  return out;
}

describe("hints name only flags that exist", () => {
  it("every --flag in a message is registered by some command", () => {
    const flags = new Set<string>();
    const walk = (c: Command): void => {
      for (const o of c.options) if (o.long) flags.add(o.long);
      c.commands.forEach(walk);
    };
    walk(buildProgram());
    expect(flags.has("--allow-missing")).toBe(true);
    const unknown: string[] = [];
    let checked = 0;
    for (const f of sourceFiles(SRC)) {
      for (const { flag, line } of namedFlags(readFileSync(f, "utf8"))) {
        checked++;
        if (!flags.has(flag)) unknown.push(`${f.slice(SRC.length)}:${line}: ${flag}`);
      }
    }
    // The scan does see the hints (e.g. "pass --vocab synthetic" in the GGUF export command).
    expect(checked).toBeGreaterThan(30);
    expect(unknown).toEqual([]);
  });
});
