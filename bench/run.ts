/**
 * Benchmark dispatcher: `npm run bench -- <name> [args…]` runs `bench/<name>.ts`, whose default
 * export is `async (args: string[]) => void`. Every benchmark prints human-readable progress and ends
 * with exactly one JSON line: {"bench": …, "metric": …, "ours": …, "reference": …, "ratio": …, …}.
 * Benchmarks are never run as tests.
 */
import { readdirSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { dirname, join } from "node:path";

const here = dirname(fileURLToPath(import.meta.url));
const available = readdirSync(here)
  .filter((f) => f.endsWith(".ts") && f !== "run.ts" && !f.endsWith(".test.ts"))
  .map((f) => f.slice(0, -3));

const [given, ...args] = process.argv.slice(2);
// Files use "_", names on the command line may use "-" (torch-backend → torch_backend.ts).
const name = given !== undefined && !available.includes(given) ? given.replace(/-/g, "_") : given;
if (!name || !available.includes(name)) {
  console.error(`usage: npm run bench -- <${available.join("|")}> [args…]`);
  process.exitCode = 2;
} else {
  const mod = (await import(pathToFileURL(join(here, `${name}.ts`)).href)) as { default: (args: string[]) => Promise<void> };
  await mod.default(args);
}
