/**
 * Training checkpoints: everything a run needs to continue exactly where it stopped. One folder per
 * saved step, `checkpoint-<step, 8 digits>/`, holding
 *   trainable.safetensors  the trainable tensors by name (the whole model, or only an adapter), fp32
 *   optimizer.safetensors  AdamW's moments as `exp_avg/<name>` and `exp_avg_sq/<name>`, fp32
 *   state.json             run id, recipe and its hash, step, optimizer step, item order and cursor,
 *                          the random streams' seed, NaN-guard counters, tokens seen
 *   manifest.json          format, version, step and run id, then size + SHA-256 of each file above;
 *                          written last, so a folder without it is incomplete
 * A checkpoint is staged in a hidden sibling folder and renamed into place (util/atomic's output-folder
 * writer), so a crash or `kill -9` leaves either the whole checkpoint or none; leftovers of such a
 * crash are removed when a run starts. Reading verifies the manifest first and throws CheckpointCorruptError naming
 * the file and what is wrong (missing, truncated, checksum, version).
 *
 * Not here: what to do with a checkpoint (trainer.ts) or model folders for inference (model/checkpoint.ts).
 */
import { createHash } from "node:crypto";
import { createReadStream, existsSync, promises as fs } from "node:fs";
import { join } from "node:path";
import type { AdamWState, Tensor } from "../../engine/index.js";
import { openSafetensors, writeSafetensors } from "../../model/io/index.js";
import { writeFileAtomic, writeJsonAtomic, writeOutputDir } from "../../util/atomic.js";
import { assertFinite } from "../../util/finite.js";
import { CheckpointCorruptError } from "./errors.js";
import type { OrderState } from "./streams.js";

export const CHECKPOINT_FORMAT = "pedgpt-training-checkpoint";
export const CHECKPOINT_VERSION = 1;
const DIR_PATTERN = /^checkpoint-(\d{8})$/;
// Staging and replaced folders of the output-folder writer: `.checkpoint-<step>.staging-<pid>-<hex>`.
const TEMP_PATTERN = /^\.checkpoint-\d{8}\.(staging|replaced)-\d+-[0-9a-f]{8}$/;
const FILES = ["trainable.safetensors", "optimizer.safetensors", "state.json"] as const;

/** The JSON part of a checkpoint (state.json). */
export interface TrainingState {
  runId: string;
  recipeHash: string;
  /** The recipe itself, so a mismatch on resume can name the fields that differ. */
  recipe: Record<string, unknown>;
  objective: string;
  /** Optimizer steps completed (including skipped non-finite ones). */
  step: number;
  /** AdamW updates actually applied (step minus skipped steps). */
  optimizerStep: number;
  order: OrderState;
  /** Random streams are pure functions of (seed, purpose, step, micro-batch): the seed is their whole state. */
  rng: { generator: string; seed: number };
  guard: { badRun: number; skippedSteps: number };
  tokens: number;
}

interface Manifest {
  format: string;
  version: number;
  runId: string;
  step: number;
  files: { name: string; bytes: number; sha256: string }[];
}

export interface LoadedCheckpoint {
  dir: string;
  state: TrainingState;
  weights: Map<string, Float32Array>;
  optimizer: AdamWState;
}

export function checkpointDirName(step: number): string {
  return `checkpoint-${String(step).padStart(8, "0")}`;
}

async function sha256File(file: string): Promise<string> {
  const h = createHash("sha256");
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest("hex");
}

/**
 * Write a checkpoint of `step` under `root` (created if needed) and return its folder. The folder is
 * staged beside the others and swapped in whole (the project's one output-folder writer); an existing
 * folder of the same step (a run resumed before it) is replaced only once the new one is complete.
 */
export async function saveCheckpoint(root: string, state: TrainingState, trainable: readonly Tensor[], optimizer: AdamWState): Promise<string> {
  await fs.mkdir(root, { recursive: true });
  const final = join(root, checkpointDirName(state.step));
  await writeOutputDir(final, { kind: "training checkpoint", overwrite: true, isKind: async (d) => existsSync(join(d, "manifest.json")) }, async (dir) => {
    await writeSafetensors(
      join(dir, "trainable.safetensors"),
      trainable.map((t) => ({ name: t.name, shape: t.shape, data: t.data })),
      { metadata: { format: CHECKPOINT_FORMAT, run: state.runId, step: String(state.step) } },
    );
    const moments = [];
    for (const t of trainable) {
      const m = optimizer.m.get(t.name);
      const v = optimizer.v.get(t.name);
      if (!m || !v) throw new RangeError(`saveCheckpoint: the optimizer has no state for "${t.name}"`);
      moments.push({ name: `exp_avg/${t.name}`, shape: t.shape, data: m }, { name: `exp_avg_sq/${t.name}`, shape: t.shape, data: v });
    }
    await writeSafetensors(join(dir, "optimizer.safetensors"), moments, { metadata: { format: CHECKPOINT_FORMAT, step: String(optimizer.step) } });
    await writeFileAtomic(join(dir, "state.json"), JSON.stringify({ format: CHECKPOINT_FORMAT, version: CHECKPOINT_VERSION, ...state }) + "\n");
    const files = [];
    for (const name of FILES) {
      const file = join(dir, name);
      files.push({ name, bytes: (await fs.stat(file)).size, sha256: await sha256File(file) });
    }
    const manifest: Manifest = { format: CHECKPOINT_FORMAT, version: CHECKPOINT_VERSION, runId: state.runId, step: state.step, files };
    await writeJsonAtomic(join(dir, "manifest.json"), manifest);
  });
  return final;
}

/** Saved checkpoints under `root`, oldest first (by folder name; contents are verified on load). */
export async function listCheckpoints(root: string): Promise<{ step: number; dir: string }[]> {
  let names: string[];
  try {
    names = await fs.readdir(root);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
  return names
    .map((n) => ({ n, m: DIR_PATTERN.exec(n) }))
    .filter((x): x is { n: string; m: RegExpExecArray } => x.m !== null)
    .map(({ n, m }) => ({ step: Number(m[1]), dir: join(root, n) }))
    .sort((a, b) => a.step - b.step);
}

/** Remove all but the newest `keep` checkpoints; returns the folders removed. */
export async function pruneCheckpoints(root: string, keep: number): Promise<string[]> {
  const all = await listCheckpoints(root);
  const drop = all.slice(0, Math.max(0, all.length - keep));
  for (const c of drop) await fs.rm(c.dir, { recursive: true, force: true });
  return drop.map((c) => c.dir);
}

/** Remove temporary folders left by a save that was interrupted (only ours, by name). */
export async function removeInterruptedSaves(root: string): Promise<string[]> {
  let names: string[];
  try {
    names = await fs.readdir(root);
  } catch {
    return [];
  }
  const stale = names.filter((n) => TEMP_PATTERN.test(n)).map((n) => join(root, n));
  for (const d of stale) await fs.rm(d, { recursive: true, force: true });
  return stale;
}

function readJson(file: string, text: string, dir: string): Record<string, unknown> {
  try {
    const v = JSON.parse(text) as unknown;
    if (v === null || typeof v !== "object" || Array.isArray(v)) throw new Error("not a JSON object");
    return v as Record<string, unknown>;
  } catch (err) {
    throw new CheckpointCorruptError(join(dir, file), `not valid JSON (${(err as Error).message})`, { cause: err });
  }
}

/** Verify the manifest: every file present, of the recorded size and SHA-256. */
async function verify(dir: string): Promise<Manifest> {
  const mfile = join(dir, "manifest.json");
  let text: string;
  try {
    text = await fs.readFile(mfile, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") throw new CheckpointCorruptError(dir, "incomplete: no manifest.json (a checkpoint is only valid once its manifest is written)");
    throw err;
  }
  const m = readJson("manifest.json", text, dir);
  if (m.format !== CHECKPOINT_FORMAT) throw new CheckpointCorruptError(mfile, `format is ${JSON.stringify(m.format)}, expected "${CHECKPOINT_FORMAT}"`);
  if (m.version !== CHECKPOINT_VERSION) throw new CheckpointCorruptError(mfile, `version ${JSON.stringify(m.version)} is not supported (this build reads version ${CHECKPOINT_VERSION})`);
  const files = m.files;
  if (!Array.isArray(files)) throw new CheckpointCorruptError(mfile, `"files" must be a list`);
  for (const name of FILES) {
    const entry = files.find((f: { name?: unknown }) => f?.name === name) as { bytes?: unknown; sha256?: unknown } | undefined;
    if (!entry || typeof entry.bytes !== "number" || typeof entry.sha256 !== "string") throw new CheckpointCorruptError(mfile, `no size and checksum recorded for ${name}`);
    const file = join(dir, name);
    let size: number;
    try {
      size = (await fs.stat(file)).size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") throw new CheckpointCorruptError(file, "missing (listed in manifest.json)");
      throw err;
    }
    if (size !== entry.bytes) throw new CheckpointCorruptError(file, `truncated or altered: ${size} bytes, manifest.json records ${entry.bytes}`);
    const sum = await sha256File(file);
    if (sum !== entry.sha256) throw new CheckpointCorruptError(file, `corrupted: SHA-256 ${sum.slice(0, 16)}…, manifest.json records ${entry.sha256.slice(0, 16)}…`);
  }
  return m as unknown as Manifest;
}

function checkState(s: Record<string, unknown>, file: string): TrainingState {
  const need = (k: string, ok: boolean, what: string): void => {
    if (!ok) throw new CheckpointCorruptError(file, `field "${k}" must be ${what}, found ${JSON.stringify(s[k])?.slice(0, 60)}`);
  };
  const isInt = (v: unknown): boolean => Number.isInteger(v) && (v as number) >= 0;
  need("runId", typeof s.runId === "string" && s.runId.length > 0, "a run id");
  need("recipeHash", typeof s.recipeHash === "string", "a hash");
  need("recipe", typeof s.recipe === "object" && s.recipe !== null, "an object");
  need("objective", typeof s.objective === "string", "a string");
  need("step", isInt(s.step), "an integer >= 0");
  need("optimizerStep", isInt(s.optimizerStep), "an integer >= 0");
  need("tokens", isInt(s.tokens), "an integer >= 0");
  const o = s.order as Record<string, unknown> | undefined;
  need("order", typeof o === "object" && o !== null && isInt(o.epoch) && isInt(o.cursor) && Array.isArray(o.order), "{epoch, cursor, order}");
  const r = s.rng as Record<string, unknown> | undefined;
  need("rng", typeof r === "object" && r !== null && Number.isInteger(r.seed) && typeof r.generator === "string", "{generator, seed}");
  const g = s.guard as Record<string, unknown> | undefined;
  need("guard", typeof g === "object" && g !== null && isInt(g.badRun) && isInt(g.skippedSteps), "{badRun, skippedSteps}");
  return s as unknown as TrainingState;
}

/** Read and verify a checkpoint folder. */
export async function loadCheckpoint(dir: string): Promise<LoadedCheckpoint> {
  const manifest = await verify(dir);
  const sfile = join(dir, "state.json");
  const state = checkState(readJson("state.json", await fs.readFile(sfile, "utf8"), dir), sfile);
  if (state.step !== manifest.step || state.runId !== manifest.runId) {
    throw new CheckpointCorruptError(sfile, `step ${state.step} / run ${state.runId} disagree with manifest.json (step ${manifest.step}, run ${manifest.runId})`);
  }
  const weights = new Map<string, Float32Array>();
  const wr = await openSafetensors(join(dir, "trainable.safetensors"));
  try {
    for (const name of wr.names()) {
      const w = await wr.read(name);
      assertFinite(join(dir, "trainable.safetensors"), name, w, "load");
      weights.set(name, w);
    }
  } finally {
    await wr.close();
  }
  const m = new Map<string, Float32Array>();
  const v = new Map<string, Float32Array>();
  const ofile = join(dir, "optimizer.safetensors");
  const or = await openSafetensors(ofile);
  try {
    for (const name of or.names()) {
      const slash = name.indexOf("/");
      const kind = name.slice(0, slash);
      const param = name.slice(slash + 1);
      if (kind !== "exp_avg" && kind !== "exp_avg_sq") {
        throw new CheckpointCorruptError(ofile, `unexpected tensor "${name}" (expected exp_avg/<name> or exp_avg_sq/<name>)`);
      }
      const data = await or.read(name);
      assertFinite(ofile, name, data, "load");
      (kind === "exp_avg" ? m : v).set(param, data);
    }
  } finally {
    await or.close();
  }
  return { dir, state, weights, optimizer: { step: state.optimizerStep, m, v } };
}
