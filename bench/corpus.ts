/**
 * Corpus benchmark: `npm run bench -- corpus [--mb 1000] [--dir D] [--tokenizer DIR | --no-tokenize]`.
 *
 * 1. Generates (untimed, reused when already there) a synthetic input of about --mb megabytes: Markdown
 *    passage files (~70%) and consultation JSON Lines (~30%), assembled from the bundled sample
 *    corpus's sentences (or built-in seed text when data/sample is absent) with random perturbation,
 *    plus planted exact (~4%) and near (~4%) duplicates.
 * 2. Times the streaming pipeline the builder uses: read (encoding detection, line/JSON parsing) →
 *    clean (normalisation, PII scrubbing, quality filters) → exact + near dedup (MinHash/LSH) →
 *    tokenize (a tokenizer.json / tokenizer.model directory, or a tiny BPE trained on the sample
 *    before timing starts when the tokenizer module is present).
 * Reports MB/s of input, per-stage seconds, dedup rates, the dedup index size and peak RSS, and ends
 * with one JSON line. Memory is bounded: nothing holds the corpus; only the dedup index grows, by
 * kept document (see src/corpus/clean/dedup.ts).
 */
import { createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";
import { Deduper } from "../src/corpus/clean/dedup.js";
import { qualityCheck } from "../src/corpus/clean/filters.js";
import { normalizeText } from "../src/corpus/clean/normalize.js";
import { emptyPiiCounts, scrubPii } from "../src/corpus/clean/pii.js";
import { IssueSink } from "../src/corpus/errors.js";
import { readConsultations } from "../src/corpus/readers/dialogues.js";
import { readPassageFile } from "../src/corpus/readers/passages.js";
import { loadTokenCounter, type TokenCounter } from "../src/corpus/tokens.js";
import { mulberry32 as rng } from "../src/util/random.js";

const repo = resolve(fileURLToPath(new URL("..", import.meta.url)));

function arg(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}


const SEED_TEXT = [
  "发热是儿童最常见的症状之一，多数由自限性的病毒感染引起。",
  "家长应注意补充水分，观察孩子的精神状态、尿量和进食情况。",
  "体温超过38.5℃且孩子明显不适时，可按体重使用退热药。",
  "三个月以下婴儿发热、精神差、抽搐或呼吸困难时应立即就医。",
  "手足口病多见于五岁以下儿童，表现为发热和手足口腔疱疹。",
  "腹泻时要预防脱水，可以使用口服补液盐，少量多次喂服。",
  "按时接种疫苗是预防多种传染病最有效的方法。",
  "湿疹护理的关键是保湿，洗澡水温不宜过高，衣物宜选纯棉。",
];

/** Sentences of the bundled sample corpus (passages and consultations), or the seed text. */
function sentencePool(): string[] {
  const out: string[] = [];
  const dir = join(repo, "data", "sample", "passages");
  if (existsSync(dir)) {
    for (const f of readdirSync(dir).filter((x) => x.endsWith(".md"))) {
      for (const line of readFileSync(join(dir, f), "utf8").split("\n")) {
        if (line.startsWith("#") || line.startsWith("<!--") || line.trim() === "") continue;
        for (const s of line.split(/(?<=[。！？])/)) if (s.trim().length >= 6) out.push(s.trim());
      }
    }
  }
  return out.length >= 50 ? out : SEED_TEXT;
}

const CJK_NOISE = "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处队南给色光门即保治北造百规热领七海口东导器压志世金增争济阶油思术极交受联什认六共权收证改清己美再采转更单风切打白教速花带安场身车例真务具万每目至达走积示议声报斗完类八离华名确才科张信马节话米整空元况今集温传土许步群广石记需段研界拉林律叫且究观越织装影算低持音众书布复容儿须际商非验连断深难近矿千周委素技备半办青省列习响约支般史感劳便团往酸历市克何除消构府称太准精值号率族维划选标写存候毛亲快效斯院查江型眼王按格养易置派层片始却专状育厂京识适属圆包火住调满县局照参红细引听该铁价严";

function perturb(s: string, r: () => number, rate: number): string {
  let out = "";
  for (const ch of s) out += r() < rate && /[\u4e00-\u9fff]/.test(ch) ? CJK_NOISE[Math.floor(r() * CJK_NOISE.length)]! : ch;
  return out;
}

async function writeAll(path: string, gen: () => string | null): Promise<number> {
  const ws = createWriteStream(path, { encoding: "utf8", highWaterMark: 1 << 20 });
  let bytes = 0;
  for (;;) {
    const s = gen();
    if (s === null) break;
    bytes += Buffer.byteLength(s);
    if (!ws.write(s)) await new Promise<void>((r) => ws.once("drain", () => r()));
  }
  await new Promise<void>((r, j) => ws.end((e?: Error | null) => (e ? j(e) : r())));
  return bytes;
}

/** Generate ~mb MB: Markdown passage files of ~64 MB each and one consultations JSONL per 3 passage files. */
async function generate(dir: string, mb: number): Promise<void> {
  const marker = join(dir, `.generated-v2-${mb}mb`);
  if (existsSync(marker)) return;
  mkdirSync(dir, { recursive: true });
  const pool = sentencePool();
  const r = rng(12345);
  const target = mb * 1e6;
  const fileBytes = Math.min(64e6, Math.max(1e6, target / 8));
  let total = 0;
  let fileNo = 0;
  const fresh = (): string => {
    const n = 3 + Math.floor(r() * 5);
    let p = "";
    for (let i = 0; i < n; i++) p += perturb(pool[Math.floor(r() * pool.length)]!, r, 0.15);
    return p + `（编号${Math.floor(r() * 1e9)}）`;
  };
  // One builder document (a passage section, or a consultation) per unit; ~4% exact and ~4% near
  // duplicates of earlier units are planted so dedup has real work.
  const recent: string[][] = [];
  const unit = (parts: number): string[] => {
    const x = r();
    if (x < 0.08 && recent.length) {
      const src = recent[Math.floor(r() * recent.length)]!;
      if (src.length === parts) return x < 0.04 ? src : src.map((p) => perturb(p, r, 0.02));
    }
    const u = Array.from({ length: parts }, fresh);
    if (recent.length < 2000) recent.push(u);
    else recent[Math.floor(r() * recent.length)] = u;
    return u;
  };
  while (total < target) {
    fileNo++;
    const jsonl = fileNo % 4 === 0;
    const path = join(dir, jsonl ? `c${String(fileNo).padStart(4, "0")}.jsonl` : `p${String(fileNo).padStart(4, "0")}.md`);
    let written = 0;
    let sec = 0;
    const limit = Math.min(fileBytes, target - total + 1);
    written = await writeAll(path, () => {
      if (written >= limit) return null;
      let s: string;
      if (jsonl) {
        const u = unit(5);
        const turns = u.slice(0, 4).map((text, t) => ({ role: t % 2 ? "doctor" : "patient", text }));
        s = JSON.stringify({ id: `g${fileNo}-${sec++}`, department: "儿科", age: "3岁", turns, advice: u[4] }) + "\n";
      } else {
        const u = unit(2);
        s = (sec % 20 === 0 ? `# 合成主题${fileNo}-${sec}\n\n` : "") + `## 小节${sec++}\n\n${u[0]}\n\n${u[1]}\n\n`;
      }
      written += Buffer.byteLength(s);
      return s;
    });
    total += written;
  }
  writeFileSync(marker, `${total}\n`);
}

async function tinyTokenizer(dir: string): Promise<string | null> {
  const tdir = join(dir, "tiny-bpe");
  if (existsSync(join(tdir, "tokenizer.json"))) return tdir;
  try {
    const spec = "../src/tokenizer/bpe_train.js";
    const m = (await import(spec)) as { trainBpeTokenizer(t: Iterable<string>, o: { vocabSize: number }): unknown; saveTrainedBpe(t: unknown, d: string): void };
    m.saveTrainedBpe(m.trainBpeTokenizer(sentencePool(), { vocabSize: 2000 }), tdir);
    return tdir;
  } catch (err) {
    console.error(`(no tokenizer: ${(err as Error).message})`);
    return null;
  }
}

export default async function main(args: string[]): Promise<void> {
  const mb = Number(arg(args, "--mb") ?? 1000);
  if (!Number.isFinite(mb) || mb <= 0) throw new Error(`--mb must be a positive number, got ${arg(args, "--mb")}`);
  const dir = resolve(arg(args, "--dir") ?? join(tmpdir(), `pedgpt-bench-corpus-${mb}mb`));
  console.error(`generating ~${mb} MB of synthetic corpus input in ${dir} (untimed; reused if present)…`);
  const g0 = performance.now();
  await generate(dir, mb);
  console.error(`  ready in ${((performance.now() - g0) / 1000).toFixed(1)} s`);
  let tokenizer: TokenCounter | null = null;
  if (!args.includes("--no-tokenize")) {
    const tdir = arg(args, "--tokenizer") ?? (await tinyTokenizer(dir));
    if (tdir) tokenizer = await loadTokenCounter(resolve(tdir));
  }
  const files = readdirSync(dir).filter((f) => f.endsWith(".md") || f.endsWith(".jsonl")).sort().map((f) => join(dir, f));
  const inputBytes = files.reduce((a, f) => a + statSync(f).size, 0);

  let peakRss = process.memoryUsage().rss;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 100);
  const sink = new IssueSink("skip-and-report");
  const dedup = new Deduper();
  const pii = emptyPiiCounts();
  let docs = 0;
  let filtered = 0;
  let tokens = 0;
  let tokChars = 0;
  let cpuTok = 0;
  let tokBytes = 0;
  // Tokenizers run at ~10^5–10^6 chars/s, far below the rest: tokenize a prefix and report its rate
  // separately (the headline MB/s excludes it when it is a prefix).
  const tokenizeChars = Number(arg(args, "--tokenize-mb") ?? 20) * 1e6 / 3;
  let chars = 0;
  let tClean = 0;
  let tDedup = 0;
  let tTok = 0;
  const process1 = (raw: string, names: boolean) => {
    const a = performance.now();
    const text = scrubPii(normalizeText(raw), { names }, pii);
    const bad = qualityCheck(text);
    const b = performance.now();
    tClean += b - a;
    docs++;
    chars += text.length;
    if (bad) {
      filtered++;
      return;
    }
    const dup = dedup.check(text);
    const c = performance.now();
    tDedup += c - b;
    if (!dup && tokenizer && tokChars < tokenizeChars) {
      const u0 = process.cpuUsage();
      tokens += tokenizer.count(text);
      const u = process.cpuUsage(u0);
      cpuTok += (u.user + u.system) / 1e6;
      tokChars += text.length;
      tokBytes += Buffer.byteLength(raw);
      tTok += performance.now() - c;
    }
  };
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let doneBytes = 0;
  let lastReport = t0;
  for (const f of files) {
    if (f.endsWith(".md")) {
      for await (const sec of readPassageFile(f, sink)) process1(sec.value.paragraphs.join("\n\n"), false);
    } else {
      for await (const c of readConsultations(f, sink)) {
        const v = c.value;
        process1(v.turns.map((t) => t.text).join("\n") + (v.advice ? `\n${v.advice}` : ""), true);
      }
    }
    doneBytes += statSync(f).size;
    const now = performance.now();
    if (now - lastReport > 5000) {
      lastReport = now;
      console.error(`  ${(doneBytes / 1e6).toFixed(0)} / ${(inputBytes / 1e6).toFixed(0)} MB, ${((doneBytes / 1e6) / ((now - t0) / 1000)).toFixed(2)} MB/s, RSS ${(process.memoryUsage().rss / 1e6).toFixed(0)} MB`);
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  // On a shared machine wall time depends on load; CPU seconds of this process are a steadier measure.
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  clearInterval(sampler);
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  const d = dedup.stats();
  const noTokSec = seconds - tTok / 1000;
  const readSec = noTokSec - (tClean + tDedup) / 1000;
  const mbps = inputBytes / 1e6 / noTokSec;
  const tokMbps = tTok > 0 ? tokBytes / 1e6 / (tTok / 1000) : null;
  // Whole pipeline rate if every document were tokenized at the measured tokenizer rate.
  const withTok = tokMbps ? 1 / (1 / mbps + 1 / tokMbps) : null;
  const r2 = (x: number) => Math.round(x * 100) / 100;
  console.error(
    [
      `input ${(inputBytes / 1e6).toFixed(1)} MB in ${files.length} files, ${docs} documents (${chars} chars), ${sink.count} bad records, ${filtered} filtered`,
      `read+clean+dedup ${noTokSec.toFixed(1)} s: read ${readSec.toFixed(1)} s, clean ${(tClean / 1000).toFixed(1)} s, dedup ${(tDedup / 1000).toFixed(1)} s → ${mbps.toFixed(2)} MB/s`,
      tokenizer
        ? `tokenize (${tokenizer.name}) on the first ${(tokBytes / 1e6).toFixed(1)} MB: ${(tTok / 1000).toFixed(1)} s, ${tokens} tokens → ${tokMbps!.toFixed(2)} MB/s; whole pipeline with tokenize ≈ ${withTok!.toFixed(2)} MB/s`
        : "tokenize: skipped (no tokenizer)",
      `CPU time ${cpuSeconds.toFixed(1)} s for ${seconds.toFixed(1)} s wall (tokenize ${cpuTok.toFixed(1)} CPU s); ${(inputBytes / 1e6 / (cpuSeconds - cpuTok)).toFixed(2)} MB per CPU-second for read+clean+dedup`,
      `dedup: ${d.exactDups} exact + ${d.nearDups} near of ${d.seen} (${(100 * d.dedupRate).toFixed(2)}%), index ${(dedup.indexBytes / 1e6).toFixed(1)} MB for ${d.kept} kept documents`,
      `peak RSS ${(peakRss / 1e6).toFixed(0)} MB`,
    ].join("\n"),
  );
  console.log(
    JSON.stringify({
      bench: "corpus",
      metric: "MB/s",
      ours: r2(mbps),
      reference: null,
      ratio: null,
      stages: "read+clean+dedup",
      tokenize_mb_s: tokMbps === null ? null : r2(tokMbps),
      with_tokenize_mb_s: withTok === null ? null : r2(withTok),
      tokenized_mb: r2(tokBytes / 1e6),
      input_mb: Math.round(inputBytes / 1e5) / 10,
      documents: docs,
      seconds: Math.round(seconds * 10) / 10,
      cpu_seconds: Math.round(cpuSeconds * 10) / 10,
      mb_per_cpu_second: r2(inputBytes / 1e6 / (cpuSeconds - cpuTok)),
      tokenize_cpu_seconds: Math.round(cpuTok * 10) / 10,
      stage_seconds: { read: Math.round(readSec * 10) / 10, clean: Math.round(tClean / 100) / 10, dedup: Math.round(tDedup / 100) / 10, tokenize: Math.round(tTok / 100) / 10 },
      dedup_rate: Math.round(d.dedupRate * 10000) / 10000,
      exact_dups: d.exactDups,
      near_dups: d.nearDups,
      dedup_index_mb: Math.round(dedup.indexBytes / 1e5) / 10,
      tokenizer: tokenizer?.name ?? null,
      tokens,
      peak_rss_mb: Math.round(peakRss / 1e6),
    }),
  );
}
