/**
 * The torch launcher without a training run: every launch option refused with its flag before any
 * work, the torchrun command line for one node and for several, the interpreter search (a Python
 * without torch, a missing path, something that is not Python), CUDA asked where the interpreter has
 * none, the repository's python/ folder found from this module, and a failed run turned into one
 * message from the ranks' error files or from torchrun's report of a killed rank.
 */
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir } from "../../../test/helpers/tempdir.js";
import { parseRecipe } from "../recipe.js";
import { effectiveRecipe } from "../stages/run.js";
import { TorchBackendError, TorchEnvironmentError, TorchOptionsError } from "./errors.js";
import { checkDevice, describeSignal, failureError, pythonPackageRoot, readRankErrors, resolveLaunch, torchrunArgs, torchrunFailure } from "./launch.js";
import { findPython, probePython, type PythonInfo } from "./python.js";

const tmp = tempDir("pedgpt-torch-launch-");

describe("launch options", () => {
  it("are checked before any work, each error naming its flag", () => {
    const bad: [Parameters<typeof resolveLaunch>[0], RegExp][] = [
      [{ nprocPerNode: 0 }, /--nproc-per-node: must be an integer >= 1, got 0/],
      [{ nprocPerNode: 1.5 }, /--nproc-per-node: must be an integer >= 1, got 1.5/],
      [{ nnodes: 2 }, /--rdzv-endpoint: --nnodes 2 needs the rendezvous HOST:PORT/],
      [{ nnodes: 2, rdzvEndpoint: "node0" }, /--rdzv-endpoint: must be HOST:PORT/],
      [{ nnodes: 2, rdzvEndpoint: "node0:70000" }, /--rdzv-endpoint: must be HOST:PORT/],
      [{ nnodes: 2, rdzvEndpoint: "node0:29500", nodeRank: 2 }, /--node-rank: 2 is not below --nnodes 2/],
      [{ nnodes: 2, rdzvEndpoint: "node0:29500", rdzvId: "a b" }, /--rdzv-id: must be letters/],
      [{ rdzvId: "job" }, /--rdzv-id: is used only with --rdzv-endpoint/],
      [{ device: "tpu" as never }, /--device: must be auto, cpu or cuda/],
      [{ device: "cpu", precision: "bf16" }, /bf16 autocast runs on CUDA GPUs/],
      [{ python: " " }, /--python: must be the path/],
    ];
    for (const [o, msg] of bad) {
      expect(() => resolveLaunch(o, tmp), JSON.stringify(o)).toThrow(TorchOptionsError);
      expect(() => resolveLaunch(o, tmp), JSON.stringify(o)).toThrow(msg);
    }
  });

  it("make torchrun's command line: a rendezvous on a free local port on one node, the given one on several", () => {
    const one = resolveLaunch({ nprocPerNode: 2 }, tmp);
    expect(one.worldSize).toBe(2);
    expect(torchrunArgs(one, "/p/plan.json", "/p/logs", 40001)).toEqual([
      "--nnodes", "1", "--rdzv_backend", "c10d", "--rdzv_endpoint", "127.0.0.1:40001", "--rdzv_id", `pedgpt-local-40001-${process.pid}`,
      "--nproc_per_node", "2", "--redirects", "1", "--tee", "1", "--log_dir", "/p/logs", "-m", "pedgpt_torch.train", "/p/plan.json",
    ]);
    const multi = resolveLaunch({ nprocPerNode: 8, nnodes: 4, rdzvEndpoint: "10.0.0.1:29500", nodeRank: 3 }, join(tmp, "out"));
    expect(multi.worldSize).toBe(32);
    const args = torchrunArgs(multi, "/p/plan.json", "/p/logs", 0);
    expect(args.slice(0, 10)).toEqual(["--nnodes", "4", "--node_rank", "3", "--rdzv_backend", "c10d", "--rdzv_endpoint", "10.0.0.1:29500", "--rdzv_id", multi.rdzv!.id]);
    // Every node derives the same job id from the same output folder.
    expect(resolveLaunch({ nnodes: 4, rdzvEndpoint: "10.0.0.1:29500" }, join(tmp, "out")).rdzv!.id).toBe(multi.rdzv!.id);
    expect(multi.rdzv!.id).toMatch(/^pedgpt-[0-9a-f]{12}$/);
  });

  it("engine-only runs refuse torch flags and torch-only recipe keys instead of ignoring them", () => {
    const r = parseRecipe({ stage: "sft", model_name_or_path: "m", output_dir: "o", dataset: "d" });
    expect(() => effectiveRecipe(r, { nnodes: 2 })).toThrow(/--nnodes is for the torch backend; add --backend torch/);
    expect(() => effectiveRecipe(r, { nprocPerNode: 2 })).toThrow(/--nproc-per-node: nproc_per_node 2 needs backend: torch/);
    expect(() => effectiveRecipe(r, { device: "cuda" })).toThrow(/--device: device: cuda needs backend: torch/);
    const torch = parseRecipe({ stage: "sft", model_name_or_path: "m", output_dir: "o", dataset: "d", backend: "torch", device: "cuda" });
    expect(() => effectiveRecipe(torch, { backend: "engine" })).toThrow(/recipe key "device" \(with backend engine\)/);
    expect(effectiveRecipe(r, { backend: "torch", nprocPerNode: 2, device: "cpu" })).toMatchObject({ backend: "torch", nproc_per_node: 2, device: "cpu" });
    expect(() => parseRecipe({ stage: "sft", model_name_or_path: "m", output_dir: "o", dataset: "d", nproc_per_node: 2 })).toThrow(/nproc_per_node 2 needs backend: torch/);
    expect(() => parseRecipe({ stage: "sft", model_name_or_path: "m", output_dir: "o", dataset: "d", moe_router_noise: "fixed" })).toThrow(/moe_router_noise applies to finetuning_type moe_lora only/);
  });
});

describe("the Python interpreter", () => {
  it("without torch, missing, or not Python: says what to install or set", () => {
    // A real Python without its site packages (where Debian's python3-torch lives) cannot import torch.
    const noSite = join(tmp, "python-nosite");
    writeFileSync(noSite, "#!/bin/sh\nexec /usr/bin/python3 -S \"$@\"\n");
    chmodSync(noSite, 0o755);
    expect(() => findPython(noSite)).toThrow(TorchEnvironmentError);
    expect(() => findPython(noSite)).toThrow(`PyTorch is not installed for ${noSite}: install python3-torch (Debian) or pip install torch, or set PEDGPT_PYTHON`);
    expect(() => findPython(join(tmp, "no-such-python"))).toThrow(/Python interpreter .*no-such-python not found \(--python\)/);
    const notPython = join(tmp, "not-python");
    writeFileSync(notPython, "#!/bin/sh\necho hello\n");
    chmodSync(notPython, 0o755);
    expect(probePython(notPython)).toMatchObject({ ok: false, reason: expect.stringMatching(/is not a working Python 3/) });
  });

  it("CUDA asked where there is none, more ranks than GPUs, bf16 on the CPU: refused before launch", () => {
    const cpuOnly: PythonInfo = { python: "/usr/bin/python3", pythonVersion: "3.11.2", torchVersion: "1.13.0", cudaAvailable: false, cudaDevices: 0, bf16: false, distributed: true };
    expect(() => checkDevice(resolveLaunch({ device: "cuda" }, tmp), cpuOnly)).toThrow("CUDA is not available to /usr/bin/python3 (torch 1.13.0): run on a machine with an NVIDIA GPU and a CUDA build of PyTorch, or use --device cpu");
    expect(() => checkDevice(resolveLaunch({ precision: "bf16" }, tmp), cpuOnly)).toThrow(/precision bf16 needs a CUDA GPU that supports bf16 \(this run is on the CPU\)/);
    const twoGpus: PythonInfo = { ...cpuOnly, cudaAvailable: true, cudaDevices: 2, bf16: true };
    expect(() => checkDevice(resolveLaunch({ nprocPerNode: 8 }, tmp), twoGpus)).toThrow(/--nproc-per-node 8 but 2 CUDA device\(s\)/);
    expect(() => checkDevice(resolveLaunch({ nprocPerNode: 4, device: "cpu" }, tmp), twoGpus)).not.toThrow();
    expect(() => checkDevice(resolveLaunch({}, tmp), { ...cpuOnly, distributed: false })).toThrow(/torch.distributed is not available/);
  });

  it("the trainer package is found from this module", () => {
    expect(pythonPackageRoot()).toMatch(/python$/);
  });
});

describe("a failed run", () => {
  it("reports the lowest failing rank's error file, naming the others", () => {
    const out = join(tmp, "failed");
    mkdirSync(join(out, "torch_errors"), { recursive: true });
    writeFileSync(join(out, "torch_errors", "rank-1.json"), JSON.stringify({ rank: 1, type: "PlanError", message: "plan.json: field \"device\": CUDA is not available", traceback: "…" }));
    writeFileSync(join(out, "torch_errors", "rank-0.json"), JSON.stringify({ rank: 0, type: "PlanError", message: "plan.json: field \"device\": CUDA is not available", traceback: "Traceback …" }));
    writeFileSync(join(out, "torch_errors", "rank-2.json"), "{ truncated");
    expect(readRankErrors(out).map((e) => e.rank)).toEqual([0, 1, 2]);
    const e = failureError(out, "", 1, null);
    expect(e).toBeInstanceOf(TorchBackendError);
    expect(e.message).toBe("torch backend, rank 0: PlanError: plan.json: field \"device\": CUDA is not available (also ranks 1, 2)");
    expect([e.rank, e.type, e.traceback]).toEqual([0, "PlanError", "Traceback …"]);
  });

  it("without error files, a killed rank is read from torchrun's report", () => {
    // The summary torch.distributed.elastic prints when a worker dies (torch 1.13 layout).
    const report = [
      "torch.distributed.elastic.multiprocessing.errors.ChildFailedError: ",
      "============================================================",
      "pedgpt_torch.train FAILED",
      "------------------------------------------------------------",
      "Failures:",
      "  <NO_OTHER_FAILURES>",
      "------------------------------------------------------------",
      "Root Cause (first observed failure):",
      "[0]:",
      "  time      : 2026-12-03_13:40:00",
      "  host      : box",
      "  rank      : 1 (local_rank: 1)",
      "  exitcode  : -9 (pid: 4242)",
      "  error_file: <N/A>",
      "  traceback : Signal 9 (SIGKILL) received by PID 4242",
    ].join("\n");
    expect(torchrunFailure(report)).toEqual({ rank: 1, message: "rank 1 died: signal 9 (SIGKILL)" });
    const e = failureError(join(tmp, "no-errors"), report, 1, null);
    expect(e.message).toBe("torch backend: rank 1 died: signal 9 (SIGKILL)");
    expect(failureError(join(tmp, "no-errors"), report, 1, null, "/out/torch_logs/node-0").message).toBe("torch backend: rank 1 died: signal 9 (SIGKILL) (each rank's output: /out/torch_logs/node-0)");
    expect(e.rank).toBe(1);
    expect(torchrunFailure(report.replace("-9 (pid", "3 (pid"))!.message).toBe("rank 1 died: exit code 3 without an error file (see its output above)");
    expect(failureError(join(tmp, "no-errors"), "boom\n", 2, null).message).toBe("torch backend: torchrun exited with code 2; its last output:\nboom");
    expect(describeSignal(15)).toBe("signal 15 (SIGTERM)");
  });
});
