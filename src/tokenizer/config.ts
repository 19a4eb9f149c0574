/**
 * Reader for Hugging Face `tokenizer_config.json`: the special tokens (bos/eos/pad/unk, given as strings or
 * as serialized AddedToken objects), add_bos_token/add_eos_token, added_tokens_decoder, the Jinja
 * chat_template (a string or a list of named templates; "default" is used) and our chat_template_id.
 * Validation is strict about types and names the offending field.
 */
import { existsSync, readFileSync } from "node:fs";
import { TokenizerError } from "./errors.js";

export interface AddedTokenInfo {
  id: number;
  content: string;
  special: boolean;
}

export interface TokenizerConfig {
  bosToken: string | null;
  eosToken: string | null;
  padToken: string | null;
  unkToken: string | null;
  addBosToken: boolean | null;
  addEosToken: boolean | null;
  addedTokens: AddedTokenInfo[];
  chatTemplate: string | null;
  chatTemplateId: string | null;
  cleanUpTokenizationSpaces: boolean | null;
  /** The raw object, passed through to @huggingface/tokenizers. */
  raw: Record<string, unknown>;
}

export const emptyConfig = (): TokenizerConfig => ({
  bosToken: null,
  eosToken: null,
  padToken: null,
  unkToken: null,
  addBosToken: null,
  addEosToken: null,
  addedTokens: [],
  chatTemplate: null,
  chatTemplateId: null,
  cleanUpTokenizationSpaces: null,
  raw: {},
});

function tokenString(v: unknown, file: string, field: string): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v === "string") return v;
  if (typeof v === "object" && typeof (v as { content?: unknown }).content === "string") return (v as { content: string }).content;
  throw new TokenizerError(`${file}: field "${field}" must be a string or an object with a string "content", got ${JSON.stringify(v)}`);
}

function optBool(v: unknown, file: string, field: string): boolean | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== "boolean") throw new TokenizerError(`${file}: field "${field}" must be true or false, got ${JSON.stringify(v)}`);
  return v;
}

export function parseTokenizerConfig(raw: unknown, file = "tokenizer_config.json"): TokenizerConfig {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new TokenizerError(`${file}: expected a JSON object at the top level`);
  }
  const o = raw as Record<string, unknown>;
  const cfg = emptyConfig();
  cfg.raw = o;
  cfg.bosToken = tokenString(o.bos_token, file, "bos_token");
  cfg.eosToken = tokenString(o.eos_token, file, "eos_token");
  cfg.padToken = tokenString(o.pad_token, file, "pad_token");
  cfg.unkToken = tokenString(o.unk_token, file, "unk_token");
  cfg.addBosToken = optBool(o.add_bos_token, file, "add_bos_token");
  cfg.addEosToken = optBool(o.add_eos_token, file, "add_eos_token");
  cfg.cleanUpTokenizationSpaces = optBool(o.clean_up_tokenization_spaces, file, "clean_up_tokenization_spaces");
  if (o.added_tokens_decoder !== undefined) {
    if (typeof o.added_tokens_decoder !== "object" || o.added_tokens_decoder === null) {
      throw new TokenizerError(`${file}: field "added_tokens_decoder" must be an object mapping ids to tokens`);
    }
    for (const [k, v] of Object.entries(o.added_tokens_decoder as Record<string, unknown>)) {
      const id = Number(k);
      if (!Number.isInteger(id) || id < 0) throw new TokenizerError(`${file}: added_tokens_decoder key "${k}" is not a token id`);
      const content = tokenString(v, file, `added_tokens_decoder.${k}`);
      if (content === null) throw new TokenizerError(`${file}: added_tokens_decoder.${k} has no content`);
      const special = typeof v === "object" && v !== null ? (v as { special?: unknown }).special === true : false;
      cfg.addedTokens.push({ id, content, special });
    }
  }
  const ct = o.chat_template;
  if (typeof ct === "string") cfg.chatTemplate = ct;
  else if (Array.isArray(ct)) {
    const named = ct.find((t) => typeof t === "object" && t !== null && (t as { name?: unknown }).name === "default");
    const tpl = (named ?? ct[0]) as { template?: unknown } | undefined;
    if (!tpl || typeof tpl.template !== "string") {
      throw new TokenizerError(`${file}: field "chat_template" is a list without a usable {name, template} entry`);
    }
    cfg.chatTemplate = tpl.template;
  } else if (ct !== undefined && ct !== null) {
    throw new TokenizerError(`${file}: field "chat_template" must be a string or a list of {name, template}`);
  }
  if (o.chat_template_id !== undefined) {
    if (typeof o.chat_template_id !== "string") throw new TokenizerError(`${file}: field "chat_template_id" must be a string`);
    cfg.chatTemplateId = o.chat_template_id;
  }
  return cfg;
}

/** Reads `path` if it exists (tokenizer_config.json is optional); bad JSON is an error naming the file. */
export function readTokenizerConfig(path: string): TokenizerConfig {
  if (!existsSync(path)) return emptyConfig();
  return parseTokenizerConfig(readJson(path), path);
}

export function readJson(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new TokenizerError(`${path}: cannot read: ${(e as Error).message}`, { cause: e });
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new TokenizerError(`${path}: invalid JSON: ${(e as Error).message}`, { cause: e });
  }
}
