#!/usr/bin/env node
// Entry point of the `pedgpt` command: runs the compiled CLI (built by `npm run build`).
let cli;
try {
  cli = await import("../dist/cli/main.js");
} catch (err) {
  if (err && err.code === "ERR_MODULE_NOT_FOUND" && String(err.message).includes("main.js")) {
    console.error("pedgpt: the CLI is not built yet. Run `npm run build` (or `npx tsx src/cli/main.ts …`).");
    process.exit(1);
  }
  throw err;
}
await cli.runCli(process.argv);
