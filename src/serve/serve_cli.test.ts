/**
 * `pedgpt serve` as a process: it listens on the given port (0 = any free one) and prints the URL,
 * answers with bearer auth from PEDGPT_API_KEY, and on SIGTERM closes the server and the model and exits 0.
 */
import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";
import { makeServeModel } from "../../test/helpers/serve_model.js";
import { tempDir } from "../../test/helpers/tempdir.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

it("pedgpt serve listens, needs the key, and shuts down cleanly on SIGTERM", async () => {
  const m = await makeServeModel(tempDir("pedgpt-serve-cli-"));
  const child = spawn(
    process.execPath,
    ["--import", "tsx", path.join(ROOT, "src/cli/main.ts"), "serve", "--model", m.dir, "--port", "0", "--parallel", "2", "--context-size", "256", "--temperature", "0"],
    { cwd: ROOT, env: { ...process.env, PEDGPT_API_KEY: "k1" } },
  );
  let out = "";
  let err = "";
  child.stderr.on("data", (d: Buffer) => (err += d.toString("utf8")));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString("utf8");
      const hit = /at (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (hit && out.includes("auth:")) resolve(hit[1]!);
    });
    child.on("close", (code) => reject(new Error(`serve exited ${code}: ${err}`)));
  });
  expect(out).toContain("auth: bearer token");
  expect((await fetch(`${url}/v1/models`)).status).toBe(401);
  const r = await fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: "Bearer k1" },
    body: JSON.stringify({ model: "model", messages: [{ role: "user", content: "你好" }], max_tokens: 4 }),
  });
  expect(r.status).toBe(200);
  expect(((await r.json()) as { choices: { finish_reason: string }[] }).choices[0]!.finish_reason).toMatch(/^(stop|length)$/);
  const code = await new Promise<number | null>((resolve) => {
    child.removeAllListeners("close");
    child.on("close", resolve);
    child.kill("SIGTERM");
  });
  expect(code).toBe(0);
  expect(err).toBe("");
}, 60_000);
