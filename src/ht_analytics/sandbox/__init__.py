"""A local, deterministic HT Partner API: realistic data served over real HTTP.

``SandboxServer`` runs the whole API of ``api/HT_PARTNER_API.md`` (all 11 endpoints under
``/api/partners/``) with uvicorn on ``127.0.0.1``, from data that ``generate_dataset`` makes from a
seed. It enforces the ``Api-Key`` header, paginates with the contract's keyset cursor, can serve
orders in either wire flavour (camelCase, snake_case, or a mix), and can inject faults (latency, 429s
with ``Retry-After``, 5xx, dropped connections, truncated or malformed bodies) deterministically::

    from ht_analytics.sandbox import FaultConfig, SandboxServer

    with SandboxServer(orders=5_000, seed=1, faults=FaultConfig(error_rate=0.05)) as srv:
        ...  # point a client at srv.url with the key srv.api_key; srv.data is what it serves

``create_app`` gives the Starlette app itself (for in-process transports); ``serve`` runs the server
in the foreground (``ht-analytics sandbox serve``).
"""

from __future__ import annotations

from ._app import create_app
from ._connect import Connection, connect
from ._faults import FaultConfig, FaultStats
from ._generate import generate_dataset, generate_orders
from ._model import DEFAULT_NOW, SandboxData
from ._server import SandboxServer, serve

__all__ = [
    "DEFAULT_NOW",
    "Connection",
    "FaultConfig",
    "FaultStats",
    "SandboxData",
    "SandboxServer",
    "connect",
    "create_app",
    "generate_dataset",
    "generate_orders",
    "serve",
]
