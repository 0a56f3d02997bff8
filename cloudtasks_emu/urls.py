"""Task URLs from a queue's uri_override: one builder for delivery and for tasks made without a URL."""

from __future__ import annotations

import dataclasses
from urllib.parse import urlsplit, urlunsplit

from .model import UriOverride


def apply_uri_override(url: str, override: UriOverride | None) -> str:
    """The queue's uri_override applied to a task URL: ALWAYS replaces, IF_NOT_EXISTS fills gaps."""
    if override is None:
        return url
    parts = urlsplit(url)
    always = override.enforce_mode != "IF_NOT_EXISTS"
    scheme, host, port = parts.scheme, parts.hostname or "", parts.port
    path, query = parts.path, parts.query
    if override.scheme is not None and always:
        scheme = "https" if override.scheme == "SCHEME_UNSPECIFIED" else override.scheme.lower()
    if override.host is not None and always:
        host = override.host
    if override.port is not None and (always or port is None):
        port = override.port
    if override.path is not None and (always or path in ("", "/")):
        path = override.path
    if override.query is not None and (always or not query):
        query = override.query
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc += f":{port}"
    if path and not path.startswith("/"):
        path = "/" + path
    return urlunsplit((scheme, netloc, path, query, ""))


def override_url(override: UriOverride) -> str | None:
    """The URL the override alone names, for tasks that bring none (BufferTask, Firebase's enqueue
    without a uri); None when it names no host."""
    if not override.host:
        return None
    whole = dataclasses.replace(override, enforce_mode="ALWAYS", path=override.path or "/")
    return apply_uri_override(f"https://{override.host}/", whole)
