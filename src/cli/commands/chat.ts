/**
 * `pedgpt chat`: the terminal chat over a model (streaming, history, `clear`, `exit`, safety banner
 * and annotations). Model flags are shared with `pedgpt serve`. Ctrl-C stops the answer being
 * streamed; a second Ctrl-C (or `exit`) leaves. Option parsing only; the work is in src/serve/chat.ts.
 */
import type { Command } from "commander";
import { runChat } from "../../serve/chat.js";
import { openGenerator } from "../../serve/load.js";
import { addModelOptions, modelFromFlags } from "./serve.js";

export function register(program: Command): void {
  const cmd = program.command("chat").description("chat with a model in the terminal (streaming; clear wipes the history, exit leaves)");
  addModelOptions(cmd)
    .option("--system <text>", "system message sent before the conversation")
    .option("--no-safety", "do not show the triage banner and safety annotations")
    .action(async (o: Parameters<typeof modelFromFlags>[0] & { system?: string; safety: boolean }) => {
      const { model, options } = modelFromFlags(o);
      const gen = await openGenerator(model, options);
      let current = new AbortController();
      let generating = false;
      const onSigint = () => {
        if (generating && !current.signal.aborted) {
          current.abort();
          generating = false;
        }
        else process.exit(130);
      };
      process.on("SIGINT", onSigint);
      try {
        await runChat(gen, process.stdin, process.stdout, {
          system: o.system,
          safety: o.safety,
          errors: process.stderr,
          interrupt: () => {
            current = new AbortController();
            generating = true;
            return current.signal;
          },
          onAnswerEnd: () => {
            generating = false;
          },
        });
      } finally {
        process.off("SIGINT", onSigint);
        await gen.close();
      }
    });
}
