/**
 * Empty inputs are refused, not scored (metrics 0.00, exam 0 %), and unreadable files name the path
 * and the cause.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir } from "../../../test/helpers/tempdir.js";
import { cli } from "../../../test/helpers/cli.js";

describe("eval on empty inputs", () => {
  it("metrics: empty prediction and reference files are refused", async () => {
    const d = tempDir("eval-empty-");
    const pred = join(d, "pred.jsonl");
    const ref = join(d, "ref.jsonl");
    writeFileSync(pred, "");
    writeFileSync(ref, "\n");
    const r = await cli("eval", "metrics", "--pred", pred, "--ref", ref);
    expect(r.rc).toBe(1);
    expect(r.out).toBe("");
    expect(r.err).toContain(`pedgpt: ${pred} and ${ref}: no prediction/reference pairs; nothing to score`);
  });

  it("exam: a gold file without exam items is refused", async () => {
    const d = tempDir("eval-empty-");
    const gold = join(d, "gold.jsonl");
    const pred = join(d, "pred.jsonl");
    writeFileSync(gold, "");
    writeFileSync(pred, "");
    const r = await cli("eval", "exam", "--gold", gold, "--pred", pred);
    expect(r.rc).toBe(1);
    expect(r.err).toContain(`pedgpt: ${gold}: no multiple-choice or true/false items; nothing to score`);
  });

  it("a folder or a missing file names the path and the cause", async () => {
    const d = tempDir("eval-empty-");
    mkdirSync(join(d, "dir"));
    const r = await cli("eval", "metrics", "--pred", join(d, "dir"), "--ref", join(d, "none.jsonl"));
    expect(r.err).toContain(`pedgpt: cannot read the predictions file: ${join(d, "dir")}: is a folder, expected a file (while reading)`);
    writeFileSync(join(d, "p.jsonl"), "");
    const m = await cli("eval", "metrics", "--pred", join(d, "p.jsonl"), "--ref", join(d, "none.jsonl"));
    expect(m.err).toContain(`pedgpt: cannot read the references file: ${join(d, "none.jsonl")}: no such file or folder (while opening)`);
  });

  it("--out as a folder is refused before scoring, naming it", async () => {
    const d = tempDir("eval-out-");
    const ref = join(d, "ref.jsonl");
    const pred = join(d, "pred.jsonl");
    writeFileSync(ref, JSON.stringify({ id: "1", reference: "多喝水。" }) + "\n");
    writeFileSync(pred, JSON.stringify({ id: "1", response: "多喝水。" }) + "\n");
    mkdirSync(join(d, "out"));
    const r = await cli("eval", "metrics", "--pred", pred, "--ref", ref, "--out", join(d, "out"));
    expect(r.rc).toBe(1);
    expect(r.err).toContain(`pedgpt: ${join(d, "out")}: is a folder; give the path of a file to write`);
    expect(r.out).toBe("");
  });
});
