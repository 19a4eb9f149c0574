/**
 * The engine worker thread: owns the model (weights, adapters, KV cache) and runs every kernel, so the
 * server's event loop never does. Requests arrive as messages, are batched by `BatchScheduler`, and
 * each decode step posts the new token of every active sequence. Between steps the worker returns to
 * its own event loop, so new requests and cancellations are seen within one step.
 *
 * Protocol (see `protocol.ts`): init data → "ready" | "fatal"; "start"/"cancel"/"close" in;
 * "tokens"/"error" out.
 */
import { parentPort, workerData } from "node:worker_threads";
import { loadAdapter } from "../../model/adapters/index.js";
import { loadModel } from "../../model/checkpoint.js";
import { quantizeForInference } from "../../model/quantize.js";
import { BatchScheduler } from "./scheduler.js";
import type { FromWorker, ToWorker, WorkerInit } from "./protocol.js";

const port = parentPort!;
const init = workerData as WorkerInit;
const post = (m: FromWorker) => port.postMessage(m);

async function main(): Promise<void> {
  const model = await loadModel(init.modelDir);
  // Quantised base linears first; adapters stack on top of them as further linear hooks.
  const quantized = init.quantize ? quantizeForInference(model, init.quantize) : null;
  for (const dir of init.adapterDirs) {
    const adapter = await loadAdapter(dir, model);
    adapter.eval(); // no dropout, no router noise
    adapter.attach(model);
  }
  // A server only decodes: once the adapters are loaded (they check the base they belong to), the
  // quantised copy is the only one the decoder linears need.
  quantized?.releaseF32();
  const scheduler = new BatchScheduler(model, init.slots, init.contextSize, init.endTokenIds);
  const pending: Extract<ToWorker, { kind: "start" }>[] = [];
  let scheduled = false;

  const tick = () => {
    scheduled = false;
    while (pending.length > 0 && scheduler.hasFreeSlot) {
      const req = pending.shift()!;
      try {
        scheduler.admit({ id: req.id, prompt: req.prompt, sampling: req.sampling });
      } catch (e) {
        post({ kind: "error", id: req.id, message: (e as Error).message });
      }
    }
    if (scheduler.active > 0) {
      try {
        for (const o of scheduler.step()) post({ kind: "tokens", id: o.id, tokens: o.token === null ? [] : [o.token], done: o.done });
      } catch (e) {
        post({ kind: "fatal", message: `decode step failed: ${(e as Error).stack ?? e}` });
        process.exit(1);
      }
    }
    schedule();
  };
  const schedule = () => {
    if (!scheduled && (pending.length > 0 || scheduler.active > 0)) {
      scheduled = true;
      setImmediate(tick);
    }
  };

  port.on("message", (m: ToWorker) => {
    if (m.kind === "start") {
      pending.push(m);
      schedule();
    } else if (m.kind === "cancel") {
      const i = pending.findIndex((p) => p.id === m.id);
      if (i >= 0) pending.splice(i, 1);
      scheduler.cancel(m.id);
    } else if (m.kind === "close") {
      port.close();
    }
  });
  post({ kind: "ready" });
}

main().catch((e: unknown) => {
  post({ kind: "fatal", message: (e as Error).message ?? String(e) });
});
