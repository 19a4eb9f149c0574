/**
 * A real OpenAI-compatible HTTP server for tests of code that calls endpoints: its behaviour per
 * prompt follows a script (status codes, garbage bodies, hangs, delays), so retries, timeouts and
 * malformed-reply handling are exercised over real sockets rather than a mocked fetch. Servers are
 * closed after each test.
 */
import { afterEach } from "vitest";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export type Step = { status?: number; body?: string; headers?: Record<string, string>; hang?: boolean; delayMs?: number } | "ok";

export interface TestServer {
  url: string;
  /** Requests received per user prompt. */
  hits: Map<string, number>;
  maxInFlight: number;
  starts: number[];
  close(): Promise<void>;
}

const servers: TestServer[] = [];
afterEach(async () => {
  while (servers.length) await servers.pop()!.close();
});

export const reply = (content: string) => JSON.stringify({ id: "x", object: "chat.completion", choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }] });

/**
 * A real OpenAI-compatible HTTP server whose behaviour per prompt follows a script: the n-th request
 * for a prompt gets script[n] (the last step repeats). "ok" answers with a reply derived from the prompt.
 */
export async function startServer(script: (prompt: string) => Step[], answer: (prompt: string) => string = (p) => `回答：${p}`): Promise<TestServer> {
  const hits = new Map<string, number>();
  let inFlight = 0;
  const state: TestServer = { url: "", hits, maxInFlight: 0, starts: [], close: async () => {} };
  const hung: ServerResponse[] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      state.starts.push(Date.now());
      inFlight++;
      state.maxInFlight = Math.max(state.maxInFlight, inFlight);
      const done = () => inFlight--;
      if (req.url !== "/v1/chat/completions" || req.method !== "POST") {
        res.writeHead(404).end();
        return done();
      }
      const parsed = JSON.parse(body) as { messages: { role: string; content: string }[] };
      const prompt = parsed.messages[parsed.messages.length - 1]!.content;
      const n = hits.get(prompt) ?? 0;
      hits.set(prompt, n + 1);
      const steps = script(prompt);
      const step = steps[Math.min(n, steps.length - 1)]!;
      const send = () => {
        if (step === "ok") res.writeHead(200, { "content-type": "application/json" }).end(reply(answer(prompt)));
        else if (step.hang) {
          hung.push(res);
          return; // never answers: the client must time out
        } else res.writeHead(step.status ?? 200, { "content-type": "application/json", ...(step.headers ?? {}) }).end(step.body ?? "");
        done();
      };
      const delay = step === "ok" ? 0 : (step.delayMs ?? 0);
      if (delay > 0) setTimeout(send, delay);
      else send();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = async () => {
    for (const r of hung) r.destroy();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  };
  servers.push(state);
  return state;
}
