/**
 * LLaMA-Factory `dataset_info.json` registry: read (validated, with errors naming the entry and
 * field), resolve entries to local files and read them with the matching reader, and write the
 * registry for our own outputs so they load in that ecosystem unchanged. Hub-hosted entries
 * (hf_hub_url, ms_hub_url, script_url without a local file) are kept when round-tripping but cannot
 * be read offline and say so.
 */
import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { z } from "zod";
import { writeJsonAtomic } from "../../util/atomic.js";
import { CorpusConfigError } from "../errors.js";

const columnsSchema = z
  .object({
    prompt: z.string(),
    query: z.string(),
    response: z.string(),
    history: z.string(),
    messages: z.string(),
    system: z.string(),
    tools: z.string(),
    chosen: z.string(),
    rejected: z.string(),
    kto_tag: z.string(),
    images: z.string(),
    videos: z.string(),
    audios: z.string(),
  })
  .partial()
  .strict();

const tagsSchema = z
  .object({
    role_tag: z.string(),
    content_tag: z.string(),
    user_tag: z.string(),
    assistant_tag: z.string(),
    observation_tag: z.string(),
    function_tag: z.string(),
    system_tag: z.string(),
  })
  .partial()
  .strict();

export const datasetEntrySchema = z
  .object({
    file_name: z.string().min(1).optional(),
    hf_hub_url: z.string().optional(),
    ms_hub_url: z.string().optional(),
    om_hub_url: z.string().optional(),
    script_url: z.string().optional(),
    cloud_file_name: z.string().optional(),
    file_sha1: z.string().optional(),
    subset: z.string().optional(),
    split: z.string().optional(),
    folder: z.string().optional(),
    num_samples: z.number().int().positive().optional(),
    ranking: z.boolean().optional(),
    formatting: z.enum(["alpaca", "sharegpt"]).optional(),
    columns: columnsSchema.optional(),
    tags: tagsSchema.optional(),
  })
  .passthrough()
  .refine((e) => e.file_name || e.hf_hub_url || e.ms_hub_url || e.om_hub_url || e.script_url || e.cloud_file_name, {
    message: "needs file_name (or a hub/script url)",
  });

export type DatasetEntry = z.infer<typeof datasetEntrySchema>;
export type DatasetRegistry = Record<string, DatasetEntry>;

export function parseRegistry(json: unknown, where: string): DatasetRegistry {
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    throw new CorpusConfigError(`${where}: dataset_info.json must be an object mapping dataset names to entries`);
  }
  const out: DatasetRegistry = {};
  for (const [name, entry] of Object.entries(json as Record<string, unknown>)) {
    const r = datasetEntrySchema.safeParse(entry);
    if (!r.success) {
      const msg = r.error.issues.map((i) => `${[name, ...i.path.map(String)].join(".")}: ${i.message}`).join("; ");
      throw new CorpusConfigError(`${where}: invalid dataset entry ${msg}`);
    }
    out[name] = r.data;
  }
  return out;
}

export async function readRegistry(file: string): Promise<DatasetRegistry> {
  const text = await readFile(file, "utf8");
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new CorpusConfigError(`${file}: not valid JSON: ${(err as Error).message}`);
  }
  return parseRegistry(json, file);
}

/** Write atomically (the one atomic writer), entries in the given order, 2-space indented. */
export async function writeRegistry(file: string, registry: DatasetRegistry): Promise<void> {
  parseRegistry(registry, file); // never write something we could not read back
  await writeJsonAtomic(file, registry);
}

export type EntryKind = "alpaca" | "sharegpt" | "alpaca-preference" | "sharegpt-preference" | "pretrain";

/** What an entry holds, as LLaMA-Factory would interpret it. */
export function entryKind(e: DatasetEntry): EntryKind {
  const fmt = e.formatting ?? "alpaca";
  if (e.ranking) return fmt === "sharegpt" ? "sharegpt-preference" : "alpaca-preference";
  if (fmt === "alpaca" && e.columns?.prompt === "text" && !e.columns.response) return "pretrain";
  return fmt;
}

/** Local file of an entry, relative to the registry's directory; throws for hub-only entries. */
export function entryFile(registryFile: string, name: string, e: DatasetEntry): string {
  if (!e.file_name) {
    throw new CorpusConfigError(`${registryFile}: dataset "${name}" has no local file_name (hub or script datasets cannot be read offline)`);
  }
  return resolve(dirname(registryFile), e.file_name);
}
