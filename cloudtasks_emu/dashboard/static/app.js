// The shell: hash routing, the clock bar, the live attempts feed (server-sent events), keyboard keys.
import { api, clock, h, isoTime, toast } from "./lib.js";
import { attemptsPage, clockPage, queuePage, queuesPage, taskPage } from "./pages.js";

const main = document.getElementById("main");
const feed = []; // newest first, every attempt the stream sent (bounded)
const FEED_KEEP = 1000;
let page = null;
let pending = 0;

function route() {
  const [, kind = "", rest = ""] = location.hash.match(/^#\/([^/]*)\/?(.*)$/) || [];
  const arg = decodeURIComponent(rest);
  const current = { queue: "queues", task: "queues", attempts: "attempts", clock: "clock" }[kind] || "queues";
  for (const link of document.querySelectorAll("nav a")) {
    if (link.dataset.page === current) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  if (kind === "queue" && arg) page = queuePage(main, arg);
  else if (kind === "task" && arg) page = taskPage(main, arg);
  else if (kind === "attempts") page = attemptsPage(main, feed);
  else if (kind === "clock") page = clockPage(main, advance);
  else page = queuesPage(main);
  refresh();
}

// Re-render the current page; calls that land while one is running fold into one more.
async function refresh() {
  pending += 1;
  if (pending > 1) return;
  while (pending) {
    const shown = page;
    try {
      await shown.refresh();
      showClock(clock);
    } catch (error) {
      if (shown === page) main.replaceChildren(h("h1", {}, "Not available"), h("p", { class: "st-5xx" }, error.message),
        h("p", {}, h("a", { href: "#/" }, "Back to the queues")));
    }
    pending = pending > 1 ? 1 : 0;
  }
}

// A burst of attempts re-renders the page at most every EVENT_GAP_MS, not once per attempt.
const EVENT_GAP_MS = 300;
let soonTimer = 0;
function soon() {
  if (!soonTimer) soonTimer = setTimeout(() => { soonTimer = 0; refresh(); }, EVENT_GAP_MS);
}

async function advance(seconds) {
  if (!(seconds >= 0)) { toast("give a number of seconds", true); return; }
  try {
    const data = await api("/_emu/clock:advance", { seconds });
    showClock(data);
    toast(`advanced ${seconds} s`);
    refresh();
  } catch (error) {
    toast(error.message, true);
  }
}

function showClock(data) {
  clock.now = data.now; clock.virtual = data.virtual;
  const bar = document.getElementById("clockbar");
  if (!bar.firstChild) {
    bar.append(h("span", { class: "mono", id: "clockbar-time" }), ...(data.virtual
      ? [["+1 s", 1], ["+1 min", 60], ["+1 h", 3600]].map(([label, s]) =>
        h("button", { onclick: () => advance(s), "aria-label": `Advance the clock ${label.slice(1)}` }, label))
      : []));
  }
  const time = document.getElementById("clockbar-time");
  time.textContent = `${data.virtual ? "virtual " : ""}${isoTime(data.now)}`;
  time.title = data.virtual ? "virtual clock: it moves only when advanced" : "real clock";
}

function listen() {
  const source = new EventSource("/_emu/ui/api/attempts:stream");
  source.addEventListener("attempt", (event) => {
    const attempt = JSON.parse(event.data);
    if (feed.some((a) => a.key === attempt.key)) return;
    feed.unshift(attempt);
    feed.length = Math.min(feed.length, FEED_KEEP);
    if (page && page.wants(attempt)) soon();
  });
}

let goPending = false;
document.addEventListener("keydown", (event) => {
  const typing = ["INPUT", "SELECT", "TEXTAREA"].includes(document.activeElement.tagName);
  if (typing || event.ctrlKey || event.metaKey || event.altKey) return;
  if (event.key === "/") {
    const box = document.querySelector("[data-filter]");
    if (box) { event.preventDefault(); box.focus(); }
  } else if (goPending) {
    goPending = false;
    const target = { q: "#/", a: "#/attempts", c: "#/clock" }[event.key];
    if (target) location.hash = target;
  } else if (event.key === "g") {
    goPending = true;
  }
});

window.addEventListener("hashchange", route);
api("/_emu/clock").then((data) => { showClock(data); listen(); route(); });
