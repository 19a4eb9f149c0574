#!/usr/bin/env node
/**
 * The `pedgpt` command: wiring only. Each area registers its subcommands from
 * `src/cli/commands/<area>.ts` (one `register(program)` per file); the work itself lives in the
 * area's module. Only this file exits the process.
 */
import { Command, CommanderError } from "commander";
import { registrations } from "./commands/index.js";

export function buildProgram(): Command {
  const program = new Command("pedgpt")
    .description("PediatricsGPT: pediatric corpus, four-stage training, evaluation, serving and safety checks")
    .version("0.1.0")
    .showHelpAfterError();
  for (const register of registrations) register(program);
  return program;
}

export async function runCli(argv: string[]): Promise<void> {
  const program = buildProgram().exitOverride();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode;
      return;
    }
    const message = err instanceof Error ? err.message : String(err);
    console.error(`pedgpt: ${message}`);
    if (process.env.PEDGPT_DEBUG && err instanceof Error && err.stack) console.error(err.stack);
    process.exitCode = 1;
  }
}

// Run when executed as a script (`tsx src/cli/main.ts`); bin/pedgpt.js calls runCli itself.
const entry = process.argv[1] ?? "";
if (/[\\/]cli[\\/]main\.(ts|js)$/.test(entry)) await runCli(process.argv);
