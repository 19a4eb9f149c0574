import { defineConfig } from "vitest/config";

// Tests sit beside the code (src/**/*.test.ts). Slow end-to-end checks are named *.e2e.test.ts
// and still run in `npm test`; keep them few.
export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: "forks",
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
  },
});
