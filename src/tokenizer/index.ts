/**
 * Public API of the tokenizer module: loading real tokenizers (tokenizer.json, SentencePiece
 * tokenizer.model), training a byte-level BPE tokenizer for tiny models, and chat templates.
 */
export type { Tokenizer, EncodeOptions, DecodeOptions } from "./types.js";
export { TokenizerError, TemplateMismatchError } from "./errors.js";
export { loadTokenizer } from "./load.js";
export { HfTokenizer } from "./hf.js";
export { SentencePieceTokenizer } from "./sentencepiece/tokenizer.js";
export { SentencePieceModel } from "./sentencepiece/model.js";
export { parseTokenizerConfig, readTokenizerConfig, type TokenizerConfig } from "./config.js";
export {
  trainBpeTokenizer,
  trainBpeTokenizerFromFiles,
  saveTrainedBpe,
  BpeTrainer,
  applyMerges,
  TEMPLATE_TOKENS,
  type BpeTrainOptions,
  type TrainedBpe,
} from "./bpe_train.js";
export {
  renderChat,
  checkTemplate,
  stopTokenIds,
  suggestTemplate,
  builtinJinja,
  jinjaTemplateId,
  isBuiltinTemplate,
  BUILTIN_TEMPLATES,
  IGNORE_INDEX,
  type ChatMessage,
  type RenderedChat,
  type RenderMode,
  type Role,
  type BuiltinTemplateId,
} from "./templates.js";
