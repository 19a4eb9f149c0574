/**
 * Quick-start options are all checked before any work: nothing is built or written for an absurd
 * option, and the message names the command-line flag.
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkQuickstartOptions } from "../../train/quickstart.js";
import { tempDir } from "../../../test/helpers/tempdir.js";
import { cli } from "../../../test/helpers/cli.js";
import { smallDisk } from "../../../test/helpers/tmpfs.js";

describe("quickstart option validation", () => {
  it("refuses --seed abc, a block size over max_position_embeddings and an unknown preset before any work", async () => {
    const out = join(tempDir("qs-opts-"), "run");
    const cases: [string[], RegExp][] = [
      [["--seed", "abc"], /pedgpt: --seed must be an integer in \[0, 2\^32\), got "abc"/],
      [["--seed", "-1"], /--seed must be an integer/],
      [["--block-size", "100000"], /pedgpt: --block-size: 100000 tokens is longer than preset tiny-llama's max_position_embeddings \(1024\)/],
      [["--preset", "tiny-nope"], /pedgpt: --preset: unknown preset "tiny-nope"; available: .*tiny-llama/],
      [["--vocab-size", "10"], /pedgpt: --vocab-size: must be at least 300/],
      [["--steps", "0"], /--steps must be a positive integer, got "0"/],
    ];
    for (const [args, re] of cases) {
      const r = await cli("quickstart", "--out", out, ...args);
      expect(r.rc, args.join(" ")).toBe(1);
      expect(r.err, args.join(" ")).toMatch(re);
      expect(existsSync(out), args.join(" ")).toBe(false);
    }
  });

  it("the check is a reusable function over the options object", () => {
    expect(checkQuickstartOptions({}).preset).toBe("tiny-llama");
    expect(() => checkQuickstartOptions({ seed: Number.NaN })).toThrow("seed: must be an integer in [0, 2^32), got NaN");
    expect(() => checkQuickstartOptions({ batchSize: 1.5 })).toThrow(/batchSize: must be an integer/);
    expect(() => checkQuickstartOptions({ lr: -1 })).toThrow(/lr: must be a number > 0, got -1/);
  });

  const disk = smallDisk("2m");
  it.skipIf("skip" in disk)(`a full disk stops the quick start with one line and no half-written corpus${"skip" in disk ? ` (skipped: ${disk.skip})` : ""}`, async () => {
    const out = join((disk as { dir: string }).dir, "run");
    const r = await cli("quickstart", "--out", out);
    expect(r.rc).toBe(1);
    expect(r.err).toContain(`pedgpt: disk full while writing ${join(out, "corpus")}; nothing was replaced`);
    expect(r.err).not.toMatch(/Unhandled|at .*\.ts:\d+/);
    // No corpus folder and no staging leftovers (a run manifest, if the job keeps one, may stay).
    expect(readdirSync(out).filter((n) => n.includes("corpus") || n.includes("staging") || n.includes(".tmp"))).toEqual([]);
  }, 60_000);
});
