/**
 * Adapter training benchmark: `npm run bench -- adapters [tiny|small] [--steps N] [--threads N] [--no-torch]`.
 *
 * On the `small` Llama config of the train bench (d=768, 12 layers, 12 heads, ffn 2048, vocab 32000,
 * seq 512, batch 4), one forward + backward + AdamW step of: full fine-tuning, LoRA (r=8, alpha 16, all
 * seven linears per layer) and MoE-LoRA (4 experts, r=8, noisy router), with our engine (native
 * kernels) and with PyTorch 1.13 running the same math (bench/adapters_torch.py: plain-torch Llama,
 * plain-torch adapter modules, same batch and threads), in one run. Reports tokens/s from each
 * engine's best step (a shared machine only slows steps down), the ratios against PyTorch and against
 * our own full fine-tuning (our three modes alternate step by step on one model; PyTorch runs each mode
 * in its own child process afterwards), the trainable share (here, and computed for Baichuan2-7B), and memory:
 * ours as the engine's own allocations (weights, gradients, optimizer moments, activation arena),
 * PyTorch as its child process's peak RSS. Ends with one JSON line. Not a test.
 */
import { execFile } from "node:child_process";
import { cpus } from "node:os";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { AdamW, setBackend, Tape, zeroGrad, type Tensor } from "../src/engine/index.js";
import { getNativeKernels, nativeStatus, setThreads } from "../src/engine/kernels/index.js";
import { LORA_DEFAULTS, LoraAdapter, type AdapterSettings } from "../src/model/adapters/index.js";
import { CausalLM, decoderParamSpecs, parseConfig } from "../src/model/index.js";
import { Rng } from "../src/model/init.js";

const CONFIGS = {
  small: { d: 768, layers: 12, heads: 12, ffn: 2048, vocab: 32000, seq: 512, batch: 4 },
  tiny: { d: 256, layers: 4, heads: 4, ffn: 704, vocab: 32000, seq: 256, batch: 8 },
};
let SMALL = CONFIGS.small;
const MODES = {
  full: null,
  lora: { r: 8, alpha: 16, experts: 1 },
  moe: { r: 8, alpha: 16, experts: 4 },
} as const;
type Mode = keyof typeof MODES;

function hfConfig(): Record<string, unknown> {
  const c = SMALL;
  return {
    architectures: ["LlamaForCausalLM"], vocab_size: c.vocab, hidden_size: c.d, intermediate_size: c.ffn, num_hidden_layers: c.layers,
    num_attention_heads: c.heads, num_key_value_heads: c.heads, max_position_embeddings: c.seq, rope_theta: 10000.0, rms_norm_eps: 1e-6,
    tie_word_embeddings: false, initializer_range: 0.02,
  };
}

/** Baichuan2-7B's shapes (config only; nothing allocated) for the paper's ≈ 0.95 % figure. */
const BAICHUAN2_7B = {
  architectures: ["BaichuanForCausalLM"], vocab_size: 125696, hidden_size: 4096, intermediate_size: 11008, num_hidden_layers: 32,
  num_attention_heads: 32, max_position_embeddings: 4096, model_max_length: 4096, rms_norm_eps: 1e-6, tie_word_embeddings: false,
};

/** Adapter scalars for a config without building the model: per linear, E·r·(in+out), plus 2·(E−1)·in for the router. */
function adapterShare(raw: Record<string, unknown>, E: number, r: number): { adapter: number; base: number } {
  let adapter = 0;
  let base = 0;
  for (const s of decoderParamSpecs(parseConfig(raw, "bench"))) {
    const n = s.shape.reduce((a, b) => a * b, 1);
    base += n;
    if (/^model\.layers\.\d+\..*(_proj|W_pack)\.weight$/.test(s.name)) {
      const [out, inF] = s.shape as [number, number];
      adapter += E * r * (inF + out) + (E > 1 ? 2 * (E - 1) * inF : 0);
    }
  }
  return { adapter, base };
}

interface Result {
  stepS: number[];
  trainable: number;
  memoryBytes: number;
  loss: number;
}

/**
 * Our three modes on one model, alternating one step of each per round (so they see the same machine
 * load); each mode has its own tape (arena) and optimizer.
 */
function oursRuns(model: CausalLM, steps: number, warmup: number): Record<Mode, Result> {
  let seed = 12345;
  const ids = Int32Array.from({ length: SMALL.batch * SMALL.seq }, () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % SMALL.vocab));
  const input = { ids, B: SMALL.batch, T: SMALL.seq, labels: ids };
  const modes = (Object.keys(MODES) as Mode[]).map((mode) => {
    const s = MODES[mode];
    let adapter: LoraAdapter | null = null;
    let params: Tensor[];
    if (s === null) {
      model.params.allocGrads();
      params = model.parameters();
    } else {
      const settings: AdapterSettings = { ...LORA_DEFAULTS, ...s, targetModules: "all" };
      adapter = LoraAdapter.create(model, settings, { seed: 0 });
      adapter.params.allocGrads();
      adapter.train(new Rng(1));
      params = adapter.parameters();
    }
    const opt = new AdamW(params, { lr: 1e-4, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 });
    return { mode, adapter, params, opt, tape: new Tape(), times: [] as number[], loss: NaN };
  });
  for (let i = 0; i < warmup + steps; i++) {
    for (const m of modes) {
      // Attach (freezing the base) or train everything; not timed.
      const detach = m.adapter ? m.adapter.attach(model) : (model.params.setRequiresGrad(true), () => {});
      const t0 = process.hrtime.bigint();
      m.adapter?.nextStep();
      zeroGrad(m.params);
      const out = m.tape.run(() => model.loss(input));
      m.tape.backward(out.loss);
      m.opt.step();
      const dt = Number(process.hrtime.bigint() - t0) / 1e9;
      detach();
      m.loss = out.loss.item();
      console.log(`ours  ${m.mode.padEnd(4)} step ${i}${i < warmup ? " (warm-up)" : ""}: ${dt.toFixed(3)}s loss ${m.loss.toFixed(4)}`);
      if (i >= warmup) m.times.push(dt);
    }
  }
  const out = {} as Record<Mode, Result>;
  for (const m of modes) {
    const trainable = m.params.reduce((n, p) => n + p.size, 0);
    // weights (base + adapter), gradients and both AdamW moments of what trains, the activation arena
    const memoryBytes = 4 * (model.params.count() + (m.adapter ? m.adapter.count() : 0) + 3 * trainable) + m.tape.arena.bytes + m.tape.scratch.bytes;
    out[m.mode] = { stepS: m.times, trainable, memoryBytes, loss: m.loss };
  }
  return out;
}

async function torchRun(mode: Mode, steps: number, warmup: number, threads: number): Promise<(Result & { note: string }) | { error: string }> {
  const script = fileURLToPath(new URL("./adapters_torch.py", import.meta.url));
  const python = process.env.PEDGPT_TORCH_PYTHON ?? "/usr/bin/python3";
  const s = MODES[mode] ?? { r: 8, alpha: 16, experts: 1 };
  const cfg = { mode, ...s, ...SMALL, steps, warmup, threads };
  try {
    const { stdout, stderr } = await promisify(execFile)(python, [script, JSON.stringify(cfg)], { maxBuffer: 1 << 24 });
    for (const l of stderr.trim().split("\n")) if (l) console.log(l);
    const r = JSON.parse(stdout.trim().split("\n").pop()!) as { step_s: number[]; loss: number[]; trainable: number; max_rss_bytes: number; torch: string; threads: number };
    return { stepS: r.step_s, trainable: r.trainable, memoryBytes: r.max_rss_bytes, loss: r.loss.at(-1)!, note: `torch ${r.torch}, ${r.threads} threads` };
  } catch (err) {
    return { error: `PyTorch reference failed (${python} ${script}): ${(err as Error).message.split("\n").slice(0, 3).join(" | ")}` };
  }
}

export default async function main(args: string[]): Promise<void> {
  const flag = (name: string): string | undefined => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const which = args.find((a) => a === "tiny" || a === "small") ?? "small";
  SMALL = CONFIGS[which];
  const steps = Number(flag("--steps") ?? 2);
  const warmup = 1;
  const threads = Number(flag("--threads") ?? Math.min(2, cpus().length));
  const native = getNativeKernels();
  if (!native) {
    const st = nativeStatus();
    console.log(`native addon not available (${st.available ? "" : st.reason}); run \`npm run build:native\` first.`);
    console.log(JSON.stringify({ bench: "adapters", metric: "tokens/s", ours: null, reference: null, ratio: null, error: "native addon not built" }));
    return;
  }
  setBackend(native);
  setThreads(threads);
  console.log(`threads ${threads}; ${which}: d=${SMALL.d} L=${SMALL.layers} ffn=${SMALL.ffn} V=${SMALL.vocab} T=${SMALL.seq} B=${SMALL.batch}; ${warmup} warm-up + ${steps} timed steps per mode`);
  console.log("(shared machine: other work running at the same time makes these timings noisy)");
  const model = new CausalLM(parseConfig(hfConfig(), "bench small"), { seed: 0 });
  const tokens = SMALL.batch * SMALL.seq;
  const rows: Record<string, { ours: Result; torch: (Result & { note: string }) | { error: string } | null }> = {};
  const ours = oursRuns(model, steps, warmup);
  for (const mode of Object.keys(MODES) as Mode[]) {
    const torch = args.includes("--no-torch") ? null : await torchRun(mode, steps, warmup, threads);
    rows[mode] = { ours: ours[mode], torch };
  }
  const tps = (r: Result) => tokens / Math.min(...r.stepS);
  const gb = (b: number) => `${(b / 2 ** 30).toFixed(2)} GiB`;
  const base = model.params.count();
  console.log(`\n${"mode".padEnd(6)} ${"ours tok/s".padStart(11)} ${"torch tok/s".padStart(12)} ${"vs torch".padStart(9)} ${"vs our full".padStart(12)} ${"trainable".padStart(12)} ${"share".padStart(8)} ${"ours mem".padStart(10)} ${"torch RSS".padStart(10)}`);
  const summary: Record<string, unknown> = {};
  for (const [mode, { ours, torch }] of Object.entries(rows)) {
    const t = torch && "stepS" in torch ? tps(torch) : null;
    const vsFull = tps(ours) / tps(rows.full!.ours);
    console.log(
      `${mode.padEnd(6)} ${tps(ours).toFixed(0).padStart(11)} ${(t === null ? "n/a" : t.toFixed(0)).padStart(12)} ${(t === null ? "n/a" : (tps(ours) / t).toFixed(2) + "x").padStart(9)} ${(vsFull.toFixed(2) + "x").padStart(12)} ` +
        `${ours.trainable.toLocaleString("en-US").padStart(12)} ${((100 * ours.trainable) / base).toFixed(3).padStart(7)}% ${gb(ours.memoryBytes).padStart(10)} ${(torch && "stepS" in torch ? gb(torch.memoryBytes) : "n/a").padStart(10)}`,
    );
    if (torch && "error" in torch) console.log(`  torch: ${torch.error}`);
    summary[mode] = {
      ours: Number(tps(ours).toFixed(1)), torch: t === null ? null : Number(t.toFixed(1)), vsTorch: t === null ? null : Number((tps(ours) / t).toFixed(2)),
      vsOurFull: Number(vsFull.toFixed(2)), trainable: ours.trainable, oursMemBytes: ours.memoryBytes, torchRssBytes: torch && "stepS" in torch ? torch.memoryBytes : null,
    };
  }
  const b7 = adapterShare(BAICHUAN2_7B, 4, 8);
  console.log(`trainable share of MoE-LoRA (4 experts, r=8, all linears, routers included) on Baichuan2-7B: ${((100 * b7.adapter) / (b7.adapter + b7.base)).toFixed(3)} % (${(b7.adapter / 1e6).toFixed(1)} M of ${(b7.base / 1e9).toFixed(2)} B); the paper reports ≈ 0.95 %`);
  const moe = summary.moe as { ours: number; torch: number | null; vsTorch: number | null };
  console.log(JSON.stringify({
    bench: "adapters", metric: "tokens/s", ours: moe.ours, reference: moe.torch, ratio: moe.vsTorch,
    modes: summary, baichuan2_7bMoeShare: Number(((100 * b7.adapter) / (b7.adapter + b7.base)).toFixed(3)), threads,
  }));
}
