/**
 * The review store and tallies: study creation from answer files, per-reviewer isolation, votes stored
 * in model terms whatever order the reviewer saw, majority votes, Fleiss' κ against the textbook
 * example, CSV quoting, password hashing, and a locked or missing database as named errors.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { tempDir } from "../../../test/helpers/tempdir.js";
import { makeReviewStudy } from "../../../test/helpers/review_study.js";
import { createStudyFromAnswers, fleissKappa, hashPassword, majorityOf, ReviewDb, ReviewDbError, tallyStudy, verifyPassword, votesCsv } from "./index.js";

describe("review store", () => {
  it("keeps each reviewer to their own assignments and stores votes in model terms", async () => {
    const { file, ids } = await makeReviewStudy(tempDir("pedgpt-review-"));
    const db = ReviewDb.open(file);
    const li = db.assignmentsOf(ids.dr_li);
    const wang = db.assignmentsOf(ids.dr_wang);
    expect(li).toHaveLength(3);
    expect(wang).toHaveLength(3);
    // Someone else's assignment does not exist for this reviewer, and cannot be voted on.
    expect(db.assignmentOf(ids.dr_li, wang[0]!.id)).toBeUndefined();
    expect(db.submit(ids.dr_li, wang[0]!.id, { skip: false, flagged: false, comment: null, votes: { safety: "1" } })).toBe(false);
    // "1" = the first answer shown; which model that is depends on the drawn order.
    for (const a of li) db.submit(ids.dr_li, a.id, { skip: false, flagged: false, comment: null, votes: { professionalism: "1", factuality: "tie", safety: a.first.startsWith("模型甲") ? "1" : "2" } });
    const seen = db.assignmentOf(ids.dr_li, li[0]!.id)!;
    expect(seen.votes.professionalism).toBe("1");
    expect(seen.status).toBe("done");
    const rows = db.voteRows("pilot").filter((r) => r.reviewer === "dr_li");
    // Safety votes always chose 模型甲 = pedgpt = model A of the pair.
    expect(rows.filter((r) => r.dimension === "safety").every((r) => r.choice === "A")).toBe(true);
    expect(new Set(li.map((a) => a.swapped)).size).toBe(2); // both orders occur
    db.submit(ids.dr_wang, wang[0]!.id, { skip: true, flagged: true, comment: "答案不完整", votes: {} });
    const t = tallyStudy("pilot", db.voteRows("pilot"));
    expect(t.assignments).toBe(6);
    expect(t.done).toBe(3);
    expect(t.skipped).toBe(1);
    expect(t.flagged).toBe(1);
    expect(t.outcomes.find((o) => o.dimension === "safety")).toMatchObject({ modelA: "pedgpt", modelB: "baseline", items: 3, win: 3, tie: 0, loss: 0 });
    expect(t.outcomes.find((o) => o.dimension === "factuality")).toMatchObject({ tie: 3 });
    db.close();
  });

  it("creates a study only from questions both models answered, counting the rest", () => {
    const d = tempDir("pedgpt-review-");
    writeFileSync(join(d, "a.jsonl"), ['{"id":"1","question":"q1","response":"a1"}', '{"id":"2","question":"q2","error":"too long"}', '{"id":"3","question":"q3","response":"a3"}'].join("\n") + "\n");
    writeFileSync(join(d, "b.jsonl"), ['{"id":"1","question":"q1","response":"b1"}', '{"id":"2","question":"q2","response":"b2"}'].join("\n") + "\n");
    const db = ReviewDb.open(join(d, "r.sqlite"), { create: true });
    const s = createStudyFromAnswers(db, "s", [{ name: "A", answers: join(d, "a.jsonl") }, { name: "B", answers: join(d, "b.jsonl") }]);
    expect(s).toEqual({ items: 1, unusable: { A: 1, B: 1 } });
    expect(() => createStudyFromAnswers(db, "s", [{ name: "A", answers: join(d, "a.jsonl") }, { name: "B", answers: join(d, "b.jsonl") }])).toThrow(/study "s" exists/);
    expect(() => createStudyFromAnswers(db, "t", [{ name: "A", answers: join(d, "a.jsonl") }])).toThrow(/two or more models/);
    db.close();
  });

  it("names a missing, foreign or locked database", async () => {
    const d = tempDir("pedgpt-review-");
    expect(() => ReviewDb.open(join(d, "none.sqlite"))).toThrow(/no review database here/);
    writeFileSync(join(d, "text.sqlite"), "this is not a database at all, just some text that is long enough");
    expect(() => ReviewDb.open(join(d, "text.sqlite"))).toThrow(ReviewDbError);
    const { file, ids } = await makeReviewStudy(d);
    const db = ReviewDb.open(file);
    const other = new Database(file);
    other.pragma("busy_timeout = 0");
    other.exec("BEGIN EXCLUSIVE");
    const a = db.assignmentsOf(ids.dr_li)[0]!;
    expect(() => db.submit(ids.dr_li, a.id, { skip: true, flagged: false, comment: null, votes: {} })).toThrow(/locked by another process/);
    other.exec("ROLLBACK");
    other.close();
    expect(db.submit(ids.dr_li, a.id, { skip: true, flagged: false, comment: null, votes: {} })).toBe(true);
    db.close();
  }, 20_000);
});

describe("tallies", () => {
  it("takes the majority, calling a split vote a tie", () => {
    expect(majorityOf(["A", "A", "B"])).toBe("A");
    expect(majorityOf(["A", "B"])).toBe("tie");
    expect(majorityOf(["tie", "tie", "B"])).toBe("tie");
    expect(majorityOf([])).toBeNull();
  });

  it("computes Fleiss' kappa of the textbook example (10 items, 14 raters, 5 categories): 0.210", () => {
    const table = [[0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1], [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7]];
    expect(fleissKappa(table)).toBeCloseTo(0.2099, 4);
    expect(fleissKappa([[2, 0, 0], [0, 2, 0]])).toBe(1);
    expect(fleissKappa([[1, 0, 0]])).toBeNull();
  });

  it("quotes CSV fields with commas, quotes and newlines", () => {
    const csv = votesCsv([{ study: "s", itemKey: "q,1", modelA: "A", modelB: "B", reviewer: "r", status: "done", flagged: 0, comment: '说"不"\n第二行', dimension: "safety", choice: "B" }]);
    expect(csv).toBe('study,item,model_a,model_b,reviewer,status,flagged,comment,dimension,choice,winner\r\ns,"q,1",A,B,r,done,0,"说""不""\n第二行",safety,B,B\r\n');
  });

  it("stores passwords with scrypt and checks them in constant time", async () => {
    const h = await hashPassword("a long enough password");
    expect(h).toMatch(/^scrypt\$32768\$8\$1\$/);
    expect(await verifyPassword("a long enough password", h)).toBe(true);
    expect(await verifyPassword("a long enough passworD", h)).toBe(false);
    expect(await verifyPassword("x", "not-a-hash")).toBe(false);
    await expect(hashPassword("short")).rejects.toThrow(/at least 8/);
  });
});
