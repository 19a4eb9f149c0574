/**
 * The stage plan's report helpers shared by both backends.
 */
import { describe, expect, it } from "vitest";
import { routerSummary } from "./plan.js";

describe("routerSummary", () => {
  it("lists expert gates in expert order, also past nine experts", () => {
    const scalars: Record<string, number> = { "router/entropy": 0.5, loss: 1 };
    for (let k = 11; k >= 1; k--) scalars[`router/gate_${k}`] = k / 100;
    expect(routerSummary(scalars)).toEqual({ routerEntropy: 0.5, expertUsage: Array.from({ length: 11 }, (_, i) => (i + 1) / 100) });
    expect(routerSummary({ loss: 1 })).toEqual({});
  });
});
