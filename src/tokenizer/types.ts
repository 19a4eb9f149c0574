/**
 * The Tokenizer interface shared by every tokenizer the project loads or trains (tokenizer.json through
 * @huggingface/tokenizers, SentencePiece tokenizer.model through our own reader). Chat templates and the
 * rest of the project only see this interface.
 */

export interface EncodeOptions {
  /** Add the model's BOS/EOS as its tokenizer configuration says. Defaults to true. */
  addSpecialTokens?: boolean;
  /**
   * Recognise special and added token strings (e.g. "<|im_end|>", "</s>") inside the text as single
   * tokens. Turn off for untrusted text (user messages) so it cannot inject control tokens. Defaults to true.
   */
  parseSpecial?: boolean;
}

export interface DecodeOptions {
  /** Drop special tokens (BOS, EOS, template markers) from the output. Defaults to false. */
  skipSpecialTokens?: boolean;
}

export interface Tokenizer {
  /** Which loader produced it. */
  readonly kind: "tokenizer.json" | "sentencepiece";
  /** Number of ids, including added tokens (max id + 1). */
  readonly vocabSize: number;
  readonly bosId: number | null;
  readonly eosId: number | null;
  readonly padId: number | null;
  readonly unkId: number | null;
  /** Whether encode(…, { addSpecialTokens: true }) prepends BOS / appends EOS. */
  readonly addBos: boolean;
  readonly addEos: boolean;
  /** The Jinja chat template from tokenizer_config.json, if any. */
  readonly chatTemplate: string | null;
  /** The project's chat template id recorded in tokenizer_config.json ("chat_template_id"), if any. */
  readonly chatTemplateId: string | null;
  encode(text: string, options?: EncodeOptions): number[];
  decode(ids: readonly number[], options?: DecodeOptions): string;
  /** Id of a token string (vocabulary entry or added token), or null. */
  tokenToId(token: string): number | null;
  idToToken(id: number): string | null;
  /** Whether the id is a special token (control symbol or special added token). */
  isSpecial(id: number): boolean;
}
