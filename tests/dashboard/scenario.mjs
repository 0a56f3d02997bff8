// "Where is my task and why did it fail?", answered in a real browser: Debian's chromium driven by
// playwright-core. Started by tests/e2e/test_dashboard_browser.py with the emulator and its tasks ready.
// Env: DASHBOARD_URL, QUEUE, FLAKY_TASK (fails, then succeeds), LATER_TASK (due in an hour),
// USER_DATA_DIR, and SCREENSHOT_DIR to save one PNG per page. Prints one JSON line with what it saw.
import { chromium } from "playwright-core";
import path from "node:path";

const env = (name) => {
  if (!process.env[name]) throw new Error(`${name} is not set`);
  return process.env[name];
};
const url = env("DASHBOARD_URL");
const queue = env("QUEUE");
const flaky = env("FLAKY_TASK");
const later = env("LATER_TASK");
const shots = process.env.SCREENSHOT_DIR || "";
const id = (name) => name.split("/").pop();

const browser = await chromium.launchPersistentContext(env("USER_DATA_DIR"), {
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  viewport: { width: 1366, height: 820 },
});
const seen = {};
try {
  const page = browser.pages()[0] || await browser.newPage();
  page.setDefaultTimeout(15000);
  const errors = [];
  page.on("pageerror", (error) => errors.push(String(error)));
  const shot = async (name) => {
    if (!shots) return;
    const toast = page.locator("#toast");
    await toast.evaluate((el) => { el.hidden = true; }); // no passing toast in the docs
    await page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });
    await toast.evaluate((el) => { el.hidden = false; });
  };
  const queueRow = () => page.locator(`tr[data-queue="${queue}"]`);

  // The queues page lists the queue made through the official client, paused, with its two tasks.
  await page.goto(url);
  await queueRow().locator(".badge", { hasText: "PAUSED" }).waitFor();
  seen.tasksListed = await queueRow().locator("td.num").first().textContent();

  // Resume it: the flaky task goes out at once and fails.
  await page.getByRole("button", { name: `Resume ${id(queue)}` }).click();
  await queueRow().locator(".badge", { hasText: "RUNNING" }).waitFor();

  // Its tasks: the flaky one is retrying, the later one still scheduled.
  await queueRow().getByRole("link", { name: id(queue) }).click();
  await page.locator(`tr[data-task="${flaky}"] .badge`, { hasText: "retrying" }).waitFor();
  await page.locator(`tr[data-task="${later}"] .badge`, { hasText: "scheduled" }).waitFor();
  await page.getByRole("combobox", { name: "Sort" }).selectOption("schedule");
  await page.locator("tbody tr").first().and(page.locator(`tr[data-task="${flaky}"]`)).waitFor();
  await shot("queue");

  // The flaky task: the failed attempt with its status, the request as sent and the decoded token.
  await page.getByRole("link", { name: id(flaky) }).click();
  const first = page.locator('article[data-attempt="1"]');
  await first.locator(".badge", { hasText: "500" }).waitFor();
  await first.getByText("OIDC ID token (decoded)").waitFor();
  await page.getByRole("button", { name: "Pretty JSON" }).waitFor();
  seen.firstAttemptUrl = await first.locator(".mono").first().textContent();
  await shot("task");

  // Advance the virtual clock from the header: the retry goes out and succeeds.
  await page.getByRole("button", { name: "Advance the clock 1 s" }).click();
  await page.locator('article[data-attempt="2"] .badge', { hasText: "200" }).waitFor();
  await page.locator("#gone").waitFor();
  seen.gone = [await page.locator("#gone").textContent(), await page.locator("#ending").textContent()];

  // The later task: run it now, see its delivery.
  await page.getByRole("link", { name: id(queue) }).click();
  await page.getByRole("link", { name: id(later) }).click();
  await page.locator(".badge", { hasText: "scheduled" }).waitFor();
  await page.getByRole("button", { name: "Run now" }).click();
  await page.locator('article[data-attempt="1"] .badge', { hasText: "200" }).waitFor();

  // The live feed has all three attempts, colour-coded; the outcome filter keeps the failure.
  await page.getByRole("link", { name: "Attempts" }).click();
  await page.locator("tbody tr").nth(2).waitFor();
  seen.feed = await page.locator("tbody tr .badge").allTextContents();
  await shot("attempts");
  await page.getByRole("combobox", { name: "Outcome" }).selectOption("failed");
  await page.locator("tbody tr").nth(1).waitFor({ state: "detached" });
  seen.failedOnly = await page.locator("tbody tr .badge").allTextContents();

  // The clock page: a custom advance moves the time shown; the active fault is listed, and cleared.
  await page.getByRole("link", { name: "Clock & faults" }).click();
  const fault = page.locator("tr[data-fault]");
  await fault.getByText(`dispatch to ${env("FAULT_PREFIX")}`).waitFor();
  seen.fault = await fault.locator("td").allTextContents();
  const now = page.locator("#clock-now");
  seen.clockBefore = await now.textContent();
  await page.getByLabel("Seconds to advance").fill("3600");
  await page.getByRole("button", { name: "Advance", exact: true }).click();
  await page.waitForFunction((before) => document.getElementById("clock-now").textContent !== before, seen.clockBefore);
  seen.clockAfter = await now.textContent();
  await shot("clock");
  await fault.getByRole("button", { name: /Clear fault/ }).click();
  await page.getByText("No faults: every call and delivery behaves.").waitFor();

  // Back on the queues page (from the keyboard): purge asks first, Escape keeps the tasks; pause, then resume.
  await page.keyboard.press("g");
  await page.keyboard.press("q");
  await queueRow().locator(".badge", { hasText: "RUNNING" }).waitFor();
  const waiting = env("WAITING_QUEUE");
  await page.getByRole("button", { name: `Purge ${id(waiting)}` }).click();
  await page.getByRole("dialog").getByText(`Purge every task of ${waiting}?`).waitFor();
  await page.keyboard.press("Escape"); // the keyboard way out: nothing is purged
  await page.getByRole("dialog").waitFor({ state: "hidden" });
  seen.waitingAfterCancel = await page.locator(`tr[data-queue="${waiting}"] td.num`).first().textContent();
  await page.getByRole("button", { name: `Pause ${id(queue)}` }).click();
  await queueRow().locator(".badge", { hasText: "PAUSED" }).waitFor();
  seen.paused = true;
  await page.getByRole("button", { name: `Resume ${id(queue)}` }).click();
  await queueRow().locator(".badge", { hasText: "RUNNING" }).waitFor();
  seen.resumed = true;
  const search = page.getByRole("searchbox", { name: "Filter queues by name" });
  await search.fill(id(queue));
  await page.locator("tbody tr").nth(1).waitFor({ state: "detached" });
  seen.filtered = await page.locator("tbody tr").count();
  await search.fill("");
  await page.locator("tbody tr").nth(1).waitFor();
  seen.queues = await page.locator("tbody tr").count();
  await shot("queues");
  seen.errors = errors;
  console.log(JSON.stringify(seen));
} finally {
  await browser.close();
}
