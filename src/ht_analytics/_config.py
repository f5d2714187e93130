"""Where the client's settings come from: the API key and the base URL.

The key is taken from the argument, else the ``HT_API_KEY`` environment variable, else a ``.env``
file in the working directory. The base URL from the argument, else ``HT_BASE_URL`` (the
environment, else ``.env``), else the documented one. Plain ``http://`` is refused except for loopback hosts (the sandbox).
A loopback base URL is reached directly, never through the environment's proxies.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Iterable
from pathlib import Path

import httpx
from dotenv import dotenv_values

from ._endpoints import API_PREFIX
from ._exceptions import AuthenticationError, HTError
from ._secrets import Secret, redact

__all__ = ["DEFAULT_BASE_URL", "direct_mounts", "resolve_api_key", "resolve_base_url"]

DEFAULT_BASE_URL = "https://apis.hellotech.com"
"""The documented base URL (labelled "Staging" in the docs; no production URL is documented)."""

KEY_ENV = "HT_API_KEY"
_HEADER_SAFE = re.compile(r"[!#-~]+")  # printable ASCII without space, '"' or controls
BASE_URL_ENV = "HT_BASE_URL"


def resolve_api_key(api_key: str | None, *, env_file: Path | None = None) -> Secret:
    """Find the API key: argument, else ``HT_API_KEY``, else ``.env``; raise when there is none."""
    for source, candidate in (
        ("api_key", api_key),
        (KEY_ENV, os.environ.get(KEY_ENV)),
        (f"{KEY_ENV} in .env", _from_env_file(KEY_ENV, env_file)),
    ):
        if candidate is not None and not isinstance(candidate, str):
            del api_key, candidate  # a traceback keeps the frame's locals: not the secret
            raise AuthenticationError(f"the API key from {source} is not text")
        if candidate is not None and candidate.strip():
            key = candidate.strip()
            if not _HEADER_SAFE.fullmatch(key):
                # Never repeat the value: it is (or contains) the secret; nor keep it in the
                # frame's locals, which a traceback (Sentry, pytest -l) may show.
                del api_key, candidate, key
                raise AuthenticationError(
                    f"the API key from {source} contains spaces, quotes or control characters "
                    "and cannot be sent in a header; check how it was copied"
                )
            return Secret(key)
    raise AuthenticationError(
        f"no API key: pass api_key=..., set {KEY_ENV}, or put {KEY_ENV}=... in a .env file "
        "in the working directory (to try the toolkit without one: `ht-analytics demo`, or "
        "ht_analytics.sandbox.connect())"
    )


def _from_env_file(name: str, env_file: Path | None) -> str | None:
    path = env_file if env_file is not None else Path.cwd() / ".env"
    if not path.is_file():
        return None
    return dotenv_values(path).get(name)


def resolve_base_url(
    base_url: str | None, *, env_file: Path | None = None, secrets: Iterable[Secret] = ()
) -> str:
    """Find and check the base URL: argument, else ``HT_BASE_URL`` (environment, else
    ``.env``), else the documented one. ``secrets`` (the API key) never appear in an error."""
    source: str | None = None
    raw = DEFAULT_BASE_URL
    for name, candidate in (
        ("base_url", base_url),
        (BASE_URL_ENV, os.environ.get(BASE_URL_ENV)),
        (f"{BASE_URL_ENV} in .env", _from_env_file(BASE_URL_ENV, env_file)),
    ):
        if candidate:
            source, raw = name, candidate
            break
    # Messages never repeat the value: a key pasted into the wrong place must not be printed.
    invalid = f"the base URL from {source} is not a valid URL; expected https://host[:port]"
    try:
        url = httpx.URL(raw.strip())
    except (httpx.InvalidURL, ValueError):  # (an IDNA error is a ValueError)
        raise HTError(invalid) from None
    if url.scheme not in {"http", "https"} or not url.raw_host:
        raise HTError(invalid)
    if not _usable_host(url):
        raise HTError(
            f"the base URL from {source} has a host name that cannot be used (an empty label, "
            "a label over 63 characters, or an xn-- label that is not valid punycode); "
            "expected https://host[:port]"
        )
    if url.userinfo or url.query or url.fragment:
        raise HTError(
            f"the base URL from {source} must not carry credentials, a query or a fragment"
        )
    path = url.path.rstrip("/")
    if path.endswith(API_PREFIX):  # ".../api/partners": the endpoints add that path themselves
        url = url.copy_with(path=path[: -len(API_PREFIX)] or "/")
    if url.scheme == "http" and not _is_loopback(url.host):
        # The host is named only when it looks like one (a key pasted after "http://" does
        # not), and never with a secret in it.
        named = _HOST_NAME.fullmatch(url.host) or _is_ip_address(url.host)
        where = redact(url.host, secrets) if named else f"the base URL from {source}"
        raise HTError(
            f"refusing plain http:// for {where}: the API key would travel unencrypted; "
            "use https:// (http:// is allowed only for loopback hosts such as the sandbox)"
        )
    return str(url).rstrip("/")


def direct_mounts(base_url: str) -> dict[str, None]:
    """The ``mounts`` of an ``httpx.Client`` for ``base_url``: for a loopback host (the sandbox,
    over plain http), its requests go straight to it, never through a proxy of the environment
    (``HTTP_PROXY``, ``HTTPS_PROXY``, ``ALL_PROXY``), which would carry the ``Api-Key`` header
    unencrypted off the machine. Other hosts keep the environment's proxies (a corporate proxy
    in front of the real API)."""
    url = httpx.URL(base_url)
    if not _is_loopback(url.host):
        return {}
    # A pattern naming the host (and port) comes before the environment's per-scheme proxies;
    # ``None`` means the client's own transport, no proxy.
    return {f"all://{url.netloc.decode('ascii')}": None}


def _usable_host(url: httpx.URL) -> bool:
    """Whether httpx can name the host (it decodes ``xn--`` labels) and the system's resolver
    can take it (Python's IDNA codec: no empty label, none over 63 characters): else every
    request would fail with a ``UnicodeError``, not an error of the toolkit."""
    try:
        url.host  # noqa: B018 (decoding it is the check)
        url.raw_host.decode("ascii").encode("idna")
    except UnicodeError:  # (idna's errors are UnicodeErrors)
        return False
    return True


_HOST_NAME = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}\.?")
"""A host name as DNS names are written: dotted labels of letters, digits and inner hyphens
(lower case: httpx lowers hosts)."""


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _is_ip_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True
