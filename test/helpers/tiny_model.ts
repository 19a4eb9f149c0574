/**
 * A tiny random chat model on disk for tests and benchmarks that need a real checkpoint directory:
 * a byte-level BPE trained on a few Chinese pediatric sentences (with the default template's
 * tokens), a small Llama with that vocabulary, and the template recorded with the weights.
 * Its answers are noise; it exercises loading, templating, batching and decoding for real.
 */
import { CausalLM, parseConfig, presetConfig, saveModel } from "../../src/model/index.js";
import { saveTrainedBpe, trainBpeTokenizer } from "../../src/tokenizer/index.js";

const TEXTS = [
  "孩子发烧38.5度，精神还好，需要注意补液和观察。",
  "宝宝咳嗽有痰，多拍背，多喝水，呼吸急促要就医。",
  "新生儿黄疸多在两周内消退，加重时要测胆红素。",
  "腹泻时口服补液盐预防脱水，尿少精神差要去医院。",
  "Human: 你好 Assistant: 您好，请问孩子哪里不舒服？",
];

export async function makeTinyModelDir(dir: string, opts: { seed?: number; layers?: number; hidden?: number; context?: number } = {}): Promise<string> {
  const trained = trainBpeTokenizer(TEXTS, { vocabSize: 400, minFrequency: 1, chatTemplateId: "default" });
  saveTrainedBpe(trained, dir);
  const hidden = opts.hidden ?? 32;
  const cfg = parseConfig(
    presetConfig("tiny-llama", {
      vocab_size: trained.vocabSize,
      hidden_size: hidden,
      intermediate_size: hidden * 2,
      num_hidden_layers: opts.layers ?? 2,
      num_attention_heads: 2,
      num_key_value_heads: 1,
      max_position_embeddings: opts.context ?? 512,
    }),
    "tiny test model",
  );
  const model = new CausalLM(cfg, { seed: opts.seed ?? 1 });
  await saveModel(model, dir, { metadata: { template: "default" } });
  return dir;
}
