// The pages of an emulator on the real clock, as a first-time user sees them (no --virtual-clock):
// the clock page and a queue whose only task is due later. Started by tests/e2e/test_dashboard_browser.py.
// Env: DASHBOARD_URL, QUEUE, USER_DATA_DIR, CHROMIUM. Prints one JSON line with the text it saw.
import { chromium } from "playwright-core";

const env = (name) => {
  if (!process.env[name]) throw new Error(`${name} is not set`);
  return process.env[name];
};
const queue = env("QUEUE");
const browser = await chromium.launchPersistentContext(env("USER_DATA_DIR"), {
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const seen = {};
try {
  const page = browser.pages()[0] || await browser.newPage();
  page.setDefaultTimeout(15000);
  const errors = [];
  page.on("pageerror", (error) => errors.push(String(error)));
  await page.goto(`${env("DASHBOARD_URL")}/#/clock`);
  await page.getByText("Real clock.").waitFor();
  await page.getByText("No faults").waitFor();
  seen.clockPage = await page.locator("main").innerText();
  await page.goto(`${env("DASHBOARD_URL")}/#/`);
  const row = page.locator(`tr[data-queue="${queue}"]`);
  await row.waitFor();
  seen.queueRow = (await row.locator("td").allInnerTexts());
  seen.errors = errors;
  console.log(JSON.stringify(seen));
} finally {
  await browser.close();
}
