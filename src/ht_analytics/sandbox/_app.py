"""The sandbox's Starlette app: the 11 endpoints of the HT Partner API contract.

Routes live under ``/api/partners/``. Every request needs the ``Api-Key`` header (401 otherwise).
Errors are ``{"status": "error", "message": ..., "errors": [{"field": ..., "message": ...}]}`` with
the matching status code; unknown routes are a 404 of that shape.

The sandbox's readings of what the contract leaves open:

* ``GET /orders`` and ``GET /orders/count_by_tag`` reject unknown query parameters (400), so a
  misspelt filter is never silently ignored. ``status`` is accepted as ``status=1``,
  ``status[]=1&status[]=3`` and ``status=1,3``; unknown status ids are a 400. See ``_query`` for
  the filters' and the cursor's meaning.
* ``POST /orders`` answers 422 listing every invalid field. A new order is SEARCHING, created at
  ``max(now, latest createdAt + 1 ms)`` (so it sorts last), has no appointment yet, and its price rises
  with ``devices``: each device beyond the first adds a $20.00 "Additional device" adjustment to the
  first service line (the generator's ``new_order``).
* ``POST /clients`` needs ``email`` (the contract's one required ClientParam; 400 otherwise;
  422 when a given ``external_id`` is taken). ``PUT /clients/{id}`` needs ``email`` (400) and
  upserts on ``external_id``: the client with the body's ``external_id`` is updated; else the client
  ``{id}`` is updated (taking that ``external_id``); else, when the body has an ``external_id``, a
  new client is created; else 404. It answers 200 with the client in every success case.
* ``POST /skus/{id}/check_zip``: ``treatment`` is ``"on"`` when the ZIP's 3-digit prefix is one the
  SKU serves; ``cbsa_id`` / ``cbsa`` name the metro area of the prefix (0 / ``""`` when unknown).

Request bodies and path ids are checked in ``_validate``; the error body is built in ``_errors``; the
state the handlers share (data, index, cached bytes, lock) is the :class:`Sandbox` of ``_state``.
"""

from __future__ import annotations

import gc
import hashlib
import hmac
import secrets
import string
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from ._catalog import STATES
from ._errors import ApiError, Errors, _json, error_response
from ._faults import FaultConfig, FaultMiddleware, FaultStats
from ._flavour import Flavour
from ._generate import generate_dataset
from ._model import Client, SandboxData
from ._mutations import new_client, new_order, parse_address, update_client_fields
from ._query import QueryError, UnknownCursorError, parse_order_query
from ._state import Sandbox
from ._validate import (
    _NOT_FOUND,
    _body,
    _client_params,
    _email,
    _path_id,
    _phone,
    _sku_ids,
    _strings,
    _text,
    _time_windows,
)

__all__ = ["ApiError", "ApiKeyMiddleware", "Sandbox", "create_app", "error_response"]

FREEZE_GC_AT = 100_000
"""From this many orders on, :func:`create_app` freezes the GC's view of the data."""
_ALNUM = string.ascii_letters + string.digits
_CBSA_CODES = {
    "016": 49340, "021": 14460, "071": 35620, "073": 35620, "100": 35620, "112": 35620,
    "142": 15380, "152": 38300, "191": 37980, "276": 39580, "282": 16740, "303": 12060,
    "314": 42340, "328": 36740, "331": 33100, "336": 45300, "482": 19820, "495": 24340,
    "605": 16980, "606": 16980, "752": 19100, "770": 26420, "782": 41700, "787": 12420,
    "802": 19740, "809": 17820, "850": 38060, "857": 46060, "900": 31080, "921": 41740,
    "941": 41860, "946": 41860, "951": 41940, "958": 40900, "968": 46520, "972": 38900,
    "981": 42660, "992": 44060,
}  # fmt: skip
"""The real CBSA code of the metro area around each 3-digit ZIP prefix the catalogue serves."""
_CBSA = {
    prefix: (_CBSA_CODES.get(prefix, 0), f"{city}, {state.code} metro area")
    for state in STATES
    for city, prefix, _ in state.cities
}
"""ZIP prefix -> ``(cbsa_id, cbsa)``; the title is named after the catalogue's city."""


class ApiKeyMiddleware:
    """Pure ASGI middleware: 401 unless the ``Api-Key`` header holds the key (never echoed)."""

    def __init__(self, app: ASGIApp, api_key: str) -> None:
        self.app = app
        self.api_key = api_key.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the key, then hand the request on."""
        if scope["type"] == "http":
            given = next((v for k, v in scope["headers"] if k.lower() == b"api-key"), b"").strip()
            if not given:
                response = error_response(401, "Missing Api-Key header", [("Api-Key", "required")])
                await response(scope, receive, send)
                return
            if not hmac.compare_digest(given, self.api_key):
                response = error_response(401, "Invalid API key", [("Api-Key", "invalid")])
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _secret(n: int) -> str:
    return "".join(secrets.choice(_ALNUM) for _ in range(n))


# ----------------------------------------------------------------------------- handlers


def _sandbox(request: Request) -> Sandbox:
    sandbox: Sandbox = request.app.state.sandbox
    return sandbox


def _client_or_404(sandbox: Sandbox, client_id: int) -> Client:
    client = sandbox.data.clients.get(client_id)
    if client is None:
        raise ApiError(404, _NOT_FOUND)
    return client


async def list_orders(request: Request) -> Response:
    """1. ``GET /orders``: one keyset page of the filtered orders."""
    sandbox = _sandbox(request)
    try:
        query, _ = parse_order_query(request.query_params.multi_items())
    except QueryError as exc:
        raise ApiError(400, "Invalid query parameters", exc.errors) from None
    with sandbox.lock:
        try:
            page, next_cursor = sandbox.index.select(query)
        except UnknownCursorError:
            raise ApiError(400, "Invalid cursor", [("cursor", "no order has this id")]) from None
        body = sandbox.encoder.page_body(page, next_cursor)
    return Response(body, media_type="application/json")


async def get_order(request: Request) -> Response:
    """2. ``GET /orders/{id}``."""
    sandbox, order_id = _sandbox(request), _path_id(request)
    with sandbox.lock:
        order = sandbox.index.get(order_id)
        if order is None:
            raise ApiError(404, _NOT_FOUND)
        body = sandbox.encoder.order_body(order)
    return Response(body, media_type="application/json")


async def count_by_tag(request: Request) -> Response:
    """3. ``GET /orders/count_by_tag``: orders per requested tag (0 for a tag no order carries)."""
    sandbox = _sandbox(request)
    try:
        query, tags = parse_order_query(request.query_params.multi_items(), count=True)
    except QueryError as exc:
        raise ApiError(400, "Invalid query parameters", exc.errors) from None
    with sandbox.lock:
        counts = sandbox.index.count_by_tag(tags, query)
    return _json({"status": "success", "counts": counts})


async def create_order(request: Request) -> Response:
    """4. ``POST /orders``: a new SEARCHING order (and its client when no ``client_id``)."""
    sandbox, body = _sandbox(request), await _body(request)
    errors: Errors = []
    address = _text(body, "address", errors, required=True)
    phone = _phone(body, errors, required=True)
    sku_ids = _sku_ids(body, sandbox.skus, errors)
    devices = _strings(body, "devices", errors)
    _time_windows(body, errors)
    for field in ("address_details", "business_name", "notes"):
        _text(body, field, errors, required=False)
    if not isinstance(body.get("purchase_order_id"), str | int | None):
        errors.append(("purchase_order_id", "must be a string"))
    client_id = body.get("client_id")
    params: dict[str, Any] = {}
    if client_id is None:
        for field in ("first_name", "last_name"):
            params[field] = _text(body, field, errors, required=True)
        params["email"] = _email(body, errors, required=True)
    elif isinstance(client_id, bool) or not isinstance(client_id, int):
        errors.append(("client_id", "must be an integer"))
    elif client_id not in sandbox.data.clients:
        errors.append(("client_id", f"no client has id {client_id}"))
    if errors:
        raise ApiError(422, "Validation failed", errors)
    with sandbox.lock:
        if client_id is None:
            client = new_client(sandbox.data, {**params, "phone": phone, "full_address": address})
            client_id = int(client["id"])
            sandbox.client_changed(client_id)
        order = new_order(
            sandbox.data,
            client_id=client_id,
            sku_ids=sku_ids,
            devices=devices,
            created_at=datetime.now(UTC),
            zip_code=parse_address(address)["zip"],
        )
        sandbox.index.add(order)
        payload = sandbox.encoder.order_body(order)
    return Response(payload, status_code=201, media_type="application/json")


async def create_client(request: Request) -> Response:
    """5. ``POST /clients``: a new client (422 when the ``external_id`` is taken)."""
    sandbox = _sandbox(request)
    params = _client_params(await _body(request))
    with sandbox.lock:
        external = params.get("external_id")
        if external and sandbox.client_by_external_id(external) is not None:
            raise ApiError(422, "Validation failed", [("external_id", "has already been taken")])
        client = new_client(sandbox.data, params)
        sandbox.client_changed(int(client["id"]))
        return _json({"status": "success", "client": client}, 201)


async def get_client(request: Request) -> Response:
    """6. ``GET /clients/{id}``."""
    sandbox, client_id = _sandbox(request), _path_id(request)
    with sandbox.lock:
        return _json({"status": "success", "client": _client_or_404(sandbox, client_id)})


async def update_client(request: Request) -> Response:
    """7. ``PUT /clients/{id}``: upsert on ``external_id`` (see the module docstring)."""
    sandbox, client_id = _sandbox(request), _path_id(request)
    params = _client_params(await _body(request))
    external = params.get("external_id")
    with sandbox.lock:
        client = sandbox.client_by_external_id(external) if external else None
        client = client or sandbox.data.clients.get(client_id)
        if client is None and not external:
            raise ApiError(404, _NOT_FOUND)
        before = None if client is None else client.get("external_id")
        if client is None:
            client = new_client(sandbox.data, params)
        else:
            update_client_fields(client, params)
        sandbox.client_changed(int(client["id"]), old_external_id=before)
        return _json({"status": "success", "client": client})


async def setup_intent(request: Request) -> Response:
    """8. ``POST /clients/{id}/setup_intent``: a Stripe-like customer id and client secret."""
    return _payment(request, "client_secret", f"seti_{_secret(24)}_secret_{_secret(24)}")


async def ephemeral_key(request: Request) -> Response:
    """9. ``POST /clients/{id}/ephemeral_key``: a Stripe-like customer id and ephemeral key."""
    return _payment(request, "ephemeral_key", f"ek_test_{_secret(32)}")


def _payment(request: Request, field: str, secret: str) -> Response:
    sandbox, client_id = _sandbox(request), _path_id(request)
    with sandbox.lock:
        _client_or_404(sandbox, client_id)
    customer = _customer_id(sandbox.data.seed, client_id)
    return _json({"status": "success", "stripe_customer_id": customer, field: secret})


def _customer_id(seed: int, client_id: int) -> str:
    """``cus_`` + 14 characters, stable per client."""
    digest = hashlib.blake2b(f"{seed}:{client_id}".encode(), digest_size=14).digest()
    return "cus_" + "".join(_ALNUM[b % len(_ALNUM)] for b in digest)


async def list_skus(request: Request) -> Response:
    """10. ``GET /skus``: the catalogue (without the internal ``zips``)."""
    keys = ("id", "name", "category", "price", "remote")
    skus = [{k: sku.get(k) for k in keys} for sku in _sandbox(request).data.skus]
    return _json({"status": "success", "skus": skus})


async def check_zip(request: Request) -> Response:
    """11. ``POST /skus/{id}/check_zip``: is the SKU available at this ZIP code?"""
    sandbox, sku_id = _sandbox(request), _path_id(request)
    sku = sandbox.skus.get(sku_id)
    if sku is None:
        raise ApiError(404, _NOT_FOUND)
    value = (await _body(request)).get("zip")
    text = value.strip() if isinstance(value, str) else ""
    if not (len(text) in (5, 10) and text[:5].isdigit() and text[:5].isascii()) or (
        len(text) == 10 and not (text[5] == "-" and text[6:].isdigit())
    ):
        raise ApiError(400, "Invalid ZIP code", [("zip", "must be a 5-digit ZIP code string")])
    zip_code = text[:5]
    treatment = "on" if zip_code[:3] in (sku.get("zips") or ()) else "off"
    cbsa_id, cbsa = _CBSA.get(zip_code[:3], (0, ""))
    return _json(
        {
            "status": "success",
            "treatment": treatment,
            "zip": zip_code,
            "cbsa_id": cbsa_id,
            "cbsa": cbsa,
        }
    )


# ------------------------------------------------------------------------------ the app


async def _on_api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.message, exc.errors)


async def _on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return error_response(exc.status_code, exc.detail)


async def _on_crash(request: Request, exc: Exception) -> Response:
    return error_response(500, "Internal server error")


def _routes() -> list[Route]:
    p = "/api/partners"
    return [
        Route(f"{p}/orders", list_orders, methods=["GET"]),
        Route(f"{p}/orders", create_order, methods=["POST"]),
        Route(f"{p}/orders/count_by_tag", count_by_tag, methods=["GET"]),
        Route(f"{p}/orders/{{id}}", get_order, methods=["GET"]),
        Route(f"{p}/clients", create_client, methods=["POST"]),
        Route(f"{p}/clients/{{id}}", get_client, methods=["GET"]),
        Route(f"{p}/clients/{{id}}", update_client, methods=["PUT"]),
        Route(f"{p}/clients/{{id}}/setup_intent", setup_intent, methods=["POST"]),
        Route(f"{p}/clients/{{id}}/ephemeral_key", ephemeral_key, methods=["POST"]),
        Route(f"{p}/skus", list_skus, methods=["GET"]),
        Route(f"{p}/skus/{{id}}/check_zip", check_zip, methods=["POST"]),
    ]


def create_app(
    data: SandboxData | None = None,
    *,
    orders: int = 1000,
    seed: int = 0,
    api_key: str = "sandbox",
    faults: FaultConfig | None = None,
    flavour: Flavour = "camel",
    expose_tags: bool = False,
) -> Starlette:
    """The sandbox API as a Starlette app.

    Serves ``data``, or a dataset of ``orders`` orders generated from ``seed``. Every request needs
    the header ``Api-Key: <api_key>``. ``faults`` (default: none) are injected in front of
    everything, like a misbehaving proxy; their counters are ``app.state.stats``. ``flavour`` is the
    wire shape of orders (``"camel"``, ``"snake"`` or ``"mixed"``, see ``_flavour``);
    ``expose_tags`` adds each order's ``tags`` to its payload. ``app.state.sandbox`` is the
    :class:`Sandbox` (its ``data``, ``index`` and ``lock``); ``app.state.data`` the data.

    With ``FREEZE_GC_AT`` orders or more, the app calls ``gc.freeze()`` once its index is built:
    Python's cyclic GC then stops re-scanning the tens of millions of long-lived objects of the
    data (at 1,000,000 orders each full pass otherwise stalls the process for ~10 s). The
    objects are still freed by reference counting when the data is dropped.
    """
    if not api_key:
        raise ValueError("api_key must not be empty")
    if data is None:
        data = generate_dataset(orders, seed)
    sandbox = Sandbox(data, flavour=flavour, expose_tags=expose_tags)
    if len(data.orders) >= FREEZE_GC_AT:
        gc.freeze()
    stats = FaultStats()
    app = Starlette(
        routes=_routes(),
        middleware=[
            Middleware(FaultMiddleware, config=faults or FaultConfig(), stats=stats),
            Middleware(ApiKeyMiddleware, api_key=api_key),
        ],
        exception_handlers={
            ApiError: _on_api_error,
            HTTPException: _on_http_error,
            Exception: _on_crash,
        },
    )
    app.state.sandbox = sandbox
    app.state.data = data
    app.state.stats = stats
    return app
