/**
 * A tiny starting model and LLaMA-Factory-style datasets for stage tests on either backend: a byte-level
 * BPE tokenizer with the default template, a random Llama saved with it, and in the data folder `sft`
 * (Alpaca rows), `pairs` (ranking rows) and, when asked, `text` (pre-training documents), registered in
 * dataset_info.json.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { generateCorpus } from "../../scripts/fixtures/tokenizer_corpus.js";
import { CausalLM, parseConfig, saveModel } from "../../src/model/index.js";
import { loadTokenizer, saveTrainedBpe, trainBpeTokenizer } from "../../src/tokenizer/index.js";

export interface StageDataOptions {
  /** Alpaca rows in `sft`. */
  sft: number;
  /** Preference pairs in `pairs` (0 = no such dataset). */
  pairs?: number;
  /** Pre-training documents in `text` (0 = no such dataset). */
  text?: number;
  /** config.json fields over the default two-layer Llama (sizes, or a whole preset's config). */
  config?: Record<string, unknown>;
  modelSeed?: number;
  /** Tokenizer training corpus size and vocabulary. */
  tokenizer?: { documents: number; vocabSize: number };
}

const jsonl = (rows: unknown[]) => rows.map((r) => JSON.stringify(r)).join("\n") + "\n";

export async function writeStageData(base: string, data: string, o: StageDataOptions): Promise<void> {
  const t = o.tokenizer ?? { documents: 400, vocabSize: 400 };
  saveTrainedBpe(trainBpeTokenizer(generateCorpus(t.documents, 5), { vocabSize: t.vocabSize, chatTemplateId: "default" }), base);
  const tok = loadTokenizer(base);
  const cfg = parseConfig({
    architectures: ["LlamaForCausalLM"], hidden_size: 32, intermediate_size: 48, num_hidden_layers: 2,
    num_attention_heads: 2, num_key_value_heads: 2, max_position_embeddings: 128, rms_norm_eps: 1e-6, tie_word_embeddings: true,
    ...o.config,
    vocab_size: tok.vocabSize, bos_token_id: tok.bosId, eos_token_id: tok.eosId, pad_token_id: tok.padId,
  }, "test");
  await saveModel(new CausalLM(cfg, { seed: o.modelSeed ?? 3 }), base, { metadata: { template: "default" } });

  mkdirSync(data, { recursive: true });
  const registry: Record<string, unknown> = { sft: { file_name: "sft.jsonl" } };
  writeFileSync(join(data, "sft.jsonl"), jsonl(Array.from({ length: o.sft }, (_, i) => ({ instruction: `孩子发热第${i % 7}天怎么办？`, input: "", output: `多喝水，观察精神，第${i % 5}天复诊。` }))));
  if (o.pairs) {
    writeFileSync(join(data, "pairs.jsonl"), jsonl(Array.from({ length: o.pairs }, (_, i) => ({ prompt: `发热${i % 4}天要去医院吗？`, input: "", chosen: "精神差或持续高热就去医院。", rejected: `不用管${i % 3}。` }))));
    registry.pairs = { file_name: "pairs.jsonl", ranking: true, columns: { prompt: "prompt", query: "input", chosen: "chosen", rejected: "rejected" } };
  }
  if (o.text) {
    writeFileSync(join(data, "text.jsonl"), jsonl(generateCorpus(o.text, 9).map((text) => ({ text }))));
    registry.text = { file_name: "text.jsonl", columns: { prompt: "text" } };
  }
  writeFileSync(join(data, "dataset_info.json"), JSON.stringify(registry));
}
