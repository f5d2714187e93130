"""The exception tree of ht_analytics.

Every error the toolkit raises is an :class:`HTError`. Errors that come from the API carry the HTTP
status, the server's message and the URL of the request with every secret removed, so they can be
printed, logged or pasted into a ticket as they are.
"""

from __future__ import annotations

__all__ = [
    "ApiError",
    "AuthenticationError",
    "CacheError",
    "HTError",
    "NotFoundError",
    "PaginationError",
    "PayloadError",
    "RateLimitError",
    "ServerError",
]


class HTError(Exception):
    """Base class of every error raised by ht_analytics."""

    def __reduce__(self) -> tuple[object, ...]:
        # Copied and pickled as they are (message, attributes, notes), whatever the arguments
        # their class takes (``PaginationError`` needs ``page``): a SyncReport holds one.
        return (_restore, (type(self), self.args, dict(self.__dict__)))


def _restore(cls: type[HTError], args: tuple[object, ...], state: dict[str, object]) -> HTError:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class ApiError(HTError):
    """The API answered with an error, or could not be reached after the allowed attempts.

    Attributes:
        status: the HTTP status code, or ``None`` when no response was received (a network fault).
        message: the server's message (from a JSON error body, or the start of a non-JSON body).
        url: the request URL; never contains the API key or another secret.
        method: the HTTP method.
        attempts: how many attempts were made before giving up.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        url: str | None = None,
        method: str | None = None,
        attempts: int = 1,
    ) -> None:
        self.message = message
        self.status = status
        self.url = url
        self.method = method
        self.attempts = attempts
        super().__init__(self._describe())

    def _describe(self) -> str:
        parts = []
        if self.status is not None:
            parts.append(f"HTTP {self.status}")
        if self.method and self.url:
            parts.append(f"{self.method} {self.url}")
        elif self.url:
            parts.append(self.url)
        where = f" ({', '.join(parts)})" if parts else ""
        tries = f" after {self.attempts} attempts" if self.attempts > 1 else ""
        return f"{self.message}{where}{tries}"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status={self.status!r}, message={self.message!r}, "
            f"url={self.url!r}, attempts={self.attempts!r})"
        )


class AuthenticationError(ApiError):
    """No API key was found, or the server refused it (401/403)."""


class NotFoundError(ApiError):
    """The requested order, client or SKU does not exist (404)."""


class RateLimitError(ApiError):
    """The server kept answering 429 Too Many Requests.

    Attributes:
        retry_after: seconds the server asked to wait (``None`` when it did not say).
    """

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        status: int | None = 429,
        url: str | None = None,
        method: str | None = None,
        attempts: int = 1,
    ) -> None:
        self.retry_after = retry_after
        super().__init__(message, status=status, url=url, method=method, attempts=attempts)


class ServerError(ApiError):
    """The server failed (5xx), or the network failed, and retries did not get through."""


class PaginationError(HTError):
    """The API's pages do not add up: a cursor that does not advance, ids repeated across pages,
    or an empty page that still points to a next one. Paging stops instead of looping or
    yielding duplicates."""

    def __init__(self, message: str, *, page: int, cursor: int | None = None) -> None:
        self.page = page
        self.cursor = cursor
        super().__init__(f"page {page} (cursor={cursor}): {message}")


class PayloadError(HTError):
    """A response or an order could not be read: invalid JSON, a missing envelope, or (in strict
    loading) a value that cannot be parsed."""


class CacheError(HTError):
    """The local order store cannot be read or written."""
