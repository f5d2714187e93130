"""The one table of the HT Partner API's endpoints.

Each row says how to call an endpoint and whether the contract confirms it or we assume it. When a real
payload shows otherwise, this table is the one place to change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["API_PREFIX", "ENDPOINTS", "Endpoint"]

Method = Literal["GET", "POST", "PUT"]


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One endpoint of the contract.

    Attributes:
        name: the method name on :class:`~ht_analytics.PartnerClient`.
        method: HTTP method.
        path: path template under the base URL; ``{id}`` is the one path parameter.
        key: the envelope key that holds the data in a success response (``None``: the whole body).
        idempotent: whether a request may be sent again after it may have reached the server.
            Creating an order or a client twice would duplicate it, so those are not.
        assumed: True where the contract says the path or response is assumed, not confirmed.
    """

    name: str
    method: Method
    path: str
    key: str | None
    idempotent: bool = True
    assumed: bool = False

    def url_path(self, id: int | str | None = None) -> str:
        """The path with its parameter filled in (ids are documented as strings in paths)."""
        if "{id}" in self.path:
            if id is None:
                raise ValueError(f"{self.name} needs an id")
            return self.path.replace("{id}", _path_segment(id))
        return self.path


def _path_segment(value: int | str) -> str:
    text = str(value).strip()
    if not text or not text.replace("-", "").isalnum():
        raise ValueError(f"{value!r} is not a valid id")
    return text


API_PREFIX = "/api/partners"
"""The path every endpoint starts with (a base URL is the host, without it)."""
_P = API_PREFIX

ENDPOINTS: dict[str, Endpoint] = {
    e.name: e
    for e in (
        Endpoint("list_orders", "GET", f"{_P}/orders", "orders"),
        Endpoint("get_order", "GET", f"{_P}/orders/{{id}}", "order"),
        Endpoint("count_by_tag", "GET", f"{_P}/orders/count_by_tag", "counts", assumed=True),
        Endpoint("create_order", "POST", f"{_P}/orders", "order", idempotent=False),
        Endpoint(
            "create_client", "POST", f"{_P}/clients", "client", idempotent=False, assumed=True
        ),
        Endpoint("get_client", "GET", f"{_P}/clients/{{id}}", "client"),
        # Update is an upsert keyed on external_id: sending it twice gives the same result.
        Endpoint("update_client", "PUT", f"{_P}/clients/{{id}}", "client"),
        # A second setup intent or ephemeral key is harmless (the first simply goes unused).
        Endpoint("create_setup_intent", "POST", f"{_P}/clients/{{id}}/setup_intent", None),
        Endpoint("create_ephemeral_key", "POST", f"{_P}/clients/{{id}}/ephemeral_key", None),
        Endpoint("list_skus", "GET", f"{_P}/skus", "skus", assumed=True),
        Endpoint("check_zip", "POST", f"{_P}/skus/{{id}}/check_zip", None),
    )
}
