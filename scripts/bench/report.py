"""Turn the results into rows: what was measured, the comparison, and the issue's targets met or missed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import floors, running

OURS, THEIRS = "cloudtasks-emu", "gcloud-tasks-emulator"
Row = list[str]


def count(n: int) -> str:
    """1000 -> 1k, 1000000 -> 1M (inexact counts stay in full)."""
    for size, suffix in ((1_000_000, "M"), (1000, "k")):
        if n >= size and n % size == 0:
            return f"{n // size}{suffix}"
    return str(n)


def results_rows(r: dict[str, Any]) -> list[Row]:
    """(measure, value) rows for one emulator's results."""
    rows: list[Row] = []
    if s := r.get("startup"):
        rows.append(["start-up to ready line", f"median {s['median_s']} s (min {s['min_s']}, max {s['max_s']})"])
        if "idle_rss_mb" in s:
            low, high = s["idle_rss_mb_range"]
            rows.append(["idle RSS, 1 s after the ready line", f"median {s['idle_rss_mb']} MB ({low}-{high})"])
    if fl := r.get("floor"):
        rows.append(
            [
                f"reference: CreateTask against a no-op grpc.aio server, raw x{fl['callers']}",
                f"{fl['per_s']:.0f}/s; server {fl['server_cpu_us']} us/call ({fl['server_system_pct']}% in kernel, "
                f"{fl['server_switches_per_call']} context switches/call)",
            ]
        )
    rows += floors.rows(r["floors"]) if "floors" in r else []
    rows += running.rows(r["users"]) if "users" in r else []
    if po := r.get("port"):
        rows.append(
            [
                f"CreateTask over the shared port vs a direct gRPC listener, raw x{po['callers']}",
                f"server {po['shared_cpu_us']} us/call vs {po['direct_cpu_us']} us/call: {po['ratio']}x",
            ]
        )
    for f in r.get("fill", []):
        rows.append([f"fill paused queue to {count(f['to'])}", f"{f['per_s']:.0f} tasks/s"])
    for c in r.get("create", []):
        for kind, label in (("raw", "raw grpc.aio"), ("official", "official client")):
            m = c[kind]
            rows.append(
                [
                    f"CreateTask, {label} x{m['callers']}, {count(c['level'])} in fill queue ({c['queued']} total)",
                    f"{m['per_s']:.0f}/s; server {m['server_cpu_us']} us/call ({m['server_system_pct']}% in kernel, "
                    f"{m['server_switches_per_call']} context switches/call, {m['server_busy_pct']}% of a core); "
                    f"client {m['client_cpu_us']} us/call",
                ]
            )
    for m in r.get("memory", []):
        rows.append([f"RSS at {m['queued']} tasks", f"{m['rss_mb']} MB; {m['bytes_per_task']} B per task"])
    for li in r.get("list", []):
        rows.append(
            [
                f"ListTasks page of 1000 at {count(li['level'])} queued",
                f"p50 {li['p50_ms']} ms, max {li['max_ms']} ms over {li['pages']} pages; "
                f"{li['page_tasks']} tasks, {li['response_bytes']} B in a page",
            ]
        )
    for g in r.get("get", []):
        value = g.get("error") or f"p50 {g['p50_ms']} ms, p99 {g['p99_ms']} ms, max {g['max_ms']} ms"
        rows.append([f"GetTask at {count(g['level'])} queued ({g['calls']} calls)", str(value)])
    if b := r.get("burst"):
        busy = ", ".join(f"{k} {v}%" for k, v in b["busy_pct"].items())
        rows.append(
            [
                f"push deliveries, {b['tasks']} tasks over {b['queues']} queues at 500/s each",
                f"{b['deliveries_per_s']:.0f}/s of {b['cap_per_s']} configured ({b['delivered']} delivered); "
                f"limited by {b['limited_by']}; CPU {busy}; emulator {b['emulator_cpu_us_per_delivery']} us/delivery",
            ]
        )
    if p := r.get("paced"):
        rows.append(
            [
                f"create-to-delivery at {p['rate_per_s']:g}/s ({p['delivered']}/{p['tasks']} delivered)",
                f"p50 {p['p50_ms']} ms, p99 {p['p99_ms']} ms, max {p['max_ms']} ms "
                f"(CreateTask RPC p50 {p['create_rpc']['p50_ms']} ms)",
            ]
        )
    if d := r.get("due"):
        rows.append(
            [
                f"due to delivery, idle running queue ({d['delivered']}/{d['tasks']} delivered)",
                f"p50 {d['p50_ms']} ms, p99 {d['p99_ms']} ms, max {d['max_ms']} ms",
            ]
        )
    if t := r.get("retry"):
        for g in t["gaps"]:
            rows.append(
                [
                    f"retry gap {g['retry']} (expected {g['expected_s']:g} s, {g['tasks']} tasks)",
                    f"error mean {g['error_mean_ms']} ms (min {g['error_min_ms']}, max {g['error_max_ms']})",
                ]
            )
    if u := r.get("pull"):
        rows.append(
            [
                f"pull lease+ack, {u['workers']} workers, batch {u['batch']}, {u['tasks']} tasks",
                f"{u['cycles_per_s']:.0f} cycles/s; server {u['server_cpu_us_per_cycle']} us/cycle",
            ]
        )
    others = ", ".join(f"{group} {pct}%" for group, pct in r.get("others_cpu_pct", {}).items())
    rows.append(["CPU used by other processes (share of all cores)", others])
    return rows + [["error", error] for error in r.get("errors", [])]


def _by_level(results: dict[str, Any], key: str) -> dict[int, dict[str, Any]]:
    return {row["level"]: row for row in results.get(key, [])}


def comparable(ours: dict[str, Any], theirs: dict[str, Any]) -> list[tuple[str, str, Any, Any]]:
    """(measure, better when, ours, theirs) for what both ran."""
    pairs: list[tuple[str, str, Any, Any]] = []
    if "startup" in ours and "startup" in theirs:
        pairs.append(
            ("start-up to ready, median s", "lower", ours["startup"]["median_s"], theirs["startup"]["median_s"])
        )
    for level, o in _by_level(ours, "create").items():
        t = _by_level(theirs, "create").get(level)
        if t is None:
            continue
        for kind in ("raw", "official"):
            label = f"CreateTask {kind} x{o[kind]['callers']} at {count(level)}"
            pairs.append((f"{label}: calls/s", "higher", o[kind]["per_s"], t[kind]["per_s"]))
            pairs.append((f"{label}: server CPU us/call", "lower", o[kind]["server_cpu_us"], t[kind]["server_cpu_us"]))
    for level, o in _by_level(ours, "memory").items():
        if (t := _by_level(theirs, "memory").get(level)) is not None:
            pairs.append((f"RSS per task at {count(level)}, B", "lower", o["bytes_per_task"], t["bytes_per_task"]))
    for level, o in _by_level(ours, "list").items():
        if (t := _by_level(theirs, "list").get(level)) is not None:
            label = f"ListTasks page_size=1000 at {count(level)}"
            pairs.append((f"{label}: p50 ms", "lower", o["p50_ms"], t["p50_ms"]))
            pairs.append((f"{label}: tasks returned", "", o["page_tasks"], t["page_tasks"]))
    for level, o in _by_level(ours, "get").items():
        if (t := _by_level(theirs, "get").get(level)) is not None:
            pairs.append((f"GetTask at {count(level)}: p50 ms", "lower", o["p50_ms"], t.get("error") or t["p50_ms"]))
    if "paced" in ours and "paced" in theirs:
        for q in ("p50_ms", "p99_ms"):
            rate = ours["paced"]["rate_per_s"]
            pairs.append((f"create-to-delivery at {rate:g}/s: {q}", "lower", ours["paced"][q], theirs["paced"][q]))
    return pairs


def ratio(ours: Any, theirs: Any) -> float | None:
    if isinstance(ours, int | float) and isinstance(theirs, int | float) and theirs:
        return round(ours / theirs, 3)
    return None


def comparison_rows(ours: dict[str, Any], theirs: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"measure": m, "better": better, OURS: o, THEIRS: t, "ratio": ratio(o, t)}
        for m, better, o, t in comparable(ours, theirs)
    ]


def _at(rows: list[dict[str, Any]], pick: Callable[[list[int]], int]) -> dict[str, Any] | None:
    return next((r for r in rows if r["level"] == pick([r["level"] for r in rows])), None) if rows else None


def targets(ours: dict[str, Any], theirs: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The issue's targets: {"target", "figure", "met"} with met None when not measured."""
    out: list[dict[str, Any]] = []

    def add(target: str, figure: str | None, met: bool | None) -> None:
        out.append({"target": target, "figure": figure or "not measured", "met": met})

    creates = ours.get("create", [])
    first, last = _at(creates, min), _at(creates, max)
    if first and last:
        cpu0 = first["raw"]["server_cpu_us"]
        floor = f" (a no-op grpc.aio server: {ours['floor']['server_cpu_us']} us)" if "floor" in ours else ""
        target = f"server CPU per CreateTask <= 100 us (raw x8, {count(first['level'])} queued)"
        add(target, f"{cpu0} us{floor}", cpu0 <= 100)
        worst = max(c["raw"]["server_cpu_us"] for c in creates)
        add(
            f"CreateTask CPU flat within 1.3x from {count(first['level'])} to {count(last['level'])} queued",
            f"{worst / cpu0:.2f}x ({cpu0} -> {worst} us worst)",
            worst / cpu0 <= 1.3,
        )
    else:
        add("server CPU per CreateTask <= 100 us", None, None)
        add("CreateTask CPU flat within 1.3x", None, None)
    port = ours.get("port")
    shared = port["ratio"] if port else None
    add(
        "shared port: server CPU per CreateTask within 1.1x of a direct gRPC listener",
        f"{shared}x ({port['shared_cpu_us']} vs {port['direct_cpu_us']} us)" if port else None,
        None if shared is None else shared <= 1.1,
    )
    if b := ours.get("burst"):
        add(
            f"deliveries hold the configured rate ({b['cap_per_s']}/s over {b['queues']} queues)",
            f"{b['deliveries_per_s']:.0f}/s, limited by {b['limited_by']}",
            b["deliveries_per_s"] >= 0.95 * b["cap_per_s"],
        )
    else:
        add("deliveries hold the configured rate", None, None)
    if p := ours.get("paced"):
        add(f"p99 create-to-delivery <= 5 ms at {p['rate_per_s']:g}/s", f"{p['p99_ms']} ms", p["p99_ms"] <= 5)
    else:
        add("p99 create-to-delivery <= 5 ms", None, None)
    if m := _at(ours.get("memory", []), max):
        per = m["bytes_per_task"]
        add(f"<= 1 KB RSS per queued small task at {count(m['level'])}", f"{per} B", per <= 1024)
    else:
        add("<= 1 KB RSS per queued small task", None, None)
    if li := _at(ours.get("list", []), max):
        add(f"ListTasks page of 1000 <= 20 ms at {count(li['level'])} (p50)", f"{li['p50_ms']} ms", li["p50_ms"] <= 20)
    else:
        add("ListTasks page of 1000 <= 20 ms", None, None)
    if (g := _at(ours.get("get", []), max)) and g["p99_ms"] is not None:
        add(f"GetTask <= 20 ms at {count(g['level'])} (p99)", f"{g['p99_ms']} ms", g["p99_ms"] <= 20)
    else:
        add("GetTask <= 20 ms", None, None)
    if s := ours.get("startup"):
        add("ready <= 0.5 s (median)", f"{s['median_s']} s", s["median_s"] <= 0.5)
    else:
        add("ready <= 0.5 s", None, None)
    add_ratio_targets(add, ours, theirs)
    issue17_targets(add, ours)
    return out


def issue17_targets(add: Callable[[str, str | None, bool | None], None], ours: dict[str, Any]) -> None:
    """Issue 17's targets, each only when its section ran."""
    if (s := ours.get("startup")) and "idle_rss_mb" in s:
        add("idle RSS <= 40 MB", f"{s['idle_rss_mb']} MB", s["idle_rss_mb"] <= 40)
    if (p := ours.get("paced")) and p["p50_ms"] is not None:
        figure = f"p50 {p['p50_ms']} ms, p99 {p['p99_ms']} ms"
        add(
            f"create-to-delivery at {p['rate_per_s']:g}/s: p50 <= 1 ms, p99 <= 2 ms",
            figure,
            p["p50_ms"] <= 1 and p["p99_ms"] <= 2,
        )
    if (d := ours.get("due")) and d["p99_ms"] is not None:
        add("first delivery <= 5 ms after due (p99)", f"{d['p99_ms']} ms (p50 {d['p50_ms']} ms)", d["p99_ms"] <= 5)
    if u := ours.get("users"):
        for mode, x in u["busy_over_alone"].items():
            add(f"creating while 10 queues deliver >= 0.8x of alone ({mode})", f"{x}x", x >= 0.8)
    if u := ours.get("users"):
        for mode, x in u["over_floor"].items():
            if x is not None:  # None: too few calls for a 10 ms tick
                floor_us = u["kinds"][running.FLOOR][mode]["server_cpu_us"]["median"]
                figure = f"{x}x (no-op grpc.aio: {floor_us} us in the same rounds)"
                add(f"CreateTask ({mode}, running queue) within 1.15x of the no-op floor", figure, x <= 1.15)


def add_ratio_targets(
    add: Callable[[str, str | None, bool | None], None], ours: dict[str, Any], theirs: dict[str, Any] | None
) -> None:
    """>= 10x gcloud-tasks-emulator on CreateTask throughput (raw x8, fewest queued) and paced p99 latency."""
    o, t = _at(ours.get("create", []), min), _at((theirs or {}).get("create", []), min)
    if o and t and o["level"] == t["level"]:
        x = o["raw"]["per_s"] / t["raw"]["per_s"]
        add(
            f">= 10x {THEIRS} on CreateTask throughput (raw x8, {count(o['level'])} queued)",
            f"{x:.2f}x ({o['raw']['per_s']:.0f} vs {t['raw']['per_s']:.0f}/s)",
            x >= 10,
        )
    else:
        add(f">= 10x {THEIRS} on CreateTask throughput", None, None)
    po, pt = ours.get("paced"), (theirs or {}).get("paced")
    if po and pt and po["p99_ms"]:
        x = pt["p99_ms"] / po["p99_ms"]
        add(
            f">= 10x {THEIRS} on create-to-delivery latency (p99)",
            f"{x:.1f}x ({po['p99_ms']} vs {pt['p99_ms']} ms)",
            x >= 10,
        )
    else:
        add(f">= 10x {THEIRS} on create-to-delivery latency", None, None)


def markdown(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join("" if cell is None else str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def render(report: dict[str, Any]) -> str:
    """Every table of a report, as markdown."""
    parts = []
    for name, results in report["results"].items():
        parts += [f"### {name}", "", markdown(["measure", "value"], results_rows(results)), ""]
    if comparison := report.get("comparison"):
        rows = [[c["measure"], c["better"], c[OURS], c[THEIRS], c["ratio"]] for c in comparison]
        parts += ["### comparison", "", markdown(["measure", "better", OURS, THEIRS, "ours / theirs"], rows), ""]
    rows = [
        [t["target"], t["figure"], "met" if t["met"] else "MISSED"] for t in report["targets"] if t["met"] is not None
    ]
    if rows:
        parts += ["### targets", "", markdown(["target", "figure", ""], rows), ""]
    if profile := report.get("profile"):
        rows = [[r["function"], r["self_pct"], r["total_pct"]] for r in profile["top"]]
        title = (
            f"### py-spy --native, CreateTask raw x8: {profile['busy_samples']} busy samples "
            f"({profile['waiting_samples']} waiting in epoll left out), {profile['file']}"
        )
        parts += [title, "", markdown(["function (file)", "self %", "total %"], rows), ""]
    return "\n".join(parts)
