/**
 * loadTokenizer(dir): opens the tokenizer of a model directory in Hugging Face layout — `tokenizer.json`
 * when present (fast tokenizer, preferred as transformers does), otherwise SentencePiece `tokenizer.model`
 * — with `tokenizer_config.json` for special tokens, BOS/EOS behaviour and the chat template.
 */
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { readTokenizerConfig } from "./config.js";
import { TokenizerError } from "./errors.js";
import { HfTokenizer } from "./hf.js";
import { SentencePieceTokenizer } from "./sentencepiece/tokenizer.js";
import type { Tokenizer } from "./types.js";

export function loadTokenizer(dir: string): Tokenizer {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new TokenizerError(`${dir}: not a directory (expected a model or tokenizer directory)`);
  }
  const config = readTokenizerConfig(join(dir, "tokenizer_config.json"));
  const json = join(dir, "tokenizer.json");
  if (existsSync(json)) return HfTokenizer.fromFiles(json, join(dir, "tokenizer_config.json"));
  const model = join(dir, "tokenizer.model");
  if (existsSync(model)) return SentencePieceTokenizer.fromFile(model, config);
  throw new TokenizerError(`${dir}: no tokenizer.json or tokenizer.model found`);
}
