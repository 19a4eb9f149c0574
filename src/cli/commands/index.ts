/**
 * The list of command groups. Add one import and one entry per area; each area's file exports
 * `register(program)` and keeps its option parsing there, calling into its module for the work.
 */
import type { Command } from "commander";
import { register as model } from "./model.js";
import { register as modelImport } from "./import.js";
import { register as corpus } from "./corpus.js";
import { register as evalCommands } from "./eval.js";
import { register as engine } from "./engine.js";
import { register as tokenizer } from "./tokenizer.js";
import { register as safety } from "./safety.js";
import { register as quickstart } from "./quickstart.js";
import { register as chat } from "./chat.js";
import { register as serve } from "./serve.js";
import { register as adapter } from "./adapter.js";
import { register as train } from "./train.js";
import { register as pipeline } from "./pipeline.js";
import { register as report } from "./report.js";
import { register as review } from "./review.js";

export type Registration = (program: Command) => void;

export const registrations: Registration[] = [model, modelImport, corpus, evalCommands, engine, tokenizer, safety, quickstart, adapter, chat, serve, train, pipeline, report, review];
