/**
 * `pedgpt train` with the torch flags, as a user runs it (slow: each run starts the CLI): a bad flag
 * value and several nodes without a rendezvous end the command with exit code 1 and one line naming
 * the flag, before any work (no output folder appears). The checks themselves are unit-tested in
 * launch.test.ts; this is the wiring from flags to them.
 */
import { spawnSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir } from "../../../test/helpers/tempdir.js";

const tmp = tempDir("pedgpt-torch-cli-");
const out = join(tmp, "out");
const recipe = join(tmp, "recipe.yaml");
writeFileSync(recipe, `stage: sft\nmodel_name_or_path: ${join(tmp, "model")}\ndataset: sft\noutput_dir: ${out}\n`);

function train(...flags: string[]): { code: number | null; stderr: string } {
  const r = spawnSync(process.execPath, ["--import", "tsx", join(process.cwd(), "src/cli/main.ts"), "train", recipe, ...flags], { encoding: "utf8", timeout: 60_000 });
  return { code: r.status, stderr: r.stderr.trim() };
}

describe("pedgpt train --backend torch", () => {
  it("refuses bad flags with exit code 1 and the flag named, before any work", { timeout: 120_000 }, () => {
    const cases: [string[], RegExp][] = [
      [["--backend", "torch", "--nproc-per-node", "0"], /--nproc-per-node must be an integer >= 1, got "0"/],
      [["--backend", "torch", "--nnodes", "2"], /--rdzv-endpoint: --nnodes 2 needs the rendezvous HOST:PORT/],
    ];
    for (const [flags, msg] of cases) {
      const r = train(...flags);
      expect(r.code, flags.join(" ")).toBe(1);
      expect(r.stderr, flags.join(" ")).toMatch(msg);
    }
    expect(existsSync(out)).toBe(false);
  });
});
