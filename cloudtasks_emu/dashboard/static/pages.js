// The pages. Each returns {refresh(), wants(attempt)}: the router re-renders a page when an attempt it
// shows lands, or when the clock moves.
import {
  api, badge, cards, clock, confirmAction, h, headerTable, isoTime, put, query, queueHref, relative, shortName, span,
  statusBadge, statusClass, table, taskHref, toast, when,
} from "./lib.js";

const API = "/_emu/ui/api";

// How long the longest-waiting due task has waited; tasks that are all due later have waited for nothing.
const oldest = (q) => (q.oldest_age_s !== null ? span(q.oldest_age_s) : q.tasks ? "none due yet" : "—");

async function act(path, name, done) {
  try {
    await api(`${API}/${path}`, { name });
    done();
  } catch (error) {
    toast(error.message, true);
  }
}

function queueActions(queue, after) {
  const verb = queue.state === "PAUSED" ? "resume" : "pause";
  const label = verb === "pause" ? "Pause" : "Resume";
  const id = queue.id;
  return [
    h("button", { onclick: () => act(`queue:${verb}`, queue.name, () => { toast(`${id}: ${verb}d`); after(); }),
      "aria-label": `${label} ${id}` }, label),
    h("button", { class: "danger", "aria-label": `Purge ${id}`, onclick: async () => {
      if (await confirmAction(`Purge every task of ${queue.name}?`, "Purge")) {
        act("queue:purge", queue.name, () => { toast(`${id}: purged`); after(); });
      }
    } }, "Purge"),
    h("button", { class: "danger", "aria-label": `Delete ${id}`, onclick: async () => {
      if (await confirmAction(`Delete ${queue.name} and its tasks? Its name stays blocked for a while, as in the cloud.`, "Delete")) {
        act("queue:delete", queue.name, () => { toast(`${id}: deleted`); location.hash = "#/"; after(); });
      }
    } }, "Delete"),
  ];
}

function rate(queue) {
  const r = queue.rate;
  return `${r.max_dispatches_per_second}/s · burst ${r.max_burst_size} · ${r.max_concurrent_dispatches} at once`;
}

function retry(queue) {
  const r = queue.retry;
  const attempts = r.max_attempts === -1 ? "unlimited" : `${r.max_attempts} attempts`;
  const limit = r.max_retry_duration_s ? ` · for ${span(r.max_retry_duration_s)}` : "";
  return `${attempts} · ${span(r.min_backoff_s)}–${span(r.max_backoff_s)} · ${r.max_doublings} doublings${limit}`;
}

export function queuesPage(main) {
  const filter = { project: "", q: "" };
  const nameBox = h("input", { type: "search", placeholder: "Filter by name", "data-filter": "", "aria-label": "Filter queues by name",
    oninput: (e) => { filter.q = e.target.value; refresh(); } });
  const projectBox = h("select", { "aria-label": "Project", onchange: (e) => { filter.project = e.target.value; refresh(); } });
  const holder = h("div");
  main.replaceChildren(h("h1", {}, "Queues"), h("div", { class: "toolbar" }, nameBox, projectBox), holder);

  async function refresh() {
    const data = await api(`${API}/queues?${query(filter)}`);
    projectBox.replaceChildren(h("option", { value: "" }, "All projects"),
      data.projects.map((p) => h("option", { value: p, selected: p === filter.project }, p)));
    const rows = data.queues.map((q) => h("tr", { "data-queue": q.name },
      h("td", {}, h("a", { href: queueHref(q.name) }, q.id), h("div", { class: "muted mono" }, `${q.project} · ${q.location}`)),
      h("td", {}, q.type, q.target ? h("div", { class: "muted" }, q.target) : null),
      h("td", {}, badge(q.state)),
      h("td", {}, q.type === "pull" ? "—" : rate(q), q.type === "push" && q.rate.effective_rate < q.rate.max_dispatches_per_second
        ? h("div", { class: "muted" }, `slowed to ${q.rate.effective_rate.toFixed(2)}/s`) : null),
      h("td", {}, q.type === "pull" ? `${q.retry.max_attempts === -1 ? "unlimited" : q.retry.max_attempts} attempts` : retry(q)),
      h("td", { class: "num" }, q.tasks),
      h("td", { class: "num" }, q.in_flight),
      h("td", { class: "num" }, oldest(q)),
      h("td", { class: "num" }, q.attempts_last_minute),
      h("td", { class: "num" }, q.failures_last_minute),
      h("td", { class: "actions" }, queueActions(q, refresh))));
    holder.replaceChildren(table([["Queue"], ["Type"], ["State"], ["Rate"], ["Retry"], ["Tasks", "num"], ["In flight", "num"],
      ["Oldest", "num"], ["Attempts 1 min", "num"], ["Failed 1 min", "num"], ["Actions"]], rows,
      "No queues. Create one with any client, --queue or --config."));
  }
  return { refresh, wants: () => true };
}

export function queuePage(main, name) {
  const view = { state: "", sort: "name", tokens: [""] };
  const title = h("h1", {}, shortName(name));
  const summary = h("div");
  const list = h("div");
  const stateBox = h("select", { "aria-label": "Task state", onchange: (e) => { view.state = e.target.value; view.tokens = [""]; refresh(); } },
    [["", "All states"], ["scheduled", "Scheduled"], ["in_flight", "In flight"], ["retrying", "Retrying"], ["leased", "Leased"]]
      .map(([v, l]) => h("option", { value: v }, l)));
  const sortBox = h("select", { "aria-label": "Sort", onchange: (e) => { view.sort = e.target.value; view.tokens = [""]; refresh(); } },
    h("option", { value: "name" }, "By name"), h("option", { value: "schedule" }, "By schedule time"));
  const pager = h("div", { class: "toolbar" });
  main.replaceChildren(h("div", { class: "crumbs" }, h("a", { href: "#/" }, "Queues"), " / ", name),
    title, summary, h("h2", {}, "Tasks"), h("div", { class: "toolbar" }, stateBox, sortBox), list, pager);

  async function refresh() {
    const token = view.tokens[view.tokens.length - 1];
    const data = await api(`${API}/tasks?${query({ queue: name, state: view.state, sort: view.sort, page_token: token })}`);
    const q = data.queue;
    const pull = q.type === "pull";
    summary.replaceChildren(h("div", { class: "toolbar" }, badge(q.state), queueActions(q, refresh)), cards([
      ["Type", q.target ? `${q.type}, ${q.target}` : q.type], ["Tasks", q.tasks], ["In flight", q.in_flight],
      ["Oldest task", oldest(q)],
      pull ? null : ["Rate", rate(q)], pull ? null : ["Retry", retry(q)], ["Attempts / failures, last minute", `${q.attempts_last_minute} / ${q.failures_last_minute}`],
    ]));
    const rows = data.tasks.map((t) => h("tr", { "data-task": t.name },
      h("td", { class: "mono" }, h("a", { href: taskHref(t.name) }, t.id)),
      h("td", {}, badge(t.state)),
      h("td", { class: "mono" }, t.target),
      h("td", {}, when(t.schedule_time)),
      h("td", { class: "num" }, `${t.dispatch_count} / ${t.response_count}`),
      h("td", {}, t.last_response || "—"),
      pull ? h("td", { class: "mono" }, t.tag || "—") : null,
      pull ? h("td", {}, t.lease_expiry && t.state === "leased" ? when(t.lease_expiry) : "—") : null,
      h("td", { class: "actions" },
        pull ? null : h("button", { "aria-label": `Run ${t.id} now`, onclick: () => act("task:run", t.name, () => { toast(`${t.id}: dispatched`); refresh(); }) }, "Run now"),
        h("button", { class: "danger", "aria-label": `Delete ${t.id}`, onclick: async () => {
          if (await confirmAction(`Delete task ${t.id}?`, "Delete")) act("task:delete", t.name, () => { toast(`${t.id}: deleted`); refresh(); });
        } }, "Delete"))));
    const headers = [["Task"], ["State"], ["Target"], [pull ? "Available" : "Schedule time"], ["Dispatched / answered", "num"], ["Last response"]];
    if (pull) headers.push(["Tag"], ["Lease expires"]);
    headers.push(["Actions"]);
    list.replaceChildren(table(headers, rows, view.state ? "No task in this state." : "No tasks."));
    const page = view.tokens.length;
    pager.replaceChildren(
      h("button", { disabled: page === 1, onclick: () => { view.tokens.pop(); refresh(); } }, "← Previous"),
      h("span", { class: "muted" }, `Page ${page} · ${data.tasks.length} shown`),
      h("button", { disabled: !data.next_page_token, onclick: () => { view.tokens.push(data.next_page_token); refresh(); } }, "Next →"));
  }
  return { refresh, wants: (a) => a.queue === name };
}

function bodyView(body) {
  if (!body.size) return h("p", { class: "muted" }, "empty");
  const modes = [["text", body.text], ["json", body.json], ["hex", body.hex + (body.hex_truncated ? "\n…" : "")]]
    .filter(([, value]) => value !== null);
  const out = h("pre", { class: "mono" });
  const buttons = modes.map(([mode, value]) => h("button", { "aria-pressed": "false", onclick: (e) => {
    for (const b of buttons) b.setAttribute("aria-pressed", String(b === e.target));
    out.textContent = value;
  } }, mode === "json" ? "Pretty JSON" : mode === "hex" ? "Hex" : "Text"));
  const first = modes.findIndex(([mode]) => mode === "json");
  const pick = first === -1 ? 0 : first;
  buttons[pick].setAttribute("aria-pressed", "true");
  out.textContent = modes[pick][1];
  return h("div", {}, h("div", { class: "tabs", role: "group", "aria-label": "Body view" }, buttons,
    h("span", { class: "muted" }, ` ${body.size} bytes`)), out);
}

function tokenView(token, open = true) {
  if (!token) return null;
  return h("details", { open }, h("summary", {}, `${token.kind === "oidc" ? "OIDC ID token" : "OAuth access token"} (decoded)`),
    h("pre", { class: "mono" }, JSON.stringify(token.header ? { header: token.header, claims: token.claims } : token.claims, null, 2)));
}

export function attemptCard(a) {
  return h("article", { class: "attempt", "data-s": statusClass(a.status), "data-attempt": a.attempt },
    h("div", { class: "head" }, h("strong", {}, `Attempt ${a.attempt}`), statusBadge(a), h("span", {}, isoTime(a.time)),
      h("span", { class: "muted" }, relative(a.time)), h("span", { class: "muted" }, `${a.latency_ms} ms`),
      a.error ? h("span", { class: "st-error" }, a.error) : null),
    h("div", { class: "mono" }, [a.method, a.url].filter(Boolean).join(" ")),
    h("details", {}, h("summary", {}, "Request headers as sent"), headerTable(a.request_headers)),
    tokenView(a.token),
    a.status === null ? null : h("details", { open: true }, h("summary", {}, a.response_size_shown >= 1024 ? "Response body (first KB)" : "Response body"),
      a.response_excerpt ? h("pre", { class: "mono" }, a.response_excerpt) : h("p", { class: "muted" }, "empty")));
}

export function taskPage(main, name) {
  const queueName = name.split("/tasks/")[0];
  const holder = h("div");
  main.replaceChildren(h("div", { class: "crumbs" }, h("a", { href: "#/" }, "Queues"), " / ",
    h("a", { href: queueHref(queueName) }, shortName(queueName)), " / task"), h("h1", {}, shortName(name)), holder);

  async function refresh() {
    const data = await api(`${API}/task?${query({ name })}`);
    const t = data.task;
    const attempts = h("div", {}, data.attempts.length ? data.attempts.map(attemptCard) : h("p", { class: "muted" }, "No attempt yet."));
    if (!t) {
      // The API's NOT_FOUND text says "completed or deleted"; the attempts say which, and which rule stopped it.
      const end = data.ending;
      const [cls, label] = { succeeded: ["st-ok", "finished"], gave_up: ["st-5xx", "given up"] }[end.outcome] || ["st-error", "deleted"];
      holder.replaceChildren(h("p", { class: `badge ${cls}`, id: "gone", "data-outcome": end.outcome }, label),
        h("p", { id: "ending" }, `${end.summary[0].toUpperCase()}${end.summary.slice(1)}.`), h("p", { class: "muted" }, data.gone),
        h("h2", {}, "Attempts"), attempts);
      return;
    }
    const push = t.kind !== "pull";
    const next = t.dispatch;
    put(holder,
      h("div", { class: "toolbar" }, badge(t.state),
        push ? h("button", { class: "primary", onclick: () => act("task:run", t.name, () => { toast("dispatched"); refresh(); }) }, "Run now") : null,
        h("button", { class: "danger", onclick: async () => {
          if (await confirmAction(`Delete task ${t.id}?`, "Delete")) act("task:delete", t.name, () => { location.hash = queueHref(queueName); });
        } }, "Delete")),
      cards([
        [push ? "Schedule time" : "Available at", when(t.schedule_time)], ["Created", when(t.create_time)],
        ["Dispatched / answered", `${t.dispatch_count} / ${t.response_count}`],
        push ? ["Dispatch deadline", t.dispatch_deadline_s === null ? "default" : span(t.dispatch_deadline_s)] : null,
        t.first_attempt ? ["First attempt", when(t.first_attempt.dispatch_time)] : null,
        t.last_attempt ? ["Last attempt", h("span", {}, when(t.last_attempt.dispatch_time),
          t.last_attempt.response_message ? ` — ${t.last_attempt.response_message}` : "")] : null,
        t.tag !== null ? ["Tag", t.tag || "—"] : null,
        t.lease_expiry ? ["Lease expires", when(t.lease_expiry)] : null,
        t.routing ? ["App Engine routing", `${t.routing.service || "default"} ${t.routing.version} ${t.routing.instance}`] : null,
        t.token_config ? ["Token", `${t.token_config.kind} as ${t.token_config.service_account_email}`] : null,
      ]),
      next ? h("section", {}, h("h2", {}, "Target (as the next attempt sends it)"), h("div", { class: "mono", id: "target" }, `${next.method} ${next.url}`),
        h("details", {}, h("summary", {}, "Headers"), headerTable(next.headers)), tokenView(next.token, false)) : null,
      push ? h("section", {}, h("h2", {}, "Task headers"), headerTable(Object.entries(t.headers))) : null,
      h("section", {}, h("h2", {}, push ? "Body" : "Payload"), bodyView(t.body)),
      h("h2", {}, `Attempts (${data.attempts.length})`), attempts);
  }
  return { refresh, wants: (a) => a.task === name };
}

export function attemptsPage(main, feed) {
  const filter = { queue: "", outcome: "" };
  const queueBox = h("input", { type: "search", placeholder: "Queue name contains", "data-filter": "", "aria-label": "Filter by queue",
    oninput: (e) => { filter.queue = e.target.value; refresh(); } });
  const outcomeBox = h("select", { "aria-label": "Outcome", onchange: (e) => { filter.outcome = e.target.value; refresh(); } },
    [["", "All outcomes"], ["ok", "Succeeded (2xx)"], ["failed", "Failed (other status)"], ["error", "No response"]].map(([v, l]) => h("option", { value: v }, l)));
  const holder = h("div");
  main.replaceChildren(h("h1", {}, "Attempts ", h("span", { class: "muted" }, "(live)")),
    h("div", { class: "toolbar" }, queueBox, outcomeBox), holder);

  function refresh() {
    const shown = feed.filter((a) => (!filter.queue || a.queue.includes(filter.queue)) && (!filter.outcome || a.outcome === filter.outcome));
    const rows = shown.slice(0, 300).map((a) => h("tr", { "data-s": statusClass(a.status) },
      h("td", {}, isoTime(a.time)), h("td", {}, h("a", { href: queueHref(a.queue) }, shortName(a.queue))),
      h("td", { class: "mono" }, h("a", { href: taskHref(a.task) }, shortName(a.task))), h("td", { class: "num" }, a.attempt),
      h("td", {}, statusBadge(a)), h("td", { class: "num" }, `${a.latency_ms} ms`),
      h("td", { class: "mono" }, a.error || [a.method, a.url].filter(Boolean).join(" "))));
    holder.replaceChildren(table([["Time"], ["Queue"], ["Task"], ["#", "num"], ["Status"], ["Latency", "num"], ["Request / error"]],
      rows, "No attempts yet."));
  }
  return { refresh: async () => refresh(), wants: () => true };
}

let customSeconds = "30"; // the clock page's custom advance, kept across renders

function faultText(f) {
  const times = f.times === null ? "until cleared" : `${f.times} more time${f.times === 1 ? "" : "s"}`;
  if (f.url_prefix) return [`dispatch to ${f.url_prefix}…`, `${typeof f.dispatch === "number" ? `answer ${f.dispatch}` : f.dispatch}`, times];
  const acts = [f.code ? `fail with ${f.code}: ${f.message}` : null, f.delay ? `answer after ${span(f.delay)}` : null].filter(Boolean);
  return [`${f.rpc || "every RPC"} on ${f.queue || "every queue"}`, acts.join(", "), times];
}

function faultsView(faults, refresh) {
  const clear = (id) => api(id ? `/_emu/faults/${id}` : "/_emu/faults", undefined, "DELETE")
    .then(() => { toast(id ? `fault ${id} cleared` : "faults cleared"); refresh(); }, (e) => toast(e.message, true));
  const rows = faults.map((f) => h("tr", { "data-fault": f.id }, h("td", { class: "num" }, f.id),
    faultText(f).map((text) => h("td", {}, text)),
    h("td", { class: "actions" }, h("button", { "aria-label": `Clear fault ${f.id}`, onclick: () => clear(f.id) }, "Clear"))));
  return h("section", {}, h("h2", {}, "Active faults"),
    h("p", { class: "muted" }, "Added through POST /_emu/faults: failing or slow API calls, failing deliveries."),
    table([["#", "num"], ["Applies to"], ["Does"], ["Left"], ["Actions"]], rows, "No faults: every call and delivery behaves."),
    faults.length ? h("div", { class: "toolbar" }, h("button", { class: "danger", onclick: () => clear("") }, "Clear all faults")) : null);
}

export function clockPage(main, advance) {
  const holder = h("div");
  main.replaceChildren(h("h1", {}, "Clock and faults"), holder);
  async function refresh() {
    const [data, faults] = await Promise.all([api("/_emu/clock"), api("/_emu/faults")]);
    clock.now = data.now; clock.virtual = data.virtual;
    const custom = h("input", { type: "number", min: "0", step: "any", value: customSeconds, "aria-label": "Seconds to advance",
      id: "advance-seconds", oninput: (e) => { customSeconds = e.target.value; } });
    put(holder,
      h("div", { class: "clock-now", id: "clock-now" }, isoTime(data.now)),
      h("p", {}, data.virtual ? "Virtual clock: time moves only when you advance it; due tasks, retries and deadlines fire at once."
        : "Real clock. Start the emulator with --virtual-clock to move time from here."),
      data.virtual ? h("div", { class: "toolbar" },
        [["+1 s", 1], ["+1 min", 60], ["+1 h", 3600]].map(([label, s]) => h("button", { onclick: () => advance(s) }, label)),
        h("form", { class: "toolbar", onsubmit: (e) => { e.preventDefault(); advance(Number(custom.value)); } },
          h("label", {}, "Advance by", custom, "seconds"), h("button", { class: "primary" }, "Advance"))) : null,
      faultsView(faults.faults, refresh));
  }
  return { refresh, wants: () => false };
}
