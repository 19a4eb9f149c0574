/**
 * The terminal chat with piped input: the real CLI (`pedgpt chat` through tsx, stdin from a pipe) and
 * `runChat` in-process. Answers stream exactly as the generator produced them, history is kept and
 * `clear` wipes it, `exit` leaves, the triage banner comes before an answer and the annotations after.
 */
import { spawn } from "node:child_process";
import path from "node:path";
import { PassThrough } from "node:stream";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tempDir } from "../../test/helpers/tempdir.js";
import { makeServeModel, type ServeModel } from "../../test/helpers/serve_model.js";
import { runChat } from "./chat.js";
import { loadEngineGenerator } from "./engine/backend.js";
import { generateText, type Generator } from "./generator.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const RED = "宝宝8个月，发烧39度，抽搐了一次";

let m: ServeModel;
let gen: Generator;
beforeAll(async () => {
  m = await makeServeModel(tempDir("pedgpt-serve-"));
  gen = await loadEngineGenerator(m.dir, { contextSize: 256, parallel: 1, defaults: { temperature: 0, maxNewTokens: 12 } });
}, 60_000);
afterAll(async () => {
  await gen?.close();
});

async function session(lines: string[]): Promise<string> {
  const input = new PassThrough();
  const output = new PassThrough();
  let out = "";
  output.on("data", (d: Buffer) => (out += d.toString("utf8")));
  input.end(lines.join("\n") + "\n");
  await runChat(gen, input, output);
  return out;
}

describe("runChat", () => {
  it("streams greedy answers with history, clear and exit; banner before, annotations after", async () => {
    const first = await generateText(gen, { messages: [{ role: "user", content: "你好" }] });
    const second = await generateText(gen, { messages: [{ role: "user", content: "你好" }, { role: "assistant", content: first.text }, { role: "user", content: "孩子咳嗽" }] });
    const fresh = await generateText(gen, { messages: [{ role: "user", content: "孩子咳嗽" }] });
    const red = await generateText(gen, { messages: [{ role: "user", content: "孩子咳嗽" }, { role: "assistant", content: fresh.text }, { role: "user", content: RED }] });
    const out = await session(["你好", "孩子咳嗽", "clear", "孩子咳嗽", RED, "exit", "never asked"]);
    expect(out).toContain(`Assistant: ${first.text}\n`);
    expect(out).toContain(`Assistant: ${second.text}\n`);
    expect(out).toContain("History has been removed.");
    const afterClear = out.slice(out.indexOf("History has been removed."));
    expect(afterClear).toContain(`Assistant: ${fresh.text}\n`);
    // banner (before) → the answer untouched → annotations with citations (after)
    const banner = afterClear.indexOf("【就医提示】");
    const answer = afterClear.indexOf(`Assistant: ${red.text}\n`);
    const note = afterClear.indexOf("【安全提示·缺少紧急就医建议】");
    expect(banner).toBeGreaterThan(0);
    expect(answer).toBeGreaterThan(banner);
    expect(note).toBeGreaterThan(answer);
    expect(afterClear.slice(note)).toContain("依据：");
    expect(out).not.toContain("never asked");
  });
});

describe("pedgpt chat (CLI, piped stdin)", () => {
  it("answers with the seed's flag names and leaves on exit", async () => {
    const want = await generateText(gen, { messages: [{ role: "user", content: "你好" }] });
    const child = spawn(
      process.execPath,
      ["--import", "tsx", path.join(ROOT, "src/cli/main.ts"), "chat", "--model_name_or_path", m.dir, "--temperature", "0", "--max-new-tokens", "12", "--context-size", "256"],
      { cwd: ROOT, stdio: ["pipe", "pipe", "pipe"] },
    );
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString("utf8")));
    child.stderr.on("data", (d: Buffer) => (err += d.toString("utf8")));
    child.stdin.end("你好\nexit\n");
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    expect(err).toBe("");
    expect(code).toBe(0);
    expect(out).toContain(`Assistant: ${want.text}\n`);
  }, 60_000);

  it("refuses contradictory flags before loading anything", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", path.join(ROOT, "src/cli/main.ts"), "chat", "--model", m.dir, "--finetuning_type", "lora"], { cwd: ROOT });
    let err = "";
    child.stderr.on("data", (d: Buffer) => (err += d.toString("utf8")));
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    expect(code).toBe(1);
    expect(err).toMatch(/--finetuning_type lora needs --adapter/);
  }, 60_000);
});
