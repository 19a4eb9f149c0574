/**
 * Messages between the engine backend (server thread) and its worker thread. Token ids only: text,
 * templates and stop strings stay on the server side (`core.ts`).
 */
import type { SamplingRequest } from "../core.js";

export interface WorkerInit {
  modelDir: string;
  /** adapter directories attached to the model in the worker, in order */
  adapterDirs: string[];
  /** hold the linear weights as q8_0 or bf16 for inference (quantizeForInference); null = f32 */
  quantize: "q8_0" | "bf16" | null;
  slots: number;
  contextSize: number;
  endTokenIds: number[];
}

export type ToWorker =
  | { kind: "start"; id: number; prompt: number[]; sampling: SamplingRequest }
  | { kind: "cancel"; id: number }
  | { kind: "close" };

export type FromWorker =
  | { kind: "ready" }
  | { kind: "fatal"; message: string }
  | { kind: "tokens"; id: number; tokens: number[]; done: boolean }
  | { kind: "error"; id: number; message: string };
