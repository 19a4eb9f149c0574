/**
 * Finding the Python interpreter that runs the torch backend and what it offers: `--python` (or the
 * `python` option), else env PEDGPT_PYTHON, else the first of `python3`, `/usr/bin/python3` that can
 * import torch (Debian's python3-torch lives under the system Python, which a pyenv or venv `python3`
 * on PATH does not see). One probe per candidate reports the torch and Python versions and CUDA.
 *
 * Not here: launching (launch.ts).
 */
import { spawnSync } from "node:child_process";
import { TorchEnvironmentError } from "./errors.js";

export interface PythonInfo {
  python: string;
  pythonVersion: string;
  torchVersion: string;
  cudaAvailable: boolean;
  cudaDevices: number;
  /** bf16 autocast supported by the first CUDA device */
  bf16: boolean;
  distributed: boolean;
}

export const INSTALL_HINT = "install python3-torch (Debian) or pip install torch, or set PEDGPT_PYTHON";

const PROBE = [
  "import json, sys",
  "try:",
  "    import torch",
  "except Exception as e:",
  "    print(json.dumps({'torch': None, 'error': type(e).__name__ + ': ' + str(e), 'python': sys.version.split()[0]})); sys.exit(0)",
  "cuda = torch.cuda.is_available()",
  "bf16 = bool(cuda and torch.cuda.is_bf16_supported())",
  "print(json.dumps({'torch': torch.__version__, 'python': sys.version.split()[0], 'cuda': cuda, 'devices': torch.cuda.device_count() if cuda else 0, 'bf16': bf16, 'distributed': torch.distributed.is_available()}))",
].join("\n");

type Probe = { ok: true; info: PythonInfo } | { ok: false; reason: string; missingTorch: boolean };

/**
 * Successful probes by interpreter: importing torch takes seconds, and what an interpreter offers does
 * not change while this process runs (a failure is probed again: the user may install torch meanwhile).
 */
const probed = new Map<string, PythonInfo>();

/** Runs the probe with `python` (once per process when it succeeds); never throws. */
export function probePython(python: string, timeoutMs = 120_000): Probe {
  const known = probed.get(python);
  if (known) return { ok: true, info: known };
  const p = runProbe(python, timeoutMs);
  if (p.ok) probed.set(python, p.info);
  return p;
}

function runProbe(python: string, timeoutMs: number): Probe {
  const r = spawnSync(python, ["-c", PROBE], { encoding: "utf8", timeout: timeoutMs });
  if (r.error) {
    const code = (r.error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return { ok: false, reason: `Python interpreter ${python} not found`, missingTorch: false };
    if (code === "EACCES") return { ok: false, reason: `Python interpreter ${python} is not executable (permission denied)`, missingTorch: false };
    if (code === "ETIMEDOUT") return { ok: false, reason: `${python} did not answer within ${timeoutMs / 1000} s while importing torch`, missingTorch: false };
    return { ok: false, reason: `${python}: ${r.error.message}`, missingTorch: false };
  }
  const line = r.stdout.trim().split("\n").at(-1) ?? "";
  let out: { torch: string | null; error?: string; python: string; cuda?: boolean; devices?: number; bf16?: boolean; distributed?: boolean };
  try {
    out = JSON.parse(line) as typeof out;
  } catch {
    const why = (r.stderr || r.stdout).trim().split("\n").slice(-3).join(" / ");
    return { ok: false, reason: `${python} is not a working Python 3 (exit ${r.status}${why ? `: ${why}` : ""})`, missingTorch: false };
  }
  if (out.torch === null) return { ok: false, reason: `PyTorch is not installed for ${python} (${out.error}): ${INSTALL_HINT}`, missingTorch: true };
  return {
    ok: true,
    info: { python, pythonVersion: out.python, torchVersion: out.torch, cudaAvailable: out.cuda === true, cudaDevices: out.devices ?? 0, bf16: out.bf16 === true, distributed: out.distributed === true },
  };
}

/** The interpreters tried, in order, when none is named. */
export const DEFAULT_PYTHONS = ["python3", "/usr/bin/python3"] as const;

/**
 * The Python to use: the one named (option, then PEDGPT_PYTHON), which must import torch, or the first
 * default that does. Throws TorchEnvironmentError saying what each candidate lacked.
 */
export function findPython(named?: string): PythonInfo {
  const chosen = named ?? (process.env.PEDGPT_PYTHON?.trim() || undefined);
  if (chosen !== undefined) {
    const p = probePython(chosen);
    if (p.ok) return p.info;
    throw new TorchEnvironmentError(p.missingTorch ? `PyTorch is not installed for ${chosen}: ${INSTALL_HINT}` : `${p.reason} (${named !== undefined ? "--python" : "PEDGPT_PYTHON"})`);
  }
  const tried: string[] = [];
  for (const c of DEFAULT_PYTHONS) {
    const p = probePython(c);
    if (p.ok) return p.info;
    tried.push(p.reason);
  }
  const anyPython = tried.some((t) => t.startsWith("PyTorch is not installed"));
  throw new TorchEnvironmentError(
    anyPython
      ? `PyTorch is not installed for ${DEFAULT_PYTHONS.join(" or ")}: ${INSTALL_HINT} (${tried.join("; ")})`
      : `no Python 3 found (${tried.join("; ")}); install python3 and python3-torch, or set PEDGPT_PYTHON`,
  );
}
