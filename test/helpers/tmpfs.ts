/**
 * A small real tmpfs for disk-full and read-only tests. Mounting needs root (or CAP_SYS_ADMIN); where
 * it is not allowed `smallDisk` returns the reason and the caller skips with it. Everything mounted by
 * a test file is unmounted after that file's tests.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";

const mounted: string[] = [];

afterAll(() => {
  for (const d of mounted.splice(0)) {
    try {
      execFileSync("umount", [d], { stdio: "ignore" });
      rmSync(d, { recursive: true, force: true });
    } catch {
      // A busy mount is left to the OS temp cleaner rather than failing the suite.
    }
  }
});

/** Mounts a tmpfs of `size` (e.g. "2m"); `readOnly` mounts it read-only. */
export function smallDisk(size: string, opts: { readOnly?: boolean } = {}): { dir: string } | { skip: string } {
  const dir = mkdtempSync(join(tmpdir(), "pedgpt-disk-"));
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${size}${opts.readOnly ? ",ro" : ""}`, "tmpfs", dir], { stdio: "pipe" });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    const why = String((err as { stderr?: Buffer }).stderr ?? (err as Error).message).trim().split("\n")[0];
    return { skip: `cannot mount a tmpfs here (${why || "mount failed"}); needs root or CAP_SYS_ADMIN` };
  }
  mounted.push(dir);
  return { dir };
}

/** A tmpfs of `size` filled up to `leaveBytes` free (a file `fill` takes the rest). */
export function fullDisk(size: string, leaveBytes: number): { dir: string } | { skip: string } {
  const d = smallDisk(size);
  if ("skip" in d) return d;
  execFileSync("sh", ["-c", `dd if=/dev/zero of='${join(d.dir, "fill")}' bs=4096 2>/dev/null; true`]);
  if (leaveBytes > 0) execFileSync("truncate", ["-s", `-${leaveBytes}`, join(d.dir, "fill")]);
  return d;
}
