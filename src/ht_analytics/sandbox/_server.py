"""Run the sandbox app with uvicorn on 127.0.0.1, in a background thread or in the foreground."""

from __future__ import annotations

import contextlib
import threading
import time
from types import TracebackType
from typing import Any

import uvicorn

from ._app import Sandbox, create_app
from ._faults import FaultConfig, FaultStats
from ._flavour import Flavour
from ._model import Order, SandboxData

__all__ = ["SandboxServer", "serve"]

HOST = "127.0.0.1"
_START_TIMEOUT = 30.0


class SandboxServer:
    """The sandbox API served by uvicorn on ``127.0.0.1`` from a background thread.

    Use it as a context manager (``with SandboxServer(orders=5_000) as srv: ... srv.url``) or call
    :meth:`start` / :meth:`stop`. ``port=0`` picks a free port; :attr:`port` is the real one once
    started. The server speaks HTTP/1.1 with h11 (the fault injection relies on its behaviour, see
    ``_faults``), logs warnings only, no access log, and leaves the process's logging configuration
    alone (uvicorn's records propagate to the root logger).

    Attributes:
        data: the :class:`SandboxData` served (create/update endpoints change it).
        api_key: the key clients must send in ``Api-Key``.
        app: the Starlette app.
        sandbox: the app's shared state (index, lock, caches).
    """

    def __init__(
        self,
        data: SandboxData | None = None,
        *,
        orders: int = 1000,
        seed: int = 0,
        port: int = 0,
        api_key: str = "sandbox",
        faults: FaultConfig | None = None,
        flavour: Flavour = "camel",
        expose_tags: bool = False,
    ) -> None:
        self.app = create_app(
            data,
            orders=orders,
            seed=seed,
            api_key=api_key,
            faults=faults,
            flavour=flavour,
            expose_tags=expose_tags,
        )
        self.sandbox: Sandbox = self.app.state.sandbox
        self.data: SandboxData = self.app.state.data
        self.api_key = api_key
        self.faults = faults
        self._requested_port = port
        self._port: int | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    @property
    def stats(self) -> FaultStats:
        """Live counters: ``requests``, ``faults`` (by kind) and ``max_per_second``."""
        stats: FaultStats = self.app.state.stats
        return stats

    @property
    def port(self) -> int:
        """The bound port (once started; still readable after :meth:`stop`)."""
        if self._port is None:
            raise RuntimeError("the sandbox server was not started")
        return self._port

    @property
    def url(self) -> str:
        """Base URL, e.g. ``"http://127.0.0.1:54321"`` (no trailing slash)."""
        return f"http://{HOST}:{self.port}"

    @property
    def running(self) -> bool:
        """True between :meth:`start` and :meth:`stop`."""
        return self._thread is not None and self._thread.is_alive()

    def update_order(self, order_id: int, **changes: Any) -> Order:
        """Change fields of a served order (camelCase names, e.g. ``statusId=3``), as time would.

        The index and the cached JSON follow; change orders through this method (or call
        ``server.sandbox.order_changed(order)`` afterwards), never only in ``data``.
        Raises ``KeyError`` for an unknown id.
        """
        with self.sandbox.lock:
            order = self.sandbox.index.get(order_id)
            if order is None:
                raise KeyError(order_id)
            old_client_id = order.get("clientId")
            order.update(changes)
            self.sandbox.order_changed(order, old_client_id=old_client_id)
            return order

    def start(self) -> SandboxServer:
        """Start serving in a daemon thread and wait until the socket accepts connections."""
        if self._thread is not None:
            raise RuntimeError("the sandbox server was already started")
        config = uvicorn.Config(
            self.app,
            host=HOST,
            port=self._requested_port,
            http="h11",
            ws="none",
            lifespan="off",
            log_config=None,
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=5,
        )
        server = uvicorn.Server(config)
        self._server = server
        self._thread = threading.Thread(target=self._run, name="ht-sandbox", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + _START_TIMEOUT
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self._thread.join(timeout=1.0)
                self._thread = None
                raise RuntimeError(
                    f"the sandbox server did not start on {HOST}:{self._requested_port}"
                ) from self._error
            time.sleep(0.01)
        self._port = int(server.servers[0].sockets[0].getsockname()[1])
        return self

    def _run(self) -> None:
        assert self._server is not None
        try:
            self._server.run()
        except BaseException as exc:
            self._error = exc

    def stop(self, timeout: float = 10.0) -> None:
        """Shut down: stop accepting, let open requests finish, join the thread."""
        if self._server is None or self._thread is None:
            return
        self._server.should_exit = True
        self._thread.join(timeout=timeout)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(timeout=timeout)
        self._thread = None
        self._server = None

    def run(self) -> None:
        """Serve in the foreground until interrupted (Ctrl-C)."""
        if not self.running:
            self.start()
        try:
            while self.running:
                time.sleep(0.2)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.url if self.running else "not running"
        return f"SandboxServer({where}, orders={len(self.data.orders)})"


def serve(
    port: int = 8765,
    orders: int = 5_000,
    seed: int = 0,
    *,
    api_key: str = "sandbox",
    faults: FaultConfig | None = None,
    flavour: Flavour | str = "camel",
    expose_tags: bool = False,
) -> None:
    """Serve the sandbox on 127.0.0.1 until Ctrl-C, printing its URL (``ht-analytics sandbox serve``)."""
    if flavour not in ("camel", "snake", "mixed"):
        raise ValueError(f"flavour must be camel, snake or mixed, not {flavour!r}")
    print(f"Generating {orders:,} sandbox orders (seed {seed}) …", flush=True)
    server = SandboxServer(
        orders=orders,
        seed=seed,
        port=port,
        api_key=api_key,
        faults=faults,
        flavour=flavour,
        expose_tags=expose_tags,
    )
    server.start()
    print(
        f"Sandbox serving the HT Partner API at {server.url} (endpoints under /api/partners/)",
        flush=True,
    )
    print(
        f"Point a client at it with HT_BASE_URL={server.url} and HT_API_KEY set to the key you "
        "chose (default: sandbox); Ctrl-C stops.",
        flush=True,
    )
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
