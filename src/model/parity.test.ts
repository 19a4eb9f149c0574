/**
 * Whole-model parity with PyTorch (llm.c's test_gpt2 pattern): for tiny Llama (GQA, tied), Qwen2
 * (biases) and Baichuan2 (W_pack + NormHead, RoPE and ALiBi) configs, the logits, the loss, every named
 * parameter gradient and three AdamW steps (with clipping) must match the float64 PyTorch reference in
 * test/fixtures/model/ (written by scripts/fixtures/model_torch_parity.py). Runs on the reference
 * kernels and, when the addon is built, on the native kernels. Prints the max error per tensor.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { AdamW, clipGradNorm, Tape, withBackend, zeroGrad, type Kernels } from "../engine/index.js";
import { getNativeKernels, referenceKernels } from "../engine/kernels/index.js";
import { parseConfig } from "./architectures.js";
import { CausalLM } from "./model.js";

const DIR = new URL("../../test/fixtures/model/", import.meta.url);

interface Case {
  config: Record<string, unknown>;
  file: string;
  batch: { B: number; T: number; input_ids: number[][]; attention_mask: number[][]; labels: number[][] };
  loss: number;
  adamw: { lr: number; beta1: number; beta2: number; eps: number; weight_decay: number; clip: number; losses: number[] };
  tensors: Record<string, { offset: number; shape: number[] }>;
}

const index = JSON.parse(readFileSync(new URL("index.json", DIR), "utf8")) as { cases: Record<string, Case> };

/** Max |a-b| relative to max |b| (the torch tensor). */
function relErr(ours: Float32Array, ref: Float32Array, mask?: (i: number) => boolean): { err: number; maxAbs: number } {
  let maxAbs = 0;
  let maxDiff = 0;
  for (let i = 0; i < ref.length; i++) {
    if (mask && !mask(i)) continue;
    maxAbs = Math.max(maxAbs, Math.abs(ref[i]!));
    maxDiff = Math.max(maxDiff, Math.abs(ours[i]! - ref[i]!));
  }
  return { err: maxAbs === 0 ? maxDiff : maxDiff / maxAbs, maxAbs };
}

const backends: [string, Kernels][] = [["reference", referenceKernels]];
const native = getNativeKernels();
if (native) backends.push(["native", native]);

describe.each(backends)("model parity with PyTorch (%s kernels)", (_backendName, k) => {
  for (const [name, c] of Object.entries(index.cases)) {
    it(name, () =>
      withBackend(k, () => {
        const buf = readFileSync(new URL(c.file, DIR));
        const all = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
        const get = (key: string): Float32Array => {
          const e = c.tensors[key];
          if (!e) throw new Error(`fixture ${name}: no tensor ${key}`);
          return all.subarray(e.offset, e.offset + e.shape.reduce((a, d) => a * d, 1));
        };
        const cfg = parseConfig(c.config, `${name}/config.json`);
        const model = new CausalLM(cfg);
        const names = model.params.names();
        const fixtureWeights = Object.keys(c.tensors).filter((t) => t.startsWith("weight:")).map((t) => t.slice(7));
        expect(names.sort()).toEqual(fixtureWeights.sort());
        for (const p of model.params.list) p.data.set(get("weight:" + p.name));
        model.params.allocGrads();

        const { B, T } = c.batch;
        const input = {
          B, T,
          ids: Int32Array.from(c.batch.input_ids.flat()),
          attentionMask: Uint8Array.from(c.batch.attention_mask.flat()),
          labels: Int32Array.from(c.batch.labels.flat()),
        };
        const tape = new Tape();
        const out = tape.run(() => model.loss(input));
        tape.backward(out.loss);

        const report: string[] = [];
        const V = cfg.vocabSize;
        const lg = relErr(out.logits.data, get("logits"), (i) => input.attentionMask[Math.floor(i / V)] === 1);
        report.push(`logits ${lg.err.toExponential(2)}`);
        expect(lg.err).toBeLessThanOrEqual(1e-4);
        const lossErr = Math.abs(out.loss.item() - c.loss) / Math.abs(c.loss);
        report.push(`loss ${lossErr.toExponential(2)}`);
        expect(lossErr).toBeLessThanOrEqual(1e-5);
        let worst = 0;
        for (const p of model.params.list) {
          const { err } = relErr(p.grad!, get("grad:" + p.name));
          worst = Math.max(worst, err);
          report.push(`  grad ${p.name}: ${err.toExponential(2)}`);
          expect(err, `gradient of ${p.name}`).toBeLessThanOrEqual(1e-4);
        }

        // Three AdamW steps with global-norm clipping, from the same start.
        const a = c.adamw;
        for (const p of model.params.list) p.data.set(get("weight:" + p.name));
        const opt = new AdamW(model.parameters(), { lr: a.lr, beta1: a.beta1, beta2: a.beta2, eps: a.eps, weightDecay: a.weight_decay });
        const losses: number[] = [];
        for (let s = 0; s < a.losses.length - 1; s++) {
          zeroGrad(model.parameters());
          const o = tape.run(() => model.loss(input));
          tape.backward(o.loss);
          clipGradNorm(model.parameters(), a.clip);
          opt.step();
          losses.push(o.loss.item());
        }
        losses.push(tape.infer(() => model.loss(input).loss.item()));
        const stepErr = Math.max(...losses.map((l, i) => Math.abs(l - a.losses[i]!) / Math.abs(a.losses[i]!)));
        report.push(`adamw losses ${losses.map((l) => l.toFixed(6)).join(" ")} (torch ${a.losses.map((l) => l.toFixed(6)).join(" ")}) max rel ${stepErr.toExponential(2)}`);
        console.log(`[${k.name}] ${name}: max grad rel err ${worst.toExponential(2)}\n${report.join("\n")}`);
        expect(stepErr).toBeLessThanOrEqual(1e-4);
      }),
    );
  }
});
