"""The state the sandbox's handlers share: :class:`Sandbox` (the data, its index, the lock)."""

from __future__ import annotations

import threading

from ._flavour import Flavour, OrderEncoder
from ._index import OrderIndex
from ._model import Client, Order, SandboxData

__all__ = ["Sandbox"]


class Sandbox:
    """The state the handlers share: the data, its index, the serialised-order cache and a lock.

    Change ``data`` through the app, or call :meth:`order_changed` / :meth:`client_changed`
    afterwards so that the index and the cached bytes follow.
    """

    def __init__(self, data: SandboxData, *, flavour: Flavour, expose_tags: bool) -> None:
        self.data = data
        self.lock = threading.RLock()
        self.index = OrderIndex(data.orders)
        self.encoder = OrderEncoder(flavour, data.clients, expose_tags=expose_tags)
        self.skus = {int(sku["id"]): sku for sku in data.skus}
        self._by_external: dict[str, int] | None = None

    def order_changed(self, order: Order, *, old_client_id: object = None) -> None:
        """Re-index an order changed in place (or new) and forget its cached bytes."""
        with self.lock:
            self.index.update(order, old_client_id=old_client_id)
            self.encoder.invalidate(int(order["id"]))

    def client_changed(self, client_id: int, *, old_external_id: object = None) -> None:
        """Follow a new or changed client: its ``external_id`` and its orders' cached bytes."""
        with self.lock:
            if self._by_external is not None:
                if self._by_external.get(str(old_external_id)) == client_id:
                    del self._by_external[str(old_external_id)]
                external = self.data.clients[client_id].get("external_id")
                if external is not None:
                    self._by_external.setdefault(str(external), client_id)
            for order in self.index.client_orders(client_id):
                self.encoder.invalidate(int(order["id"]))

    def client_by_external_id(self, external_id: str) -> Client | None:
        """The client with this ``external_id``, if any."""
        with self.lock:
            if self._by_external is None:
                self._by_external = {}
                for cid, client in self.data.clients.items():
                    if client.get("external_id") is not None:
                        self._by_external.setdefault(str(client["external_id"]), cid)
            found = self._by_external.get(external_id)
            return None if found is None else self.data.clients.get(found)
