/**
 * `pedgpt safety …`: check an answer, calculate a weight-based dose, triage a question, summarise the
 * knowledge base, and regenerate the labelled test set. Option parsing only; the work is in src/safety.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import type { Command } from "commander";
import {
  calculateDose, checkAnswer, evaluateSafety, fmtAge, loadSafetyKnowledge, parseAge, parseWeight, readSafetyItems, renderAnnotations, triage,
  type CheckResult, type DoseRefusal, type DoseResult, type Route,
} from "../../safety/index.js";
import { writeTestSet } from "../../safety/testset.js";
import { writeFileAtomic } from "../../util/atomic.js";
import { withPath } from "../../util/errors.js";

/**
 * Whether an argument could be meant as a file path: one word (no spaces, no Chinese sentence
 * punctuation) with a path separator or a file extension. Such an argument is never scored as text.
 */
export function looksLikePath(arg: string): boolean {
  if (/[\s，。！？；：、（）“”]/.test(arg)) return false;
  return /[\\/]/.test(arg) || /\.[A-Za-z0-9]{1,6}$/.test(arg) || arg.startsWith("~");
}

/**
 * The text of an argument that is text, a file path or "-" (stdin). A path-looking argument that is
 * missing or a folder is an error: the path string itself would otherwise be checked as the answer.
 */
export function readInput(arg: string, what: string, textFlag: string): string {
  if (arg === "-") return readFileSync(0, "utf8");
  if (existsSync(arg)) {
    if (statSync(arg).isFile()) return readFileSync(arg, "utf8");
    throw new Error(`${what} "${arg}" is a folder; give a file, - for stdin, or the text with ${textFlag}`);
  }
  if (looksLikePath(arg)) throw new Error(`${what} "${arg}": no such file; to check this string as text, pass it with ${textFlag}`);
  return arg;
}

const weightOpt = (v: string): number => parseWeight(v, { requireUnit: true });
const ageOpt = (v: string): number => parseAge(v, { requireUnit: true });

function printCheck(r: CheckResult, answer: string): void {
  const p = r.patient;
  const who = [
    p.ageMonths !== undefined ? `年龄 ${fmtAge(p.ageMonths)}（${p.ageSource}）` : "年龄未知",
    p.weightKg !== undefined ? `体重 ${p.weightKg} kg（${p.weightSource}）` : "体重未知",
  ].join("，");
  console.log(`患儿：${who}`);
  console.log(`药物提及：${r.mentions.map((m) => `${m.text}→${m.drug}${m.stance === "asserted" ? "" : `(${m.stance})`}`).join("，") || "无"}`);
  if (r.banner) console.log(`\n${r.banner}`);
  if (!r.findings.length) console.log("\n未发现问题。");
  for (const f of r.findings) {
    const src = f.evidence.source === "answer" ? "回答" : "问题";
    console.log(`\n[${f.severity}] ${f.type} (${f.ruleId}) ${src}[${f.evidence.start},${f.evidence.end}) “${f.evidence.text}”`);
    console.log(`  ${f.message}`);
    if (f.citations.length) console.log(`  依据：${f.citations.join("；")}`);
  }
  console.log(`\n安全分：${r.score}（回答 ${answer.length} 字）`);
}

function printDose(r: DoseResult | DoseRefusal): void {
  if (!r.ok) {
    console.log(`拒绝计算${r.drug ? `（${r.drug.nameZh} ${r.drug.nameEn}）` : ""}：`);
    for (const reason of r.reasons) console.log(`  - ${reason}`);
    if (r.citations.length) console.log(`依据：${r.citations.join("；")}`);
    return;
  }
  console.log(`${r.drug.nameZh}（${r.drug.nameEn}），${r.indication}，途径 ${r.route}`);
  console.log(`体重 ${r.weightKg} kg${r.weightEstimated ? "（按年龄估计）" : ""}${r.ageMonths !== undefined ? `，年龄 ${fmtAge(r.ageMonths)}` : ""}`);
  console.log(`每次：${r.perDoseMg[0]}–${r.perDoseMg[1]} mg（${r.perDoseMgPerKg.map((x) => Number(x.toPrecision(3))).join("–")} mg/kg）`);
  console.log(`每日：${r.dailyMg[0]}–${r.dailyMg[1]} mg；间隔 ${r.intervalHours[0]}–${r.intervalHours[1]} 小时${r.maxDosesPerDay ? `，每日最多 ${r.maxDosesPerDay} 次` : ""}`);
  const caps = [r.maxSingleDoseMg ? `单次最大 ${r.maxSingleDoseMg} mg` : "", r.maxDailyDoseMg ? `每日最大 ${r.maxDailyDoseMg} mg` : ""].filter(Boolean);
  if (caps.length) console.log(`上限：${caps.join("，")}${r.cappedBy.length ? `（本次受限于：${r.cappedBy.join("，")}）` : ""}`);
  for (const v of r.volumes) {
    const amount = v.perDose[0] === v.perDose[1] ? `${v.perDose[0]}` : `${v.perDose[0]}–${v.perDose[1]}`;
    console.log(`  ${v.formulation}（${v.strength}）：每次 ${amount} ${v.unit}${v.note ? `  ${v.note}` : ""}`);
  }
  for (const n of [...r.notes, ...r.warnings]) console.log(`  * ${n}`);
  console.log(`依据：${r.citations.join("；")}`);
}

export function register(program: Command): void {
  const safety = program.command("safety").description("pediatric safety layer: answer checks, dose calculator, red-flag triage");

  safety
    .command("check")
    .description("check an answer (a file path, - for stdin, or text) for drug, age, dose and urgent-care problems")
    .argument("[answer]", "answer file path, - for stdin, or text (text that could be a path needs --text)")
    .option("--text <answer>", "the answer as text, never read as a path")
    .option("-q, --question <text>", "the question the answer replies to (file path or text)")
    .option("--question-text <text>", "the question as text, never read as a path")
    .option("--age <age>", "patient age with its unit: 2y, 18m, 10d, 3岁, 8个月", ageOpt)
    .option("--weight <weight>", "patient weight with its unit: 12kg, 12公斤, 24斤", weightOpt)
    .option("--json", "print the result as JSON")
    .action((answerArg: string | undefined, opts: { text?: string; question?: string; questionText?: string; age?: number; weight?: number; json?: boolean }) => {
      if ((answerArg === undefined) === (opts.text === undefined)) throw new Error("give the answer either as an argument (file path, - for stdin, or text) or with --text, exactly once");
      if (opts.question !== undefined && opts.questionText !== undefined) throw new Error("give the question with --question or --question-text, not both");
      const answer = opts.text ?? readInput(answerArg!, "answer", "--text");
      const question = opts.questionText ?? (opts.question !== undefined ? readInput(opts.question, "--question", "--question-text") : undefined);
      if (answer.trim() === "") throw new Error(`the answer${answerArg && answerArg !== "-" ? ` in ${answerArg}` : ""} is empty; nothing to check`);
      const r = checkAnswer(answer, {
        ...(question !== undefined ? { question } : {}),
        ...(opts.age !== undefined ? { age: opts.age } : {}),
        ...(opts.weight !== undefined ? { weight: opts.weight } : {}),
      });
      if (opts.json) console.log(JSON.stringify({ findings: r.findings, mentions: r.mentions, patient: r.patient, score: r.score, banner: r.banner }, null, 2));
      else printCheck(r, answer);
    });

  safety
    .command("score")
    .description("check a JSONL file of question/answer pairs (e.g. model outputs) and summarise safety: mean score, flagged share, findings per type")
    .argument("<file>", "JSONL with answer (or response/output) and question (or prompt/instruction), optional age, weight")
    .option("--out <file>", "write one JSON line per answer with its findings and score")
    .option("--json", "print the summary as JSON")
    .action(async (file: string, opts: { out?: string; json?: boolean }) => {
      const items = withPath(file, () => readSafetyItems(file));
      if (items.length === 0) throw new Error(`${file}: no question/answer items; nothing to score`);
      const { summary, results } = evaluateSafety(items);
      if (opts.out) await writeFileAtomic(opts.out, results.map((r, i) => JSON.stringify({ index: i, score: r.score, findings: r.findings, annotation: renderAnnotations(r) })).join("\n") + "\n");
      if (opts.json) console.log(JSON.stringify(summary, null, 2));
      else {
        console.log(`${summary.answers} answers: mean safety score ${summary.meanScore}, ${(summary.flaggedRate * 100).toFixed(1)}% with findings`);
        for (const [t, n] of Object.entries(summary.perType)) console.log(`  ${t}: ${n}`);
      }
    });

  safety
    .command("dose")
    .description("weight-based dose for a drug, with volumes for common formulations, or a refusal with reasons")
    .requiredOption("--drug <name>", "drug name (Chinese, English, alias or brand)")
    .option("--weight <weight>", "weight with its unit: 12kg, 12公斤, 24斤", weightOpt)
    .option("--age <age>", "age with its unit: 2y, 18m, 10d, 3岁, 8个月", ageOpt)
    .option("--indication <text>", "indication, e.g. 发热, 中耳炎")
    .option("--route <route>", "route: oral, rectal, iv, im, buccal …")
    .option("--json", "print the result as JSON")
    .action((opts: { drug: string; weight?: number; age?: number; indication?: string; route?: string; json?: boolean }) => {
      const r = calculateDose({
        drug: opts.drug,
        ...(opts.weight !== undefined ? { weightKg: opts.weight } : {}),
        ...(opts.age !== undefined ? { ageMonths: opts.age } : {}),
        ...(opts.indication ? { indication: opts.indication } : {}),
        ...(opts.route ? { route: opts.route as Route } : {}),
      });
      if (opts.json) console.log(JSON.stringify(r, null, 2));
      else printDose(r);
    });

  safety
    .command("triage")
    .description("find red flags in a question and print the advised action")
    .argument("[question]", "question file path, - for stdin, or text (text that could be a path needs --text)")
    .option("--text <question>", "the question as text, never read as a path")
    .option("--age <age>", "age when not in the text, with its unit: 2y, 18m, 10d", ageOpt)
    .option("--json", "print the result as JSON")
    .action((arg: string | undefined, opts: { text?: string; age?: number; json?: boolean }) => {
      if ((arg === undefined) === (opts.text === undefined)) throw new Error("give the question either as an argument (file path, - for stdin, or text) or with --text, exactly once");
      const question = opts.text ?? readInput(arg!, "question", "--text");
      if (question.trim() === "") throw new Error(`the question${arg && arg !== "-" ? ` in ${arg}` : ""} is empty; nothing to triage`);
      const r = triage(question, opts.age !== undefined ? { ageMonths: opts.age } : {});
      if (opts.json) console.log(JSON.stringify(r, null, 2));
      else if (!r.banner) console.log("未发现危险信号。");
      else {
        console.log(r.banner);
        for (const h of r.redFlags) console.log(`  - ${h.nameZh}：“${h.evidence.text}” [${h.evidence.start},${h.evidence.end}) → ${h.actionZh}`);
      }
    });

  safety
    .command("kb")
    .description("summarise the safety knowledge base (sizes, version)")
    .option("--json", "print as JSON")
    .action((opts: { json?: boolean }) => {
      const kb = loadSafetyKnowledge();
      const stats = {
        kbVersion: kb.kbVersion,
        dir: kb.dir,
        drugs: kb.drugs.length,
        names: kb.drugs.reduce((n, d) => n + d.names.length, 0),
        classes: kb.classes.size,
        doseRules: kb.drugs.reduce((n, d) => n + d.doses.length, 0),
        drugsWithDoseRules: kb.drugs.filter((d) => d.doses.length).length,
        ageRules: kb.drugs.filter((d) => d.ageRule).length,
        formulations: kb.drugs.reduce((n, d) => n + d.formulations.length, 0),
        redFlags: kb.redFlags.length,
        redFlagTerms: kb.redFlags.reduce((n, f) => n + f.terms.length, 0),
        sources: kb.sources.size,
      };
      if (opts.json) console.log(JSON.stringify(stats, null, 2));
      else for (const [k, v] of Object.entries(stats)) console.log(`${k}: ${v}`);
    });

  safety
    .command("testset")
    .description("regenerate the labelled safety test set (data/safety/testset.jsonl) from templates and the hand-written cases")
    .option("--out <file>", "output file (default: the knowledge-base directory's testset.jsonl)")
    .action((opts: { out?: string }) => {
      const r = writeTestSet(opts.out);
      console.log(`wrote ${r.rows} rows (${r.dev} dev, ${r.test} test) to ${r.file}`);
    });
}
