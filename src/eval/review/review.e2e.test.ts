/**
 * The review app in real headless Chromium (Debian's chromium, playwright-core) against the real
 * server and SQLite file: without a session only the login page is served; a reviewer logs in, votes
 * on an item and the vote is in the database in model terms; they cannot open or vote on another
 * reviewer's item; a form without the session's CSRF token is refused; repeated bad passwords are
 * rate-limited; the admin sees the tallies and downloads the CSV. PEDGPT_WRITE_SCREENSHOT=1 also
 * writes docs/review.png.
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import type { FastifyInstance } from "fastify";
import { type Browser, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "../../../test/helpers/chromium.js";
import { tempDir } from "../../../test/helpers/tempdir.js";
import { makeReviewStudy, PASSWORD } from "../../../test/helpers/review_study.js";
import { buildReviewServer, ReviewDb } from "./index.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
let browser: Browser;
let app: FastifyInstance;
let db: ReviewDb;
let url: string;
let ids: Record<string, number>;

beforeAll(async () => {
  const study = await makeReviewStudy(tempDir("pedgpt-review-e2e-"));
  ids = study.ids;
  db = ReviewDb.open(study.file);
  app = buildReviewServer(db, { maxLoginFailures: 3, lockoutSeconds: 60 });
  await app.listen({ host: "127.0.0.1", port: 0 });
  url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  browser = await launchChromium();
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await app?.close();
  db?.close();
});

async function login(name: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: "zh-CN" });
  const page = await context.newPage();
  await page.goto(`${url}/`);
  await page.locator("#name").fill(name);
  await page.locator("#password").fill(PASSWORD);
  await page.locator("button[type=submit]").click();
  await page.waitForURL(`${url}/`);
  return { context, page };
}

describe("review app in Chromium", () => {
  it("serves only the login page without a session", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    for (const p of ["/", "/a/1", "/admin", "/admin/export/pilot.csv", "/anything"]) {
      await page.goto(`${url}${p}`);
      expect(new URL(page.url()).pathname).toBe("/login");
      expect(await page.locator("#password").count()).toBe(1);
    }
    const r = await page.request.post(`${url}/a/1`, { form: { professionalism: "1" }, maxRedirects: 0 });
    expect(r.status()).toBe(303);
    expect(r.headers()["location"]).toBe("/login");
    await context.close();
  });

  it("lets a reviewer vote on their own items only, with cookies and CSRF guarding the forms", async () => {
    const { context, page } = await login("dr_li");
    const cookie = (await context.cookies()).find((c) => c.name === "pedgpt_review")!;
    expect(cookie.httpOnly).toBe(true);
    expect(cookie.sameSite).toBe("Strict");
    expect(await page.locator("tbody tr").count()).toBe(3);
    await page.locator("tbody a").first().click();
    const first = await page.locator("#answer-1").innerText();
    await page.locator("input[name=professionalism][value='1']").check();
    await page.locator("input[name=factuality][value=tie]").check();
    await page.locator("input[name=safety][value='2']").check();
    await page.locator("#comment").fill("回答1更完整");
    if (process.env.PEDGPT_WRITE_SCREENSHOT === "1") writeFileSync(path.join(ROOT, "docs", "review.png"), await page.screenshot({ fullPage: true }));
    await page.locator("button[value=vote]").click();
    await page.waitForURL(/\/a\/\d+$/);
    // Stored in model terms: "1" is whichever model's answer was shown first.
    const mine = db.assignmentsOf(ids.dr_li!)[0]!;
    const firstIsA = !mine.swapped;
    expect(mine.first).toBe(first);
    const rows = db.voteRows("pilot").filter((r) => r.reviewer === "dr_li" && r.itemKey === mine.itemKey);
    expect(Object.fromEntries(rows.map((r) => [r.dimension, r.choice]))).toEqual({ professionalism: firstIsA ? "A" : "B", factuality: "tie", safety: firstIsA ? "B" : "A" });
    expect(rows[0]!.comment).toBe("回答1更完整");

    // Another reviewer's item: the same 404 as a missing one, for reading and for voting.
    const theirs = db.assignmentsOf(ids.dr_wang!)[0]!;
    const resp = await page.goto(`${url}/a/${theirs.id}`);
    expect(resp!.status()).toBe(404);
    expect(await page.content()).not.toContain(theirs.question === mine.question ? "\u0000" : theirs.question);
    await page.goto(`${url}/a/${mine.id}`);
    const csrf = await page.locator("input[name=csrf]").first().getAttribute("value");
    const post = await page.request.post(`${url}/a/${theirs.id}`, { form: { csrf: csrf!, professionalism: "1", factuality: "1", safety: "1", action: "vote" }, maxRedirects: 0 });
    expect(post.status()).toBe(404);
    expect(db.assignmentOf(ids.dr_wang!, theirs.id)!.status).toBe("open");
    // A form without the session's CSRF token is refused.
    const forged = await page.request.post(`${url}/a/${mine.id}`, { form: { csrf: "forged", action: "skip" }, maxRedirects: 0 });
    expect(forged.status()).toBe(403);
    // A reviewer is not an admin.
    expect((await page.goto(`${url}/admin`))!.status()).toBe(403);
    await context.close();
  }, 60_000);

  it("rate-limits repeated bad passwords", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await page.request.post(`${url}/login`, { form: { name: "dr_wang", password: "wrong password" }, maxRedirects: 0 });
      statuses.push(r.status());
      if (r.status() === 429) expect(Number(r.headers()["retry-after"])).toBeGreaterThan(0);
    }
    expect(statuses).toEqual([401, 401, 401, 429]);
    await context.close();
  }, 60_000);

  it("shows the admin the tallies and exports the votes", async () => {
    const { context, page } = await login("admin");
    await page.goto(`${url}/admin`);
    const text = await page.locator("main").innerText();
    expect(text).toContain("pedgpt vs baseline");
    expect(text).toContain("Fleiss");
    const csv = await page.request.get(`${url}/admin/export/pilot.csv`);
    expect(csv.status()).toBe(200);
    const body = await csv.text();
    expect(body.split("\r\n")[0]).toBe("study,item,model_a,model_b,reviewer,status,flagged,comment,dimension,choice,winner");
    expect(body).toContain("dr_li");
    await context.close();
  }, 60_000);
});
