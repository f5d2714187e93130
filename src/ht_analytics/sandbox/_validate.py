"""Request parts for the sandbox's handlers: the JSON body, the ``{id}`` path parameter, the fields.

The field checks (``_text``, ``_phone``, ``_email``, ``_strings``, ``_time_windows``,
``_sku_ids``) append ``(field, message)`` pairs to an ``Errors`` list, so that one response can name
every invalid field; the caller raises ``ApiError`` (``_errors``) with them (``_client_params`` does
so itself, a 400). ``_body`` and ``_path_id`` raise ``ApiError`` directly (400 / 404).
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from starlette.requests import Request

from ._errors import ApiError, Errors
from ._flavour import parse_instant

_NOT_FOUND = "Record Not Found"


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        payload = json.loads(raw) if raw.strip() else {}
    except ValueError:
        raise ApiError(400, "Request body is not valid JSON") from None
    if not isinstance(payload, dict):
        raise ApiError(400, "Request body must be a JSON object")
    return payload


def _path_id(request: Request) -> int:
    text = str(request.path_params["id"])
    if not (text.isascii() and text.isdigit() and len(text) <= 18):
        raise ApiError(404, _NOT_FOUND)
    return int(text)


def _text(body: dict[str, Any], field: str, errors: Errors, *, required: bool) -> str | None:
    value = body.get(field)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            errors.append((field, "is required"))
        return None
    if not isinstance(value, str):
        errors.append((field, "must be a string"))
        return None
    return value.strip()


def _phone(body: dict[str, Any], errors: Errors, *, required: bool) -> str | None:
    phone = _text(body, "phone", errors, required=required)
    digits = "".join(ch for ch in phone or "" if ch.isdigit())
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    if phone is not None and len(digits) != 10:
        errors.append(("phone", "must be a 10-digit US phone number"))
    return phone


def _email(body: dict[str, Any], errors: Errors, *, required: bool) -> str | None:
    email = _text(body, "email", errors, required=required)
    local, _, domain = (email or "").partition("@")
    if email is not None and (not local or "." not in domain or " " in email):
        errors.append(("email", "is not an e-mail address"))
    return email


def _client_params(body: dict[str, Any]) -> dict[str, Any]:
    """ClientParams, checked: 400 listing the problems (only ``email`` is required)."""
    errors: Errors = []
    external = body.get("external_id")
    if isinstance(external, int) and not isinstance(external, bool):
        body = {**body, "external_id": str(external)}
    params: dict[str, Any] = {}
    for field in ("external_id", "first_name", "last_name"):
        if (value := _text(body, field, errors, required=False)) is not None:
            params[field] = value
    params["email"] = _email(body, errors, required=True)
    if (phone := _phone(body, errors, required=False)) is not None:
        params["phone"] = phone
    if (address := _text(body, "full_address", errors, required=False)) is not None:
        params["full_address"] = address
    if errors:
        raise ApiError(400, "Invalid client parameters", errors)
    return params


def _strings(body: dict[str, Any], field: str, errors: Errors) -> list[str]:
    value = body.get(field)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        errors.append((field, "must be a list of strings"))
        return []
    return value


def _time_windows(body: dict[str, Any], errors: Errors) -> None:
    windows = body.get("time_windows")
    if windows is None:
        return
    if not isinstance(windows, list):
        errors.append(("time_windows", "must be a list of {start_time, end_time}"))
        return
    for i, window in enumerate(windows):
        where = f"time_windows[{i}]"
        if not isinstance(window, dict):
            errors.append((where, "must be an object with start_time and end_time"))
            continue
        start, end = parse_instant(window.get("start_time")), parse_instant(window.get("end_time"))
        if not isinstance(window.get("start_time"), str) or start is None:
            errors.append((f"{where}.start_time", "must be an ISO-8601 timestamp"))
        elif not isinstance(window.get("end_time"), str) or end is None:
            errors.append((f"{where}.end_time", "must be an ISO-8601 timestamp"))
        elif end - start != timedelta(hours=1):
            errors.append((f"{where}.end_time", "must be one hour after start_time"))


def _sku_ids(body: dict[str, Any], skus: dict[int, Any], errors: Errors) -> list[int]:
    value = body.get("sku_id")
    if value is None or value == []:
        errors.append(("sku_id", "is required (a non-empty list of SKU ids)"))
        return []
    if not isinstance(value, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in value
    ):
        errors.append(("sku_id", "must be a list of integer SKU ids"))
        return []
    for unknown in dict.fromkeys(v for v in value if v not in skus):
        errors.append(("sku_id", f"unknown SKU id {unknown}"))
    return value
