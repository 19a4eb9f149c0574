/**
 * LoRA and MoE-LoRA parity with PyTorch: on tiny Llama (GQA, tied), Qwen2 (biases) and Baichuan2
 * (W_pack, NormHead) models with adapters on every linear layer, the loss and the gradient of every
 * adapter tensor (A, B, router, W_noise) must match a float64 plain-torch implementation of the seed's
 * layer math given the same router noise ε (test/fixtures/adapters/, written by
 * scripts/fixtures/adapters_torch_parity.py). One MoE case includes the balance loss. Runs on the
 * reference kernels and, when built, the native ones.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { add, Tape, withBackend, type Kernels } from "../../engine/index.js";
import { getNativeKernels, referenceKernels } from "../../engine/kernels/index.js";
import { parseConfig } from "../architectures.js";
import { CausalLM } from "../model.js";
import { LoraAdapter } from "./adapter.js";
import { LORA_DEFAULTS } from "./config.js";
import { fileTensors, setFromFileTensors } from "./io.js";

const DIR = new URL("../../../test/fixtures/adapters/", import.meta.url);

interface Case {
  config: Record<string, unknown>;
  file: string;
  adapter: { experts: number; r: number; alpha: number; use_rslora: boolean; balance_loss_coef: number };
  batch: { B: number; T: number; input_ids: number[][]; attention_mask: number[][]; labels: number[][] };
  loss: number;
  eps_order: string[];
  tensors: Record<string, { offset: number; shape: number[] }>;
}

const index = JSON.parse(readFileSync(new URL("index.json", DIR), "utf8")) as { cases: Record<string, Case> };

function relErr(ours: Float32Array, ref: Float32Array): number {
  let maxAbs = 0;
  let maxDiff = 0;
  for (let i = 0; i < ref.length; i++) {
    maxAbs = Math.max(maxAbs, Math.abs(ref[i]!));
    maxDiff = Math.max(maxDiff, Math.abs(ours[i]! - ref[i]!));
  }
  return maxAbs === 0 ? maxDiff : maxDiff / maxAbs;
}

const backends: [string, Kernels][] = [["reference", referenceKernels]];
const native = getNativeKernels();
if (native) backends.push(["native", native]);

describe.each(backends)("adapter parity with PyTorch (%s kernels)", (_b, k) => {
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
        const model = new CausalLM(parseConfig(c.config, `${name}/config.json`));
        for (const p of model.params.list) p.data.set(get("weight:" + p.name));
        const a = LoraAdapter.create(model, {
          ...LORA_DEFAULTS, r: c.adapter.r, alpha: c.adapter.alpha, rsLora: c.adapter.use_rslora,
          experts: c.adapter.experts, balanceLossCoef: c.adapter.balance_loss_coef, targetModules: "all",
        });
        // Our file-layout names must be exactly the fixture's (PEFT / seed key names and shapes).
        const ours = fileTensors(a);
        const fixtureKeys = Object.keys(c.tensors).filter((t) => t.startsWith("adapter:")).map((t) => t.slice(8));
        expect(ours.map((t) => t.name).sort()).toEqual(fixtureKeys.sort());
        for (const t of ours) expect(t.shape, t.name).toEqual(c.tensors["adapter:" + t.name]!.shape);
        setFromFileTensors(a, (n) => get("adapter:" + n));
        a.attach(model);
        // Replay the fixture's ε in the order the modules draw it.
        const eps = c.adapter.experts > 1 ? get("eps") : new Float32Array(0);
        let drawn = 0;
        a.train({ uniform: () => 0.5, normal: () => eps[drawn++]! });

        const { B, T } = c.batch;
        const input = { B, T, ids: Int32Array.from(c.batch.input_ids.flat()), attentionMask: Uint8Array.from(c.batch.attention_mask.flat()), labels: Int32Array.from(c.batch.labels.flat()) };
        a.params.allocGrads();
        const tape = new Tape();
        const loss = tape.run(() => {
          const out = model.loss(input).loss;
          const bal = a.balanceLoss();
          return bal ? add(out, bal) : out;
        });
        tape.backward(loss);
        expect(drawn).toBe(eps.length);
        const lossErr = Math.abs(loss.item() - c.loss) / Math.abs(c.loss);
        const report = [`loss ${lossErr.toExponential(2)}`];
        expect(lossErr).toBeLessThanOrEqual(1e-5);
        // Gradients in file layout: convert through the same path as saving.
        const grads = new LoraAdapter(a.settings, a.meta, new Map(a.modules.map((m) => [m, [a.module(m).out, a.module(m).inF] as [number, number]])));
        grads.params.list.forEach((t, i) => t.data.set(a.params.list[i]!.grad!));
        let worst = 0;
        for (const g of fileTensors(grads)) {
          const err = relErr(g.data, get("grad:" + g.name));
          worst = Math.max(worst, err);
          expect(err, `gradient of ${g.name}`).toBeLessThanOrEqual(1e-4);
        }
        expect(model.params.list.every((p) => p.grad === null)).toBe(true);
        console.log(`[${k.name}] ${name}: ${report.join(", ")}, max adapter grad rel err ${worst.toExponential(2)} over ${a.params.list.length} tensors`);
      }),
    );
  }
});
