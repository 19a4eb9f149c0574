/**
 * A training process for the resume test (src/train/trainer/resume.test.ts), run as a real child
 * process so it can be killed with SIGKILL: a tiny Llama trained with gradient accumulation, held-out
 * evaluation and a checkpoint every step, on an objective that drops labels at random from the
 * trainer's stream (so a resume must also reproduce the random draws). Each step is slowed by a
 * fixed sleep so the parent can kill it part-way.
 *
 *   node --import tsx test/helpers/train_child.ts RUN_DIR fresh|resume
 */
import { CausalLM, parseConfig, presetConfig, type LossInput } from "../../src/model/index.js";
import { LanguageModelObjective, packDocuments, packedBlocksSource, train, type Objective } from "../../src/train/index.js";

export const CHILD_STEPS = 24;

/** LM loss with 25% of the labels dropped per step from ctx.rng (a stand-in for dropout). */
function labelDropout(model: CausalLM, sleepMs: number): Objective<LossInput> {
  const lm = new LanguageModelObjective(model);
  const pause = new Int32Array(new SharedArrayBuffer(4));
  return {
    name: "lm-label-dropout",
    trainable: () => lm.trainable(),
    loss(batch, ctx) {
      if (sleepMs > 0 && ctx.training) Atomics.wait(pause, 0, 0, sleepMs);
      const labels = Int32Array.from(batch.labels);
      if (ctx.training) for (let i = 0; i < labels.length; i++) if (ctx.rng.uniform() < 0.25) labels[i] = -100;
      return lm.loss({ ...batch, labels }, ctx);
    },
    check: (plan) => lm.check(plan),
  };
}

export async function runChild(runDir: string, resume: boolean, sleepMs: number): Promise<void> {
  const cfg = parseConfig(presetConfig("tiny-llama", {
    vocab_size: 64, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2, num_attention_heads: 2, num_key_value_heads: 1,
  }), "resume test");
  const model = new CausalLM(cfg, { seed: 1 });
  const data = packDocuments([Array.from({ length: 300 }, (_, i) => 3 + ((i * 7 + (i >> 3)) % 57))], 8, 2);
  const held = packDocuments([Array.from({ length: 60 }, (_, i) => 3 + ((i * 11) % 57))], 8, 2);
  await train(labelDropout(model, sleepMs), packedBlocksSource(data), {
    steps: CHILD_STEPS, batchSize: 4, microBatchSize: 2, lr: 5e-3, seed: 11, runDir,
    evalData: packedBlocksSource(held), evalEvery: 5, checkpointEvery: 1, keepCheckpoints: 2,
    ...(resume ? { resume: true } : {}), progress: false, log: () => {},
  });
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split("/").pop()!)) {
  const [runDir, mode, sleep] = process.argv.slice(2);
  if (!runDir || (mode !== "fresh" && mode !== "resume")) {
    process.stderr.write("usage: train_child.ts RUN_DIR fresh|resume [SLEEP_MS]\n");
    process.exitCode = 2;
  } else {
    await runChild(runDir, mode === "resume", Number(sleep ?? 0));
  }
}
