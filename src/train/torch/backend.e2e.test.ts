/**
 * The torch backend run for real under torchrun (two gloo ranks on the CPU) from a stage recipe: the
 * report and metrics in the engine's formats and a model our engine loads; a bad plan field (CUDA on a
 * machine without it) reaching the user as the Python side's own message; a rank killed with SIGKILL
 * reported as such; a stop (Ctrl-C's AbortSignal) that a resume continues; and two "nodes" (two
 * launches on this machine meeting at one rendezvous, sharing the output folder). Skipped, with the reason,
 * when no Python with torch is found.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { writeStageData } from "../../../test/helpers/stage_data.js";
import { tempDir } from "../../../test/helpers/tempdir.js";
import { torchForTests } from "../../../test/helpers/torch.js";
import { loadModel } from "../../model/index.js";
import { loadTokenizer } from "../../tokenizer/index.js";
import { parseRecipe } from "../recipe.js";
import { runStage } from "../stages/run.js";
import { readMetrics } from "../trainer/metrics.js";
import { TrainingStoppedError } from "../trainer/errors.js";
import { TorchBackendError } from "./errors.js";
import { failureError, freePort, resolveLaunch, runTorchrun } from "./launch.js";

const py = torchForTests("torch backend e2e tests");

const tmp = tempDir("pedgpt-torch-e2e-");
const base = join(tmp, "base");
const data = join(tmp, "data");

beforeAll(async () => {
  if (!py) return;
  await writeStageData(base, data, { sft: 24 });
});

const recipe = (out: string, extra: Record<string, unknown> = {}) => parseRecipe({
  model_name_or_path: base, dataset_dir: data, stage: "sft", dataset: "sft", cutoff_len: 64, per_device_train_batch_size: 2,
  learning_rate: 3e-3, warmup_ratio: 0.1, seed: 1, output_dir: out, backend: "torch", nproc_per_node: 2, ...extra,
});
const quiet = { log: () => {}, progress: false };

/** Lines of metrics.jsonl so far (0 while it does not exist). */
const metricLines = (out: string) => (existsSync(join(out, "metrics.jsonl")) ? readFileSync(join(out, "metrics.jsonl"), "utf8").split("\n").filter((l) => l.trim() !== "").length : 0);

async function until(cond: () => boolean, what: string, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The pid of the training process of local rank `rank` running `planFile` (from /proc). */
function rankPid(planFile: string, rank: number): number | null {
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, "utf8").split("\0");
      if (!cmd.includes("pedgpt_torch.train") || !cmd.includes(planFile)) continue;
      if (readFileSync(`/proc/${d}/environ`, "utf8").split("\0").includes(`LOCAL_RANK=${rank}`)) return Number(d);
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return null;
}

describe.skipIf(!py)("torch backend under torchrun (2 ranks, gloo)", () => {
  it("trains an sft stage into the engine's formats: report, metrics, a model the engine loads", { timeout: 180_000 }, async () => {
    const out = join(tmp, "sft");
    const r = await runStage(recipe(out, { max_steps: 4, val_size: 4, save_steps: 2 }), quiet);
    expect(r.backend).toBe("torch");
    expect(r.torch).toMatchObject({ worldSize: 2, device: "cpu", precision: "fp32" });
    expect(r.training.steps).toBe(4);
    expect(r.data.heldOutFromTrain).toBe(4);
    expect(r.training.valLossAfter!).toBeLessThan(r.training.valLossBefore!);
    const onDisk = JSON.parse(readFileSync(join(out, "stage_report.json"), "utf8"));
    expect([onDisk.backend, onDisk.training.recipeHash]).toEqual(["torch", r.training.recipeHash]);
    const m = readMetrics(join(out, "metrics.jsonl"));
    expect(m.lines.map((l) => l.step)).toEqual([0, 1, 2, 3, 4]);
    expect(new Set(m.lines.map((l) => l.run))).toEqual(new Set([r.training.runId]));
    const model = await loadModel(out);
    expect(model.config.vocabSize).toBe(loadTokenizer(base).vocabSize);
    expect(existsSync(join(out, "tokenizer.json"))).toBe(true);
  });

  it.skipIf(py?.cudaAvailable)("a plan asking for CUDA where there is none: the trainer's own message reaches the user", { timeout: 120_000 }, async () => {
    const src = JSON.parse(readFileSync(join(tmp, "sft", "torch_plan.json"), "utf8")) as Record<string, unknown>;
    const out = join(tmp, "cuda");
    mkdirSync(out, { recursive: true });
    const planFile = join(out, "torch_plan.json");
    writeFileSync(planFile, JSON.stringify({ ...src, output_dir: out, device: "cuda", resume: false }));
    // The launcher refuses this before launch; here the plan goes straight to torchrun to see the other side's check.
    const run = await runTorchrun(py!.python, resolveLaunch({ nprocPerNode: 1 }, out), planFile, join(out, "torch_logs"), { threads: 1, passThrough: false });
    expect(run.code).not.toBe(0);
    const e = failureError(out, run.output, run.code, run.signal);
    expect(e.rank).toBe(0);
    expect(e.message).toMatch(/^torch backend, rank 0: \w+: .*\bCUDA\b/);
  });

  it("a rank killed with SIGKILL is reported as such", { timeout: 180_000 }, async () => {
    const out = join(tmp, "killed");
    const running = runStage(recipe(out, { max_steps: 100_000, save_steps: 100_000 }), quiet);
    const failed = expect(running).rejects.toThrow(TorchBackendError);
    await until(() => metricLines(out) >= 2, "the first steps");
    const pid = rankPid(join(out, "torch_plan.json"), 1);
    expect(pid).not.toBeNull();
    process.kill(pid!, "SIGKILL");
    await failed;
    await expect(running).rejects.toThrow(/^torch backend: rank 1 died: signal 9 \(SIGKILL\)/);
    // Nothing of the run outlives it.
    expect(rankPid(join(out, "torch_plan.json"), 0)).toBeNull();
  });

  it("a stop (Ctrl-C) ends the ranks with the newest checkpoint kept; a resume (on one process) continues to the end", { timeout: 180_000 }, async () => {
    const out = join(tmp, "stopped");
    const r = recipe(out, { max_steps: 30, save_steps: 1, save_total_limit: 2 });
    const ctrl = new AbortController();
    const running = runStage(r, { ...quiet, signal: ctrl.signal });
    const stopped = expect(running).rejects.toThrow(TrainingStoppedError);
    await until(() => metricLines(out) >= 3, "a few steps");
    ctrl.abort();
    await stopped;
    expect([rankPid(join(out, "torch_plan.json"), 0), rankPid(join(out, "torch_plan.json"), 1)]).toEqual([null, null]);
    const e = (await running.catch((x: unknown) => x)) as TrainingStoppedError;
    expect(e.step).toBeGreaterThanOrEqual(1);
    expect(e.step).toBeLessThan(30);
    // Resumed on one process with twice the accumulation: the same global batch and order, so the same run.
    const resumed = await runStage({ ...r, nproc_per_node: 1, gradient_accumulation_steps: 2 }, { ...quiet, resume: true });
    expect(resumed.torch!.worldSize).toBe(1);
    expect(resumed.training.resumedFrom).toBe(e.step);
    expect(resumed.training.steps).toBe(30);
    expect(readMetrics(join(out, "metrics.jsonl")).lines.at(-1)!.step).toBe(30);
  });

  it("two nodes meet at one rendezvous: one world, node 0 writes the result, node 1 replaces nothing", { timeout: 180_000 }, async () => {
    const out = join(tmp, "nodes");
    const rdzv = { nnodes: 2, rdzvEndpoint: `127.0.0.1:${await freePort()}`, rdzvId: "pedgpt-e2e-nodes" };
    const r = recipe(out, { nproc_per_node: 1, max_steps: 3 });
    const node0 = runStage(r, { ...quiet, ...rdzv, nodeRank: 0 });
    // Node 0 first (it tokenizes into the shared folder), as the README says for shared filesystems.
    await until(() => existsSync(join(out, "torch_plan.json")), "node 0's plan");
    const node1 = runStage(r, { ...quiet, ...rdzv, nodeRank: 1 });
    const [a, b] = await Promise.all([node0, node1]);
    expect(a.torch!.worldSize).toBe(2);
    expect(a.training.steps).toBe(3);
    expect(existsSync(join(out, "torch_plan.node-1.json"))).toBe(true);
    // Node 1 sees node 0's result through the shared folder; the report on disk is node 0's.
    expect([b.backend, b.training.runId]).toEqual(["torch", a.training.runId]);
    expect(JSON.parse(readFileSync(join(out, "stage_report.json"), "utf8")).training.runId).toBe(a.training.runId);
    expect(readMetrics(join(out, "metrics.jsonl")).lines.at(-1)!.step).toBe(3);
  });
});
