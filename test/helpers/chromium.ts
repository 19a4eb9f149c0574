/**
 * Headless Chromium for browser tests: Debian's `chromium` (or PEDGPT_CHROMIUM) driven by
 * playwright-core, with the flags a closed, sandbox-less CI machine needs (no background networking,
 * no component updates, no GPU).
 */
import { chromium, type Browser } from "playwright-core";

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.PEDGPT_CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"],
  });
}
