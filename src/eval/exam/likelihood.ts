/**
 * Likelihood scoring of exam options as an alternative to generation: a LikelihoodScorer gives the
 * log-probability of each option continuation after a prompt, and the item's answer is the best
 * option (single choice, true/false) or every option whose normalised probability clears a threshold
 * (multi-answer). `EngineLikelihoodScorer` scores with a model on our engine (`scoreContinuations`);
 * loading the model is the caller's job.
 */
import { TRUE_LABEL, FALSE_LABEL, sortLetters, type ExamItem } from "./schema.js";
import { buildPrompt, type PromptOptions } from "./prompt.js";
import { scoreContinuations, type CausalLM } from "../../model/index.js";
import type { Tokenizer } from "../../tokenizer/index.js";
import { renderChat } from "../../tokenizer/templates.js";

export interface LikelihoodScorer {
  /** For each continuation, log P(continuation | prompt) (natural log, summed over its tokens). */
  scoreOptions(prompt: string, options: readonly string[]): Promise<number[]>;
}

export interface LikelihoodOptions extends PromptOptions {
  /**
   * "text": continuations are the option texts (cloze style); "letter": continuations are the option
   * letters after a prompt that lists the options. Defaults to "letter".
   */
  continuation?: "text" | "letter";
  /** Divide each log-prob by its continuation's length in characters. Defaults to true for "text". */
  lengthNormalize?: boolean;
  /** Multi-answer items: keep options with softmax probability >= this. Defaults to 1 / number of options. */
  multiThreshold?: number;
}

export interface LikelihoodAnswer {
  answer: string;
  /** Per option label (letter or 对/错): the (possibly normalised) log-prob and softmax probability. */
  scores: Record<string, { logProb: number; prob: number }>;
}

export async function likelihoodAnswer(item: ExamItem, scorer: LikelihoodScorer, opts: LikelihoodOptions = {}): Promise<LikelihoodAnswer> {
  const mode = opts.continuation ?? "letter";
  const labels = item.kind === "true_false" ? [TRUE_LABEL, FALSE_LABEL] : Object.keys(item.options);
  const prompt = mode === "text" && item.kind === "choice" ? `${item.question.trim()}\n答案：` : buildPrompt(item, opts);
  const conts = item.kind === "true_false" || mode === "letter" ? labels : labels.map((l) => item.options[l]!);
  const raw = await scorer.scoreOptions(prompt, conts);
  if (raw.length !== conts.length || raw.some((x) => typeof x !== "number" || Number.isNaN(x))) {
    throw new Error(`likelihood scorer returned ${JSON.stringify(raw)} for ${conts.length} options of item ${item.id}; expected one log-probability per option`);
  }
  const norm = opts.lengthNormalize ?? mode === "text";
  const lp = raw.map((x, i) => (norm ? x / Math.max(1, Array.from(conts[i]!).length) : x));
  const max = Math.max(...lp);
  const ex = lp.map((x) => Math.exp(x - max));
  const z = ex.reduce((a, b) => a + b, 0);
  const scores: LikelihoodAnswer["scores"] = {};
  labels.forEach((l, i) => (scores[l] = { logProb: lp[i]!, prob: ex[i]! / z }));
  const bestIdx = lp.indexOf(max);
  if (item.kind === "choice" && item.multi) {
    const thr = opts.multiThreshold ?? 1 / labels.length;
    const chosen = labels.filter((l) => scores[l]!.prob >= thr);
    return { answer: sortLetters(chosen.length ? chosen : [labels[bestIdx]!]), scores };
  }
  return { answer: labels[bestIdx]!, scores };
}

/**
 * Log-likelihoods from a checkpoint on our engine. The prompt is the user turn of a chat rendered
 * with `template` (the answer starts where the assistant's turn would), or plain text after BOS when
 * `template` is null; each option is encoded on its own, without special tokens, and its token
 * log-probabilities summed (lm-evaluation-harness style; the prompt/option boundary is not re-merged).
 */
export class EngineLikelihoodScorer implements LikelihoodScorer {
  constructor(
    private readonly model: CausalLM,
    private readonly tokenizer: Tokenizer,
    private readonly template: string | null,
    private readonly batchSize = 8,
  ) {}

  async scoreOptions(prompt: string, options: readonly string[]): Promise<number[]> {
    const tok = this.tokenizer;
    let ids: number[];
    if (this.template !== null) ids = renderChat(tok, this.template, [{ role: "user", content: prompt }], "prompt").ids;
    else ids = [...(tok.bosId !== null ? [tok.bosId] : []), ...tok.encode(prompt, { addSpecialTokens: false })];
    const conts = options.map((o, i) => {
      const c = tok.encode(o, { addSpecialTokens: false });
      if (c.length === 0) throw new Error(`likelihood scoring: option ${i} (${JSON.stringify(o)}) encodes to no tokens`);
      return c;
    });
    return scoreContinuations(this.model, ids, conts, { batchSize: this.batchSize }).map((s) => s.sum);
  }
}
