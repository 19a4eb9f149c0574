/**
 * The report in real headless Chromium (Debian's chromium through playwright-core), opened from disk
 * with the network blocked: every chart renders with a real size, the page fits a phone-sized screen
 * without sideways scrolling of the page itself, and nothing is requested from anywhere.
 * PEDGPT_WRITE_SCREENSHOT=1 also writes docs/report.png.
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { type Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "../../../test/helpers/chromium.js";
import { tempDir } from "../../../test/helpers/tempdir.js";
import { sampleEvalResults, writeSamplePipelineRun } from "../../../test/helpers/report_run.js";
import { evaluationReportInput, mergeReportInputs, pipelineReportInput, writeReport } from "./index.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
}, 120_000);
afterAll(async () => {
  await browser?.close();
});

describe("report in Chromium", () => {
  it("renders every chart offline and fits a phone screen", async () => {
    const dir = tempDir("pedgpt-report-e2e-");
    const run = writeSamplePipelineRun(dir);
    const merged = mergeReportInputs(pipelineReportInput(run, "Quick start report"), evaluationReportInput(sampleEvalResults(), [], "results.json"));
    // Folder names as a user would see them, not the test's temporary folder (the screenshot goes into docs/).
    const input = { ...merged, source: "runs/quickstart; results.json", gaps: merged.gaps.map((g) => g.split(run).join("runs/quickstart")) };
    const { html } = await writeReport(input, dir);
    for (const viewport of [{ width: 1100, height: 900 }, { width: 390, height: 844 }]) {
      const context = await browser.newContext({ viewport, locale: "zh-CN" });
      const requests: string[] = [];
      await context.route("**/*", (route) => {
        const u = route.request().url();
        if (u.startsWith("file:")) return route.continue();
        requests.push(u);
        return route.abort();
      });
      const page = await context.newPage();
      await page.goto(pathToFileURL(html).href);
      const charts = await page.locator("svg.chart").evaluateAll((els) => els.map((e) => e.getBoundingClientRect()).map((r) => [r.width, r.height]));
      expect(charts.length).toBeGreaterThanOrEqual(8);
      for (const [w, h] of charts) {
        expect(w).toBeGreaterThan(150);
        expect(h).toBeGreaterThan(60);
      }
      const lines = await page.locator("polyline.series").count();
      expect(lines).toBeGreaterThanOrEqual(4);
      expect(await page.locator("#gaps li").count()).toBe(input.gaps.length);
      const overflow = (await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")) as number;
      expect(overflow).toBeLessThanOrEqual(1);
      expect(requests).toEqual([]);
      if (process.env.PEDGPT_WRITE_SCREENSHOT === "1" && viewport.width > 1000) {
        writeFileSync(path.join(ROOT, "docs", "report.png"), await page.screenshot({ fullPage: false }));
      }
      await context.close();
    }
  }, 120_000);
});
