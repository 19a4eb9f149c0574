#!/usr/bin/env node
/**
 * The `pedgpt` command: wiring only. Each area registers its subcommands from
 * `src/cli/commands/<area>.ts` (one `register(program)` per file); the work itself lives in the
 * area's module. Only this file exits the process, and it holds the one error handler: every error
 * leaves with its message (file-system errors in words, naming the path), never silently and never
 * as a raw stack trace unless PEDGPT_DEBUG is set.
 */
import { Command, CommanderError } from "commander";
import { describeError, isInternalError } from "../util/errors.js";
import { registrations } from "./commands/index.js";

export interface ProgramOptions {
  /** Throw CommanderError instead of exiting (runCli sets this; every subcommand inherits it). */
  exitOverride?: boolean;
  /** Called when commander itself printed an error (so the handler does not print it twice). */
  onCommanderOutput?: () => void;
  /** Called with the subcommand about to run. */
  onAction?: (cmd: Command) => void;
}

export function buildProgram(opts: ProgramOptions = {}): Command {
  const program = new Command("pedgpt")
    .description("PediatricsGPT: pediatric corpus, four-stage training, evaluation, serving and safety checks")
    .version("0.1.0")
    .showHelpAfterError();
  // Settings made before the subcommands are registered are inherited by all of them.
  if (opts.exitOverride) program.exitOverride();
  if (opts.onCommanderOutput) {
    const notify = opts.onCommanderOutput;
    program.configureOutput({
      outputError: (str, write) => {
        notify();
        write(str);
      },
    });
  }
  if (opts.onAction) {
    const onAction = opts.onAction;
    program.hook("preAction", (_root, actionCommand) => onAction(actionCommand));
  }
  for (const register of registrations) register(program);
  return program;
}

/**
 * Library hints name option fields ("pass allowMissing"); on the command line the same option is a
 * flag. Rewrites such a hint to the flag of the running command, so a hint names only flags that exist.
 */
export function flagHints(message: string, cmd: Command | null): string {
  if (!cmd) return message;
  let out = message;
  for (const opt of cmd.options) {
    if (!opt.long) continue;
    const attr = opt.attributeName();
    out = out.replace(new RegExp(`\\b(pass|set|use) (?:the )?${attr}\\b`, "g"), `$1 ${opt.long}`);
    // Option errors of the libraries start with the option's field name ("batchSize: …").
    if (out.startsWith(`${attr}: `)) out = `${opt.long}: ${out.slice(attr.length + 2)}`;
  }
  return out;
}

/** The message printed for an error thrown while running `cmd` (exported for tests). */
export function cliMessage(err: unknown, cmd: Command | null): string {
  const msg = flagHints(describeError(err), cmd);
  return isInternalError(err) ? `internal error: ${msg} (rerun with PEDGPT_DEBUG=1 for the stack trace)` : msg;
}

export async function runCli(argv: string[]): Promise<void> {
  let commanderPrinted = false;
  let active: Command | null = null;
  const report = (err: unknown): void => {
    console.error(`pedgpt: ${cliMessage(err, active)}`);
    if (process.env.PEDGPT_DEBUG && err instanceof Error && err.stack) console.error(err.stack);
    process.exitCode = 1;
  };
  // Errors that escape the awaited action (a stream 'error' nobody listened to, a stray rejection)
  // still leave with their message instead of Node's stack dump.
  const onStray = (err: unknown): void => {
    report(err);
    process.exit(1);
  };
  process.on("uncaughtException", onStray);
  process.on("unhandledRejection", onStray);
  const program = buildProgram({
    exitOverride: true,
    onCommanderOutput: () => {
      commanderPrinted = true;
    },
    onAction: (cmd) => {
      active = cmd;
    },
  });
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander prints its own parse errors; one thrown by an action (InvalidArgumentError from
      // validating a value) has not been printed yet.
      const silent = err.code === "commander.helpDisplayed" || err.code === "commander.version" || err.code === "commander.help" || err.code === "commander.executeSubCommandAsync";
      if (!commanderPrinted && !silent && err.exitCode !== 0) console.error(`pedgpt: ${flagHints(err.message.replace(/^error: /, ""), active)}`);
      process.exitCode = err.exitCode;
      return;
    }
    report(err);
  } finally {
    process.off("uncaughtException", onStray);
    process.off("unhandledRejection", onStray);
  }
}

// Run when executed as a script (`tsx src/cli/main.ts`); bin/pedgpt.js calls runCli itself.
const entry = process.argv[1] ?? "";
if (/[\\/]cli[\\/]main\.(ts|js)$/.test(entry)) await runCli(process.argv);
