"""``PartnerClient``: every endpoint of the HT Partner API, paced, retried and redacted."""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, cast

import httpx

from ._config import direct_mounts, resolve_api_key, resolve_base_url
from ._endpoints import ENDPOINTS
from ._exceptions import HTError, PaginationError, PayloadError
from ._models import ClientRecord, EphemeralKey, SetupIntent, ZipCheck
from ._pagination import NEXT_CURSOR_KEY, CursorPaginator, Page, _order_id, parse_page_light
from ._params import DateLike, OrderFilters, StatusLike, check_page_size
from ._ratelimit import RateLimiter
from ._responses import parse_json, unwrap
from ._retry import RetryPolicy
from ._secrets import Secret, safe_url
from ._transport import ClientStats, Requester, bound_by_deadlines
from ._version import toolkit_version

__all__ = ["ClientStats", "PartnerClient"]

log = logging.getLogger("ht_analytics.client")

API_KEY_HEADER = "Api-Key"


def _user_agent() -> str:
    return f"ht-analytics/{toolkit_version()}"


class PartnerClient:
    """A client for the HT Partner API.

    Args:
        api_key: the partner's key; else ``HT_API_KEY``; else ``HT_API_KEY`` in ``./.env``.
        base_url: else ``HT_BASE_URL``; else ``https://apis.hellotech.com``. ``http://`` only for
            loopback hosts.
        rate_limit: requests per second, shared by every thread using this client (``None``: no
            pacing).
        timeout: seconds for each request (connect, read, write).
        max_retries: retries after the first attempt, for timeouts, network errors, 429, 5xx and
            unreadable bodies.
        retry_timeout: seconds after which no new attempt starts for one request.
        transport: an ``httpx`` transport (e.g. ``httpx.MockTransport``) for tests.

    Example:
        >>> with PartnerClient(base_url=server.url, api_key="sandbox") as client:  # doctest: +SKIP
        ...     orders = list(client.iter_orders(status="open", start="2025-01-01"))
    """

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        rate_limit: float | None = 10.0,
        timeout: float = 30.0,
        max_retries: int = 5,
        retry_timeout: float = 120.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        try:
            key = resolve_api_key(api_key)
        except HTError:
            del api_key  # a traceback keeps the frame's locals (Sentry, pytest -l): not the key
            raise
        self.base_url = resolve_base_url(base_url, secrets=(key,))
        http = httpx.Client(
            base_url=self.base_url,
            headers={"Accept": "application/json", "User-Agent": _user_agent()},
            auth=_KeyAuth(key),
            timeout=timeout,
            transport=transport,
            follow_redirects=False,
            mounts=direct_mounts(self.base_url),
        )
        if transport is None:  # a caller's transport is left as it is
            bound_by_deadlines(http)
        self._requester = Requester(
            http,
            key,
            RateLimiter(rate_limit),
            RetryPolicy(max_retries=max_retries, total_timeout=retry_timeout),
            timeout,
        )
        self._call = self._requester.call

    # -- plumbing -------------------------------------------------------------------------

    def __repr__(self) -> str:
        # getattr: a client whose construction failed may be shown by a traceback's locals
        base_url, rate_limit = getattr(self, "base_url", None), getattr(self, "rate_limit", None)
        return f"PartnerClient(base_url={base_url!r}, rate_limit={rate_limit!r})"

    def __enter__(self) -> PartnerClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._requester.http.close()

    @property
    def rate_limit(self) -> float | None:
        """Requests per second this client allows itself (shared by all its threads)."""
        return self._requester.limiter.rate

    @property
    def stats(self) -> ClientStats:
        """Counters of requests, retries and pages so far (a snapshot)."""
        return self._requester.counter.snapshot()

    # -- orders ---------------------------------------------------------------------------

    def iter_pages(
        self,
        *,
        tags: str | Iterable[str] | None = None,
        start: DateLike | None = None,
        end: DateLike | None = None,
        status: StatusLike | Iterable[StatusLike] | None = None,
        client_id: int | None = None,
        order_by: str = "created_at",
        sort: str = "ASC",
        page_size: int = 100,
    ) -> Iterator[Page]:
        """Yield every page of ``GET /orders`` for the filters, each a :class:`Page` carrying the
        raw body bytes, the parsed orders, the request and the response.

        Filters: ``tags`` (orders carrying one of them), ``start``/``end`` (inclusive UTC creation
        dates; ``date``, ``datetime`` or ISO string), ``status`` (ids, names, ``"open"``,
        ``"terminal"``), ``client_id``, ``order_by`` (``created_at`` | ``appointment``), ``sort``
        (``ASC`` | ``DESC``), ``page_size`` (1–500). Raises :class:`PaginationError` when the pages
        do not add up (a repeated id, a cursor that does not advance, an empty page with a cursor).
        """
        filters = OrderFilters.build(
            tags=tags,
            start=start,
            end=end,
            status=status,
            client_id=client_id,
            order_by=order_by,
            sort=sort,
        )
        paginator = CursorPaginator(limit=check_page_size(page_size))
        return self._pages(filters, paginator)

    def _pages(
        self,
        filters: OrderFilters,
        paginator: CursorPaginator,
        *,
        light: bool = False,
        check: Callable[[Any, str], None] | None = None,
    ) -> Iterator[Page]:
        params = paginator.init_request(filters.query())
        parse = parse_page_light if light else parse_json

        def read(body: Any, what: str) -> tuple[Any, list[dict[str, Any]]]:
            orders = paginator.orders_of(body, what)
            if check is not None:
                check(body, what)
            return body, orders

        while paginator.has_next_page:
            asked = 0
            reasked_empty = False
            while True:
                (body, orders), _, response = self._call(
                    "list_orders", params=params, read=read, parse=parse
                )
                if not reasked_empty and not orders and paginator.pages and _ends(body):
                    # An empty last page after a page with a cursor: how a listing whose orders
                    # fill its pages exactly may end, and what a cache replaying another query's
                    # empty answer gives (the listing's other orders would be lost): asked once
                    # more (not counted as a try of the page), and the end if empty again.
                    reasked_empty = True
                    log.info(
                        "page %d is empty and ends the listing; asking once more",
                        paginator.pages + 1,
                    )
                    continue
                asked += 1
                try:
                    next_cursor = paginator.update_state(body, orders)
                    break
                except (PaginationError, PayloadError) as exc:
                    if asked == 2:
                        if isinstance(exc, PaginationError):  # say which query's pages
                            url = safe_url(response.request.url)
                            exc.args = (f"{response.request.method} {url}: {exc}",)
                        raise
                    # A proxy or cache replaying another page looks like this too: ask again.
                    log.info("%s; asking for page %d once more", exc, paginator.pages + 1)
            self._requester.counter.add(pages=1)
            yield Page(
                number=paginator.pages,
                orders=orders,
                raw=response.content,
                next_cursor=next_cursor,
                request=response.request,
                response=response,
            )
            if paginator.has_next_page:
                params = paginator.update_request(params)

    def _iter_raw_pages(
        self,
        *,
        page_size: int = 100,
        check: Callable[[Any, str], None] | None = None,
        **filters: Any,
    ) -> Iterator[Page]:
        """Like :meth:`iter_pages`, for callers that type ``page.raw`` themselves (the store):
        each ``page.orders`` holds only the orders' ids, read without building the full dicts.

        ``check(body, what)``: raises :class:`PayloadError` for a page that cannot be the answer
        to the query (the page is then asked for again, like any unreadable answer)."""
        built = OrderFilters.build(**filters)
        paginator = CursorPaginator(limit=check_page_size(page_size))
        return self._pages(built, paginator, light=True, check=check)

    def iter_orders(
        self,
        *,
        tags: str | Iterable[str] | None = None,
        start: DateLike | None = None,
        end: DateLike | None = None,
        status: StatusLike | Iterable[StatusLike] | None = None,
        client_id: int | None = None,
        order_by: str = "created_at",
        sort: str = "ASC",
        page_size: int = 100,
    ) -> Iterator[dict[str, Any]]:
        """Yield every order (a dict as the API sent it) matching the filters, across all pages,
        each exactly once. Filters as in :meth:`iter_pages`."""
        pages = self.iter_pages(
            tags=tags,
            start=start,
            end=end,
            status=status,
            client_id=client_id,
            order_by=order_by,
            sort=sort,
            page_size=page_size,
        )
        return (order for page in pages for order in page.orders)

    def get_order(self, order_id: int) -> dict[str, Any]:
        """One order by id (``NotFoundError`` when unknown)."""
        key = ENDPOINTS["get_order"].key
        wanted = _int_id(order_id)
        unwrapped = _unwrapper(key, dict)

        def read(body: Any, what: str) -> Any:
            order = unwrapped(body, what)
            if _order_id(order) != wanted:  # another order's answer: retried, then an error
                raise PayloadError(f"{what}: the answer is order {order.get('id')!r}, not {wanted}")
            return order

        order, _, _ = self._call("get_order", id=wanted, read=read)
        return cast(dict[str, Any], order)

    def count_by_tag(
        self,
        tags: str | Iterable[str],
        *,
        start: DateLike | None = None,
        end: DateLike | None = None,
        status: StatusLike | Iterable[StatusLike] | None = None,
    ) -> dict[str, int]:
        """The server's count of orders per tag (``{"tag": count}``), with optional filters."""
        filters = OrderFilters.build(tags=tags, start=start, end=end, status=status)
        if not filters.tags:
            raise ValueError("count_by_tag needs at least one tag")

        def read(body: Any, what: str) -> dict[str, int]:
            counts = unwrap(body, ENDPOINTS["count_by_tag"].key, what=what)
            if not isinstance(counts, dict):
                raise PayloadError(f"{what}: 'counts' is not an object")
            # Counts only of tags not asked for: the answer of another query (a cache or proxy
            # mixing answers up). A tag asked for and left out counts 0 (a server may list only
            # the tags it found), and counts of other tags beside them are ignored.
            others = [tag for tag in counts if tag not in filters.tags]
            if counts and len(others) == len(counts):
                raise PayloadError(
                    f"{what}: the answer counts {', '.join(map(repr, others[:5]))}, which was not "
                    f"asked for (asked: {', '.join(map(repr, filters.tags))}): the answer of "
                    "another query?"
                )
            out: dict[str, int] = {}
            for tag in filters.tags:
                value = counts.get(tag, 0)
                if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                    raise PayloadError(f"{what}: count of {tag!r} is {value!r}, not a count")
                out[tag] = value
            return out

        counts, _, _ = self._call("count_by_tag", params=filters.query(with_order=False), read=read)
        return counts

    def create_order(
        self,
        *,
        address: str,
        phone: str,
        sku_ids: Sequence[int],
        client_id: int | None = None,
        first_name: str | None = None,
        last_name: str | None = None,
        email: str | None = None,
        address_details: str | None = None,
        business_name: str | None = None,
        devices: Sequence[str] | None = None,
        notes: str | None = None,
        time_windows: Sequence[tuple[datetime, datetime]] | None = None,
        purchase_order_id: str | None = None,
    ) -> dict[str, Any]:
        """Book an order (``POST /orders``) and return it. Either ``client_id`` of an existing client
        or ``first_name``, ``last_name`` and ``email`` (a new client). ``time_windows`` are
        one-hour ``(start, end)`` blocks. Not retried once the request may have reached the
        server, so an order is never created twice."""
        if not sku_ids or not all(isinstance(s, int) and not isinstance(s, bool) for s in sku_ids):
            raise ValueError("sku_ids must be a non-empty list of integer SKU ids")
        if client_id is None and not (first_name and last_name and email):
            raise ValueError("give client_id, or first_name, last_name and email for a new client")
        if not address or not phone:
            raise ValueError("address and phone are required")
        body: dict[str, Any] = {
            "client_id": client_id,
            "first_name": first_name,
            "last_name": last_name,
            "email": email,
            "address": address,
            "address_details": address_details,
            "phone": phone,
            "business_name": business_name,
            "sku_id": list(sku_ids),
            "devices": list(devices or []),
            "notes": notes,
            "time_windows": [
                {"start_time": _wire_instant(s), "end_time": _wire_instant(e)}
                for s, e in (time_windows or [])
            ],
            "purchase_order_id": purchase_order_id,
        }
        key = ENDPOINTS["create_order"].key
        order, _, _ = self._call("create_order", json=body, read=_unwrapper(key, dict))
        return cast(dict[str, Any], order)

    # -- clients --------------------------------------------------------------------------

    def create_client(
        self,
        *,
        email: str,
        first_name: str | None = None,
        last_name: str | None = None,
        external_id: str | None = None,
        full_address: str | None = None,
        phone: str | None = None,
    ) -> ClientRecord:
        """Create a client (``POST /clients``). Not retried once it may have reached the server."""
        body = _client_params(email, first_name, last_name, external_id, full_address, phone)
        return self._client_call("create_client", json=body)

    def get_client(self, client_id: int) -> ClientRecord:
        """A client by id (``NotFoundError`` when unknown)."""
        wanted = _int_id(client_id)
        return self._client_call("get_client", id=wanted, expect=wanted)

    def update_client(
        self,
        client_id: int,
        *,
        email: str,
        first_name: str | None = None,
        last_name: str | None = None,
        external_id: str | None = None,
        full_address: str | None = None,
        phone: str | None = None,
    ) -> ClientRecord:
        """Update a client, or create it when no client has ``external_id`` (``PUT /clients/{id}``)."""
        body = _client_params(email, first_name, last_name, external_id, full_address, phone)
        # An upsert keyed on external_id is safe to resend; without one, a resent PUT might
        # create a second client.
        return self._client_call(
            "update_client", id=_int_id(client_id), json=body, idempotent=external_id is not None
        )

    def _client_call(self, name: str, *, expect: int | None = None, **kwargs: Any) -> ClientRecord:
        key = ENDPOINTS[name].key

        def read(body: Any, what: str) -> ClientRecord:
            client = ClientRecord.from_wire(unwrap(body, key, what=what), what=what)
            if expect is not None and client.id != expect:  # another client's answer: retried
                raise PayloadError(f"{what}: the answer is client {client.id!r}, not {expect}")
            return client

        client, _, _ = self._call(name, read=read, **kwargs)
        return client

    def create_setup_intent(self, client_id: int) -> SetupIntent:
        """A Stripe setup intent for the client; its ``client_secret`` is a masked :class:`Secret`."""
        result, _, _ = self._call(
            "create_setup_intent",
            id=_int_id(client_id),
            read=lambda body, what: SetupIntent.from_wire(_as_object(body, what), what=what),
        )
        return result

    def create_ephemeral_key(self, client_id: int) -> EphemeralKey:
        """A Stripe ephemeral key for the client; the key is a masked :class:`Secret`."""
        result, _, _ = self._call(
            "create_ephemeral_key",
            id=_int_id(client_id),
            read=lambda body, what: EphemeralKey.from_wire(_as_object(body, what), what=what),
        )
        return result

    # -- SKUs -----------------------------------------------------------------------------

    def list_skus(self) -> list[dict[str, Any]]:
        """The partner's SKU catalogue (``id``, ``name``, ``category``, ``price``, ``remote``)."""
        skus, _, _ = self._call("list_skus", read=_unwrapper(ENDPOINTS["list_skus"].key, list))
        return cast(list[dict[str, Any]], skus)

    def check_zip(self, sku_id: int, zip_code: str) -> ZipCheck:
        """Whether the SKU is available at the ZIP code (``NotFoundError`` for an unknown SKU)."""
        zip_text = str(zip_code).strip()
        if not (zip_text.isdigit() and len(zip_text) == 5):
            raise ValueError(f"zip_code must be 5 digits, got {zip_code!r}")
        sku = _int_id(sku_id)
        result, _, _ = self._call(
            "check_zip",
            id=sku,
            json={"zip": zip_text},
            read=lambda body, what: ZipCheck.from_wire(
                sku, zip_text, _as_object(body, what), what=what
            ),
        )
        return result


class _KeyAuth(httpx.Auth):
    """Puts the ``Api-Key`` header on a copy of each request as it is sent: the requests the
    toolkit builds and keeps (which a traceback's locals may show) never hold the key."""

    def __init__(self, key: Secret) -> None:
        self._key = key

    def __repr__(self) -> str:
        return "_KeyAuth(***)"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        headers = request.headers.copy()
        headers[API_KEY_HEADER] = self._key.reveal()
        yield httpx.Request(
            request.method,
            request.url,
            headers=headers,
            stream=request.stream,
            extensions=request.extensions,
        )


def _unwrapper(key: str | None, kind: type) -> Callable[[Any, str], Any]:
    def read(body: Any, what: str) -> Any:
        data = unwrap(body, key, what=what)
        if not isinstance(data, kind):
            raise PayloadError(f"{what}: {key!r} is {type(data).__name__}, not {kind.__name__}")
        return data

    return read


def _as_object(body: Any, what: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise PayloadError(f"{what}: expected a JSON object, got {type(body).__name__}")
    return body


def _int_id(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"an id must be a non-negative integer, got {value!r}")
    return value


def _wire_instant(value: datetime) -> str:
    """ISO-8601 UTC with milliseconds, as the contract's request timestamps."""
    if value.tzinfo is None:
        raise ValueError(f"time window {value!r} needs a time zone (an aware datetime)")
    return (
        value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    )


def _client_params(
    email: str,
    first_name: str | None,
    last_name: str | None,
    external_id: str | None,
    full_address: str | None,
    phone: str | None,
) -> dict[str, Any]:
    if not email or "@" not in email:
        raise ValueError(f"a client needs an email address, got {email!r}")
    params = {
        "external_id": external_id,
        "first_name": first_name,
        "last_name": last_name,
        "email": email,
        "full_address": full_address,
        "phone": phone,
    }
    # Fields not given are left out, not sent as null (which could erase them on update).
    return {k: v for k, v in params.items() if v is not None}


def _ends(body: Any) -> bool:
    """A page body that says it is the last: ``next_cursor`` is there, and null. (A server that
    sends no cursor at all is paged by the last id; the empty page that ends its listing is the
    one the client asks for after a full page, not asked twice.)"""
    return isinstance(body, dict) and NEXT_CURSOR_KEY in body and body[NEXT_CURSOR_KEY] is None
