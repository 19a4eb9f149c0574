/**
 * The terminal chat (`pedgpt chat`): reads questions line by line (a terminal or piped input),
 * streams each answer, keeps the history, `clear` wipes it and `exit` leaves — the seed's CLI demo.
 * Before an answer the safety triage banner is printed when the question shows red flags; after it,
 * the checker's annotations with citations. The answer is printed exactly as generated.
 */
import { createInterface } from "node:readline";
import type { Readable, Writable } from "node:stream";
import type { ChatMessage, Generator } from "./generator.js";
import { SafetyStream, safetyBefore } from "./safety.js";

export interface ChatSessionOptions {
  /** A system message sent first in every request. Defaults to none. */
  system?: string;
  /** Triage and annotate with the safety layer. Defaults to true. */
  safety?: boolean;
  /** Where notices (dropped turns) and errors go. Defaults to `output`. */
  errors?: Writable;
  /** Aborted by the caller (e.g. Ctrl-C) to stop the answer being streamed; a new one is read each turn. */
  interrupt?: () => AbortSignal;
  /** Called when an answer has finished streaming (so Ctrl-C means "leave" again). */
  onAnswerEnd?: () => void;
}

export async function runChat(gen: Generator, input: Readable, output: Writable, o: ChatSessionOptions = {}): Promise<void> {
  const err = o.errors ?? output;
  const safetyOn = o.safety ?? true;
  const history: ChatMessage[] = [];
  const write = (s: string) => output.write(s);
  write(`Welcome to ${gen.info.id} (${gen.info.backend}, template ${gen.info.template}). Type "clear" to clear the history, "exit" to leave.\n`);
  write("本助手仅供学习研究，不构成医疗建议；紧急情况请立即拨打120。\n");
  const rl = createInterface({ input, terminal: false });
  const prompt = () => write("\nUser: ");
  prompt();
  for await (const raw of rl) {
    const question = raw.trim();
    if (question === "") {
      prompt();
      continue;
    }
    if (question === "exit") break;
    if (question === "clear") {
      history.length = 0;
      write("History has been removed.\n");
      prompt();
      continue;
    }
    if (safetyOn) {
      const t = safetyBefore(question);
      if (t.banner) write(`${t.banner}\n`);
    }
    write("Assistant: ");
    const messages: ChatMessage[] = [...(o.system ? [{ role: "system" as const, content: o.system }] : []), ...history, { role: "user", content: question }];
    let answer = "";
    // Checked while it streams, so the annotations are ready the moment the answer ends.
    const check = safetyOn ? new SafetyStream(question) : null;
    try {
      for await (const ev of gen.generate({ messages, signal: o.interrupt?.() })) {
        if (ev.type === "start") for (const n of ev.notices) err.write(`[${n}]\n`);
        else if (ev.type === "text") {
          answer += ev.text;
          check?.append(ev.text);
          write(ev.text);
        } else {
          write("\n");
          if (ev.finishReason === "cancelled") write("[stopped]\n");
          else if (ev.finishReason === "length") write("[reached the token limit]\n");
        }
      }
    } catch (e) {
      write("\n");
      err.write(`error: ${(e as Error).message}\n`);
      prompt();
      continue;
    } finally {
      o.onAnswerEnd?.();
    }
    history.push({ role: "user", content: question }, { role: "assistant", content: answer });
    if (check) {
      const a = check.finish();
      if (a.text) write(`${a.text}\n`);
    }
    prompt();
  }
  rl.close();
  write("\n");
}
