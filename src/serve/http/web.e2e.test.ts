/**
 * The web chat in real headless Chromium (Debian's chromium, driven by playwright-core) on a
 * phone-sized screen, against the real server: the streamed answer equals the API's answer for the
 * same settings (system prompt, sliders, seed), history is sent with the next question, the triage
 * banner shows before the answer, findings while it streams and the annotations with citations after it, stop aborts, clear
 * empties the conversation, and nothing overflows sideways. PEDGPT_WRITE_SCREENSHOT=1 also writes
 * docs/web-chat.png; PEDGPT_SCREENSHOT_MODEL (a checkpoint folder, e.g. the quick start's DFPO stage) and
 * PEDGPT_SCREENSHOT_ADAPTER (e.g. its MoE-LoRA stage) serve a trained model there instead of the random
 * test model, so the picture shows real text. The checks are the same with either model.
 */
import path from "node:path";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import type { FastifyInstance } from "fastify";
import { type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeServeModel } from "../../../test/helpers/serve_model.js";
import { launchChromium } from "../../../test/helpers/chromium.js";
import { tempDir } from "../../../test/helpers/tempdir.js";
import { loadEngineGenerator } from "../engine/backend.js";
import { generateText, type ChatMessage, type Generator } from "../generator.js";
import { SafetyStream, safetyBefore } from "../safety.js";
import { buildServer } from "./server.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const RED = "宝宝8个月，发烧39度，抽搐了一次，怎么办？";
const SYSTEM = "你是一名耐心的儿科医生。";

let gen: Generator;
let app: FastifyInstance;
let url: string;
let browser: Browser;
let page: Page;
beforeAll(async () => {
  const trained = process.env.PEDGPT_SCREENSHOT_MODEL;
  const adapter = process.env.PEDGPT_SCREENSHOT_ADAPTER;
  const modelDir = trained ?? (await makeServeModel(tempDir("pedgpt-serve-"))).dir;
  gen = await loadEngineGenerator(modelDir, { contextSize: 256, parallel: 2, ...(adapter ? { adapters: [adapter] } : {}) });
  app = await buildServer(gen);
  await app.listen({ host: "127.0.0.1", port: 0 });
  url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  browser = await launchChromium();
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, locale: "zh-CN" });
  page = await context.newPage();
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await app?.close();
  await gen?.close();
});

async function setRange(id: string, value: number): Promise<void> {
  await page.locator(`#${id}`).evaluate((el, v) => {
    (el as unknown as { value: string }).value = String(v);
    el.dispatchEvent(new Event("input", { bubbles: true }));
  }, value);
}

/** Sends a question and waits until its answer has finished streaming; returns the answer's text. */
async function askInPage(q: string): Promise<string> {
  const before = await page.locator(".msg.assistant").count();
  await page.locator("#input").fill(q);
  await page.locator("#input").press("Enter");
  await page.locator(".msg.assistant").nth(before).waitFor();
  // Browser-side code as a string: this project type-checks without the DOM library.
  await page.waitForFunction(
    `document.querySelectorAll(".msg.assistant").length > ${before} && !document.querySelector(".msg.assistant.streaming") && !document.getElementById("send").disabled`,
  );
  return (await page.locator(".msg.assistant").nth(before).textContent()) ?? "";
}

describe("web chat in Chromium", () => {
  it("shows the model, takes settings, streams the same answer as the API, keeps history", async () => {
    await page.goto(url);
    await expect.poll(() => page.locator("#model").textContent()).toBe(gen.info.id);
    expect(await page.locator("h1").textContent()).toBe("儿科问答助手");
    await page.locator("#toggle-settings").click();
    await page.locator("#system").fill(SYSTEM);
    await setRange("max_tokens", 24);
    await setRange("temperature", 0.8);
    await setRange("top_p", 0.9);
    expect(await page.locator("#max_tokens-v").textContent()).toBe("24");
    await page.locator("#seed").fill("42");
    await page.locator("#toggle-settings").click();

    const opts = { maxNewTokens: 24, temperature: 0.8, topP: 0.9, seed: 42 };
    const turn1: ChatMessage[] = [{ role: "system", content: SYSTEM }, { role: "user", content: "孩子咳嗽" }];
    const want1 = await generateText(gen, { messages: turn1, ...opts });
    expect(await askInPage("孩子咳嗽")).toBe(want1.text);
    const turn2: ChatMessage[] = [...turn1, { role: "assistant", content: want1.text }, { role: "user", content: RED }];
    const want2 = await generateText(gen, { messages: turn2, ...opts });
    expect(await askInPage(RED)).toBe(want2.text);

    // banner before the second answer, annotations (with citations) after it
    const order = (await page.evaluate(`[...document.querySelectorAll("#log > *")].map((e) => e.className)`)) as string[];
    const banner = order.indexOf("banner");
    expect(banner).toBeGreaterThan(0);
    expect(order[banner + 1]).toBe("msg assistant");
    expect(order.indexOf("annotations", banner + 2)).toBeGreaterThan(banner + 1);
    expect(await page.locator(".banner").textContent()).toContain("120");
    expect(await page.locator(".annotations").textContent()).toContain("依据：");
    // a phone-sized page does not scroll sideways
    expect(await page.evaluate("document.documentElement.scrollWidth")).toBeLessThanOrEqual(390);
    if (process.env.PEDGPT_WRITE_SCREENSHOT === "1") await page.screenshot({ path: path.join(ROOT, "docs/web-chat.png") });
    else await page.screenshot({ path: path.join(tempDir("pedgpt-web-"), "web-chat.png") });
  });

  it("shows findings while an answer streams and replaces them with the final annotations", async () => {
    // The stream our server sends for a known answer, built with the server's own safety view; the page
    // is fed it through a route so the answer's text (and so its findings) is fixed.
    const question = "孩子2岁12公斤，发烧";
    const pieces = ["布洛芬混悬液每次", "15ml，每4小时一次。", "多喝水。"];
    const sse = (withFinal: boolean) => {
      const check = new SafetyStream(question);
      const chunk = (delta: string | null, extra: object = {}) => `data: ${JSON.stringify({ choices: [{ index: 0, delta: delta === null ? {} : { content: delta }, finish_reason: delta === null ? "stop" : null }], ...extra })}\n\n`;
      let body = chunk("", { safety: { triage: safetyBefore(question) } });
      for (const p of pieces) {
        const findings = check.append(p);
        body += chunk(p, findings.length ? { safety: { findings } } : {});
      }
      if (withFinal) body += chunk(null, { safety: { triage: safetyBefore(question), annotations: check.finish() } });
      return `${body}data: [DONE]\n\n`;
    };
    for (const withFinal of [false, true]) {
      await page.locator("#clear").click();
      await page.route("**/v1/chat/completions", (r) => r.fulfill({ status: 200, contentType: "text/event-stream", body: sse(withFinal) }));
      expect(await askInPage(question)).toBe(pieces.join(""));
      await page.unroute("**/v1/chat/completions");
      const boxes = (await page.evaluate(`[...document.querySelectorAll(".annotations")].map((e) => e.className)`)) as string[];
      expect(boxes).toEqual([withFinal ? "annotations" : "annotations live"]);
      expect(await page.locator(".annotations").textContent()).toMatch(/布洛芬[\s\S]*依据：/);
    }
    await page.locator("#clear").click();
  });

  it("stop aborts the answer being streamed; clear empties the conversation and its history", async () => {
    await page.locator("#input").fill("夜里哭闹");
    // Submit and stop at once: the request is aborted before its answer completes.
    await page.evaluate(`document.getElementById("composer").requestSubmit(); document.getElementById("stop").click();`);
    await page.locator(".notice", { hasText: "已停止" }).waitFor();
    expect(await page.locator("#stop").isDisabled()).toBe(true);

    await page.locator("#clear").click();
    expect(await page.locator("#log > *").count()).toBe(0);
    const want = await generateText(gen, { messages: [{ role: "system", content: SYSTEM }, { role: "user", content: "湿疹" }], maxNewTokens: 24, temperature: 0.8, topP: 0.9, seed: 42 });
    expect(await askInPage("湿疹")).toBe(want.text);
  });
});
