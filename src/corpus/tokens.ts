/**
 * Token counting for statistics and the benchmark: loads a tokenizer directory through the
 * tokenizer module (`loadTokenizer(dir)`, tokenizer.json or SentencePiece tokenizer.model) when that
 * module is present; callers fall back to characters when no tokenizer is configured. The import is
 * dynamic so the corpus builder does not depend on the tokenizer module at load time.
 */
import { CorpusConfigError } from "./errors.js";

export interface TokenCounter {
  readonly name: string;
  count(text: string): number;
}

interface TokenizerModule {
  loadTokenizer(dir: string): Promise<{ kind: string; encode(text: string, o?: { addSpecialTokens?: boolean; parseSpecial?: boolean }): number[] }>;
}

export async function loadTokenCounter(dir: string): Promise<TokenCounter> {
  const spec = "../tokenizer/index.js";
  let mod: TokenizerModule;
  try {
    mod = (await import(spec)) as TokenizerModule;
  } catch (err) {
    throw new CorpusConfigError(`tokenizer requested (${dir}) but the tokenizer module could not be loaded: ${(err as Error).message}`);
  }
  if (typeof mod.loadTokenizer !== "function") throw new CorpusConfigError("the tokenizer module does not export loadTokenizer(dir)");
  const tok = await mod.loadTokenizer(dir);
  return { name: `${tok.kind}:${dir}`, count: (t) => tok.encode(t, { addSpecialTokens: false, parseSpecial: false }).length };
}
