/**
 * `pedgpt tokenizer train|encode|decode|chat`: option parsing and printing only; the work is in
 * src/tokenizer.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { checkOutputDir, writeOutputDir, type OutputDirOptions } from "../../util/atomic.js";
import {
  BUILTIN_TEMPLATES,
  TokenizerError,
  loadTokenizer,
  renderChat,
  saveTrainedBpe,
  trainBpeTokenizerFromFiles,
  type ChatMessage,
  type RenderMode,
} from "../../tokenizer/index.js";

function positiveInt(name: string): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) throw new TokenizerError(`${name} must be a positive integer, got ${v}`);
    return n;
  };
}

export function register(program: Command): void {
  const tok = program.command("tokenizer").description("train, inspect and apply tokenizers and chat templates");

  tok
    .command("train")
    .requiredOption("--corpus <files...>", "UTF-8 text files, one document per line")
    .option("--vocab-size <n>", "vocabulary size including special tokens and the 256 bytes", positiveInt("--vocab-size"), 4000)
    .option("--min-frequency <n>", "never merge pairs seen fewer times", positiveInt("--min-frequency"), 2)
    .option("--template <id>", `chat template recorded in tokenizer_config.json: ${BUILTIN_TEMPLATES.join(" | ")}`, "default")
    .option("--no-bos", "do not add <s> when encoding")
    .requiredOption("-o, --out <dir>", "output directory for tokenizer.json and tokenizer_config.json")
    .option("--overwrite", "replace an existing tokenizer folder (only after the new one is written)", false)
    .description("train a byte-level BPE tokenizer (tokenizer.json) for a tiny model")
    .action(async (o: { corpus: string[]; vocabSize: number; minFrequency: number; template: string; bos: boolean; out: string; overwrite: boolean }) => {
      const target: OutputDirOptions = {
        kind: "tokenizer folder",
        overwrite: o.overwrite,
        overwriteHint: "--overwrite",
        isKind: async (dir) => existsSync(join(dir, "tokenizer.json")),
        inputs: o.corpus,
      };
      await checkOutputDir(o.out, target);
      const t = await trainBpeTokenizerFromFiles(o.corpus, {
        vocabSize: o.vocabSize,
        minFrequency: o.minFrequency,
        chatTemplateId: o.template,
        addBos: o.bos,
      });
      await writeOutputDir(o.out, target, async (dir) => saveTrainedBpe(t, dir));
      const s = t.stats;
      console.log(
        `${o.out}: vocab ${t.vocabSize} (${t.merges} merges), template ${o.template}; ` +
          `${s.chars} chars, ${s.uniqueWords} distinct words, ${s.seconds.toFixed(2)} s (${Math.round(s.charsPerSecond)} chars/s)`,
      );
      if (t.vocabSize < o.vocabSize) console.log(`note: the corpus supported only ${t.vocabSize} tokens at --min-frequency ${o.minFrequency}`);
    });

  tok
    .command("encode")
    .requiredOption("-t, --tokenizer <dir>", "directory with tokenizer.json or tokenizer.model (+ tokenizer_config.json)")
    .argument("<text>", "text to encode")
    .option("--no-special", "do not add BOS/EOS")
    .option("--tokens", "also print the token strings")
    .description("print the token ids of a text")
    .action((text: string, o: { tokenizer: string; special: boolean; tokens?: boolean }) => {
      const t = loadTokenizer(o.tokenizer);
      const ids = t.encode(text, { addSpecialTokens: o.special });
      console.log(ids.join(" "));
      if (o.tokens) console.log(ids.map((id) => JSON.stringify(t.idToToken(id))).join(" "));
    });

  tok
    .command("decode")
    .requiredOption("-t, --tokenizer <dir>", "directory with tokenizer.json or tokenizer.model")
    .argument("<ids...>", "token ids")
    .option("--skip-special", "drop special tokens")
    .description("print the text of token ids")
    .action((ids: string[], o: { tokenizer: string; skipSpecial?: boolean }) => {
      const nums = ids.map((v) => {
        const n = Number(v);
        if (!Number.isInteger(n)) throw new TokenizerError(`token id must be an integer, got ${v}`);
        return n;
      });
      console.log(loadTokenizer(o.tokenizer).decode(nums, { skipSpecialTokens: o.skipSpecial ?? false }));
    });

  tok
    .command("chat")
    .requiredOption("-t, --tokenizer <dir>", "directory with tokenizer.json or tokenizer.model")
    .requiredOption("--messages <file>", 'JSON file: [{"role": "system"|"user"|"assistant", "content": "..."}, ...]')
    .option("--template <id>", `${BUILTIN_TEMPLATES.join(" | ")} | jinja (default: the tokenizer's chat_template_id)`)
    .option("--mode <mode>", "train (ids + mask) | prompt (ids up to the answer)", "train")
    .description("render a conversation with a chat template and show ids and the training mask")
    .action((o: { tokenizer: string; messages: string; template?: string; mode: string }) => {
      if (o.mode !== "train" && o.mode !== "prompt") throw new TokenizerError(`--mode must be train or prompt, got ${o.mode}`);
      const t = loadTokenizer(o.tokenizer);
      const template = o.template ?? t.chatTemplateId;
      if (!template) throw new TokenizerError(`${o.tokenizer}: tokenizer_config.json has no chat_template_id; pass --template`);
      let messages: ChatMessage[];
      try {
        messages = JSON.parse(readFileSync(o.messages, "utf8")) as ChatMessage[];
      } catch (e) {
        throw new TokenizerError(`${o.messages}: cannot read messages JSON: ${(e as Error).message}`, { cause: e });
      }
      if (!Array.isArray(messages)) throw new TokenizerError(`${o.messages}: expected a JSON array of messages`);
      const r = renderChat(t, template, messages, o.mode as RenderMode);
      console.log(r.text);
      console.log(`ids (${r.ids.length}): ${r.ids.join(" ")}`);
      console.log(`mask (${r.mask.reduce((a, b) => a + b, 0)} trained): ${Array.from(r.mask).join("")}`);
    });
}
