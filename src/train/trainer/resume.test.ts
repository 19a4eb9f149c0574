/**
 * Resume after `kill -9`: a real training process (test/helpers/train_child.ts) is killed with
 * SIGKILL at a random moment after a random step — twice — and resumed each time; its metrics (loss,
 * gradient norm, learning rate, held-out loss, per step) must equal an uninterrupted run's bit for bit,
 * and so must the final checkpoint's weights and optimizer moments.
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";
import { CHILD_STEPS } from "../../../test/helpers/train_child.js";
import { tempDir } from "../../../test/helpers/tempdir.js";
import { checkpointDirName, loadCheckpoint } from "./checkpoint.js";

const tmp = tempDir("pedgpt-resume-");
const child = fileURLToPath(new URL("../../../test/helpers/train_child.ts", import.meta.url));

function lines(dir: string): Record<string, unknown>[] {
  const f = join(dir, "metrics.jsonl");
  if (!existsSync(f)) return [];
  return readFileSync(f, "utf8").split("\n").filter((l) => l.endsWith("}")).map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Run the child to completion, or kill it with SIGKILL `delayMs` after its metrics show `killAfterStep`. */
function runChild(dir: string, mode: "fresh" | "resume", kill?: { killAfterStep: number; delayMs: number }): Promise<{ code: number | null; signal: string | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ["--import", "tsx", child, dir, mode, kill ? "15" : "0"], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    p.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    let timer: NodeJS.Timeout | null = null;
    if (kill) {
      timer = setInterval(() => {
        const last = lines(dir).at(-1);
        if (last && (last.step as number) >= kill.killAfterStep) {
          clearInterval(timer!);
          setTimeout(() => p.kill("SIGKILL"), kill.delayMs);
        }
      }, 2);
    }
    p.on("error", reject);
    p.on("exit", (code, signal) => {
      if (timer) clearInterval(timer);
      resolve({ code, signal, stderr });
    });
  });
}

const exact = (l: Record<string, unknown>) => ({ run: l.run, step: l.step, loss: l.loss, lr: l.lr, gradNorm: l.gradNorm, tokens: l.tokens, epoch: l.epoch, skipped: l.skipped, valLoss: l.valLoss });

it("a run killed with SIGKILL at random steps and resumed reproduces the uninterrupted run bit for bit", async () => {
  const ref = join(tmp, "reference");
  const done = await runChild(ref, "fresh");
  expect(done.code, done.stderr).toBe(0);
  const expected = lines(ref);
  expect(expected.map((l) => l.step)).toEqual([...Array(CHILD_STEPS + 1).keys()]);

  const dir = join(tmp, "killed");
  const first = 2 + Math.floor(Math.random() * 8);
  const second = first + 3 + Math.floor(Math.random() * 8);
  const kills = [
    { mode: "fresh" as const, killAfterStep: first, delayMs: Math.floor(Math.random() * 15) },
    { mode: "resume" as const, killAfterStep: second, delayMs: Math.floor(Math.random() * 15) },
  ];
  for (const k of kills) {
    const r = await runChild(dir, k.mode, k);
    expect(r.signal, `killed after step ${k.killAfterStep} + ${k.delayMs} ms; ${r.stderr}`).toBe("SIGKILL");
    expect(lines(dir).length).toBeLessThan(CHILD_STEPS + 1);
  }
  const last = await runChild(dir, "resume");
  expect(last.code, `kills after steps ${first}, ${second}: ${last.stderr}`).toBe(0);

  const got = lines(dir);
  expect(new Set(got.map((l) => l.run)).size).toBe(1);
  expect(got.map(exact).map((l) => ({ ...l, run: "" })), `kills after steps ${first}, ${second}`).toEqual(expected.map(exact).map((l) => ({ ...l, run: "" })));

  const a = await loadCheckpoint(join(ref, "checkpoints", checkpointDirName(CHILD_STEPS)));
  const b = await loadCheckpoint(join(dir, "checkpoints", checkpointDirName(CHILD_STEPS)));
  expect(b.state.optimizerStep).toBe(a.state.optimizerStep);
  expect(b.state.order).toEqual(a.state.order);
  for (const [name, w] of a.weights) expect(Buffer.from(b.weights.get(name)!.buffer).equals(Buffer.from(w.buffer)), name).toBe(true);
  for (const [name, m] of a.optimizer.m) expect(Buffer.from(b.optimizer.m.get(name)!.buffer).equals(Buffer.from(m.buffer)), name).toBe(true);
  for (const [name, v] of a.optimizer.v) expect(Buffer.from(b.optimizer.v.get(name)!.buffer).equals(Buffer.from(v.buffer)), name).toBe(true);
});
