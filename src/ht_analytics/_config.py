"""Where the client's settings come from: the API key and the base URL.

The key is taken from the argument, else the ``HT_API_KEY`` environment variable, else a ``.env``
file in the working directory. The base URL from the argument, else ``HT_BASE_URL``, else the
documented one. Plain ``http://`` is refused except for loopback hosts (the sandbox).
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

import httpx
from dotenv import dotenv_values

from ._exceptions import AuthenticationError, HTError
from ._secrets import Secret

__all__ = ["DEFAULT_BASE_URL", "resolve_api_key", "resolve_base_url"]

DEFAULT_BASE_URL = "https://apis.hellotech.com"
"""The documented base URL (labelled "Staging" in the docs; no production URL is documented)."""

KEY_ENV = "HT_API_KEY"
BASE_URL_ENV = "HT_BASE_URL"


def resolve_api_key(api_key: str | None, *, env_file: Path | None = None) -> Secret:
    """Find the API key: argument, else ``HT_API_KEY``, else ``.env``; raise when there is none."""
    for candidate in (api_key, os.environ.get(KEY_ENV), _from_env_file(env_file)):
        if candidate is not None and candidate.strip():
            return Secret(candidate.strip())
    raise AuthenticationError(
        f"no API key: pass api_key=..., set {KEY_ENV}, or put {KEY_ENV}=... in a .env file "
        "in the working directory"
    )


def _from_env_file(env_file: Path | None) -> str | None:
    path = env_file if env_file is not None else Path.cwd() / ".env"
    if not path.is_file():
        return None
    return dotenv_values(path).get(KEY_ENV)


def resolve_base_url(base_url: str | None) -> str:
    """Find and check the base URL: argument, else ``HT_BASE_URL``, else the documented one."""
    raw = base_url or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL
    try:
        url = httpx.URL(raw.strip())
    except httpx.InvalidURL as exc:
        raise HTError(f"base URL {raw!r} is not a valid URL: {exc}") from None
    if url.scheme not in {"http", "https"} or not url.host:
        raise HTError(f"base URL {raw!r} must look like https://host[:port]")
    if url.userinfo or url.query:
        raise HTError("base URL must not carry credentials or a query string")
    if url.scheme == "http" and not _is_loopback(url.host):
        raise HTError(
            f"refusing plain http:// for {url.host}: the API key would travel unencrypted; "
            "use https:// (http:// is allowed only for loopback hosts such as the sandbox)"
        )
    return str(url).rstrip("/")


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
