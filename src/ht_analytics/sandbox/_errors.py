"""The contract's error answer, and the JSON responses the handlers write.

Errors are ``{"status": "error", "message": ..., "errors": [{"field": ..., "message": ...}]}`` with
the matching status code (:func:`error_response`); :class:`ApiError` carries a status, a message and
:data:`Errors` (``(field, message)`` pairs) from wherever a request fails to the app's handler.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import Response

__all__ = ["ApiError", "Errors", "error_response"]

Errors = list[tuple[str, str]]


class ApiError(Exception):
    """An error answered with the contract's error body."""

    def __init__(self, status: int, message: str, errors: Errors | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors or []


def _json(payload: Any, status: int = 200) -> Response:
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    return Response(body, status_code=status, media_type="application/json")


def error_response(status: int, message: str, errors: Errors | None = None) -> Response:
    """``{"status": "error", "message": ..., "errors": [{"field", "message"}]}`` as a response."""
    items = [{"field": field, "message": text} for field, text in errors or []]
    return _json({"status": "error", "message": message, "errors": items}, status)
