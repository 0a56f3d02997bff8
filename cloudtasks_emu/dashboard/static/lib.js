// Small helpers shared by the pages: DOM building, JSON calls, formatting, toasts, confirmation.

export const clock = { now: Date.now() / 1000, virtual: false };

// h("a", {href: "#/"}, "text", child...): attributes, on* listeners, and text or nodes as children.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else el.setAttribute(key, value === true ? "" : value);
  }
  for (const child of shown(children)) el.append(child instanceof Node ? child : String(child));
  return el;
}

// The children worth showing: the DOM would write null, undefined or false as text ("null").
function shown(children) {
  return children.flat().filter((child) => child !== null && child !== undefined && child !== false);
}

// el.replaceChildren(...children) without the absent ones (a section shown only sometimes).
export function put(el, ...children) {
  el.replaceChildren(...shown(children));
}

export class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

// GET when body is undefined, else POST it as JSON (or send `method`). Errors carry the server's message.
export async function api(path, body, method) {
  const init = body === undefined ? { method: method || "GET" } : {
    method: method || "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  };
  const response = await fetch(path, init);
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new ApiError(response.status, (data.error && data.error.message) || response.statusText);
  if (typeof data.now === "number") { clock.now = data.now; clock.virtual = data.virtual; }
  return data;
}

export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value) search.set(key, value);
  return search.toString();
}

let toastTimer = 0;
export function toast(message, error = false) {
  const el = document.getElementById("toast");
  el.textContent = message;
  el.className = error ? "show error" : "show";
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.className = ""; }, error ? 6000 : 2500);
}

// Resolves true when the user confirms in the modal dialog (Esc or Cancel: false).
export function confirmAction(text, label) {
  const dialog = document.getElementById("confirm");
  document.getElementById("confirm-text").textContent = text;
  document.getElementById("confirm-ok").textContent = label;
  dialog.returnValue = "";
  dialog.showModal();
  document.getElementById("confirm-ok").focus();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
  });
}

export function isoTime(at) {
  if (at === null || at === undefined) return "—";
  return new Date(at * 1000).toISOString().replace("T", " ").replace("Z", " UTC");
}

export function span(seconds) {
  const s = Math.abs(seconds);
  if (s < 1) return `${Math.round(s * 1000)} ms`;
  if (s < 90) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  if (s < 172800) return `${(s / 3600).toFixed(1)} h`;
  return `${(s / 86400).toFixed(1)} d`;
}

// "in 5 s" / "3 min ago", against the emulator's clock (virtual or not).
export function relative(at) {
  if (at === null || at === undefined) return "";
  const delta = at - clock.now;
  if (Math.abs(delta) < 0.0005) return "now";
  return delta > 0 ? `in ${span(delta)}` : `${span(delta)} ago`;
}

export function when(at) {
  return h("span", { title: isoTime(at) }, at === null || at === undefined ? "—" : `${isoTime(at)} (${relative(at)})`);
}

export function statusClass(status) {
  if (status === null || status === undefined) return "st-error";
  if (status >= 200 && status < 300) return "st-ok";
  return status < 500 ? "st-4xx" : "st-5xx";
}

export function statusBadge(attempt) {
  const label = attempt.status === null ? (attempt.error.startsWith("timeout") ? "timeout" : "no response") : attempt.status;
  return h("span", { class: `badge ${statusClass(attempt.status)}`, title: attempt.error || "" }, label);
}

export function badge(state) {
  return h("span", { class: `badge state-${state}` }, state.replace("_", " "));
}

export function shortName(name) {
  return name.split("/").pop();
}

export function queueHref(name) { return `#/queue/${encodeURIComponent(name)}`; }
export function taskHref(name) { return `#/task/${encodeURIComponent(name)}`; }

export function table(headers, rows, empty) {
  const head = h("tr", {}, headers.map(([label, cls]) => h("th", { class: cls || null, scope: "col" }, label)));
  const body = rows.length ? rows : [h("tr", {}, h("td", { class: "empty", colspan: headers.length }, empty))];
  return h("div", { class: "table-wrap" }, h("table", {}, h("thead", {}, head), h("tbody", {}, body)));
}

export function cards(pairs) {
  return h("div", { class: "grid" }, pairs.filter(Boolean).map(([label, value]) =>
    h("dl", { class: "card" }, h("dt", {}, label), h("dd", {}, value))));
}

export function headerTable(pairs) {
  if (!pairs.length) return h("p", { class: "muted" }, "none");
  return h("pre", { class: "mono" }, pairs.map(([k, v]) => `${k}: ${v}`).join("\n"));
}
