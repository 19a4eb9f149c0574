/**
 * The torch backend against our engine on the same stage recipes: a tiny preset model, the same
 * tokenized data, seed and item order, torch under `torchrun --nproc_per_node 2` (gloo, one thread
 * per rank) and the engine in this process. Per-step losses agree within 1e-4 relative over 20 steps
 * for sft (full), dpo (sigmoid + ftx, cached reference log-probs) and moe_lora with the fixed router
 * noise; a torchrun group killed with SIGKILL mid-run resumes to the uninterrupted run's loss curve.
 * Skipped, with the reason, only when no Python with torch is found (CI installs python3-torch).
 */
import { spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { writeStageData } from "../../../test/helpers/stage_data.js";
import { tempDir } from "../../../test/helpers/tempdir.js";
import { torchForTests } from "../../../test/helpers/torch.js";
import { presetConfig } from "../../model/index.js";
import { parseRecipe } from "../recipe.js";
import { runStage } from "../stages/run.js";
import { pythonPackageRoot } from "./launch.js";

const found = { python: torchForTests("torch parity tests")?.python ?? null };

const tmp = tempDir("pedgpt-torch-parity-");
const base = join(tmp, "base");
const data = join(tmp, "data");
const quiet = { log: () => {}, progress: false, checkMemory: false };

interface Line { step: number; loss?: number | null; valLoss?: number; [k: string]: unknown }
const metrics = (dir: string): Line[] => readFileSync(join(dir, "metrics.jsonl"), "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as Line);
const losses = (dir: string): number[] => metrics(dir).filter((l) => l.step > 0).map((l) => l.loss as number);

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once("error", rej);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => res(port));
    });
  });
}

/** Max over steps of |torch − engine| / |engine|. */
function maxRel(torch: number[], engine: number[]): number {
  expect(torch).toHaveLength(engine.length);
  return Math.max(...engine.map((e, i) => Math.abs(torch[i]! - e) / Math.abs(e)));
}

beforeAll(async () => {
  if (!found.python) return;
  await writeStageData(base, data, { sft: 40, pairs: 24, config: presetConfig("tiny-llama", { num_hidden_layers: 2, max_position_embeddings: 128 }) });
});

// 20 steps of 8 items: the engine runs 4 micro-batches of 2; torch 2 ranks × 2 micro-batches of 2.
const common = {
  model_name_or_path: "", dataset_dir: "", cutoff_len: 48, per_device_train_batch_size: 2, per_device_eval_batch_size: 4, learning_rate: 1e-3,
  warmup_steps: 2, max_steps: 20, save_steps: 5, seed: 7, val_size: 4, logging_steps: 1,
};

async function both(name: string, extra: Record<string, unknown>): Promise<{ engine: string; torch: string; rel: number }> {
  const engine = join(tmp, `${name}-engine`);
  const torch = join(tmp, `${name}-torch`);
  const recipe = { ...common, model_name_or_path: base, dataset_dir: data, ...extra };
  await runStage(parseRecipe({ ...recipe, gradient_accumulation_steps: 4, output_dir: engine }), { ...quiet, cacheDir: join(tmp, "cache") });
  await runStage(parseRecipe({ ...recipe, gradient_accumulation_steps: 2, output_dir: torch }), { ...quiet, cacheDir: join(tmp, "cache"), backend: "torch", nprocPerNode: 2, device: "cpu", python: found.python! });
  const rel = maxRel(losses(torch), losses(engine));
  console.log(`[torch parity] ${name}: max relative loss difference over 20 steps ${rel.toExponential(2)} (engine ${losses(engine)[0]!.toFixed(5)} → ${losses(engine).at(-1)!.toFixed(5)}, torch ${losses(torch)[0]!.toFixed(5)} → ${losses(torch).at(-1)!.toFixed(5)})`);
  return { engine, torch, rel };
}

describe.skipIf(!found.python)("torch backend vs engine (torchrun, 2 ranks, gloo)", () => {
  let sftTorch = "";

  it("sft (full): the same loss curve", async () => {
    const r = await both("sft", { stage: "sft", dataset: "sft" });
    expect(r.rel).toBeLessThan(1e-4);
    const e = metrics(r.engine).find((l) => l.step === 20)!;
    const t = metrics(r.torch).find((l) => l.step === 20)!;
    expect(Math.abs((t.valLoss as number) - (e.valLoss as number)) / (e.valLoss as number)).toBeLessThan(1e-4);
    expect(JSON.parse(readFileSync(join(r.torch, "stage_report.json"), "utf8"))).toMatchObject({ backend: "torch" });
    // The rest of each metrics line: the same tokens, epochs and learning rates; gradient norms close.
    const em = metrics(r.engine).filter((l) => l.step > 0);
    const tm = metrics(r.torch).filter((l) => l.step > 0);
    for (const [i, e] of em.entries()) {
      expect([tm[i]!.tokens, tm[i]!.epoch, tm[i]!.skipped]).toEqual([e.tokens, e.epoch, e.skipped]);
      expect(Math.abs((tm[i]!.lr as number) - (e.lr as number))).toBeLessThan(1e-12);
      expect(Math.abs((tm[i]!.gradNorm as number) - (e.gradNorm as number)) / (e.gradNorm as number)).toBeLessThan(1e-3);
    }
    sftTorch = r.torch;
  });

  it("dpo (sigmoid + ftx, cached reference): the same loss and rewards", async () => {
    const r = await both("dpo", { stage: "dpo", dataset: "pairs", pref_loss: "sigmoid", pref_beta: 0.1, pref_ftx: 1.0, learning_rate: 5e-4 });
    expect(r.rel).toBeLessThan(1e-4);
    const e = metrics(r.engine).at(-1)!;
    const t = metrics(r.torch).at(-1)!;
    for (const k of ["rewards/chosen", "rewards/margins", "logps/chosen"]) {
      expect(Math.abs((t[k] as number) - (e[k] as number))).toBeLessThan(1e-3 * Math.max(1, Math.abs(e[k] as number)));
    }
  });

  it("moe_lora with fixed router noise: the same loss curve", async () => {
    const r = await both("moe", { stage: "sft", dataset: "sft", finetuning_type: "moe_lora", lora_nums: 3, lora_rank: 4, moe_router_noise: "fixed", learning_rate: 3e-3 });
    expect(r.rel).toBeLessThan(1e-4);
  });

  it("a torchrun group killed with SIGKILL mid-run resumes to the uninterrupted curve", async () => {
    expect(sftTorch).not.toBe("");
    const out = join(tmp, "sft-killed");
    mkdirSync(out, { recursive: true });
    const plan = JSON.parse(readFileSync(join(sftTorch, "torch_plan.json"), "utf8")) as Record<string, unknown>;
    plan.output_dir = out;
    writeFileSync(join(out, "torch_plan.json"), JSON.stringify(plan));
    // As the launcher does: a rendezvous on a free port of our own (not --standalone's fixed one), and
    // "--redirects 1 --tee 1" (torch 1.13 on Python 3.11 cannot parse its own default "0").
    const port = await freePort();
    const logFile = join(out, "torchrun.log");
    const fd = openSync(logFile, "w");
    const child = spawn(found.python!, ["-m", "torch.distributed.run", "--nnodes", "1", "--rdzv_backend", "c10d", "--rdzv_endpoint", `127.0.0.1:${port}`,
      "--rdzv_id", `parity-${port}`, "--nproc_per_node", "2", "--redirects", "1", "--tee", "1", "--log_dir", join(out, "torchrun-logs"),
      "-m", "pedgpt_torch.train", join(out, "torch_plan.json")], {
      detached: true, stdio: ["ignore", fd, fd], env: { ...process.env, PYTHONPATH: pythonPackageRoot(), OMP_NUM_THREADS: "1" },
    });
    closeSync(fd);
    let exited = false;
    child.once("exit", () => (exited = true));
    const ckpt = join(out, "checkpoints", "checkpoint-00000010");
    const deadline = Date.now() + 90_000;
    // Killed a couple of steps after the step-10 checkpoint: the resume must also drop those metrics lines.
    const pastCheckpoint = () => existsSync(join(ckpt, "manifest.json")) && existsSync(join(out, "metrics.jsonl")) && metrics(out).some((l) => l.step >= 12);
    while (!pastCheckpoint() && !exited && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
    expect(existsSync(ckpt), readFileSync(logFile, "utf8").slice(-3000)).toBe(true);
    process.kill(-child.pid!, "SIGKILL");
    if (!exited) await new Promise((res) => child.once("exit", res));
    expect(existsSync(join(out, "torch_result.json"))).toBe(false);
    const killedAt = metrics(out).at(-1)!.step;
    const report = await runStage(parseRecipe({ ...common, model_name_or_path: base, dataset_dir: data, stage: "sft", dataset: "sft", gradient_accumulation_steps: 2, output_dir: out }),
      { ...quiet, cacheDir: join(tmp, "cache"), backend: "torch", nprocPerNode: 2, device: "cpu", python: found.python!, resume: true });
    expect(report.training.resumedFrom).toBeGreaterThanOrEqual(10);
    console.log(`[torch parity] killed at step ${killedAt}, resumed from step ${report.training.resumedFrom}`);
    expect(losses(out)).toEqual(losses(sftTorch));
    expect(new Set(metrics(out).map((l) => l.run)).size).toBe(1);
  });
});
