"""Command line: `cloudtasks-emu start [flags]`; prints one JSON line when ready.

Every flag of `start` can also come from an environment variable, CLOUDTASKS_EMU_ plus the flag's name
in capitals (`--http-port` -> CLOUDTASKS_EMU_HTTP_PORT), so containers and CI steps need no argv. A flag
on the command line wins over its variable; repeatable flags take a comma-separated list.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import math
import os
import signal
import sys
import urllib.error
import urllib.request
from collections.abc import Coroutine, Mapping
from typing import Any

from . import __version__
from .app import Emulator, host_port
from .config import Settings
from .errors import EmuError

ENV_PREFIX = "CLOUDTASKS_EMU_"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def package_version() -> str:
    return __version__


def port(text: str) -> int:
    """A TCP port: 0 (pick a free one) to 65535."""
    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"port {number} is outside 0..65535")
    return number


def seconds(text: str) -> float:
    """A positive, finite number of seconds."""
    try:
        number = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not (math.isfinite(number) and number > 0):
        raise argparse.ArgumentTypeError(f"{text} is not a positive number of seconds")
    return number


def env_name(action: argparse.Action) -> str:
    return ENV_PREFIX + action.dest.upper()


def add_start_flags(start: argparse.ArgumentParser, defaults: Settings) -> None:
    start.add_argument("--host", default=defaults.host, help="address to bind (default %(default)s)")
    start.add_argument(
        "--port",
        type=port,
        default=defaults.port,
        help="the one port for gRPC, REST, admin and health; 0 picks a free one (default %(default)s)",
    )
    start.add_argument(
        "--http-port", type=port, default=defaults.http_port, help="a second, HTTP-only port (default %(default)s)"
    )
    start.add_argument("--no-http-port", action="store_true", help="serve HTTP on --port only")
    start.add_argument("--grpc-port", type=port, default=None, help="also a direct gRPC port (default none)")
    start.add_argument("--location", default=defaults.location, help="location reported by ListLocations")
    start.add_argument("--app-engine-url", default=defaults.app_engine_url, help="base URL for App Engine targets")
    start.add_argument("--queue", action="append", default=[], metavar="NAME", help="create this queue at start")
    start.add_argument(
        "--app-engine-service",
        action="append",
        default=[],
        metavar="NAME=URL",
        help="deliver App Engine tasks routed to service NAME to URL (repeatable)",
    )
    start.add_argument(
        "--max-tasks", type=int, default=defaults.max_tasks, help="cap on stored tasks (default %(default)s)"
    )
    start.add_argument(
        "--max-task-bytes",
        type=int,
        default=defaults.max_task_bytes,
        help="cap on the bytes of stored tasks (default %(default)s)",
    )
    start.add_argument(
        "--allow-remote-admin", action="store_true", help="let clients other than loopback call /_emu/reset"
    )
    start.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        metavar="NAME",
        help="also answer HTTP requests for this Host name; '*' for any (repeatable)",
    )
    start.add_argument(
        "--allow-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="let web pages from this origin call the emulator, e.g. http://localhost:3000 (repeatable)",
    )
    start.add_argument(
        "--data-dir", default=defaults.data_dir, metavar="DIR", help="keep state in SQLite in DIR (default: memory)"
    )
    start.add_argument(
        "--database",
        default=defaults.database,
        metavar="URL",
        help="keep state in PostgreSQL (postgresql://USER@HOST:PORT/DB), shared by every process given it",
    )
    start.add_argument(
        "--attempt-journal-size",
        type=int,
        default=defaults.attempt_journal_size,
        metavar="N",
        help="push attempts remembered per queue for /_emu/attempts (default %(default)s)",
    )
    start.add_argument("--config", default="", metavar="FILE", help="YAML file of queues to create at start")
    start.add_argument("--virtual-clock", action="store_true", help="time moves only through the admin API")
    start.add_argument(
        "--queue-reuse-delay",
        type=float,
        default=defaults.queue_reuse_delay_s,
        metavar="SECONDS",
        help="how long a deleted queue's name stays blocked, as in the cloud (default %(default)s)",
    )
    start.add_argument(
        "--head-timeout",
        type=seconds,
        default=defaults.head_timeout_s,
        metavar="SECONDS",
        help="close a connection that has not sent a request head or the HTTP/2 preface by then (default %(default)s)",
    )
    start.add_argument(
        "--idle-timeout",
        type=seconds,
        default=defaults.idle_timeout_s,
        metavar="SECONDS",
        help="close an HTTP keep-alive or gRPC connection idle this long (default %(default)s)",
    )
    start.add_argument("--log-level", default=defaults.log_level, choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    start.add_argument("--ready-file", default="", metavar="PATH", help="also write the ready JSON to PATH")


def _env_value(parser: argparse.ArgumentParser, action: argparse.Action, raw: str) -> Any:
    """The value of one flag's variable, checked as argparse checks the flag itself."""
    name = env_name(action)
    if action.nargs == 0:  # store_true
        if raw.strip().lower() not in _TRUE | _FALSE:
            parser.error(f"{name}={raw!r}: want one of 1, true, yes, on, 0, false, no, off")
        return raw.strip().lower() in _TRUE
    repeatable = isinstance(action, argparse._AppendAction)
    items = [item.strip() for item in raw.split(",") if item.strip()] if repeatable else [raw]
    values = []
    for item in items:
        try:
            value = action.type(item) if callable(action.type) else item
        except (argparse.ArgumentTypeError, ValueError) as error:
            parser.error(f"{name}={item!r}: {error}")
        if action.choices is not None and value not in action.choices:
            parser.error(f"{name}={item!r}: want one of {', '.join(map(str, action.choices))}")
        values.append(value)
    return values if repeatable else values[0]


def apply_env(parser: argparse.ArgumentParser, environ: Mapping[str, str]) -> dict[str, list[Any]]:
    """Name each flag's variable in --help and make a set variable the flag's default.

    Returns the lists of repeatable flags instead: argparse appends to a default, and a list given on
    the command line should replace the variable's, not add to it.
    """
    lists: dict[str, list[Any]] = {}
    for action in parser._actions:
        if not action.option_strings or action.dest in ("help", "version"):
            continue
        name = env_name(action)
        action.help = f"{action.help or ''} [env {name}]".strip()
        if name in environ:
            value = _env_value(parser, action, environ[name])
            if isinstance(value, list):
                lists[action.dest] = value
            else:
                action.default = value
    return lists


def parse_args(argv: list[str], environ: Mapping[str, str] | None = None) -> argparse.Namespace:
    environ = os.environ if environ is None else environ
    if argv and argv[0].startswith("-") and argv[0] not in ("-h", "--help", "--version"):
        # Flags alone mean `start`: `docker run IMAGE --queue X` replaces the image's CMD ["start"].
        argv = ["start", *argv]
    parser = argparse.ArgumentParser(
        prog="cloudtasks-emu",
        description="Local emulator of Google Cloud Tasks.",
        epilog=f"Every flag of `start` also reads {ENV_PREFIX}<FLAG NAME> (e.g. {ENV_PREFIX}HTTP_PORT).",
    )
    parser.add_argument("--version", action="version", version=f"cloudtasks-emu {package_version()}")
    commands = parser.add_subparsers(dest="command", required=True)
    start = commands.add_parser("start", help="serve gRPC and HTTP until interrupted")
    add_start_flags(start, Settings())
    env_lists = apply_env(start, environ)
    health = commands.add_parser("healthcheck", help="exit 0 if the emulator at --host/--http-port is serving")
    health.add_argument("--host", default="127.0.0.1")
    health.add_argument("--http-port", type=port, default=8124)
    health.add_argument("--ready-file", default="", metavar="PATH", help="read the HTTP port from this ready file")
    apply_env(health, environ)
    args = parser.parse_args(argv)
    for dest, values in env_lists.items():
        if args.command == "start" and not getattr(args, dest):
            setattr(args, dest, values)
    if args.command == "start":
        services = {}
        for item in args.app_engine_service:
            name, sep, url = item.partition("=")
            if not sep or not name or not url:
                start.error(f"--app-engine-service wants NAME=URL, got {item!r}")
            services[name] = url
        args.app_engine_service = services
    return args


def settings_from(args: argparse.Namespace) -> Settings:
    return Settings(
        app_engine_services=args.app_engine_service,
        host=args.host,
        port=args.port,
        http_port=None if args.no_http_port else args.http_port,
        grpc_port=args.grpc_port,
        location=args.location,
        app_engine_url=args.app_engine_url,
        queues=args.queue,
        config_file=args.config,
        data_dir=args.data_dir,
        database=args.database,
        attempt_journal_size=args.attempt_journal_size,
        max_tasks=args.max_tasks,
        max_task_bytes=args.max_task_bytes,
        allow_remote_admin=args.allow_remote_admin,
        allowed_hosts=args.allowed_host,
        allow_origins=args.allow_origin,
        virtual_clock=args.virtual_clock,
        queue_reuse_delay_s=args.queue_reuse_delay,
        head_timeout_s=args.head_timeout,
        idle_timeout_s=args.idle_timeout,
        log_level=args.log_level,
    )


def start_line(settings: Settings, ready: dict[str, Any], storage: str) -> str:
    """The one line a person reads on stderr: where it listens, where tasks live, which clock runs."""
    clock = "virtual (moves through /_emu/clock)" if settings.virtual_clock else "real"
    extra = [f"HTTP {ready['http']}"] if ready["http_port"] != ready["port"] else []
    extra += [f"gRPC {ready['grpc']}"] if ready["grpc_port"] != ready["port"] else []
    listens = ", ".join([f"gRPC and HTTP {ready['address']}", *extra])
    return f"cloudtasks-emu {package_version()}: {listens}; storage {storage}; clock {clock}"


def ready_json(emulator: Emulator) -> dict[str, Any]:
    """The ready line's fields: the addresses really bound (`--port 0` picks a free port)."""
    host = emulator.settings.host
    return {
        "ready": True,
        "address": host_port(host, emulator.port),  # every client, every protocol
        "port": emulator.port,
        "grpc": host_port(host, emulator.grpc_port),
        "http": f"http://{host_port(host, emulator.http_port)}",
        "grpc_port": emulator.grpc_port,
        "http_port": emulator.http_port,
    }


def write_ready_file(path: str, line: str) -> None:
    """Write whole or not at all, so that a shell step polling for the file never reads half a line."""
    partial = f"{path}.partial"
    with open(partial, "w", encoding="utf-8") as file:
        file.write(line + "\n")
    os.replace(partial, path)


async def serve(settings: Settings, ready_file: str = "") -> None:
    """Run until SIGINT/SIGTERM; a second signal exits at once."""
    emulator = Emulator(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def on_signal() -> None:
        if stop.is_set():
            sys.exit(1)
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal)
    try:
        await emulator.start()
        ready = ready_json(emulator)
        line = json.dumps(ready)
        print(start_line(settings, ready, emulator.backend.description), file=sys.stderr, flush=True)
        if ready_file:
            write_ready_file(ready_file, line)
        print(line, flush=True)
        await stop.wait()
    finally:
        await emulator.stop()
        if ready_file:
            with contextlib.suppress(FileNotFoundError):
                os.remove(ready_file)


def healthcheck(host: str, http_port: int, ready_file: str = "") -> int:
    """0 when /healthz answers SERVING: the container's HEALTHCHECK, with nothing but Python.

    The ready file, when there is one, names the port really bound (`--http-port 0` picks one)."""
    if ready_file and os.path.exists(ready_file):
        with open(ready_file, encoding="utf-8") as file:
            http_port = int(json.load(file)["http_port"])
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    url = f"http://{host}:{http_port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            body = json.load(response)
    except (OSError, ValueError) as error:
        print(f"cloudtasks-emu healthcheck: {url}: {error}", file=sys.stderr)
        return 1
    return 0 if body.get("status") == "SERVING" else 1


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop where it is installed (about a tenth less CPU per call), else asyncio's loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def _run(main: Coroutine[Any, Any, None]) -> None:
    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        runner.run(main)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.command == "healthcheck":
        sys.exit(healthcheck(args.host, args.http_port, args.ready_file))
    settings = settings_from(args)
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        _run(serve(settings, args.ready_file))
    except EmuError as error:  # a bad --queue name or --config file
        sys.exit(f"cloudtasks-emu: {error.message}")
    except OSError as error:
        sys.exit(f"cloudtasks-emu: {error}")
