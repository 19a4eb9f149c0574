/**
 * The clinician review store: one SQLite file (better-sqlite3) holding users, studies, items,
 * assignments, votes and login sessions. Every statement the app runs is here, so what can be read or
 * written — and by whom, since every reviewer query takes the reviewer's id — is visible in one place.
 *
 * Not here: HTTP (server.ts), passwords and tokens (auth.ts), tallies (results.ts).
 */
import { existsSync } from "node:fs";
import Database from "better-sqlite3";

export const DIMENSIONS = ["professionalism", "factuality", "safety"] as const;
export type Dimension = (typeof DIMENSIONS)[number];
/** A vote in terms of the two models of a pair: model A better, model B better, or a tie. */
export type Choice = "A" | "B" | "tie";

export class ReviewDbError extends Error {
  constructor(readonly file: string, message: string) {
    super(`${file}: ${message}`);
    this.name = "ReviewDbError";
  }
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS users (
  id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, role TEXT NOT NULL CHECK (role IN ('admin','reviewer')),
  password TEXT NOT NULL, created TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS studies (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, created TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS study_models (study_id INTEGER NOT NULL REFERENCES studies(id), idx INTEGER NOT NULL, name TEXT NOT NULL, source TEXT NOT NULL, PRIMARY KEY (study_id, idx));
-- One item = one question and the answers of two models (a study of N models has a pair per item and pair of models).
CREATE TABLE IF NOT EXISTS items (
  id INTEGER PRIMARY KEY, study_id INTEGER NOT NULL REFERENCES studies(id), item_key TEXT NOT NULL, question TEXT NOT NULL,
  model_a INTEGER NOT NULL, model_b INTEGER NOT NULL, answer_a TEXT NOT NULL, answer_b TEXT NOT NULL,
  UNIQUE (study_id, item_key, model_a, model_b));
-- swapped = 1: the reviewer sees model B's answer first (drawn once, when assigned).
CREATE TABLE IF NOT EXISTS assignments (
  id INTEGER PRIMARY KEY, item_id INTEGER NOT NULL REFERENCES items(id), reviewer_id INTEGER NOT NULL REFERENCES users(id),
  swapped INTEGER NOT NULL, status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open','done','skipped')),
  flagged INTEGER NOT NULL DEFAULT 0, comment TEXT, updated TEXT, UNIQUE (item_id, reviewer_id));
CREATE TABLE IF NOT EXISTS votes (
  assignment_id INTEGER NOT NULL REFERENCES assignments(id), dimension TEXT NOT NULL, choice TEXT NOT NULL CHECK (choice IN ('A','B','tie')),
  PRIMARY KEY (assignment_id, dimension));
CREATE TABLE IF NOT EXISTS sessions (token_hash TEXT PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id), csrf TEXT NOT NULL, expires INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS login_failures (key TEXT NOT NULL, at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS login_failures_key ON login_failures (key, at);
`;

export interface User {
  id: number;
  name: string;
  role: "admin" | "reviewer";
  password: string;
}

export interface AssignmentView {
  id: number;
  study: string;
  itemKey: string;
  question: string;
  /** Answers in the order this reviewer sees them ("回答 1", "回答 2"); model names never leave the server. */
  first: string;
  second: string;
  swapped: boolean;
  status: "open" | "done" | "skipped";
  flagged: boolean;
  comment: string | null;
  /** Votes in terms of what the reviewer saw: "1", "2" or "tie". */
  votes: Partial<Record<Dimension, "1" | "2" | "tie">>;
}

export interface VoteRow {
  study: string;
  itemKey: string;
  modelA: string;
  modelB: string;
  reviewer: string;
  status: string;
  flagged: number;
  comment: string | null;
  dimension: string | null;
  choice: Choice | null;
}

export class ReviewDb {
  private constructor(readonly file: string, private readonly db: Database.Database) {}

  /** Opens the store; a missing file is an error unless `create` (then it is made with the schema). */
  static open(file: string, o: { create?: boolean } = {}): ReviewDb {
    if (!o.create && !existsSync(file)) throw new ReviewDbError(file, "no review database here (create one with `pedgpt review create-study`)");
    let db: Database.Database;
    try {
      db = new Database(file, { fileMustExist: !o.create, timeout: 2000 });
      db.pragma("journal_mode = WAL");
      db.pragma("foreign_keys = ON");
      db.exec(SCHEMA);
      const v = db.prepare("SELECT value FROM meta WHERE key = 'format'").get() as { value: string } | undefined;
      if (!v) db.prepare("INSERT INTO meta (key, value) VALUES ('format', 'pedgpt-review-1')").run();
      else if (v.value !== "pedgpt-review-1") throw new ReviewDbError(file, `format ${v.value}; this version reads pedgpt-review-1`);
    } catch (e) {
      throw ReviewDb.explain(file, e);
    }
    return new ReviewDb(file, db);
  }

  /** SQLite errors in words: a locked database, a file that is not SQLite. */
  static explain(file: string, e: unknown): Error {
    if (e instanceof ReviewDbError) return e;
    const code = (e as { code?: string }).code ?? "";
    if (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED")) return new ReviewDbError(file, "the review database is locked by another process; try again when it has finished");
    if (code === "SQLITE_NOTADB") return new ReviewDbError(file, "is not an SQLite database");
    if (code === "SQLITE_CANTOPEN") return new ReviewDbError(file, "cannot be opened (missing folder or no permission)");
    return new ReviewDbError(file, (e as Error).message);
  }

  /** Runs `fn` in one transaction, with SQLite errors explained. */
  tx<T>(fn: () => T): T {
    try {
      return this.db.transaction(fn)();
    } catch (e) {
      throw ReviewDb.explain(this.file, e);
    }
  }

  close(): void {
    this.db.close();
  }

  // Users and sessions ---------------------------------------------------------------------------

  addUser(name: string, role: User["role"], passwordHash: string): number {
    return this.tx(() => {
      if (this.db.prepare("SELECT 1 FROM users WHERE name = ?").get(name)) throw new ReviewDbError(this.file, `user ${JSON.stringify(name)} exists`);
      return Number(this.db.prepare("INSERT INTO users (name, role, password, created) VALUES (?, ?, ?, ?)").run(name, role, passwordHash, new Date().toISOString()).lastInsertRowid);
    });
  }

  userByName(name: string): User | undefined {
    return this.db.prepare("SELECT id, name, role, password FROM users WHERE name = ?").get(name) as User | undefined;
  }

  reviewerIds(names: readonly string[]): number[] {
    return names.map((n) => {
      const u = this.userByName(n);
      if (!u) throw new ReviewDbError(this.file, `no user ${JSON.stringify(n)} (add it with \`pedgpt review add-user\`)`);
      return u.id;
    });
  }

  createSession(tokenHash: string, userId: number, csrf: string, expires: number): void {
    this.db.prepare("INSERT INTO sessions (token_hash, user_id, csrf, expires) VALUES (?, ?, ?, ?)").run(tokenHash, userId, csrf, expires);
  }

  session(tokenHash: string, now: number): { user: User; csrf: string } | undefined {
    const r = this.db.prepare("SELECT u.id, u.name, u.role, u.password, s.csrf FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ? AND s.expires > ?").get(tokenHash, now) as (User & { csrf: string }) | undefined;
    if (!r) return undefined;
    const { csrf, ...user } = r;
    return { user, csrf };
  }

  deleteSession(tokenHash: string): void {
    this.db.prepare("DELETE FROM sessions WHERE token_hash = ?").run(tokenHash);
  }

  recordLoginFailure(key: string, at: number): void {
    this.db.prepare("INSERT INTO login_failures (key, at) VALUES (?, ?)").run(key, at);
  }

  loginFailuresSince(key: string, since: number): number {
    return (this.db.prepare("SELECT COUNT(*) AS n FROM login_failures WHERE key = ? AND at > ?").get(key, since) as { n: number }).n;
  }

  clearLoginFailures(key: string): void {
    this.db.prepare("DELETE FROM login_failures WHERE key = ?").run(key);
  }

  // Studies ---------------------------------------------------------------------------------------

  /**
   * A study over `answers[m]` (item key → question and answer) of two or more models: one item per
   * question and pair of models that both answered it. Returns the number of items.
   */
  createStudy(name: string, models: readonly { name: string; source: string; answers: ReadonlyMap<string, { question: string; answer: string }> }[]): number {
    if (models.length < 2) throw new ReviewDbError(this.file, "a study compares two or more models");
    return this.tx(() => {
      if (this.db.prepare("SELECT 1 FROM studies WHERE name = ?").get(name)) throw new ReviewDbError(this.file, `study ${JSON.stringify(name)} exists`);
      const sid = Number(this.db.prepare("INSERT INTO studies (name, created) VALUES (?, ?)").run(name, new Date().toISOString()).lastInsertRowid);
      const addModel = this.db.prepare("INSERT INTO study_models (study_id, idx, name, source) VALUES (?, ?, ?, ?)");
      models.forEach((m, i) => addModel.run(sid, i, m.name, m.source));
      const addItem = this.db.prepare("INSERT INTO items (study_id, item_key, question, model_a, model_b, answer_a, answer_b) VALUES (?, ?, ?, ?, ?, ?, ?)");
      let n = 0;
      for (let a = 0; a < models.length; a++) {
        for (let b = a + 1; b < models.length; b++) {
          for (const [key, x] of models[a]!.answers) {
            const y = models[b]!.answers.get(key);
            if (!y) continue;
            addItem.run(sid, key, x.question, a, b, x.answer, y.answer);
            n++;
          }
        }
      }
      return n;
    });
  }

  studyId(name: string): number {
    const r = this.db.prepare("SELECT id FROM studies WHERE name = ?").get(name) as { id: number } | undefined;
    if (!r) throw new ReviewDbError(this.file, `no study ${JSON.stringify(name)}`);
    return r.id;
  }

  /**
   * Gives every item of the study to `perItem` of the reviewers (round robin, so load is even), each
   * with its own answer order drawn from `coin`. Items a reviewer already has are kept as they are.
   */
  assign(study: string, reviewerIds: readonly number[], perItem: number, coin: () => boolean): number {
    if (perItem < 1 || perItem > reviewerIds.length) throw new ReviewDbError(this.file, `each item needs 1..${reviewerIds.length} reviewers, got ${perItem}`);
    const sid = this.studyId(study);
    return this.tx(() => {
      const items = this.db.prepare("SELECT id FROM items WHERE study_id = ? ORDER BY id").all(sid) as { id: number }[];
      const add = this.db.prepare("INSERT OR IGNORE INTO assignments (item_id, reviewer_id, swapped) VALUES (?, ?, ?)");
      let n = 0;
      items.forEach((it, i) => {
        for (let k = 0; k < perItem; k++) n += add.run(it.id, reviewerIds[(i + k) % reviewerIds.length]!, coin() ? 1 : 0).changes;
      });
      return n;
    });
  }

  // A reviewer's view: every query is scoped to the reviewer's id ----------------------------------

  assignmentsOf(reviewerId: number): AssignmentView[] {
    const rows = this.db.prepare(`SELECT a.id FROM assignments a WHERE a.reviewer_id = ? ORDER BY a.id`).all(reviewerId) as { id: number }[];
    return rows.map((r) => this.assignmentOf(reviewerId, r.id)!);
  }

  /** The assignment if it is this reviewer's; undefined otherwise (the caller answers 404 either way). */
  assignmentOf(reviewerId: number, assignmentId: number): AssignmentView | undefined {
    const r = this.db.prepare(`SELECT a.id, a.swapped, a.status, a.flagged, a.comment, s.name AS study, i.item_key, i.question, i.answer_a, i.answer_b
      FROM assignments a JOIN items i ON i.id = a.item_id JOIN studies s ON s.id = i.study_id WHERE a.id = ? AND a.reviewer_id = ?`).get(assignmentId, reviewerId) as
      { id: number; swapped: number; status: AssignmentView["status"]; flagged: number; comment: string | null; study: string; item_key: string; question: string; answer_a: string; answer_b: string } | undefined;
    if (!r) return undefined;
    const votes: AssignmentView["votes"] = {};
    for (const v of this.db.prepare("SELECT dimension, choice FROM votes WHERE assignment_id = ?").all(r.id) as { dimension: Dimension; choice: Choice }[]) {
      votes[v.dimension] = v.choice === "tie" ? "tie" : (v.choice === "A") !== (r.swapped === 1) ? "1" : "2";
    }
    return {
      id: r.id, study: r.study, itemKey: r.item_key, question: r.question,
      first: r.swapped ? r.answer_b : r.answer_a, second: r.swapped ? r.answer_a : r.answer_b,
      swapped: r.swapped === 1, status: r.status, flagged: r.flagged === 1, comment: r.comment, votes,
    };
  }

  /**
   * Stores a reviewer's decision on their own assignment: votes given in what they saw ("1" = the first
   * answer shown) are stored in model terms. Returns false if the assignment is not theirs.
   */
  submit(reviewerId: number, assignmentId: number, d: { skip: boolean; flagged: boolean; comment: string | null; votes: Partial<Record<Dimension, "1" | "2" | "tie">> }): boolean {
    return this.tx(() => {
      const a = this.db.prepare("SELECT swapped FROM assignments WHERE id = ? AND reviewer_id = ?").get(assignmentId, reviewerId) as { swapped: number } | undefined;
      if (!a) return false;
      this.db.prepare("DELETE FROM votes WHERE assignment_id = ?").run(assignmentId);
      if (!d.skip) {
        const put = this.db.prepare("INSERT INTO votes (assignment_id, dimension, choice) VALUES (?, ?, ?)");
        for (const dim of DIMENSIONS) {
          const v = d.votes[dim];
          if (!v) continue;
          const choice: Choice = v === "tie" ? "tie" : (v === "1") !== (a.swapped === 1) ? "A" : "B";
          put.run(assignmentId, dim, choice);
        }
      }
      this.db.prepare("UPDATE assignments SET status = ?, flagged = ?, comment = ?, updated = ? WHERE id = ?").run(d.skip ? "skipped" : "done", d.flagged ? 1 : 0, d.comment, new Date().toISOString(), assignmentId);
      return true;
    });
  }

  // Results ---------------------------------------------------------------------------------------

  /** Every assignment of a study with its votes (one row per vote; a row with null dimension when none). */
  voteRows(study: string): VoteRow[] {
    const sid = this.studyId(study);
    return this.db.prepare(`SELECT s.name AS study, i.item_key AS itemKey, ma.name AS modelA, mb.name AS modelB, u.name AS reviewer, a.status, a.flagged, a.comment, v.dimension, v.choice
      FROM assignments a JOIN items i ON i.id = a.item_id JOIN studies s ON s.id = i.study_id
      JOIN study_models ma ON ma.study_id = s.id AND ma.idx = i.model_a JOIN study_models mb ON mb.study_id = s.id AND mb.idx = i.model_b
      JOIN users u ON u.id = a.reviewer_id LEFT JOIN votes v ON v.assignment_id = a.id
      WHERE s.id = ? ORDER BY i.id, u.name, v.dimension`).all(sid) as VoteRow[];
  }

  studies(): string[] {
    return (this.db.prepare("SELECT name FROM studies ORDER BY id").all() as { name: string }[]).map((r) => r.name);
  }
}
