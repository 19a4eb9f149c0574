/**
 * The batch scheduler's cache bookkeeping, in process: sequences joining at different times (a longer
 * prompt moving the others right), leaving early, and rows moved left when the cache end is reached
 * must each give exactly the greedy tokens `generate()` gives the sequence alone.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { generate } from "../../model/generate.js";
import type { CausalLM } from "../../model/model.js";
import { makeServeModel } from "../../../test/helpers/serve_model.js";
import { tempDir } from "../../../test/helpers/tempdir.js";
import type { SamplingRequest } from "../core.js";
import { BatchScheduler } from "./scheduler.js";

let model: CausalLM;
beforeAll(async () => {
  model = (await makeServeModel(tempDir("pedgpt-sched-"))).model;
}, 60_000);

const greedy = (maxTokens: number): SamplingRequest => ({ maxTokens, temperature: 0, topK: 0, topP: 1, repetitionPenalty: 1, seed: 0 });
const prompt = (n: number, k: number) => Array.from({ length: n }, (_, i) => 1 + ((i * 31 + k * 17) % 250));
const alone = (p: number[], n: number) => generate(model, p, { maxNewTokens: n, eosTokenIds: [] }).tokens;

describe("BatchScheduler", () => {
  it("staggered joins, a longer prompt joining, early leavers and compaction keep every sequence exact", () => {
    const ctx = 40;
    const s = new BatchScheduler(model, 3, ctx, []);
    const out = new Map<number, number[]>();
    const run = (steps: number) => {
      for (let i = 0; i < steps && s.active > 0; i++) for (const o of s.step()) if (o.token !== null) out.set(o.id, [...(out.get(o.id) ?? []), o.token]);
    };
    const A = prompt(10, 1);
    const B = prompt(5, 2);
    const C = prompt(18, 3); // longer than the cache's current length when it joins: the others move right
    s.admit({ id: 1, prompt: A, sampling: greedy(25) });
    run(4);
    s.admit({ id: 2, prompt: B, sampling: greedy(33) });
    run(3);
    s.admit({ id: 3, prompt: C, sampling: greedy(6) });
    run(200); // B outlives A and C and reaches the cache end: rows move left
    expect(s.active).toBe(0);
    expect(out.get(1)).toEqual(alone(A, 25));
    expect(out.get(2)).toEqual(alone(B, 33));
    expect(out.get(3)).toEqual(alone(C, 6));
  });

  it("a cancelled sequence leaves its row; a prompt that does not fit is refused", () => {
    const s = new BatchScheduler(model, 1, 32, []);
    s.admit({ id: 1, prompt: prompt(4, 1), sampling: greedy(10) });
    s.step();
    expect(s.hasFreeSlot).toBe(false);
    s.cancel(1);
    expect(s.hasFreeSlot).toBe(true);
    expect(() => s.admit({ id: 2, prompt: prompt(32, 1), sampling: greedy(1) })).toThrow(/does not fit the 32-token context/);
    s.admit({ id: 3, prompt: prompt(6, 4), sampling: greedy(3) });
    const toks: number[] = [];
    while (s.active > 0) for (const o of s.step()) if (o.token !== null) toks.push(o.token);
    expect(toks).toEqual(alone(prompt(6, 4), 3));
  });
});
