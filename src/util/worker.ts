/**
 * Starting a worker thread from a module that may run either compiled (dist/*.js) or from TypeScript
 * sources (tests, benchmarks, `tsx`). Workers do not inherit tsx's loader, so from sources the worker
 * first registers tsx and then imports the .ts entry; compiled code loads the .js beside the caller.
 */
import { Worker, type WorkerOptions } from "node:worker_threads";

/**
 * @param callerUrl `import.meta.url` of the module starting the worker
 * @param entry the worker's path relative to the caller, without extension ("./worker")
 */
export function startWorker(callerUrl: string, entry: string, options: Omit<WorkerOptions, "eval"> = {}): Worker {
  const fromSource = callerUrl.endsWith(".ts");
  const url = new URL(entry + (fromSource ? ".ts" : ".js"), callerUrl);
  if (!fromSource) return new Worker(url, options);
  const code = `import("tsx/esm/api").then((api) => { api.register(); return import(${JSON.stringify(url.href)}); });`;
  return new Worker(code, { ...options, eval: true });
}
