/**
 * Chat templates: turning a conversation into token ids, for training (ids, labels and a mask of the
 * assistant tokens to learn, every assistant turn including the token that ends it) and for inference
 * (prompt ids that stop exactly where the next answer starts). Built-in templates: `default` (the seed's
 * "Human:/Assistant:" format), `baichuan2` (reserved tokens <reserved_106>/<reserved_107>, ids 195/196 in
 * Baichuan2), `qwen` (ChatML), `llama3`; and `jinja:<hash>`, a model's own Jinja `chat_template` from
 * tokenizer_config.json rendered with @huggingface/jinja.
 *
 * Exactness: a conversation is a list of segments (plain text, or a special token by name). Text
 * segments are tokenised separately, without special-token parsing (user text cannot inject control
 * tokens), so mask boundaries fall exactly on segment boundaries and the prompt ids for turn k are a
 * prefix of the training ids of the same conversation. Labels follow the Hugging Face convention: aligned
 * with ids (the model shifts), -100 where nothing is learned.
 */
import { createHash } from "node:crypto";
import { Template } from "@huggingface/jinja";
import { TemplateMismatchError, TokenizerError } from "./errors.js";
import type { Tokenizer } from "./types.js";

export type Role = "system" | "user" | "assistant";
export interface ChatMessage {
  role: Role;
  content: string;
}

export type RenderMode = "train" | "prompt";

export interface RenderedChat {
  ids: number[];
  /** 1 where the token is a training target (assistant answer tokens and the token ending each answer). */
  mask: Uint8Array;
  /** Target per position, aligned with ids (HF convention, shift inside the model); -100 = ignored. */
  labels: number[];
  /** The rendered text with special tokens written out, for display and debugging. */
  text: string;
}

export const IGNORE_INDEX = -100;

/** A piece of a rendered conversation. `label` overrides the training target of a special token. */
type Segment =
  | { kind: "text"; text: string; train: boolean; parseSpecial?: boolean }
  | { kind: "token"; token: string; train: boolean; label?: string }
  | { kind: "bos" }
  | { kind: "eos"; train: boolean };

export const BUILTIN_TEMPLATES = ["default", "baichuan2", "qwen", "llama3"] as const;
export type BuiltinTemplateId = (typeof BUILTIN_TEMPLATES)[number];

/** Checks roles and order: optional system first, then user/assistant alternating, starting with user. */
function validate(messages: readonly ChatMessage[], mode: RenderMode): { system: string | null; turns: ChatMessage[] } {
  if (messages.length === 0) throw new TokenizerError("chat: the conversation is empty");
  messages.forEach((m, i) => {
    if (m === null || typeof m !== "object" || typeof m.content !== "string") {
      throw new TokenizerError(`chat: message ${i} must be an object with a string "content"`);
    }
    if (m.role !== "system" && m.role !== "user" && m.role !== "assistant") {
      throw new TokenizerError(`chat: message ${i} has role ${JSON.stringify(m.role)}; expected "system", "user" or "assistant"`);
    }
  });
  let system: string | null = null;
  let turns = [...messages];
  if (turns[0]!.role === "system") {
    system = turns[0]!.content;
    turns = turns.slice(1);
  }
  turns.forEach((m, i) => {
    const want: Role = i % 2 === 0 ? "user" : "assistant";
    if (m.role !== want) {
      throw new TokenizerError(
        `chat: message ${i + (system === null ? 0 : 1)} has role "${m.role}" but "${want}" was expected ` +
          `(an optional system message first, then user and assistant turns alternating)`,
      );
    }
  });
  const last = turns[turns.length - 1];
  if (mode === "train" && last?.role !== "assistant") {
    throw new TokenizerError("chat: a training conversation must end with an assistant message");
  }
  if (mode === "prompt" && last?.role !== "user") {
    throw new TokenizerError("chat: an inference prompt must end with a user message");
  }
  return { system, turns };
}

const text = (t: string, train = false): Segment => ({ kind: "text", text: t, train });
const tok = (t: string, train = false, label?: string): Segment => ({ kind: "token", token: t, train, label });

function defaultSegments(system: string | null, turns: ChatMessage[]): Segment[] {
  // optional "{system}\n", then per turn "Human: {q}\nAssistant: {a}<eos>", turns joined by "\n".
  const segs: Segment[] = [{ kind: "bos" }];
  if (system !== null) segs.push(text(`${system}\n`));
  for (let i = 0; i < turns.length; i += 2) {
    segs.push(text(`${i > 0 ? "\n" : ""}Human: ${turns[i]!.content}\nAssistant: `));
    const a = turns[i + 1];
    if (a) segs.push(text(a.content, true), { kind: "eos", train: true });
  }
  return segs;
}

function baichuan2Segments(system: string | null, turns: ChatMessage[], mode: RenderMode): Segment[] {
  // As Baichuan2-Chat: system text, then <reserved_106>{q}<reserved_107>{a} per round, no separator.
  // Training (as its fine-tune script): the position of the next user token learns EOS, and a final EOS
  // ends the conversation.
  const segs: Segment[] = [{ kind: "bos" }];
  if (system !== null && system !== "") segs.push(text(system));
  for (let i = 0; i < turns.length; i += 2) {
    segs.push(tok("<reserved_106>", i > 0, i > 0 ? "<eos>" : undefined), text(turns[i]!.content));
    segs.push(tok("<reserved_107>"));
    const a = turns[i + 1];
    if (a) segs.push(text(a.content, true));
  }
  if (mode === "train") segs.push({ kind: "eos", train: true });
  return segs;
}

const QWEN_DEFAULT_SYSTEM = "You are a helpful assistant.";

function qwenSegments(system: string | null, turns: ChatMessage[]): Segment[] {
  // ChatML as Qwen2-Instruct's template, including its default system prompt.
  const segs: Segment[] = [{ kind: "bos" }];
  segs.push(tok("<|im_start|>"), text(`system\n${system ?? QWEN_DEFAULT_SYSTEM}`), tok("<|im_end|>"), text("\n"));
  for (let i = 0; i < turns.length; i += 2) {
    segs.push(tok("<|im_start|>"), text(`user\n${turns[i]!.content}`), tok("<|im_end|>"), text("\n"));
    segs.push(tok("<|im_start|>"), text("assistant\n"));
    const a = turns[i + 1];
    if (a) segs.push(text(a.content, true), tok("<|im_end|>", true), text("\n"));
  }
  return segs;
}

function llama3Segments(system: string | null, turns: ChatMessage[]): Segment[] {
  // As Llama 3 Instruct: header tokens, "\n\n", content trimmed, <|eot_id|> after every message.
  const segs: Segment[] = [{ kind: "bos" }];
  const header = (role: string) => [tok("<|start_header_id|>"), text(role), tok("<|end_header_id|>"), text("\n\n")];
  if (system !== null) segs.push(...header("system"), text(system.trim()), tok("<|eot_id|>"));
  for (let i = 0; i < turns.length; i += 2) {
    segs.push(...header("user"), text(turns[i]!.content.trim()), tok("<|eot_id|>"));
    segs.push(...header("assistant"));
    const a = turns[i + 1];
    if (a) segs.push(text(a.content.trim(), true), tok("<|eot_id|>", true));
  }
  return segs;
}

const BUILDERS: Record<BuiltinTemplateId, (s: string | null, t: ChatMessage[], m: RenderMode) => Segment[]> = {
  default: defaultSegments,
  baichuan2: baichuan2Segments,
  qwen: qwenSegments,
  llama3: llama3Segments,
};

/** The template id of a Jinja chat template: "jinja:" + the first 12 hex digits of its SHA-256. */
export function jinjaTemplateId(template: string): string {
  return "jinja:" + createHash("sha256").update(template, "utf8").digest("hex").slice(0, 12);
}

export function isBuiltinTemplate(id: string): id is BuiltinTemplateId {
  return (BUILTIN_TEMPLATES as readonly string[]).includes(id);
}

function jinjaContext(tokenizer: Tokenizer): Record<string, unknown> {
  const name = (id: number | null) => (id === null ? "" : tokenizer.idToToken(id) ?? "");
  return { bos_token: name(tokenizer.bosId), eos_token: name(tokenizer.eosId), pad_token: name(tokenizer.padId), unk_token: name(tokenizer.unkId) };
}

function renderJinja(tpl: Template, ctx: Record<string, unknown>, messages: ChatMessage[], addGenerationPrompt: boolean): string {
  try {
    return tpl.render({ ...ctx, messages, add_generation_prompt: addGenerationPrompt });
  } catch (e) {
    throw new TokenizerError(`chat_template from tokenizer_config.json failed to render: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * Segments of a Jinja-rendered conversation. For each assistant answer, the text between the rendering of
 * the conversation up to the answer (with the generation prompt) and the rendering including it is the
 * answer turn: its content and the special token right after it are trained, the rest (e.g. "\n") is not.
 */
function jinjaSegments(tokenizer: Tokenizer, template: string, system: string | null, turns: ChatMessage[], mode: RenderMode): Segment[] {
  let tpl = parsedTemplates.get(template);
  if (!tpl) {
    try {
      tpl = new Template(template);
    } catch (e) {
      throw new TokenizerError(`chat_template from tokenizer_config.json does not parse: ${(e as Error).message}`, { cause: e });
    }
    parsedTemplates.set(template, tpl);
  }
  const ctx = jinjaContext(tokenizer);
  const all: ChatMessage[] = [...(system !== null ? [{ role: "system" as const, content: system }] : []), ...turns];
  const head = system !== null ? 1 : 0;
  const segs: Segment[] = [];
  let done = 0; // characters of the final rendering already emitted
  const full = renderJinja(tpl, ctx, all, mode === "prompt");
  const specials = specialStrings(tokenizer);
  for (let k = 1; k < turns.length; k += 2) {
    const before = renderJinja(tpl, ctx, all.slice(0, head + k), true);
    const through = renderJinja(tpl, ctx, all.slice(0, head + k + 1), false);
    if (!full.startsWith(before) || !full.startsWith(through) || !through.startsWith(before)) {
      throw new TokenizerError(
        "chat_template from tokenizer_config.json is not prefix-stable (rendering a shorter conversation is not a prefix " +
          "of the longer one), so assistant turns cannot be masked exactly; use a built-in template",
      );
    }
    segs.push({ kind: "text", text: full.slice(done, before.length), train: false, parseSpecial: true });
    const turn = through.slice(before.length);
    let trainEnd = turn.length;
    const content = turns[k]!.content;
    for (const c of [content, content.trim()]) {
      if (c !== "" && turn.startsWith(c)) {
        const rest = turn.slice(c.length);
        const closing = specials.find((s) => rest.startsWith(s));
        trainEnd = c.length + (closing?.length ?? 0);
        break;
      }
    }
    segs.push({ kind: "text", text: turn.slice(0, trainEnd), train: true, parseSpecial: true });
    segs.push({ kind: "text", text: turn.slice(trainEnd), train: false, parseSpecial: true });
    done = through.length;
  }
  segs.push({ kind: "text", text: full.slice(done), train: false, parseSpecial: true });
  return segs;
}

const parsedTemplates = new Map<string, Template>();
const specialCache = new WeakMap<Tokenizer, string[]>();

/** Text of every special token, longest first (computed once per tokenizer). */
function specialStrings(tokenizer: Tokenizer): string[] {
  const cached = specialCache.get(tokenizer);
  if (cached) return cached;
  const out: string[] = [];
  for (let id = 0; id < tokenizer.vocabSize; id++) {
    if (tokenizer.isSpecial(id)) {
      const t = tokenizer.idToToken(id);
      if (t) out.push(t);
    }
  }
  out.sort((a, b) => b.length - a.length);
  specialCache.set(tokenizer, out);
  return out;
}

/**
 * Renders a conversation with a template.
 * - mode "train": the conversation ends with an assistant message; every assistant answer and the token
 *   that ends it are in the mask.
 * - mode "prompt": the conversation ends with a user message; the ids end where the answer starts.
 * @param template a built-in id, or "jinja" / "jinja:<hash>" for the tokenizer's own chat_template
 */
export function renderChat(tokenizer: Tokenizer, template: string, messages: readonly ChatMessage[], mode: RenderMode): RenderedChat {
  const { system, turns } = validate(messages, mode);
  let segs: Segment[];
  let jinja = false;
  if (isBuiltinTemplate(template)) segs = BUILDERS[template](system, turns, mode);
  else if (template === "jinja" || template.startsWith("jinja:")) {
    const src = tokenizer.chatTemplate;
    if (src === null) throw new TokenizerError(`chat template "${template}": the tokenizer has no chat_template in tokenizer_config.json`);
    if (template !== "jinja" && jinjaTemplateId(src) !== template) {
      throw new TemplateMismatchError(template, jinjaTemplateId(src));
    }
    segs = jinjaSegments(tokenizer, src, system, turns, mode);
    jinja = true;
  } else {
    throw new TokenizerError(`unknown chat template "${template}"; expected one of ${BUILTIN_TEMPLATES.join(", ")} or jinja`);
  }
  const out: RenderedChat = { ids: [], mask: new Uint8Array(0), labels: [], text: "" };
  const mask: number[] = [];
  const need = (id: number | null, what: string): number => {
    if (id === null) throw new TokenizerError(`chat template "${template}" needs the tokenizer's ${what} token, which is not defined`);
    return id;
  };
  const idOf = (t: string): number => {
    if (t === "<eos>") return need(tokenizer.eosId, "EOS");
    const id = tokenizer.tokenToId(t);
    if (id === null) throw new TokenizerError(`chat template "${template}" needs token ${t}, which the tokenizer does not have`);
    return id;
  };
  const emit = (ids: number[], train: boolean, labels?: number[]) => {
    out.ids.push(...ids);
    for (let i = 0; i < ids.length; i++) {
      mask.push(train ? 1 : 0);
      out.labels.push(train ? (labels ? labels[i]! : ids[i]!) : IGNORE_INDEX);
    }
  };
  // Adjacent text segments with the same training flag are tokenised together, as one string.
  for (let i = 0; i < segs.length; i++) {
    const s = segs[i]!;
    if (s.kind === "bos") {
      if (!jinja && tokenizer.addBos) {
        const bos = need(tokenizer.bosId, "BOS");
        emit([bos], false);
        out.text += tokenizer.idToToken(bos) ?? "";
      }
    } else if (s.kind === "eos") {
      const eos = need(tokenizer.eosId, "EOS");
      emit([eos], s.train && mode === "train");
      out.text += tokenizer.idToToken(eos) ?? "";
    } else if (s.kind === "token") {
      const id = idOf(s.token);
      emit([id], s.train && mode === "train", s.label ? [idOf(s.label)] : undefined);
      out.text += s.token;
    } else {
      let t = s.text;
      while (i + 1 < segs.length) {
        const n = segs[i + 1]!;
        if (n.kind !== "text" || n.train !== s.train || (n.parseSpecial ?? false) !== (s.parseSpecial ?? false)) break;
        t += n.text;
        i++;
      }
      if (t === "") continue;
      emit(tokenizer.encode(t, { addSpecialTokens: false, parseSpecial: s.parseSpecial ?? false }), s.train && mode === "train");
      out.text += t;
    }
  }
  out.mask = Uint8Array.from(mask);
  return out;
}

/**
 * Jinja source equivalent to a built-in template (for tokenizer_config.json "chat_template", so Hugging
 * Face tooling renders the same text). `{{ bos_token }}` opens default/qwen/llama3 (empty when the tokenizer
 * has no BOS, as Qwen2's), matching our BOS for tokenizers that add one. Tokenising that text in one piece
 * can differ from our segment-wise ids at the answer boundary; the text is identical.
 */
export function builtinJinja(id: BuiltinTemplateId): string {
  switch (id) {
    case "default":
      return (
        "{{ bos_token }}{% set ns = namespace(first=true) %}{% for m in messages %}" +
        "{% if m['role'] == 'system' %}{{ m['content'] + '\\n' }}" +
        "{% elif m['role'] == 'user' %}{% if not ns.first %}{{ '\\n' }}{% endif %}{% set ns.first = false %}" +
        "{{ 'Human: ' + m['content'] + '\\nAssistant: ' }}" +
        "{% else %}{{ m['content'] + eos_token }}{% endif %}{% endfor %}"
      );
    case "baichuan2":
      return (
        "{% for m in messages %}{% if m['role'] == 'system' %}{{ m['content'] }}" +
        "{% elif m['role'] == 'user' %}{{ '<reserved_106>' + m['content'] + '<reserved_107>' }}" +
        "{% else %}{{ m['content'] }}{% endif %}{% endfor %}"
      );
    case "qwen":
      return (
        "{{ bos_token }}{% for m in messages %}{% if loop.first and messages[0]['role'] != 'system' %}" +
        "{{ '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{% endif %}" +
        "{{ '<|im_start|>' + m['role'] + '\\n' + m['content'] + '<|im_end|>' + '\\n' }}{% endfor %}" +
        "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
      );
    case "llama3":
      return (
        "{{ bos_token }}{% for m in messages %}" +
        "{{ '<|start_header_id|>' + m['role'] + '<|end_header_id|>\\n\\n' + m['content'] | trim + '<|eot_id|>' }}{% endfor %}" +
        "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}"
      );
  }
}

/**
 * The template id a checkpoint was trained with vs the one requested at load time. Returns the id to use;
 * throws TemplateMismatchError on a mismatch unless `force` is set.
 */
export function checkTemplate(expected: string, requested: string | undefined, options: { force?: boolean } = {}): string {
  if (requested === undefined || requested === expected) return expected;
  if (options.force) return requested;
  throw new TemplateMismatchError(expected, requested);
}

/**
 * Token ids that end an answer under a template, for stopping generation: EOS, plus the template's own
 * end-of-turn token (<|im_end|>, <|eot_id|>) or, for Baichuan2, the next user token.
 */
export function stopTokenIds(tokenizer: Tokenizer, template: string): number[] {
  const ids = new Set<number>();
  if (tokenizer.eosId !== null) ids.add(tokenizer.eosId);
  const extra: Record<string, string[]> = { baichuan2: ["<reserved_106>"], qwen: ["<|im_end|>"], llama3: ["<|eot_id|>"] };
  const names = isBuiltinTemplate(template) ? extra[template] ?? [] : ["<|im_end|>", "<|eot_id|>", "<|end|>"];
  for (const n of names) {
    const id = tokenizer.tokenToId(n);
    if (id !== null) ids.add(id);
  }
  return [...ids];
}

/**
 * The template a model should use when nothing was recorded yet (e.g. on import): the tokenizer's
 * `chat_template_id`; else a built-in recognised from the special tokens (ChatML -> qwen, Llama 3 headers
 * -> llama3, Baichuan's reserved tokens with a Baichuan architecture -> baichuan2); else the tokenizer's
 * own Jinja template as "jinja:<hash>"; else "default".
 * @param architecture config.json "architectures[0]", e.g. "BaichuanForCausalLM"
 */
export function suggestTemplate(tokenizer: Tokenizer, architecture?: string): string {
  if (tokenizer.chatTemplateId) return tokenizer.chatTemplateId;
  const has = (t: string) => tokenizer.tokenToId(t) !== null;
  if (has("<|im_start|>") && has("<|im_end|>")) return "qwen";
  if (has("<|start_header_id|>") && has("<|end_header_id|>") && has("<|eot_id|>")) return "llama3";
  if (/baichuan/i.test(architecture ?? "") && has("<reserved_106>") && has("<reserved_107>")) return "baichuan2";
  if (tokenizer.chatTemplate) return jinjaTemplateId(tokenizer.chatTemplate);
  return "default";
}
