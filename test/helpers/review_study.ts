/**
 * A review study for tests: two models' answer files (the format `pedgpt eval generate` writes), a
 * database with an admin and two reviewers, every item assigned to both reviewers.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createStudyFromAnswers, hashPassword, ReviewDb } from "../../src/eval/review/index.js";

export const PASSWORD = "correct horse battery";

const QUESTIONS = ["宝宝发烧38.5度怎么办？", "孩子咳嗽一周了需要吃药吗？", "新生儿黄疸什么时候要去医院？"];

export async function makeReviewStudy(dir: string): Promise<{ file: string; ids: Record<string, number> }> {
  const write = (name: string, prefix: string) => {
    const f = join(dir, `${name}.jsonl`);
    writeFileSync(f, QUESTIONS.map((q, i) => JSON.stringify({ id: `q${i + 1}`, question: q, response: `${prefix}的回答${i + 1}：请注意观察精神状态。`, reference: "", seed: 0 })).join("\n") + "\n");
    return f;
  };
  const a = write("pedgpt", "模型甲");
  const b = write("baseline", "模型乙");
  const file = join(dir, "review.sqlite");
  const db = ReviewDb.open(file, { create: true });
  const hash = await hashPassword(PASSWORD);
  const ids = { admin: db.addUser("admin", "admin", hash), dr_li: db.addUser("dr_li", "reviewer", hash), dr_wang: db.addUser("dr_wang", "reviewer", hash) };
  createStudyFromAnswers(db, "pilot", [{ name: "pedgpt", answers: a }, { name: "baseline", answers: b }]);
  let flip = false;
  db.assign("pilot", [ids.dr_li, ids.dr_wang], 2, () => (flip = !flip));
  db.close();
  return { file, ids };
}
