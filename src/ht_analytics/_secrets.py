"""Secrets that do not show themselves, and scrubbing of text that might hold one."""

from __future__ import annotations

import base64
import functools
import html
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, quote_plus

import httpx

__all__ = ["SENSITIVE_PARAMS", "Secret", "is_sensitive", "redact", "safe_url"]

SENSITIVE_PARAMS = (
    "key",
    "token",
    "secret",
    "password",
    "passwd",
    "signature",
    "jwt",
    "bearer",
    "session",
    "credential",
    "authorization",
    "cookie",
)
_MASK = "***"


class Secret:
    """A secret value (API key, client token, client secret, ephemeral key).

    Its ``repr`` and ``str`` are masked, so printing a result or an exception never shows it;
    :meth:`reveal` gives the value when it is really needed.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret itself."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret('{_MASK}')"

    def __str__(self) -> str:
        return _MASK

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash((Secret, self._value))

    def __bool__(self) -> bool:
        return bool(self._value)


PIECE = 8
"""A run of this many characters of a secret (of 12 or more) is masked on its own: a server that
echoes part of a key (``sk-live-Zq7W…``) must not print that part either."""


@functools.lru_cache(maxsize=64)
def _pattern(value: str) -> re.Pattern[str]:
    """Every form a secret may take in a message: as written, as ``repr`` and bytes escape it,
    URL-encoded, HTML-escaped, in base64, in any case, and each run of :data:`PIECE` of its
    characters."""
    forms = {value, repr(value)[1:-1], repr(value.encode())[2:-1]}
    forms |= {
        quote(value, safe=""),
        quote_plus(value),
        html.escape(value),
        html.escape(value, False),
    }
    for encoded in (base64.b64encode(value.encode()), base64.urlsafe_b64encode(value.encode())):
        forms |= {encoded.decode(), encoded.decode().rstrip("=")}
    if len(value) >= 12:
        forms |= {value[i : i + PIECE] for i in range(len(value) - PIECE + 1)}
    alternatives = sorted(forms, key=len, reverse=True)
    return re.compile("|".join(re.escape(f) for f in alternatives), re.IGNORECASE)


def redact(text: str, secrets: Iterable[Secret | str | None]) -> str:
    """``text`` with every occurrence of each secret, in any of the forms of :func:`_pattern`,
    replaced by ``***``."""
    for secret in secrets:
        value = secret.reveal() if isinstance(secret, Secret) else secret
        if value and len(value) >= 3:
            text = _pattern(value).sub(_MASK, text)
    return text


def safe_url(url: httpx.URL | str) -> str:
    """A URL fit for a log line or an error: no user info and no fragment; query and path
    parameters whose name suggests a secret are masked."""
    parsed = httpx.URL(url) if isinstance(url, str) else url
    if parsed.userinfo:
        parsed = parsed.copy_with(username=None, password=None)
    if parsed.fragment:  # never sent to a server; may carry a token (#access_token=…)
        parsed = parsed.copy_with(fragment=None)
    if ";" in parsed.path:  # path parameters: /v1;token=…
        path = _PATH_PARAM.sub(
            lambda m: f";{m[1]}={_MASK}" if is_sensitive(m[1]) else m[0], parsed.path
        )
        parsed = parsed.copy_with(path=path)
    params = parsed.params
    if any(is_sensitive(k) for k in params):
        masked = [(k, _MASK if is_sensitive(k) else v) for k, v in params.multi_items()]
        parsed = parsed.copy_with(params=masked)
    return str(parsed)


_WORDS = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")
_SECRET_PARTS = re.compile(
    "token|secret|passw|passphrase|credential|authoriz|cookie|signature|jwt|bearer|sessionid"
    "|(api|access|private|encryption|signing|auth|client|master|license|ephemeral|publishable"
    "|session|webhook|aws|ssh|x)keys?(id)?$|apikey"
)
"""Parts that say secret wherever they are in a name run together (``authenticationtoken``,
``userpassword``, ``JSESSIONID``, ``awssecretaccesskey``, ``xapikey``)."""
_SECRET_WORDS = frozenset({"key", "keys", "pin", "otp", "ssn", "cvv", "cvc", "pwd"})
"""Words that say secret only as a whole word (``keywords``, ``turkey`` and ``pinned`` do not)."""
_PATH_PARAM = re.compile(r";([^;/=]+)=([^;/]*)")


@functools.lru_cache(maxsize=4096)  # field names repeat: each is looked at once
def is_sensitive(name: str) -> bool:
    """Whether a field or parameter name suggests a secret: it holds ``token``, ``secret``,
    ``password``, ``credential``, ``cookie``, ``apikey``, a session id … anywhere (names are
    often run together: ``authenticationtoken``), or one of its words is ``key``, ``pin``,
    ``otp`` …, or it is ``session`` (a session id; ``sessionCount`` is not). Words that only
    contain ``key`` (``keywords``, ``turkey``, ``donkeyRide``) do not count."""
    joined = re.sub(r"[^a-z0-9]", "", name.lower())
    if _SECRET_PARTS.search(joined):
        return True
    words = [w.lower() for w in _WORDS.findall(name)]
    if any(w in _SECRET_WORDS for w in words):
        return True
    return "session" in words and (len(words) == 1 or "id" in words)


REDACTED = "[redacted]"


def scrub(value: Any, *, drop_nulls: bool = False, leaf: Any = None) -> Any:
    """``value`` (JSON-like) with the value of every key that suggests a secret replaced by
    ``[redacted]``, at any depth: unknown payload fields kept as text must not carry a client's
    ``authentication_token`` (or a key) into frames, caches or reports.

    ``drop_nulls``: also leave out the keys whose value is null. ``leaf``: a function applied to
    every value that is not a dict or a list. Iterative: any depth, no recursion limit."""
    if not isinstance(value, dict | list):
        return value if leaf is None else leaf(value)
    root: list[Any] = [None]
    stack: list[tuple[Any, Any, Any]] = [(value, root, 0)]
    while stack:
        src, parent, key = stack.pop()
        if isinstance(src, dict):
            out: Any = {}
            for k, v in src.items():
                if is_sensitive(str(k)):
                    out[k] = REDACTED
                elif v is None and drop_nulls:
                    continue
                elif isinstance(v, dict | list):
                    out[k] = None
                    stack.append((v, out, k))
                else:
                    out[k] = v if leaf is None else leaf(v)
        else:
            out = list(src)
            for i, v in enumerate(src):
                if isinstance(v, dict | list):
                    stack.append((v, out, i))
                elif leaf is not None:
                    out[i] = leaf(v)
        parent[key] = out
    return root[0]
