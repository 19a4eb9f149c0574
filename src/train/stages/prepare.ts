/**
 * Data preparation for the stages (SEED-FACTS "Data preparation"): token rows with labels, as the
 * released LLaMA-Factory code makes them, plus the options we add (per-document segments, packing of
 * short SFT examples). Pure functions over a tokenizer; writing to disk is in ./dataset.ts.
 *
 * - pt: text + EOS per document (no BOS), the stream cut into blocks of cutoff_len, the remainder
 *   dropped. With `perDocument` each block carries segment ids and the first token of every document
 *   is not a target, so nothing is learned across a document boundary.
 * - sft: the conversation rendered by the chat template, every assistant turn a target, prompts masked;
 *   truncation turn by turn with the seed's rule (target budget max(int(L·tgt/(src+tgt)), 1), heads
 *   kept); for efficient-EOS templates the final EOS is appended after truncation (one slot reserved,
 *   so a row never exceeds cutoff_len).
 * - pairs: prompt (history masked) + chosen and prompt + rejected, truncated together as the seed's
 *   pairwise preprocessing does.
 */
import { IGNORE_INDEX } from "../../engine/index.js";
import { renderChat, type ChatMessage, type Tokenizer } from "../../tokenizer/index.js";

export class DataPrepError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DataPrepError";
  }
}

/** Templates whose EOS is learned at the first token of the next turn and appended once at the end. */
export const EFFICIENT_EOS_TEMPLATES: ReadonlySet<string> = new Set(["baichuan2"]);

export interface TokenRow {
  ids: number[];
  labels: number[];
  segments?: number[];
}

/**
 * The seed's budget split between a source (prompt) and a target (answer) under `maxLen` tokens:
 * the target gets its share of the length (at least `reserved`), the source what the target leaves.
 */
export function inferMaxLen(sourceLen: number, targetLen: number, maxLen: number, reserved = 1): [number, number] {
  const total = sourceLen + targetLen;
  let maxTarget = total > 0 ? Math.trunc(maxLen * (targetLen / total)) : 0;
  maxTarget = Math.max(maxTarget, reserved);
  const maxSource = maxLen - Math.min(maxTarget, targetLen);
  return [Math.max(0, maxSource), maxTarget];
}

// ---------------------------------------------------------------- pre-training

export interface PackedPretrain {
  rows: TokenRow[];
  documents: number;
  totalTokens: number;
  droppedTokens: number;
  /** documents that were empty after tokenisation (kept as a lone EOS, counted) */
  emptyDocuments: number;
}

/**
 * Packs documents (token ids, no special tokens) into blocks of `blockSize`: EOS after each, no BOS,
 * the last partial block dropped and counted.
 */
export function packPretrain(docs: Iterable<readonly number[]>, o: { blockSize: number; eosId: number; perDocument?: boolean }): PackedPretrain {
  const T = o.blockSize;
  if (!Number.isInteger(T) || T < 2) throw new DataPrepError(`cutoff_len (block size) must be an integer >= 2, got ${T}`);
  const stream: number[] = [];
  const docOf: number[] = [];
  let documents = 0;
  let emptyDocuments = 0;
  for (const doc of docs) {
    if (doc.length === 0) emptyDocuments++;
    for (const id of doc) {
      stream.push(id);
      docOf.push(documents);
    }
    stream.push(o.eosId);
    docOf.push(documents);
    documents++;
  }
  const numBlocks = Math.floor(stream.length / T);
  const rows: TokenRow[] = [];
  for (let b = 0; b < numBlocks; b++) {
    const ids = stream.slice(b * T, (b + 1) * T);
    const labels = ids.slice();
    const row: TokenRow = { ids, labels };
    if (o.perDocument) {
      const first = docOf[b * T]!;
      const segments = new Array<number>(T);
      for (let t = 0; t < T; t++) {
        segments[t] = docOf[b * T + t]! - first + 1;
        // The token starting a document must not be predicted from the previous document's EOS.
        if (t > 0 && segments[t] !== segments[t - 1]) labels[t] = IGNORE_INDEX;
      }
      row.segments = segments;
    }
    rows.push(row);
  }
  return { rows, documents, totalTokens: stream.length, droppedTokens: stream.length - numBlocks * T, emptyDocuments };
}

// ---------------------------------------------------------------- supervised

export interface Conversation {
  system?: string;
  /** user/assistant alternating, ending with an assistant message */
  messages: ChatMessage[];
}

export interface EncodedExample extends TokenRow {
  /** some prompt or answer tokens (or whole turns) were cut to fit cutoff_len */
  truncated: boolean;
  /** turns dropped entirely because the budget was spent */
  droppedTurns: number;
}

interface Turn {
  src: [number, number];
  tgt: [number, number];
}

/**
 * Splits a rendered training conversation into (source, target) turns: a target is a run of tokens that
 * learn themselves; a source is everything before it back to the previous target (its first token may
 * carry an efficient-EOS label).
 */
function splitTurns(ids: readonly number[], labels: readonly number[], end: number): Turn[] {
  const turns: Turn[] = [];
  let i = 0;
  while (i < end) {
    const s = i;
    if (labels[i] !== IGNORE_INDEX && labels[i] !== ids[i]) i++; // efficient-EOS marker
    while (i < end && labels[i] === IGNORE_INDEX) i++;
    const t = i;
    while (i < end && labels[i] !== IGNORE_INDEX && labels[i] === ids[i]) i++;
    if (i === s) throw new DataPrepError(`cannot split the rendered conversation into turns at token ${s}`);
    turns.push({ src: [s, t], tgt: [t, i] });
  }
  return turns;
}

function messagesOf(c: Conversation): ChatMessage[] {
  return c.system !== undefined && c.system !== "" ? [{ role: "system", content: c.system }, ...c.messages] : c.messages;
}

/** Renders and truncates one SFT conversation (labels on every assistant turn). */
export function encodeSupervised(tokenizer: Tokenizer, template: string, conv: Conversation, cutoffLen: number): EncodedExample {
  const r = renderChat(tokenizer, template, messagesOf(conv), "train");
  const efficient = EFFICIENT_EOS_TEMPLATES.has(template);
  let end = r.ids.length;
  if (efficient) {
    if (r.ids[end - 1] !== tokenizer.eosId) throw new DataPrepError(`template ${template}: expected the rendered conversation to end with EOS`);
    end--;
  }
  const turns = splitTurns(r.ids, r.labels, end);
  const ids: number[] = [];
  const labels: number[] = [];
  let total = efficient ? 1 : 0;
  let truncated = false;
  let kept = 0;
  for (const turn of turns) {
    if (total >= cutoffLen) break;
    const srcLen = turn.src[1] - turn.src[0];
    const tgtLen = turn.tgt[1] - turn.tgt[0];
    const [maxSrc, maxTgt] = inferMaxLen(srcLen, tgtLen, cutoffLen - total);
    const sl = Math.min(srcLen, maxSrc);
    const tl = Math.min(tgtLen, maxTgt);
    if (sl < srcLen || tl < tgtLen) truncated = true;
    for (let i = turn.src[0]; i < turn.src[0] + sl; i++) {
      ids.push(r.ids[i]!);
      labels.push(r.labels[i]!);
    }
    for (let i = turn.tgt[0]; i < turn.tgt[0] + tl; i++) {
      ids.push(r.ids[i]!);
      labels.push(r.labels[i]!);
    }
    total += sl + tl;
    kept++;
  }
  if (efficient) {
    ids.push(tokenizer.eosId!);
    labels.push(tokenizer.eosId!);
  }
  const droppedTurns = turns.length - kept;
  return { ids, labels, truncated: truncated || droppedTurns > 0, droppedTurns };
}

/**
 * Greedy in-order packing of encoded examples into rows of at most `cutoffLen` tokens, with segment ids;
 * the first token of each example is never a target, so no label crosses an example boundary.
 */
export function packSupervised(examples: readonly TokenRow[], cutoffLen: number): TokenRow[] {
  const rows: TokenRow[] = [];
  let cur: TokenRow | null = null;
  let seg = 0;
  for (const ex of examples) {
    if (ex.ids.length > cutoffLen) throw new DataPrepError(`an example of ${ex.ids.length} tokens exceeds cutoff_len ${cutoffLen}`);
    if (cur === null || cur.ids.length + ex.ids.length > cutoffLen) {
      cur = { ids: [], labels: [], segments: [] };
      rows.push(cur);
      seg = 0;
    }
    seg++;
    for (let i = 0; i < ex.ids.length; i++) {
      cur.ids.push(ex.ids[i]!);
      cur.labels.push(i === 0 ? IGNORE_INDEX : ex.labels[i]!);
      cur.segments!.push(seg);
    }
  }
  return rows;
}

// ---------------------------------------------------------------- preference pairs

export interface PreferenceInput {
  system?: string;
  /** the conversation before the answer, ending with the user's message */
  prompt: ChatMessage[];
  chosen: string;
  rejected: string;
}

export interface EncodedPair {
  chosen: TokenRow;
  rejected: TokenRow;
  promptTruncated: boolean;
  responseTruncated: boolean;
}

/** Prompt ids (history masked) and response ids (learned) of prompt + one answer. */
function promptAndResponse(tokenizer: Tokenizer, template: string, p: PreferenceInput, answer: string) {
  const r = renderChat(tokenizer, template, messagesOf({ system: p.system, messages: [...p.prompt, { role: "assistant", content: answer }] }), "train");
  const turns = splitTurns(r.ids, r.labels, r.ids.length);
  // The response is the last target run, plus a final efficient EOS right after it.
  const start = turns[turns.length - 1]!.tgt[0];
  return { prompt: r.ids.slice(0, start), response: r.ids.slice(start), responseLabels: r.labels.slice(start) };
}

/** Encodes a preference pair: both rows share the (possibly truncated) prompt. */
export function encodePair(tokenizer: Tokenizer, template: string, p: PreferenceInput, cutoffLen: number): EncodedPair {
  const c = promptAndResponse(tokenizer, template, p, p.chosen);
  const r = promptAndResponse(tokenizer, template, p, p.rejected);
  if (c.prompt.length !== r.prompt.length || c.prompt.some((id, i) => id !== r.prompt[i])) {
    throw new DataPrepError(`template ${template}: the prompt renders differently before the chosen and the rejected answer`);
  }
  const [maxSrc, maxTgt] = inferMaxLen(c.prompt.length, Math.max(c.response.length, r.response.length), cutoffLen);
  const prompt = c.prompt.slice(0, maxSrc);
  const row = (x: typeof c): TokenRow => {
    const resp = x.response.slice(0, maxTgt);
    return { ids: [...prompt, ...resp], labels: [...prompt.map(() => IGNORE_INDEX), ...x.responseLabels.slice(0, maxTgt)] };
  };
  return {
    chosen: row(c),
    rejected: row(r),
    promptTruncated: prompt.length < c.prompt.length,
    responseTruncated: c.response.length > maxTgt || r.response.length > maxTgt,
  };
}
