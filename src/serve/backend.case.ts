/**
 * The one test suite every generator backend must pass (called from `engine/backend.test.ts` and
 * `llamacpp/backend.test.ts`, each with its own loader over the same tiny model). Greedy answers are
 * checked token for token against an independent oracle: `generate()` run in this process on the
 * same weights. Also: seeds, stop strings split across tokens, limits, cancellation, concurrency,
 * options that do not leak, context overflow, template mismatch and request validation.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generate } from "../model/generate.js";
import { loadTokenizer } from "../tokenizer/load.js";
import { renderChat } from "../tokenizer/templates.js";
import { answerEndIds } from "./core.js";
import type { Tokenizer } from "../tokenizer/types.js";
import { tempDir } from "../../test/helpers/tempdir.js";
import { makeServeModel, type ServeModel } from "../../test/helpers/serve_model.js";
import {
  ContextOverflowError,
  GenerationRequestError,
  generateText,
  type ChatMessage,
  type EndEvent,
  type GenerationEvent,
  type GenerationRequest,
  type Generator,
} from "./generator.js";

export interface SuiteLoadOptions {
  contextSize: number;
  parallel: number;
  template?: string;
  forceTemplate?: boolean;
}
export type SuiteLoader = (m: ServeModel, o: SuiteLoadOptions) => Promise<Generator>;

async function run(g: Generator, r: GenerationRequest): Promise<{ events: GenerationEvent[]; end: EndEvent; tokens: number[] }> {
  const events: GenerationEvent[] = [];
  for await (const e of g.generate(r)) events.push(e);
  const end = events[events.length - 1] as EndEvent;
  const tokens = events.flatMap((e) => (e.type === "text" ? e.tokens : []));
  return { events, end, tokens };
}

const ask = (content: string, extra: Partial<GenerationRequest> = {}): GenerationRequest =>
  ({ messages: [{ role: "user", content }], ...extra }) as GenerationRequest;

export function backendSuite(name: string, load: SuiteLoader): void {
  describe(`generator backend: ${name}`, () => {
    let m: ServeModel;
    let g: Generator;
    let tok: Tokenizer;
    /** ids that end an answer: <|endoftext|> and <|im_end|> */
    let END: number[];
    beforeAll(async () => {
      m = await makeServeModel(tempDir("pedgpt-serve-"));
      tok = loadTokenizer(m.dir);
      END = answerEndIds(tok, "qwen");
      g = await load(m, { contextSize: 256, parallel: 3 });
    }, 60_000);
    afterAll(async () => {
      await g?.close();
    });

    /** The oracle: our model in this process, greedy, on the same rendered prompt. */
    const oracle = (messages: ChatMessage[], n: number): number[] => {
      const ids = renderChat(tok, "qwen", messages, "prompt").ids;
      const r = generate(m.model, ids, { maxNewTokens: n, eosTokenIds: END });
      return r.tokens.filter((t) => !END.includes(t));
    };

    it("describes itself: template recorded with the model, context, parallelism", () => {
      expect(g.info.template).toBe("qwen");
      expect(g.info.contextSize).toBeGreaterThanOrEqual(256);
      expect(g.info.parallel).toBe(3);
      expect(END).toEqual([274, 276]);
    });

    it("temperature 0 is greedy: token for token the in-process oracle, whatever the seed", async () => {
      const msgs: ChatMessage[] = [{ role: "user", content: "孩子发烧38.5度怎么办" }];
      const want = oracle(msgs, 24);
      const a = await run(g, { messages: msgs, temperature: 0, maxNewTokens: 24, seed: 1 });
      const b = await run(g, { messages: msgs, temperature: 0, maxNewTokens: 24, seed: 999 });
      expect(a.tokens).toEqual(want);
      expect(b.tokens).toEqual(want);
      expect(a.events[0]).toMatchObject({ type: "start", promptTokens: renderChat(tok, "qwen", msgs, "prompt").ids.length, droppedMessages: 0 });
      const texts = a.events.flatMap((e) => (e.type === "text" ? [e.text] : [])).join("");
      expect(texts).toBe(a.end.text);
      expect(a.end.text).toBe(tok.decode(want, { skipSpecialTokens: true }));
      expect(a.end.usage.completionTokens).toBe(want.length);
      expect(a.end.usage.totalTokens).toBe(a.end.usage.promptTokens + want.length);
      expect(a.end.finishReason).toBe(want.length === 24 ? "length" : "stop");
    });

    it("a seed reproduces a sampled answer; top-k 1 is greedy", async () => {
      const r = ask("咳嗽三天了", { temperature: 1.2, topP: 0.95, topK: 0, maxNewTokens: 20, seed: 1234 });
      const a = await run(g, r);
      const b = await run(g, r);
      expect(a.tokens).toEqual(b.tokens);
      expect(a.end.options.seed).toBe(1234);
      const k1 = await run(g, ask("咳嗽三天了", { temperature: 1.5, topK: 1, maxNewTokens: 12, seed: 3 }));
      expect(k1.tokens).toEqual(oracle([{ role: "user", content: "咳嗽三天了" }], 12));
    });

    it("a stop string ends the answer before it, also when split across tokens", async () => {
      // The longest greedy answer among a few questions, with its text pieces per token.
      let best: Awaited<ReturnType<typeof run>> | null = null;
      let msgs: ChatMessage[] = [];
      for (const q of ["宝宝拉肚子", "孩子发烧38.5度怎么办", "夜里哭闹", "湿疹怎么护理", "hello"]) {
        const r = await run(g, ask(q, { temperature: 0, maxNewTokens: 40 }));
        if (best === null || r.end.text.length > best.end.text.length) [best, msgs] = [r, [{ role: "user", content: q }]];
      }
      const full = best!.end.text;
      const pieces = best!.events.flatMap((e) => (e.type === "text" && e.text !== "" ? [e.text] : []));
      expect(pieces.length).toBeGreaterThan(3);
      // A stop string made of the end of one piece and the start of the next, at its first occurrence.
      let stop = "";
      let at = 0;
      for (let j = 0, off = 0; j + 1 < pieces.length; off += pieces[j]!.length, j++) {
        const cand = pieces[j]!.slice(-1) + pieces[j + 1]!.slice(0, 1);
        const pos = off + pieces[j]!.length - 1;
        if (full.indexOf(cand) === pos) {
          stop = cand;
          at = pos;
          break;
        }
      }
      expect(stop).not.toBe("");
      const cut = (await run(g, { messages: msgs, temperature: 0, maxNewTokens: 40, stop: ["never-there", stop] })).end;
      expect(cut.finishReason).toBe("stop");
      expect(cut.stopString).toBe(stop);
      expect(cut.text).toBe(full.slice(0, at));
    });

    it("max new tokens ends with finish reason length", async () => {
      const { end, tokens } = await run(g, ask("你好", { temperature: 0, maxNewTokens: 3 }));
      const want = oracle([{ role: "user", content: "你好" }], 3);
      expect(tokens).toEqual(want);
      if (want.length === 3) expect(end.finishReason).toBe("length");
      expect(end.usage.completionTokens).toBe(want.length);
    });

    it("an abort ends the stream with finish reason cancelled, and the backend keeps serving", async () => {
      const ctl = new AbortController();
      const events: GenerationEvent[] = [];
      for await (const e of g.generate(ask("孩子发烧38.5度怎么办", { temperature: 0, maxNewTokens: 200, signal: ctl.signal }))) {
        events.push(e);
        if (e.type === "text" && e.tokens.length > 0) ctl.abort();
      }
      const end = events[events.length - 1] as EndEvent;
      expect(end.type).toBe("end");
      expect(end.finishReason).toBe("cancelled");
      expect(end.usage.completionTokens).toBeLessThan(5);
      const pre = new AbortController();
      pre.abort();
      expect((await generateText(g, ask("你好", { maxNewTokens: 5, signal: pre.signal }))).finishReason).toBe("cancelled");
      // Leaving the loop early (a client going away) frees the sequence too.
      for await (const e of g.generate(ask("你好", { temperature: 0, maxNewTokens: 50 }))) if (e.type === "text") break;
      const again = await run(g, ask("你好", { temperature: 0, maxNewTokens: 6 }));
      expect(again.tokens).toEqual(oracle([{ role: "user", content: "你好" }], 6));
    });

    it("concurrent requests (more than the parallel sequences) each get their own greedy answer", async () => {
      const qs = ["你好", "孩子咳嗽", "宝宝拉肚子怎么办", "发烧39度", "夜里哭闹", "湿疹"];
      const results = await Promise.all(qs.map((q, i) => run(g, ask(q, { temperature: 0, maxNewTokens: 8 + 3 * i }))));
      results.forEach((r, i) => expect(r.tokens, qs[i]).toEqual(oracle([{ role: "user", content: qs[i]! }], 8 + 3 * i)));
    });

    it("options never leak between requests", async () => {
      const sampled = run(g, ask("孩子咳嗽", { temperature: 1.5, topK: 0, topP: 1, repetitionPenalty: 1.3, maxNewTokens: 10, seed: 5, stop: ["a"] }));
      const greedy = run(g, ask("孩子咳嗽", { temperature: 0, maxNewTokens: 10 }));
      const [, b] = await Promise.all([sampled, greedy]);
      expect(b.tokens).toEqual(oracle([{ role: "user", content: "孩子咳嗽" }], 10));
      expect(b.end.options).toMatchObject({ temperature: 0, repetitionPenalty: 1, stop: [] });
    });

    it("a repetition penalty changes a greedy answer that repeats tokens", async () => {
      const msgs: ChatMessage[] = [{ role: "user", content: "孩子发烧38.5度怎么办" }];
      const plain = await run(g, { messages: msgs, temperature: 0, maxNewTokens: 40 });
      const pen = await run(g, { messages: msgs, temperature: 0, maxNewTokens: 40, repetitionPenalty: 5 });
      const promptIds = new Set(renderChat(tok, "qwen", msgs, "prompt").ids);
      // The penalty (over prompt and answer) can only change the answer if some token would be seen twice.
      const repeats = plain.tokens.some((t, i) => promptIds.has(t) || plain.tokens.indexOf(t) !== i);
      if (repeats) expect(pen.tokens).not.toEqual(plain.tokens);
      expect(pen.end.options.repetitionPenalty).toBe(5);
    });

    it("drops the oldest turns to fit the context and says so; refuses a message that cannot fit", async () => {
      const long = "孩子晚上咳嗽得厉害，".repeat(4);
      const msgs: ChatMessage[] = [{ role: "system", content: "你是儿科医生。" }];
      for (let i = 0; i < 4; i++) msgs.push({ role: "user", content: long }, { role: "assistant", content: long });
      msgs.push({ role: "user", content: "现在怎么办" });
      const { events, end } = await run(g, { messages: msgs, temperature: 0, maxNewTokens: 8 });
      const start = events[0]!;
      expect(start.type === "start" && start.droppedMessages).toBeGreaterThan(0);
      expect(start.type === "start" && start.promptTokens).toBeLessThanOrEqual(256 - 8);
      expect(end.notices.join(" ")).toMatch(/dropped the \d+ oldest messages/);
      const kept = msgs.slice(0, 1).concat(msgs.slice(1 + (start.type === "start" ? start.droppedMessages : 0)));
      expect(end.usage.promptTokens).toBe(renderChat(tok, "qwen", kept, "prompt").ids.length);
      const err = await generateText(g, ask("很长".repeat(200), { maxNewTokens: 8 })).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ContextOverflowError);
      expect((err as ContextOverflowError).field).toBe("messages[0].content");
    });

    it("raw prompts (no template) complete too", async () => {
      const { end, tokens } = await run(g, { prompt: "Human: 你好\nAssistant:", temperature: 0, maxNewTokens: 6 });
      const ids = tok.encode("Human: 你好\nAssistant:", { addSpecialTokens: true, parseSpecial: false });
      expect(tokens).toEqual(generate(m.model, ids, { maxNewTokens: 6, eosTokenIds: END }).tokens.filter((t) => !END.includes(t)));
      expect(end.usage.promptTokens).toBe(ids.length);
    });

    it("validates a request before any work, naming the field", async () => {
      const bad = async (r: GenerationRequest) => (await generateText(g, r).catch((e: unknown) => e)) as GenerationRequestError;
      expect((await bad(ask("x", { temperature: -0.5 }))).field).toBe("temperature");
      expect((await bad(ask("x", { topP: 2 }))).field).toBe("topP");
      expect((await bad({ messages: [{ role: "assistant", content: "x" }] }))).toBeInstanceOf(GenerationRequestError);
    });

    it("refuses a template other than the recorded one unless forced", async () => {
      await expect(load(m, { contextSize: 128, parallel: 1, template: "default" })).rejects.toThrow(/trained with template "qwen"/);
      const forced = await load(m, { contextSize: 128, parallel: 1, template: "default", forceTemplate: true });
      try {
        expect(forced.info.template).toBe("default");
        const r = await run(forced, ask("你好", { temperature: 0, maxNewTokens: 4 }));
        const ids = renderChat(tok, "default", [{ role: "user", content: "你好" }], "prompt").ids;
        expect(r.end.usage.promptTokens).toBe(ids.length);
      } finally {
        await forced.close();
      }
    }, 30_000);
  });
}
