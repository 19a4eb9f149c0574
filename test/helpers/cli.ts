/**
 * Runs the real `pedgpt` CLI in-process (runCli with its one error handler) and captures what it
 * prints and its exit code, for tests of what a user sees.
 */
import { vi } from "vitest";
import { runCli } from "../../src/cli/main.js";

export async function cli(...args: string[]): Promise<{ rc: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = vi.spyOn(console, "log").mockImplementation((...a: unknown[]) => void out.push(a.join(" ")));
  const error = vi.spyOn(console, "error").mockImplementation((...a: unknown[]) => void err.push(a.join(" ")));
  const stderr = vi.spyOn(process.stderr, "write").mockImplementation((s: string | Uint8Array) => (err.push(String(s)), true));
  process.exitCode = 0;
  try {
    await runCli(["node", "pedgpt", ...args]);
  } finally {
    log.mockRestore();
    error.mockRestore();
    stderr.mockRestore();
  }
  const rc = Number(process.exitCode ?? 0);
  process.exitCode = 0;
  return { rc, out: out.join("\n"), err: err.join("\n") };
}
