/**
 * Worker-thread side of parallel.ts: loads the segmenter on "init", scores [hyp, ref] text pairs on
 * "score". Not imported by anything else.
 */
import { parentPort } from "node:worker_threads";
import { JiebaSegmenter } from "./jieba/segmenter.js";
import { scorePaperTokens } from "./paper.js";

if (!parentPort) throw new Error("worker.ts must run as a worker thread");
const port = parentPort;
port.on("message", (msg: { kind: "init" } | { kind: "score"; pairs: [string, string][] }) => {
  try {
    const seg = JiebaSegmenter.default();
    if (msg.kind === "init") {
      port.postMessage({ ok: true, result: null });
      return;
    }
    const out = msg.pairs.map(([hyp, ref]) => {
      const h = seg.cut(hyp);
      const r = seg.cut(ref);
      return { ...scorePaperTokens(h, r), hypTokens: h.length, refTokens: r.length };
    });
    port.postMessage({ ok: true, result: out });
  } catch (e) {
    port.postMessage({ ok: false, error: e instanceof Error ? e.message : String(e) });
  }
});
