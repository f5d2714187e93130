"""Values returned by the client's non-order endpoints. Secrets inside them are :class:`Secret`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ._exceptions import PayloadError
from ._secrets import Secret, is_sensitive, scrub

__all__ = ["ClientRecord", "EphemeralKey", "SetupIntent", "ZipCheck"]


def _secret(value: Any) -> Secret | None:
    return Secret(str(value)) if value not in (None, "") else None


def _require(body: dict[str, Any], key: str, what: str) -> Any:
    if key not in body:
        raise PayloadError(f"{what}: the response has no {key!r} field")
    return body[key]


def _required_text(body: dict[str, Any], key: str, what: str) -> str:
    """A required text field: present, not null, not empty (a number is taken as its text)."""
    value = _require(body, key, what)
    if isinstance(value, bool) or not isinstance(value, str | int) or str(value).strip() == "":
        raise PayloadError(
            f"{what}: {key!r} is {type(value).__name__ if value != '' else 'empty'}, not text"
        )
    return str(value)


@dataclass(frozen=True, slots=True)
class ClientRecord:
    """A client (customer) of the partner, as ``/clients`` returns it.

    ``authentication_token`` is a :class:`Secret`: it prints as ``***``.
    Fields the contract does not list are kept in ``extra`` (those whose name suggests a secret,
    such as ``*token*`` or ``*key*``, as :class:`Secret`).
    """

    id: int
    email: str | None
    external_id: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    full_address: str | None = None
    address: dict[str, Any] = field(default_factory=dict)
    authentication_token: Secret | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    _KNOWN = (
        "id",
        "email",
        "external_id",
        "first_name",
        "last_name",
        "phone",
        "full_address",
        "address",
        "authentication_token",
    )

    @classmethod
    def from_wire(cls, body: Any, *, what: str = "client") -> ClientRecord:
        """Read a client object; raise :class:`PayloadError` when it has no integer id."""
        if not isinstance(body, dict):
            raise PayloadError(f"{what}: expected a client object, got {type(body).__name__}")
        raw_id = _require(body, "id", what)
        if isinstance(raw_id, bool) or not isinstance(raw_id, int | str):
            raise PayloadError(f"{what}: id {raw_id!r} is not an integer")
        try:
            client_id = int(raw_id)
        except ValueError:
            raise PayloadError(f"{what}: id {raw_id!r} is not an integer") from None
        address = body.get("address")
        phone = body.get("phone")
        if isinstance(phone, dict):  # order payloads use {"value", "formatted"}
            phone = phone.get("value")
        return cls(
            id=client_id,
            email=body.get("email"),
            external_id=_text(body.get("external_id")),
            first_name=body.get("first_name"),
            last_name=body.get("last_name"),
            phone=_text(phone),
            full_address=body.get("full_address"),
            address=address if isinstance(address, dict) else {},
            authentication_token=_secret(body.get("authentication_token")),
            extra={
                k: Secret(str(v)) if is_sensitive(k) and v not in (None, "") else scrub(v)
                for k, v in body.items()
                if k not in cls._KNOWN
            },
        )


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


@dataclass(frozen=True, slots=True)
class SetupIntent:
    """A Stripe setup intent for a client; ``client_secret`` is a :class:`Secret`."""

    stripe_customer_id: str
    client_secret: Secret

    @classmethod
    def from_wire(cls, body: dict[str, Any], *, what: str) -> SetupIntent:
        """Read ``{"stripe_customer_id", "client_secret"}``."""
        return cls(
            stripe_customer_id=_required_text(body, "stripe_customer_id", what),
            client_secret=Secret(_required_text(body, "client_secret", what)),
        )


@dataclass(frozen=True, slots=True)
class EphemeralKey:
    """A Stripe ephemeral key for a client; ``ephemeral_key`` is a :class:`Secret`."""

    stripe_customer_id: str
    ephemeral_key: Secret

    @classmethod
    def from_wire(cls, body: dict[str, Any], *, what: str) -> EphemeralKey:
        """Read ``{"stripe_customer_id", "ephemeral_key"}``."""
        return cls(
            stripe_customer_id=_required_text(body, "stripe_customer_id", what),
            ephemeral_key=Secret(_required_text(body, "ephemeral_key", what)),
        )


@dataclass(frozen=True, slots=True)
class ZipCheck:
    """Whether a SKU can be booked at a ZIP code (``treatment == "on"``)."""

    sku_id: int
    zip: str
    available: bool
    treatment: str | None
    cbsa_id: int | None = None
    cbsa: str | None = None

    @classmethod
    def from_wire(cls, sku_id: int, zip_code: str, body: dict[str, Any], *, what: str) -> ZipCheck:
        """Read ``{"treatment", "zip", "cbsa_id", "cbsa"}``."""
        treatment = body.get("treatment")
        if treatment is None:
            raise PayloadError(f"{what}: the response has no 'treatment' field")
        cbsa_id = body.get("cbsa_id")
        if isinstance(cbsa_id, float) and cbsa_id.is_integer():
            cbsa_id = int(cbsa_id)
        zip_value = body.get("zip")
        if isinstance(zip_value, int) and not isinstance(zip_value, bool):
            zip_value = f"{zip_value:05d}"  # a JSON number lost the leading zeros of a ZIP
        return cls(
            sku_id=sku_id,
            zip=str(zip_value or zip_code),
            available=str(treatment).lower() == "on",
            treatment=str(treatment),
            cbsa_id=int(cbsa_id)
            if isinstance(cbsa_id, int | str) and str(cbsa_id).isdigit()
            else None,
            cbsa=body.get("cbsa"),
        )
