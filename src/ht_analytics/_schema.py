"""The canonical schema of the frames: every table's columns, their dtypes, and the wire names of
both order flavours that feed them. This module is the one place that knows them.

Two layers:

* **raw** Arrow schemas: what the extractors (the Arrow fast path and the Python slow path) produce
  from either flavour — ids as integers, flags as booleans, money and instants still as the strings
  the API sent (snake_case instants as their ``integer`` and ``iso`` parts);
* **typed** pandas dtypes: what :class:`~ht_analytics.OrderFrames` hold once every value is parsed
  (money ``decimal128(18, 2)``, instants ``datetime64[us, UTC]``, flags ``boolean``, ids ``Int64``,
  text ``str``, the status label categorical).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd
import pyarrow as pa

from ._statuses import OrderStatus

__all__ = [
    "ADJUSTMENT_FIELDS",
    "MONEY",
    "ORDER_FIELDS",
    "SERVICE_FIELDS",
    "STATUS_DTYPE",
    "TYPED",
    "WireField",
]

MONEY = pa.decimal128(18, 2)
UTC_US = pa.timestamp("us", tz="UTC")
LOCAL_US = pa.timestamp("us")

Kind = Literal["int", "text", "bool", "money", "instant", "local", "json", "tags", "status"]


@dataclass(frozen=True, slots=True)
class WireField:
    """One column fed from the wire: its name in each flavour and how it is typed.

    ``camel`` / ``snake`` are the wire keys (``None``: absent from that flavour); for the
    ``breakdown`` object they are keys inside it (marked by ``in_breakdown``).
    """

    column: str
    camel: str | None
    snake: str | None
    kind: Kind
    in_breakdown: bool = False

    @property
    def compared(self) -> bool:
        """Whether an order sending both keys has them compared: the camelCase value is kept,
        and a snake_case value that differs is named in ``problems`` (raw column
        ``<column>__alt``). Times, JSON and tags are not compared."""
        return (
            self.camel is not None
            and self.snake is not None
            and self.camel != self.snake
            and self.kind in ("int", "bool", "money", "text", "status")
        )


# -- orders ----------------------------------------------------------------------------------------

ORDER_FIELDS: tuple[WireField, ...] = (
    WireField("order_id", "id", "id", "int"),
    WireField("token", "token", "token", "text"),
    WireField("client_id", "clientId", "client_id", "int"),
    WireField("client_name", "clientName", "client_name", "text"),
    WireField("status_id", "statusId", "status", "status"),
    WireField("status_label_sent", None, "status_label", "text"),
    WireField("progress_status_id", "progressStatusId", "progress_status_id", "int"),
    WireField("created_at", "createdAt", "created_at", "instant"),
    WireField("appointment_start_sent", "appointmentStart", "appointment_start", "local"),
    WireField(
        "appointment_start_offset",
        "appointmentStartDateTime",
        "appointment_start_date_time",
        "instant",
    ),
    WireField("timezone", "timezone", "timezone", "text"),
    WireField("started_at", "startedAt", "started_at", "instant"),
    WireField("completed_at", "completedAt", "completed_at", "instant"),
    WireField("at_risk", "atRisk", "at_risk", "bool"),
    WireField("has_auth_error", "hasAuthError", "has_auth_error", "bool"),
    WireField("has_set_password", "hasSetPassword", "has_set_password", "bool"),
    WireField("remote", "remote", "remote", "bool"),
    WireField("workflow", "workflow", "workflow", "text"),
    WireField("has_partner", "hasPartner", "has_partner", "bool"),
    WireField("partner", "partner", "partner", "text"),
    WireField("client_zip", "clientZip", "client_zip", "text"),
    WireField("stand_by_times", "standByTimes", "stand_by_times", "json"),
    WireField("child_follow_up", "childFollowUp", "child_follow_up", "text"),
    WireField("parent_follow_up", "parentFollowUp", "parent_follow_up", "text"),
    WireField("has_products", "hasProducts", "has_products", "bool"),
    WireField("has_only_products", "hasOnlyProducts", "has_only_products", "bool"),
    WireField("payment_source", "paymentSource", "payment_source", "text"),
    WireField("agent", "agent", "agent", "text"),
    WireField("treatments", "treatments", "treatments", "json"),
    WireField("order_summary_url", "orderSummaryUrl", "order_summary_url", "text"),
    WireField("coupon", "coupon", "coupon", "text", in_breakdown=True),
    WireField("total_amount", "totalAmount", "total_amount", "money", in_breakdown=True),
    # Personal data seen on the snake_case flavour (kept; reports leave it out unless asked).
    WireField("client_email", None, "email", "text"),
    WireField("client_phone", None, "phone", "text"),
    WireField("client_address", None, "address", "text"),
    WireField("client_street", None, "client_street", "text"),
    WireField("client_city", None, "client_city", "text"),
    WireField("client_state", None, "client_state", "text"),
    WireField("service_description", None, "service_description", "text"),
    WireField("events", None, "events", "json"),
    WireField("tags", "tags", "tags", "tags"),
)


def _wire_keys(fields: tuple[WireField, ...], *also: str) -> frozenset[str]:
    """Every wire key (either flavour) of the fields, plus ``also``."""
    return frozenset({k for f in fields for k in (f.camel, f.snake) if k} | set(also))


ORDER_KEYS_HANDLED = _wire_keys(tuple(f for f in ORDER_FIELDS if not f.in_breakdown), "breakdown")
BREAKDOWN_KEYS_HANDLED = _wire_keys(
    tuple(f for f in ORDER_FIELDS if f.in_breakdown), "services", "adjustments"
)

# -- services (breakdown.services[]) ---------------------------------------------------------------

SERVICE_FIELDS: tuple[WireField, ...] = (
    WireField("service_id", "id", "id", "int"),
    WireField("sku_id", "skuId", "sku_id", "int"),
    WireField("name", "name", "name", "text"),
    WireField("quantity", "quantity", "quantity", "int"),
    WireField("price", "price", "price", "money"),
    WireField("amount", "amount", "amount", "money"),
    WireField("original_amount", "originalAmount", "original_amount", "money"),
    WireField("prepaid", "prepaid", "prepaid", "money"),
    WireField("total_amount", "totalAmount", "total_amount", "money"),
    WireField("original_total_amount", "originalTotalAmount", "original_total_amount", "money"),
    WireField("physical_product", "physicalProduct", "physical_product", "bool"),
    WireField("image", "image", "image", "text"),
    WireField("price_type", "priceType", "price_type", "text"),
    WireField("estimated_duration", "estimatedDuration", "estimated_duration", "text"),
    WireField("duration", "duration", "duration", "text"),
)
SERVICE_KEYS_HANDLED = _wire_keys(SERVICE_FIELDS, "adjustments")

# -- adjustments (breakdown.adjustments[] and breakdown.services[].adjustments[]) ------------------

ADJUSTMENT_FIELDS: tuple[WireField, ...] = (
    WireField("name", "name", "name", "text"),
    WireField("type", "type", "type", "text"),
    WireField("amount", "amount", "amount", "money"),
    WireField("original_amount", "originalAmount", "original_amount", "money"),
    WireField("details", "details", "details", "text"),
    WireField("explanation", "explanation", "explanation", "text"),
    WireField("fee_id", "feeId", "fee_id", "int"),
    WireField("version", "version", "version", "int"),
    WireField(
        "original_amount_formatted", "originalAmountFormatted", "original_amount_formatted", "text"
    ),
)
ADJUSTMENT_KEYS_HANDLED = _wire_keys(ADJUSTMENT_FIELDS)

# -- raw Arrow types per kind ----------------------------------------------------------------------

RAW_TYPE: dict[Kind, pa.DataType] = {
    "int": pa.string(),  # kept as text until checked: ids may arrive as "123" or be garbage
    "text": pa.string(),
    "bool": pa.string(),  # "true"/"false" text until checked
    "money": pa.string(),
    "instant": pa.string(),
    "local": pa.string(),
    "json": pa.string(),
    "tags": pa.list_(pa.string()),
    "status": pa.string(),
}

# -- typed pandas dtypes ---------------------------------------------------------------------------

STATUS_LABELS = [s.name for s in OrderStatus]
STATUS_DTYPE = pd.CategoricalDtype(categories=STATUS_LABELS, ordered=False)
MONEY_DTYPE = pd.ArrowDtype(MONEY)
INSTANT_DTYPE = "datetime64[us, UTC]"
LOCAL_DTYPE = "datetime64[us]"

TYPED: dict[str, dict[str, Any]] = {
    "orders": {
        "order_id": "int64",
        "token": "str",
        "client_id": "Int64",
        "client_name": "str",
        "status_id": "Int64",
        "status": STATUS_DTYPE,
        "status_label_sent": "str",
        "progress_status_id": "Int64",
        "created_at": INSTANT_DTYPE,
        "appointment_start": INSTANT_DTYPE,
        "appointment_start_local": LOCAL_DTYPE,
        "timezone": "str",
        "started_at": INSTANT_DTYPE,
        "completed_at": INSTANT_DTYPE,
        "at_risk": "boolean",
        "has_auth_error": "boolean",
        "has_set_password": "boolean",
        "remote": "boolean",
        "workflow": "str",
        "has_partner": "boolean",
        "partner": "str",
        "client_zip": "str",
        "stand_by_times": "str",
        "child_follow_up": "str",
        "parent_follow_up": "str",
        "has_products": "boolean",
        "has_only_products": "boolean",
        "payment_source": "str",
        "agent": "str",
        "treatments": "str",
        "order_summary_url": "str",
        "coupon": "str",
        "total_amount": MONEY_DTYPE,
        "client_email": "str",
        "client_phone": "str",
        "client_address": "str",
        "client_street": "str",
        "client_city": "str",
        "client_state": "str",
        "service_description": "str",
        "events": "str",
        "flavour": "str",
        "extra": "str",
    },
    "services": {
        "order_id": "int64",
        "line_no": "int64",
        "service_id": "Int64",
        "sku_id": "Int64",
        "name": "str",
        "quantity": "Int64",
        "price": MONEY_DTYPE,
        "amount": MONEY_DTYPE,
        "original_amount": MONEY_DTYPE,
        "prepaid": MONEY_DTYPE,
        "total_amount": MONEY_DTYPE,
        "original_total_amount": MONEY_DTYPE,
        "physical_product": "boolean",
        "image": "str",
        "price_type": "str",
        "estimated_duration": "str",
        "duration": "str",
        "extra": "str",
    },
    "adjustments": {
        "order_id": "int64",
        "service_id": "Int64",
        "level": "str",
        "line_no": "Int64",
        "position": "int64",
        "name": "str",
        "type": "str",
        "amount": MONEY_DTYPE,
        "original_amount": MONEY_DTYPE,
        "details": "str",
        "explanation": "str",
        "fee_id": "Int64",
        "version": "Int64",
        "original_amount_formatted": "str",
        "extra": "str",
    },
    "tags": {"order_id": "int64", "tag": "str"},
    "problems": {
        "order_id": "Int64",
        "table": "str",
        "field": "str",
        "raw_value": "str",
        "reason": "str",
    },
}
"""Every table's columns, in order, and their pandas dtypes: the frames' contract."""


def _arrow_type(dtype: Any) -> pa.DataType:
    """The Arrow (and Parquet) type that stores a column of the typed pandas ``dtype``."""
    if isinstance(dtype, pd.ArrowDtype):
        return dtype.pyarrow_dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return pa.string()  # the label; categories are re-applied on reading
    return {
        "int64": pa.int64(),
        "Int64": pa.int64(),
        "str": pa.string(),
        "boolean": pa.bool_(),
        INSTANT_DTYPE: UTC_US,
        LOCAL_DTYPE: LOCAL_US,
    }[dtype]


ARROW_SCHEMAS: dict[str, pa.Schema] = {
    table: pa.schema(
        [
            pa.field(name, _arrow_type(dtype), nullable=dtype not in ("int64",))
            for name, dtype in columns.items()
        ]
    )
    for table, columns in TYPED.items()
}
"""Every table's Arrow schema: how the frames are stored as Parquet (money ``DECIMAL(18,2)``,
instants ``TIMESTAMP(us, UTC)``, the status label as text)."""
