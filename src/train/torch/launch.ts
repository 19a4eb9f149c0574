/**
 * Launching the torch trainer: the launch options checked before any work, the torchrun command line
 * (`<python> -m torch.distributed.run … -m pedgpt_torch.train PLAN`, torchrun of that same interpreter),
 * PYTHONPATH pointing at the repository's `python/` folder, the thread count per rank, stderr passed
 * through (progress), Ctrl-C / AbortSignal forwarded to the whole process group, and a failure turned
 * into one `TorchBackendError`: from `<output_dir>/torch_errors/rank-<r>.json` when a rank wrote one,
 * else from torchrun's own report ("rank 1 died: signal 9 (SIGKILL)").
 *
 * Not here: the plan's content (plan.ts), the interpreter search (python.ts), the stage around it (stage.ts).
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { constants } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Device, Precision } from "../recipe.js";
import { ERRORS_DIR } from "./plan.js";
import { TorchBackendError, TorchEnvironmentError, TorchOptionsError } from "./errors.js";
import type { PythonInfo } from "./python.js";

export interface LaunchOptions {
  /** Processes on this node. Defaults to 1. */
  nprocPerNode?: number;
  /** Machines taking part. Defaults to 1. */
  nnodes?: number;
  /** HOST:PORT of the c10d rendezvous; required with nnodes > 1. */
  rdzvEndpoint?: string;
  /** Job name shared by all nodes. Defaults to one derived from the output folder. */
  rdzvId?: string;
  /** This node's rank. Defaults to 0. */
  nodeRank?: number;
  /** Defaults to "auto". */
  device?: Device;
  /** Defaults to "auto". */
  precision?: Precision;
  /** Interpreter (else PEDGPT_PYTHON, else a default with torch). */
  python?: string;
}

export interface Launch {
  nprocPerNode: number;
  nnodes: number;
  worldSize: number;
  rdzv: { endpoint: string; id: string } | null;
  nodeRank: number;
  device: Device;
  precision: Precision;
  python?: string;
}

const show = (v: unknown) => (typeof v === "string" ? JSON.stringify(v) : String(v));

/** Every launch option checked (nothing is started); `outDir` names the default rendezvous id. */
export function resolveLaunch(o: LaunchOptions, outDir: string): Launch {
  const int = (name: string, v: unknown, min: number): number => {
    if (!(typeof v === "number" && Number.isInteger(v) && v >= min)) throw new TorchOptionsError(name, `must be an integer >= ${min}, got ${show(v)}`);
    return v;
  };
  const nprocPerNode = int("--nproc-per-node", o.nprocPerNode ?? 1, 1);
  const nnodes = int("--nnodes", o.nnodes ?? 1, 1);
  const nodeRank = int("--node-rank", o.nodeRank ?? 0, 0);
  if (nodeRank >= nnodes) throw new TorchOptionsError("--node-rank", `${nodeRank} is not below --nnodes ${nnodes} (node ranks are 0 … ${nnodes - 1})`);
  const device = o.device ?? "auto";
  if (!["auto", "cpu", "cuda"].includes(device)) throw new TorchOptionsError("--device", `must be auto, cpu or cuda, got ${show(device)}`);
  const precision = o.precision ?? "auto";
  if (!["auto", "fp32", "bf16"].includes(precision)) throw new TorchOptionsError("precision", `must be auto, fp32 or bf16, got ${show(precision)}`);
  if (precision === "bf16" && device === "cpu") throw new TorchOptionsError("precision", "bf16 autocast runs on CUDA GPUs; on the CPU the torch backend computes in fp32 (use auto or fp32)");
  let rdzv: Launch["rdzv"] = null;
  if (o.rdzvEndpoint !== undefined) {
    const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(o.rdzvEndpoint);
    if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) throw new TorchOptionsError("--rdzv-endpoint", `must be HOST:PORT (e.g. node0.cluster:29500), got ${show(o.rdzvEndpoint)}`);
    const id = o.rdzvId ?? `pedgpt-${createHash("sha256").update(resolve(outDir)).digest("hex").slice(0, 12)}`;
    if (!/^[A-Za-z0-9_.-]{1,128}$/.test(id)) throw new TorchOptionsError("--rdzv-id", `must be letters, digits, "_", "-" or "." (at most 128), got ${show(id)}`);
    rdzv = { endpoint: o.rdzvEndpoint, id };
  } else {
    if (nnodes > 1) throw new TorchOptionsError("--rdzv-endpoint", `--nnodes ${nnodes} needs the rendezvous HOST:PORT that every node reaches (e.g. the first node's address and a free port)`);
    if (o.rdzvId !== undefined) throw new TorchOptionsError("--rdzv-id", "is used only with --rdzv-endpoint");
    if (o.nodeRank !== undefined && o.nodeRank !== 0) throw new TorchOptionsError("--node-rank", "is used only with --nnodes > 1");
  }
  if (o.python !== undefined && (typeof o.python !== "string" || o.python.trim() === "")) throw new TorchOptionsError("--python", `must be the path of a Python interpreter, got ${show(o.python)}`);
  return { nprocPerNode, nnodes, worldSize: nprocPerNode * nnodes, rdzv, nodeRank, device, precision, ...(o.python !== undefined ? { python: o.python } : {}) };
}

/** What the interpreter offers, checked against the launch (CUDA when asked, enough GPUs, bf16). */
export function checkDevice(l: Launch, info: PythonInfo): void {
  if (!info.distributed) throw new TorchEnvironmentError(`torch.distributed is not available in ${info.python} (torch ${info.torchVersion}); install a PyTorch build with distributed support`);
  const cuda = l.device === "cuda" || (l.device === "auto" && info.cudaAvailable);
  if (l.device === "cuda" && !info.cudaAvailable) {
    throw new TorchEnvironmentError(`CUDA is not available to ${info.python} (torch ${info.torchVersion}): run on a machine with an NVIDIA GPU and a CUDA build of PyTorch, or use --device cpu`);
  }
  if (cuda && l.nprocPerNode > info.cudaDevices) {
    throw new TorchEnvironmentError(`--nproc-per-node ${l.nprocPerNode} but ${info.cudaDevices} CUDA device(s) on this node: one process per GPU, so use at most ${info.cudaDevices}`);
  }
  if (l.precision === "bf16" && !(cuda && info.bf16)) {
    throw new TorchEnvironmentError(`precision bf16 needs a CUDA GPU that supports bf16${cuda ? "" : " (this run is on the CPU)"}; use precision auto or fp32`);
  }
}

/**
 * The repository's `python/` folder (holding `pedgpt_torch`), found upwards from this module so it is
 * the same from `src/` (tsx) and from `dist/` (built).
 */
export function pythonPackageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const cand = join(dir, "python");
    if (existsSync(join(cand, "pedgpt_torch", "__init__.py"))) return cand;
    const up = dirname(dir);
    if (up === dir) throw new TorchEnvironmentError(`the torch trainer package (python/pedgpt_torch) was not found above ${dirname(fileURLToPath(import.meta.url))}; reinstall the project`);
    dir = up;
  }
}

/**
 * torchrun's arguments after `<python> -m torch.distributed.run`. Each rank's stdout is teed into
 * `logDir` as well as shown: torch 1.13's torchrun on Python 3.11 (Debian 12) crashes on its own
 * default redirects and tee value 0 (Std.from_str finds no zero-valued IntFlag member there), and
 * 1 (stdout) is a value it parses on every version; stderr, where progress goes, stays direct.
 */
export function torchrunArgs(l: Launch, planFile: string, logDir: string, localPort: number): string[] {
  // One node: a rendezvous on a free local port, not --standalone, whose fixed port 29400 (torch 1.13)
  // makes two runs on one machine meet in the same rendezvous.
  const args = l.rdzv
    ? ["--nnodes", String(l.nnodes), "--node_rank", String(l.nodeRank), "--rdzv_backend", "c10d", "--rdzv_endpoint", l.rdzv.endpoint, "--rdzv_id", l.rdzv.id]
    : ["--nnodes", "1", "--rdzv_backend", "c10d", "--rdzv_endpoint", `127.0.0.1:${localPort}`, "--rdzv_id", `pedgpt-local-${localPort}-${process.pid}`];
  return [...args, "--nproc_per_node", String(l.nprocPerNode), "--redirects", "1", "--tee", "1", "--log_dir", logDir, "-m", "pedgpt_torch.train", planFile];
}

export interface RankError {
  rank: number;
  type: string;
  message: string;
  traceback: string | null;
  file: string;
}

/** The error files the ranks wrote, lowest rank first; an unreadable file is reported as such. */
export function readRankErrors(outDir: string): RankError[] {
  const dir = join(outDir, ERRORS_DIR);
  if (!existsSync(dir)) return [];
  const out: RankError[] = [];
  for (const name of readdirSync(dir)) {
    const m = /^rank-(\d+)\.json$/.exec(name);
    if (!m) continue;
    const file = join(dir, name);
    try {
      const e = JSON.parse(readFileSync(file, "utf8")) as Partial<RankError>;
      out.push({
        rank: typeof e.rank === "number" ? e.rank : Number(m[1]),
        type: typeof e.type === "string" ? e.type : "Error",
        message: typeof e.message === "string" ? e.message : JSON.stringify(e),
        traceback: typeof e.traceback === "string" ? e.traceback : null,
        file,
      });
    } catch (err) {
      out.push({ rank: Number(m[1]), type: "UnreadableErrorFile", message: `${file}: ${(err as Error).message}`, traceback: null, file });
    }
  }
  return out.sort((a, b) => a.rank - b.rank);
}

/** Signal number → "signal 9 (SIGKILL)". */
export function describeSignal(n: number): string {
  const name = Object.entries(constants.signals).find(([, v]) => v === n)?.[0];
  return `signal ${n}${name ? ` (${name})` : ""}`;
}

/** Every failed rank in torchrun's report ("rank : 1 (local_rank: 1)" then "exitcode : -9 (pid: …)"), root cause first. */
export function torchrunFailures(output: string): { rank: number; exitcode: number }[] {
  const root = output.lastIndexOf("Root Cause");
  const report = output.slice(Math.max(0, output.lastIndexOf("Failures:", root >= 0 ? root : undefined)));
  const all: { rank: number; exitcode: number }[] = [];
  for (const m of report.matchAll(/rank\s*:\s*(\d+)[^\n]*\n(?:[^\n]*\n)*?\s*exitcode\s*:\s*(-?\d+)/g)) all.push({ rank: Number(m[1]), exitcode: Number(m[2]) });
  const rootAt = root >= 0 ? /rank\s*:\s*(\d+)/.exec(output.slice(root)) : null;
  const first = rootAt ? all.findIndex((f) => f.rank === Number(rootAt[1])) : -1;
  if (first > 0) all.unshift(...all.splice(first, 1));
  return all;
}

const died = (f: { rank: number; exitcode: number }) =>
  `rank ${f.rank} died: ${f.exitcode < 0 ? describeSignal(-f.exitcode) : `exit code ${f.exitcode} without an error file (see its output above)`}`;

/** The first failure in torchrun's report as a sentence; null when the output holds none. */
export function torchrunFailure(output: string): { rank: number; message: string } | null {
  const f = torchrunFailures(output)[0];
  return f ? { rank: f.rank, message: died(f) } : null;
}

/**
 * One error for the user. A rank killed by a signal without leaving an error file (OOM killer, kill -9)
 * is the cause, whatever the others then wrote (their collectives fail when a peer vanishes); otherwise
 * the lowest rank's error file; failing both, torchrun's report or its exit.
 */
export function failureError(outDir: string, output: string, code: number | null, signal: NodeJS.Signals | null, logDir?: string): TorchBackendError {
  const logs = logDir ? ` (each rank's output: ${logDir})` : "";
  const errs = readRankErrors(outDir);
  const withFile = new Set(errs.map((e) => e.rank));
  const killed = torchrunFailures(output).find((f) => f.exitcode < 0 && !withFile.has(f.rank));
  if (killed) {
    const then = errs.length > 0 ? `; then rank ${errs[0]!.rank}: ${errs[0]!.type}: ${errs[0]!.message}` : "";
    return new TorchBackendError(`torch backend: ${died(killed)}${then}${logs}`, killed.rank, null);
  }
  if (errs.length > 0) {
    const e = errs[0]!;
    const others = errs.length > 1 ? ` (also rank${errs.length > 2 ? "s" : ""} ${errs.slice(1).map((x) => x.rank).join(", ")})` : "";
    return new TorchBackendError(`torch backend, rank ${e.rank}: ${e.type}: ${e.message}${others}`, e.rank, e.type, e.traceback);
  }
  const f = torchrunFailure(output);
  if (f) return new TorchBackendError(`torch backend: ${f.message}${logs}`, f.rank, null);
  if (signal) return new TorchBackendError(`torch backend: torchrun was stopped by ${describeSignal(constants.signals[signal] ?? 0).replace(/^signal 0 /, `${signal} `)}${logs}`, null, null);
  const tail = output.trim().split("\n").slice(-5).join("\n");
  return new TorchBackendError(`torch backend: torchrun exited with code ${code}${tail ? `; its last output:\n${tail}` : ""}`, null, null);
}

export interface RunOptions {
  /** Stops the run: SIGTERM to the whole process group (a resume continues from the last checkpoint). */
  signal?: AbortSignal;
  /** Pass the Python side's output through to stderr. Defaults to true. */
  passThrough?: boolean;
  /** Threads per rank (torch.set_num_threads and OMP_NUM_THREADS). */
  threads: number;
  /** Extra environment for the ranks. */
  env?: Record<string, string>;
}

/** What a finished torchrun left: its exit, and the tail of its output (for the error report). */
export interface RunOutcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  aborted: boolean;
  output: string;
}

const TAIL = 64 * 1024;

/** A TCP port free on this machine now (the kernel's choice). */
export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.unref();
    srv.once("error", rej);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => (addr && typeof addr === "object" ? res(addr.port) : rej(new Error("no port"))));
    });
  });
}

/** Runs torchrun with the plan; resolves when it exits (never rejects on a failed run: see RunOutcome). */
export async function runTorchrun(python: string, l: Launch, planFile: string, logDir: string, o: RunOptions): Promise<RunOutcome> {
  const pkg = pythonPackageRoot();
  const port = l.rdzv ? 0 : await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PYTHONPATH: process.env.PYTHONPATH ? `${pkg}:${process.env.PYTHONPATH}` : pkg,
    OMP_NUM_THREADS: String(o.threads),
    PYTHONUNBUFFERED: "1",
    ...(o.env ?? {}),
  };
  return new Promise((resolvePromise, reject) => {
    // Its own process group, so a stop reaches torchrun and every rank at once.
    const child = spawn(python, ["-m", "torch.distributed.run", ...torchrunArgs(l, planFile, logDir, port)], { env, stdio: ["ignore", "pipe", "pipe"], detached: true });
    let output = "";
    let aborted = false;
    const keep = (chunk: Buffer) => {
      output += chunk.toString("utf8");
      if (output.length > 2 * TAIL) output = output.slice(-TAIL);
      if (o.passThrough !== false) process.stderr.write(chunk);
    };
    child.stdout!.on("data", keep);
    child.stderr!.on("data", keep);
    const killGroup = (sig: NodeJS.Signals, evenAfterExit = false) => {
      if (child.pid === undefined || (!evenAfterExit && (child.exitCode !== null || child.signalCode !== null))) return;
      try {
        process.kill(-child.pid, sig);
      } catch {
        // already gone
      }
    };
    let hard: NodeJS.Timeout | undefined;
    const onAbort = () => {
      aborted = true;
      killGroup("SIGTERM");
      // A rank stuck in a collective ignores SIGTERM; it must not outlive the command.
      hard = setTimeout(() => killGroup("SIGKILL"), 30_000);
      hard.unref();
    };
    const onExit = () => killGroup("SIGKILL");
    if (o.signal?.aborted) onAbort();
    o.signal?.addEventListener("abort", onAbort, { once: true });
    process.once("exit", onExit);
    child.on("error", (err) => {
      o.signal?.removeEventListener("abort", onAbort);
      process.removeListener("exit", onExit);
      reject(new TorchEnvironmentError(`cannot start ${python}: ${err.message}`));
    });
    child.on("close", (code, signal) => {
      if (hard) clearTimeout(hard);
      o.signal?.removeEventListener("abort", onAbort);
      process.removeListener("exit", onExit);
      // Ranks left behind by a dead torchrun (e.g. torchrun itself was killed) go with it.
      killGroup("SIGKILL", true);
      resolvePromise({ code, signal, aborted, output: output.slice(-TAIL) });
    });
  });
}
