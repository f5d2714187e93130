"""``connect()``: the real API when a key is configured, else a sandbox started on the spot —
what the notebooks open with."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from .._client import PartnerClient
from .._config import BASE_URL_ENV, KEY_ENV, _from_env_file
from .._store import CACHE_ENV, OrderStore
from ._model import DEFAULT_NOW
from ._server import SandboxServer

__all__ = ["Connection", "connect"]


@dataclass(frozen=True, slots=True)
class Connection:
    """A client, the store that goes with it, and the sandbox serving it (``None``: the real
    API). Close it with :meth:`close` (or use it in a ``with`` block)."""

    client: PartnerClient
    store: OrderStore
    server: SandboxServer | None

    @property
    def is_sandbox(self) -> bool:
        return self.server is not None

    @property
    def now(self) -> object:
        """The clock of the data: the sandbox's fixed "now", or ``None`` (the real now)."""
        return DEFAULT_NOW if self.server is not None else None

    def close(self) -> None:
        self.client.close()
        if self.server is not None:
            self.server.stop()

    def __enter__(self) -> Connection:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def connect(orders: int = 5_000, seed: int = 0) -> Connection:
    """The real API (``HT_API_KEY`` in the environment or ``.env``; the default store), or,
    without a key, a sandbox of ``orders`` orders started now, with its own store under
    ``data/sandbox-cache`` (emptied: every sandbox run generates its data afresh)."""
    # A notebook runs in notebooks/: a .env beside it or in the project root both count, and
    # the project's settings and store are where that .env is (the command line's store).
    root = Path.cwd()
    key = os.environ.get(KEY_ENV) or _from_env_file(KEY_ENV, root / ".env")
    if not key and _from_env_file(KEY_ENV, root.parent / ".env"):
        root = root.parent
        key = _from_env_file(KEY_ENV, root / ".env")
    if key:
        base_url = os.environ.get(BASE_URL_ENV) or _from_env_file(BASE_URL_ENV, root / ".env")
        store = OrderStore(None if os.environ.get(CACHE_ENV) else root / "data" / "cache")
        return Connection(PartnerClient(api_key=key, base_url=base_url), store, None)
    server = SandboxServer(orders=orders, seed=seed, expose_tags=True).start()
    store = OrderStore(Path("data") / "sandbox-cache")
    store.clear()
    client = PartnerClient(base_url=server.url, api_key=server.api_key, rate_limit=None)
    return Connection(client, store, server)
