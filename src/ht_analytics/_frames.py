"""``OrderFrames``: the five typed tables of a set of orders, as one frozen value."""

from __future__ import annotations

import html
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ._bounds import end_bound, moment
from ._schema import TYPED

__all__ = ["OrderFrames"]

TABLES = ("orders", "services", "adjustments", "tags", "problems")


@dataclass(frozen=True, slots=True, repr=False, eq=False)
class OrderFrames:
    """Orders as typed pandas DataFrames, made by :func:`~ht_analytics.load_orders`.

    Attributes:
        orders: one row per order (``order_id`` unique).
        services: one row per line item (``order_id``, ``line_no``).
        adjustments: order-level (``level == "order"``, ``service_id`` NA) and service-level ones.
        tags: ``order_id``, ``tag`` pairs.
        problems: every value that could not be read (NA in the frames), and every note on a
            value kept as sent (a DST rule applied, a duplicate order, an unknown status id,
            totals that do not add up): ``order_id``, ``table``, ``field``, ``raw_value``,
            ``reason``.

    The column names and dtypes are the contract of ``ht_analytics._schema.TYPED``: money is
    ``decimal128(18, 2)``, instants ``datetime64[us, UTC]``, flags ``boolean``.
    """

    orders: pd.DataFrame
    services: pd.DataFrame
    adjustments: pd.DataFrame
    tags: pd.DataFrame
    problems: pd.DataFrame

    def __iter__(self) -> Any:
        return iter(getattr(self, name) for name in TABLES)

    @property
    def net_total(self) -> Any:
        """Σ ``orders.total_amount`` (an exact ``Decimal``)."""
        return self.orders["total_amount"].sum()

    def summary(self) -> dict[str, Any]:
        """Row counts, the creation-date range, the net total and the problem count."""
        created = self.orders["created_at"]
        return {
            "orders": len(self.orders),
            "services": len(self.services),
            "adjustments": len(self.adjustments),
            "tags": len(self.tags),
            "problems": len(self.problems),
            "first_created": created.min() if len(created) else None,
            "last_created": created.max() if len(created) else None,
            "net_total": self.net_total,
        }

    def __repr__(self) -> str:
        s = self.summary()
        span = _span(s, "…")
        return (
            f"OrderFrames(orders={s['orders']:,}, services={s['services']:,}, "
            f"adjustments={s['adjustments']:,}, tags={s['tags']:,}, problems={s['problems']:,}, "
            f"created {span}, net ${s['net_total']:,.2f})"
        )

    def _repr_html_(self) -> str:
        s = self.summary()
        span = _span(s, "–")
        rows = [
            ("Orders", f"{s['orders']:,}"),
            ("Services", f"{s['services']:,}"),
            ("Adjustments", f"{s['adjustments']:,}"),
            ("Tags", f"{s['tags']:,}"),
            ("Created", span),
            ("Net total", f"${s['net_total']:,.2f}"),
            ("Problems", f"{s['problems']:,}"),
        ]
        body = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
            for k, v in rows
        )
        return f"<div><strong>OrderFrames</strong><table>{body}</table></div>"

    def to_polars(self) -> dict[str, Any]:
        """The five tables as Polars DataFrames (needs ``polars``): ``{"orders": ..., ...}``.
        Money stays an exact ``Decimal(18, 2)``, instants ``Datetime("us", "UTC")``."""
        try:
            import polars as pl
        except ImportError:  # pragma: no cover - depends on the environment
            raise ImportError(
                "to_polars() needs polars: uv add polars (or pip install 'ht-analytics[polars]')"
            ) from None
        import pyarrow as pa

        return {
            name: pl.from_arrow(pa.Table.from_pandas(getattr(self, name), preserve_index=False))
            for name in TABLES
        }

    def filter(
        self,
        *,
        order_ids: Iterable[int] | None = None,
        start: Any = None,
        end: Any = None,
        status: str | int | Iterable[str | int] | None = None,
        tags: str | Iterable[str] | None = None,
    ) -> OrderFrames:
        """A new ``OrderFrames`` holding only the matching orders (and their rows in every table).

        ``start``/``end`` bound ``created_at``, inclusive, as ``OrderStore.load`` does: a date
        (a ``date``, ``YYYY-MM-DD``, ``MM-DD-YYYY``) is its UTC day, whole for ``end``; a
        ``datetime``, ``Timestamp`` or ISO-8601 timestamp is that instant (naive: UTC); ``status``
        as in the metrics: ``"open"``, ``"terminal"``, ``"billable"``, ``"all"``, status names
        (``"COMPLETED"``, any case) or ids, or a list of them (an unknown name is a
        ``ValueError``; orders of an unknown status id count as open); ``tags`` keeps orders
        carrying any of the tags.
        """
        from ._periods import includes_unknown, select_statuses  # (imports this module)

        keep = pd.Series(True, index=self.orders.index)
        o = self.orders
        if order_ids is not None:
            keep &= o["order_id"].isin(list(order_ids))
        if start is not None:
            keep &= o["created_at"] >= moment(start, "start")[0]
        if end is not None:
            keep &= o["created_at"] <= end_bound(end)
        if status is not None:
            given = (
                status if isinstance(status, Iterable) and not isinstance(status, str) else [status]
            )
            given = list(given)
            # A missing label (NaN, None: e.g. from frames.orders["status"].unique()) is the
            # orders of an unknown status id.
            missing = [s for s in given if pd.api.types.is_scalar(s) and pd.isna(s)]
            known = [s for s in given if not (pd.api.types.is_scalar(s) and pd.isna(s))]
            chosen = o["status"].isna() if missing else pd.Series(False, index=o.index)
            if known or not missing:
                labels, _ = select_statuses(known)
                chosen |= o["status"].isin(labels).fillna(False)
                if includes_unknown(known):
                    chosen |= o["status"].isna()
            keep &= chosen
        if tags is not None:
            wanted = [tags] if isinstance(tags, str) else list(tags)
            keep &= o["order_id"].isin(self.tags.loc[self.tags["tag"].isin(wanted), "order_id"])
        ids = o.loc[keep.fillna(False), "order_id"]

        def sub(frame: pd.DataFrame) -> pd.DataFrame:
            mask = frame["order_id"].isin(ids)
            return frame.loc[mask.fillna(False)].reset_index(drop=True)

        return OrderFrames(*(sub(getattr(self, name)) for name in TABLES))

    def check_schema(self) -> None:
        """Raise ``AssertionError`` naming the first column whose name or dtype is off-contract."""
        for name in TABLES:
            frame = getattr(self, name)
            expected = TYPED[name]
            assert list(frame.columns) == list(expected), f"{name}: columns {list(frame.columns)}"
            for column, dtype in expected.items():
                assert frame[column].dtype == pd.api.types.pandas_dtype(dtype), (
                    f"{name}.{column}: {frame[column].dtype} is not {dtype}"
                )


def _span(summary: dict[str, Any], dash: str) -> str:
    """The creation-date range, or a dash when no order has a readable creation time."""
    first, last = summary["first_created"], summary["last_created"]
    if first is None or pd.isna(first):
        return "—"
    return f"{first:%Y-%m-%d} {dash} {last:%Y-%m-%d}"
