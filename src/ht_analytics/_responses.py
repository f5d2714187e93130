"""Reading the API's responses: the success envelope, error bodies and ``Retry-After``.

The contract assumes error bodies like ``{"status": "error", "message": ..., "errors": [{"field": ...,
"message": ...}]}``; this module is the one place that reads them. It also copes with bodies that are
not JSON at all (an HTML page from a proxy).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from ._exceptions import PayloadError
from ._secrets import is_sensitive

__all__ = ["error_message", "parse_json", "parse_retry_after", "unwrap"]

_TAGS = re.compile(r"<[^>]+>")
_SPACES = re.compile(r"\s+")
_MAX_MESSAGE = 300


def parse_json(content: bytes, *, what: str) -> Any:
    """Parse a response body, raising :class:`PayloadError` that says what was being read."""
    try:
        body = json.loads(content)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        # No excerpt of the body: it may hold a client's token.
        raise PayloadError(
            f"{what}: the response is not valid JSON ({exc}; {len(content)} bytes)"
        ) from None
    except RecursionError:
        raise PayloadError(
            f"{what}: the response is nested too deeply to read ({len(content)} bytes)"
        ) from None
    encoding = json.detect_encoding(content)
    if encoding not in ("utf-8", "utf-8-sig"):  # Python read it; the loader would not
        raise PayloadError(
            f"{what}: the response is {encoding.upper()}, not UTF-8 as JSON over HTTP must be "
            f"({len(content)} bytes)"
        )
    return body


def unwrap(body: Any, key: str | None, *, what: str) -> Any:
    """Take the data out of a success envelope ``{"status": "success", key: ...}``.

    A body that is the object itself (no envelope) is accepted too, so a change of envelope on
    the server does not break reading.
    """
    if not isinstance(body, dict):
        raise PayloadError(f"{what}: expected a JSON object, got {type(body).__name__}")
    if key is None:
        return body
    if key in body:
        return body[key]
    if key in {"order", "client"} and "id" in body:
        return body
    raise PayloadError(f"{what}: the response has no {key!r} field (keys: {sorted(body)[:10]})")


def error_message(response: httpx.Response, scrub: Callable[[str], str] = str) -> str:
    """The server's message for an error response: from ``message``, ``error`` or
    ``errors[].message`` in a JSON body, else the text of a non-JSON body, else the reason.
    ``scrub`` (taking the API key out) runs before the message is cut to its length, so no piece
    of a key is left at the cut."""
    content = response.content
    try:
        body = json.loads(content.decode("utf-8", errors="replace")) if content else None
    except (json.JSONDecodeError, RecursionError):
        body = None
    fallback = response.reason_phrase or f"HTTP {response.status_code}"
    if isinstance(body, dict):
        # Only the message fields: the rest of a JSON body may hold anything, tokens included.
        return _clip(_message_from_json(body), scrub) or fallback
    if body is not None:
        return fallback
    if content:
        text = _text_of(content[:_MAX_BODY])
        if text:
            return _clip(text, scrub)
    return fallback


def _message_from_json(body: dict[str, Any]) -> str:
    parts: list[str] = []
    for key in ("message", "error"):
        value = body.get(key)
        if isinstance(value, str) and value.strip():
            parts.append(value.strip())
        elif isinstance(value, dict) and isinstance(value.get("message"), str):
            parts.append(value["message"].strip())
    errors = body.get("errors")
    if isinstance(errors, list):
        for item in errors:
            if isinstance(item, dict) and isinstance(item.get("message"), str):
                field = item.get("field")
                text = str(item["message"]).strip()
                parts.append(f"{field}: {text}" if field else text)
            elif isinstance(item, str):
                parts.append(item.strip())
    elif isinstance(errors, dict):
        parts.extend(
            f"{field}: {msg}"
            for field, msg in errors.items()
            if isinstance(msg, str) and not is_sensitive(str(field))
        )
    return "; ".join(p for p in parts if p)


def _text_of(content: bytes) -> str:
    text = content.decode("utf-8", errors="replace")
    title = re.search(r"<title>(.*?)</title>", text, flags=re.IGNORECASE | re.DOTALL)
    if title and title.group(1).strip():
        text = title.group(1)
    return _SPACES.sub(" ", _TAGS.sub(" ", text)).strip()


_NAMED_SECRET = re.compile(
    r"(?i)\b([\w.-]*(?:token|secret|password|passwd|api[_-]?key|jwt|bearer|credential)[\w.-]*)"
    r"(\W{0,6})"
    r"(?=[^\s\"',;]*\d|(?-i:(?![A-Z][a-z]{2,}(?:[A-Z][a-z]{2,})+\b))[^\s\"',;_./:-]{16,}(?![^\s\"',;]))"
    r"([^\s\"',;]{6,})"
)
"""A value right after a name that suggests a secret (``authentication_token abc123…``,
``client_secret=…``, ``"authentication_token"=>"…"``, ``Bearer eyJ…``): a server's message may
quote a client's token. The value holds a digit, or is a run of 16 or more characters with no
separator that is not CamelCase words; words stay (``invalid token provided``,
``token: ExpiredSignatureError``, ``password: must_contain_at_least_one_digit``, a URL)."""

_BARE_SECRET = re.compile(
    r"\b(?:(?:seti|pi|si|cs|ek|src)_\w*?_secret_\w+|(?:sk|rk|ek|pk|whsec)_(?:live|test)_\w{8,}"
    r"|eyJ[\w-]{8,}\.[\w-]{8,}\.[\w-]+)"
)
"""Secrets recognisable without a name: Stripe client secrets and keys, JSON web tokens."""

_MAX_BODY = 65_536
"""Bytes of a non-JSON error body looked at for its message (its start is what matters)."""


def _clip(text: str, scrub: Callable[[str], str] = str) -> str:
    # The key comes out of the whole text first (linear), so that no cut leaves a piece of it.
    text = scrub(_SPACES.sub(" ", text[:_MAX_BODY]).strip())
    # Then a cut with room (the patterns below would be slow on a long run of text), which also
    # drops the word it falls in: a piece of some other secret is no secret of its own.
    if len(text) > 4 * _MAX_MESSAGE:
        text = re.sub(r"\S*$", "", text[: 4 * _MAX_MESSAGE]) + " …"
    text = _BARE_SECRET.sub("***", text)
    text = _NAMED_SECRET.sub(lambda m: f"{m[1]}{m[2]}***", text)
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 1] + "…"


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds, an HTTP date, or ``0``.

    Returns ``None`` when the header is absent or unreadable; never a negative number.
    """
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(seconds, 0.0) if seconds == seconds else None  # NaN is unreadable
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    now = now or datetime.now(UTC)
    return max((when - now).total_seconds(), 0.0)
