/**
 * Turns any thrown value into the one line a user should read. Node's raw file-system errors
 * ("ENOENT: no such file or directory, open 'x'") are rewritten to name the path and the real cause
 * in words; everything else keeps its own message. Used by the CLI's single error handler; library
 * code keeps throwing its typed errors and never formats for the terminal.
 */

import { promises as fs } from "node:fs";

const FS_CAUSES: Record<string, string> = {
  ENOENT: "no such file or folder",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EROFS: "read-only file system",
  EISDIR: "is a folder, expected a file",
  ENOTDIR: "a part of this path is a file, not a folder",
  EEXIST: "already exists",
  ENOTEMPTY: "folder is not empty",
  ENOSPC: "disk full",
  EDQUOT: "disk quota exceeded",
  EMFILE: "too many open files",
  ENAMETOOLONG: "file name too long",
  ELOOP: "too many levels of symbolic links",
  EBUSY: "resource busy",
  EXDEV: "cannot move across file systems",
};

/** What the system call was doing, in words, when it names a target we can show. */
const SYSCALL_VERBS: Record<string, string> = {
  open: "opening",
  read: "reading",
  write: "writing",
  mkdir: "creating the folder",
  rmdir: "removing the folder",
  unlink: "removing",
  rename: "moving",
  copyfile: "copying",
  scandir: "listing",
  stat: "reading",
  lstat: "reading",
  access: "opening",
  realpath: "resolving",
};

/** True for a Node system error (has an errno code such as ENOENT). */
export function isSystemError(err: unknown): err is NodeJS.ErrnoException {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).code === "string" && /^E[A-Z]+$/.test((err as NodeJS.ErrnoException).code!);
}

/** A system error in words: "<path>: permission denied (while creating the folder)". */
export function describeSystemError(err: NodeJS.ErrnoException): string {
  const code = err.code!;
  const cause = FS_CAUSES[code];
  const p = err.path;
  const dest = (err as { dest?: string }).dest;
  if (!cause) return err.message;
  const verb = err.syscall ? SYSCALL_VERBS[err.syscall] : undefined;
  if (!p) return `${cause}${verb ? ` (while ${verb})` : ""}`;
  const what = dest ? `${p} → ${dest}` : p;
  return `${what}: ${cause}${verb ? ` (while ${verb})` : ""}`;
}

/** Errors that mean a bug in the program rather than bad input or a bad environment. */
export function isInternalError(err: unknown): boolean {
  return err instanceof TypeError || err instanceof ReferenceError || err instanceof EvalError;
}

/**
 * Reads a whole file given by the user; a system error that Node reports without the path (EISDIR on
 * read) gets the path attached, so the message can name it.
 */
export async function readUserFile(file: string): Promise<Buffer>;
export async function readUserFile(file: string, encoding: BufferEncoding): Promise<string>;
export async function readUserFile(file: string, encoding?: BufferEncoding): Promise<Buffer | string> {
  try {
    return encoding ? await fs.readFile(file, encoding) : await fs.readFile(file);
  } catch (err) {
    if (isSystemError(err) && !err.path) err.path = file;
    throw err;
  }
}

/**
 * Runs `fn` (which reads `file`); a system error that Node reports without the path gets it attached.
 */
export function withPath<T>(file: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (isSystemError(err) && !err.path) err.path = file;
    throw err;
  }
}

// Node's raw form, as wrappers often embed it: "ENOENT: no such file or directory, open '/x'".
const RAW_SYSTEM_MESSAGE = /\b(E[A-Z]+): [^,'()]+, (\w+)(?: '([^']*)')?(?: -> '([^']*)')?/g;

/** Rewrites raw Node system-error text embedded in a message into words (the path only where new). */
function rewriteEmbedded(msg: string): string {
  return msg.replace(RAW_SYSTEM_MESSAGE, (whole, code: string, _syscall: string, p?: string, dest?: string, offset?: number) => {
    const cause = FS_CAUSES[code];
    if (!cause) return whole;
    const before = msg.slice(0, offset ?? 0);
    const where = p && !before.includes(p) ? `${dest ? `${p} → ${dest}` : p}: ` : "";
    return `${where}${cause}`;
  });
}

/** The message a user sees for `err` (never empty). */
export function describeError(err: unknown): string {
  if (isSystemError(err)) return describeSystemError(err);
  if (err instanceof Error) {
    const msg = rewriteEmbedded(err.message.trim() || err.name);
    // A wrapper that only adds context keeps the system cause visible.
    const cause = (err as { cause?: unknown }).cause;
    if (isSystemError(cause) && !err.message.includes(cause.code!) && !/disk full/.test(msg)) {
      return `${msg} (${describeSystemError(cause)})`;
    }
    return msg;
  }
  const s = String(err);
  return s.trim() === "" ? "unknown error" : s;
}
