/**
 * One training process per run folder: `train` holds `<runDir>/train.lock` (pid, host, start time)
 * while it runs, so a second run started on the same folder — which would replace or interleave the
 * first one's checkpoints and metrics — is refused with the holder's pid. A lock left by a process
 * that no longer exists (killed with SIGKILL) is taken over; one from another host cannot be checked
 * and is refused with the file to remove.
 */
import { promises as fs } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { RunConflictError } from "./errors.js";

export const LOCK_FILE = "train.lock";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

export interface RunLock {
  release(): Promise<void>;
}

export async function acquireRunLock(runDir: string): Promise<RunLock> {
  const file = join(runDir, LOCK_FILE);
  const mine = JSON.stringify({ pid: process.pid, host: hostname(), started: new Date().toISOString() }) + "\n";
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await fs.open(file, "wx");
      try {
        await fh.writeFile(mine);
      } finally {
        await fh.close();
      }
      return {
        release: async () => {
          // Only our own lock is removed (never one a later process took over).
          const now = await fs.readFile(file, "utf8").catch(() => "");
          if (now === mine) await fs.rm(file, { force: true });
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    let holder: { pid?: unknown; host?: unknown; started?: unknown } = {};
    try {
      holder = JSON.parse(await fs.readFile(file, "utf8")) as typeof holder;
    } catch {
      // An empty or cut lock: its writer died between creating and writing it.
    }
    const pid = typeof holder.pid === "number" ? holder.pid : null;
    if (typeof holder.host === "string" && holder.host !== hostname()) {
      throw new RunConflictError(runDir, `is in use by a training process on host ${holder.host} (pid ${pid}); if that run is over, remove ${file}`);
    }
    if (pid !== null && alive(pid)) {
      throw new RunConflictError(runDir, `is in use by training process ${pid} (started ${String(holder.started)}); wait for it to finish or stop it first`);
    }
    await fs.rm(file, { force: true });
  }
  throw new RunConflictError(runDir, `could not take the lock ${file}; another process keeps taking it`);
}
