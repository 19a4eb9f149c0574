/**
 * `pedgpt review …`: the clinician review app. An admin creates a study from two or more models'
 * answer files, adds reviewers and assigns items; reviewers vote in the browser (`review serve`);
 * `review results` prints the majority-vote tallies and Fleiss' κ and can export every vote as CSV.
 */
import { readFileSync } from "node:fs";
import { InvalidArgumentError, type Command } from "commander";
import { writeFileAtomic } from "../../util/atomic.js";
import { buildReviewServer, createStudyFromAnswers, hashPassword, ReviewDb, tallyStudy, votesCsv, DIMENSIONS } from "../../eval/review/index.js";

const collect = (v: string, acc: string[]) => [...acc, v];

function int(flag: string, min: number, max: number) {
  return (v: string): number => {
    if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) throw new InvalidArgumentError(`${flag} must be an integer in ${min}..${max}, got "${v}"`);
    return Number(v);
  };
}

async function readPassword(o: { passwordFile?: string }): Promise<string> {
  if (o.passwordFile) return readFileSync(o.passwordFile, "utf8").replace(/\r?\n$/, "");
  if (process.stdin.isTTY) throw new Error("give the password on stdin (echo … | pedgpt review add-user …) or with --password-file FILE; it is never taken as a flag value");
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8").replace(/\r?\n$/, "");
}

export function register(program: Command): void {
  const review = program.command("review").description("clinician review of model answers (web app, SQLite votes)");

  review.command("create-study")
    .description("create a study comparing two or more models' answers (JSONL with id, question, response)")
    .requiredOption("--db <file>", "review database (created if missing)")
    .requiredOption("--name <study>", "study name")
    .option("--model <name=answers.jsonl>", "a model and its answers (at least twice)", collect, [] as string[])
    .action((o: { db: string; name: string; model: string[] }) => {
      const models = o.model.map((m) => {
        const i = m.indexOf("=");
        if (i <= 0 || i === m.length - 1) throw new InvalidArgumentError(`--model expects NAME=ANSWERS.jsonl, got "${m}"`);
        return { name: m.slice(0, i), answers: m.slice(i + 1) };
      });
      const db = ReviewDb.open(o.db, { create: true });
      try {
        const s = createStudyFromAnswers(db, o.name, models);
        console.log(`study ${o.name}: ${s.items} items to review`);
        for (const [m, n] of Object.entries(s.unusable)) if (n) console.log(`  ${m}: ${n} question(s) without a usable answer (not reviewed)`);
      } finally {
        db.close();
      }
    });

  review.command("add-user")
    .description("add a reviewer or admin; the password is read from stdin or --password-file")
    .requiredOption("--db <file>", "review database")
    .requiredOption("--name <name>", "login name")
    .option("--role <role>", "reviewer or admin", "reviewer")
    .option("--password-file <file>", "read the password from this file")
    .action(async (o: { db: string; name: string; role: string; passwordFile?: string }) => {
      if (o.role !== "reviewer" && o.role !== "admin") throw new InvalidArgumentError(`--role must be reviewer or admin, got "${o.role}"`);
      const hash = await hashPassword(await readPassword(o));
      const db = ReviewDb.open(o.db, { create: true });
      try {
        db.addUser(o.name, o.role, hash);
        console.log(`${o.role} ${o.name} added`);
      } finally {
        db.close();
      }
    });

  review.command("assign")
    .description("give each item of a study to reviewers (round robin, answer order drawn per assignment)")
    .requiredOption("--db <file>", "review database")
    .requiredOption("--study <name>", "study name")
    .requiredOption("--reviewers <names>", "comma-separated reviewer names")
    .option("--per-item <n>", "reviewers per item (defaults to all of them)", int("--per-item", 1, 1000))
    .action((o: { db: string; study: string; reviewers: string; perItem?: number }) => {
      const db = ReviewDb.open(o.db);
      try {
        const ids = db.reviewerIds(o.reviewers.split(",").map((s) => s.trim()).filter(Boolean));
        const n = db.assign(o.study, ids, o.perItem ?? ids.length, () => Math.random() < 0.5);
        console.log(`${n} new assignment(s) in ${o.study}`);
      } finally {
        db.close();
      }
    });

  review.command("serve")
    .description("serve the review web app")
    .requiredOption("--db <file>", "review database")
    .option("--host <host>", "address to listen on", "127.0.0.1")
    .option("--port <n>", "port", int("--port", 0, 65535), 8300)
    .option("--secure-cookies", "mark cookies Secure (when served behind a TLS proxy)")
    .action(async (o: { db: string; host: string; port: number; secureCookies?: boolean }) => {
      const db = ReviewDb.open(o.db);
      const app = buildReviewServer(db, { secureCookies: o.secureCookies === true });
      const addr = await app.listen({ host: o.host, port: o.port });
      console.log(`review app on ${addr} (Ctrl-C to stop)`);
      const stop = async () => {
        await app.close();
        db.close();
        process.exit(0);
      };
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    });

  review.command("results")
    .description("majority votes, win/tie/loss per dimension and Fleiss' κ of a study")
    .requiredOption("--db <file>", "review database")
    .requiredOption("--study <name>", "study name")
    .option("--csv <file>", "also write every vote as CSV")
    .option("--json", "print the tallies as JSON")
    .action(async (o: { db: string; study: string; csv?: string; json?: boolean }) => {
      const db = ReviewDb.open(o.db);
      try {
        const rows = db.voteRows(o.study);
        const r = tallyStudy(o.study, rows);
        if (o.json) console.log(JSON.stringify(r, null, 2));
        else {
          console.log(`${o.study}: ${r.assignments} assignments, ${r.done} done, ${r.skipped} skipped, ${r.flagged} flagged`);
          for (const x of r.outcomes) console.log(`  ${x.modelA} vs ${x.modelB}  ${x.dimension.padEnd(15)} items ${x.items}  win ${x.win}  tie ${x.tie}  loss ${x.loss}`);
          for (const d of DIMENSIONS) console.log(`  Fleiss' κ ${d}: ${r.kappa[d]!.kappa === null ? "n/a (needs two items with two or more votes)" : r.kappa[d]!.kappa!.toFixed(3)}`);
        }
        if (o.csv) {
          await writeFileAtomic(o.csv, votesCsv(rows));
          console.log(`votes written to ${o.csv}`);
        }
      } finally {
        db.close();
      }
    });
}
