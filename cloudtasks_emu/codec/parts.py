"""Messages that queues and tasks share: retry config, routing, tokens, HTTP methods, and the checks."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Any, TypeVar

from google.protobuf.internal.enum_type_wrapper import EnumTypeWrapper
from google.protobuf.message import Message

from ..config import MAX_RATE
from ..errors import invalid
from ..model import RetryPolicy, Routing, Token
from .messages import HttpRequestPb, HttpTargetPb, RetryConfigPb, RoutingPb
from .spec import VersionSpec
from .wellknown import duration_s, set_duration

N = TypeVar("N", int, float)

# A header name is an HTTP token (RFC 9110 section 5.6.2, tchar); a value may not break the header line.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_LINE_BREAKERS = ("\r", "\n", "\0")


def given(fields: frozenset[str], message: Message, field: str) -> Any:
    """`message.<field>` when the version has that field (`fields`) and the request sets it, else None."""
    return getattr(message, field) if field in fields and message.HasField(field) else None


def decode_retry(spec: VersionSpec, r: RetryConfigPb) -> RetryPolicy:
    policy = RetryPolicy()
    if spec.unlimited_attempts and r.WhichOneof("num_attempts") == "unlimited_attempts":
        policy.max_attempts = -1
    elif r.max_attempts:
        if spec.unlimited_attempts and r.max_attempts < 0:
            raise invalid("RetryConfig.maxAttempts cannot be negative.")
        if r.max_attempts < -1:
            raise invalid("RetryConfig.maxAttempts must be greater or equal to -1.")
        policy.max_attempts = r.max_attempts
    if r.HasField("max_retry_duration"):
        policy.max_retry_duration_s = not_negative(duration_s(r.max_retry_duration), "RetryConfig.maxRetryDuration")
    if r.HasField("min_backoff"):
        policy.min_backoff_s = not_negative(duration_s(r.min_backoff), "RetryConfig.minBackoff")
    if r.HasField("max_backoff"):
        policy.max_backoff_s = not_negative(duration_s(r.max_backoff), "RetryConfig.maxBackoff")
    if r.max_doublings:
        policy.max_doublings = not_negative(r.max_doublings, "RetryConfig.maxDoublings")
    check_backoff_order(policy, "RetryConfig.minBackoff", "RetryConfig.maxBackoff")
    return policy


def check_backoff_order(policy: RetryPolicy, min_label: str, max_label: str) -> None:
    """min_backoff <= max_backoff, whether a request or queue.yaml sets them."""
    if policy.min_backoff_s > policy.max_backoff_s:
        raise invalid(f"{min_label} must be less than or equal to {max_label}.")


def check_rate(rate: float, label: str) -> float:
    """A dispatch rate in tasks per second: finite, not negative, at most the service's limit."""
    if not math.isfinite(rate):  # NaN passes every comparison below
        raise invalid(f"{label} must be a finite number.")
    return at_most(not_negative(rate, label), MAX_RATE, label)


def encode_retry(spec: VersionSpec, policy: RetryPolicy, r: RetryConfigPb) -> None:
    if spec.unlimited_attempts and policy.max_attempts == -1:
        setattr(r, "unlimited_attempts", True)  # noqa: B010 (only v2beta2's RetryConfig has it)
    else:
        r.max_attempts = policy.max_attempts
    if policy.max_retry_duration_s:
        set_duration(r.max_retry_duration, policy.max_retry_duration_s)
    set_duration(r.min_backoff, policy.min_backoff_s)
    set_duration(r.max_backoff, policy.max_backoff_s)
    r.max_doublings = policy.max_doublings


def decode_routing(r: RoutingPb) -> Routing:
    return Routing(r.service, r.version, r.instance)


def encode_routing(routing: Routing | None, parent: Message, field: str) -> None:
    if routing is None:
        return
    r = getattr(parent, field)
    r.SetInParent()
    r.service, r.version, r.instance = routing.service, routing.version, routing.instance


def decode_token(m: HttpRequestPb | HttpTargetPb) -> Token | None:
    kind = m.WhichOneof("authorization_header")
    if kind == "oauth_token":
        return Token("oauth", m.oauth_token.service_account_email, m.oauth_token.scope)
    if kind == "oidc_token":
        return Token("oidc", m.oidc_token.service_account_email, m.oidc_token.audience)
    return None


def encode_token(token: Token | None, m: HttpRequestPb | HttpTargetPb) -> None:
    if token is None:
        return
    if token.kind == "oauth":
        m.oauth_token.service_account_email = token.service_account_email
        m.oauth_token.scope = token.scope_or_audience
    else:
        m.oidc_token.service_account_email = token.service_account_email
        m.oidc_token.audience = token.scope_or_audience


def check_headers(headers: Iterable[tuple[str, str]], label: str) -> None:
    """Refuse what no delivery could send: a name that is not a token, a value with CR, LF or NUL."""
    for name, value in headers:
        if not _TOKEN.fullmatch(name):
            raise invalid(f"{label}: {name!r} is not a valid HTTP header name (RFC 9110 token characters only).")
        if any(c in value for c in _LINE_BREAKERS):
            raise invalid(f"{label}: the value of header {name!r} must not contain CR, LF or NUL characters.")


def enum_name(enum: EnumTypeWrapper, value: int, label: str) -> str:
    """The name of an enum value; proto3 lets any number through the wire, the API does not."""
    known = enum.DESCRIPTOR.values_by_number.get(value)
    if known is None:
        raise invalid(f"Invalid value {value} for {label}.")
    name: str = known.name
    return name


def http_method(spec: VersionSpec, value: int) -> str:
    """A task's HTTP method; unspecified means POST."""
    name = enum_name(spec.pb.HttpMethod, value, "httpMethod")
    return "POST" if value == 0 else name


def not_negative(value: N, label: str) -> N:
    if value < 0:
        raise invalid(f"{label} cannot be negative.")
    return value


def positive(value: float, label: str) -> float:
    if value <= 0:
        raise invalid(f"{label} must be positive.")
    return value


def at_most(value: N, limit: float, label: str) -> N:
    if value > limit:
        raise invalid(f"{label} must be less than or equal to {limit:g}.")
    return value
