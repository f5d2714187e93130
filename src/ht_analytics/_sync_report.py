"""``SyncReport``: what one :meth:`OrderStore.sync` did, for a script, a log or a notebook."""

from __future__ import annotations

import html
from dataclasses import dataclass, field

from ._exceptions import HTError

__all__ = ["SyncReport", "TagCheck"]


@dataclass(frozen=True, slots=True)
class TagCheck:
    """Local count of orders carrying a tag beside the server's ``count_by_tag``."""

    tag: str
    local: int
    server: int | None

    @property
    def difference(self) -> int | None:
        return None if self.server is None else self.local - self.server

    @property
    def ok(self) -> bool:
        return self.server is not None and self.local == self.server


@dataclass(frozen=True, slots=True)
class SyncReport:
    """What a sync did.

    Attributes:
        ok: the sync finished and its data is in the store; ``False``: nothing was written (the
            store is as it was) and ``error`` says what failed.
        kind: ``"backfill"`` (the first sync of a scope), ``"incremental"`` or ``"full"``.
        requests, pages, retries: counted by the client during this sync.
        new, changed, unchanged: fetched orders the store did not hold / held with other values /
            held as they are.
        windows: creation-date windows paged (``(first, last)`` UTC dates).
        rechecked_open: orders the store held as open that were read again.
        fetched_one_by_one: orders read with ``get_order`` (open orders no query returned).
        problems: values the loader could not read (stored in the ``problems`` table).
        tag_checks: per tag, the local count beside the server's ``count_by_tag``.
        warnings: anything a person should look at.
        elapsed: seconds.
        orders_in_store: orders the store holds after the sync (after a failed one: as before).
        error: what failed (``None`` when ``ok``); ``exception``: the error itself, which
            :meth:`raise_for_error` raises.
    """

    ok: bool
    kind: str
    scope: tuple[str, ...]
    started_at: str
    elapsed: float
    requests: int = 0
    pages: int = 0
    retries: int = 0
    fetched: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    windows: tuple[tuple[str, str], ...] = ()
    rechecked_open: int = 0
    fetched_one_by_one: int = 0
    problems: int = 0
    orders_in_store: int = 0
    tag_checks: tuple[TagCheck, ...] = ()
    warnings: tuple[str, ...] = ()
    error: str | None = None
    exception: HTError | None = field(default=None, repr=False, compare=False)

    def raise_for_error(self) -> None:
        """When the sync failed, raise its error (for scripts): the exception the sync met —
        an :class:`AuthenticationError`, a :class:`ServerError` … as raised, so that
        ``except AuthenticationError`` catches it —, else an :class:`HTError`."""
        if self.ok:
            return
        if self.exception is not None:
            raise self.exception
        raise HTError(f"sync failed, the store is unchanged: {self.error}")

    def _rows(self) -> list[tuple[str, str]]:
        rows = [
            ("Result", "ok" if self.ok else f"FAILED (store unchanged): {self.error}"),
            ("Kind", f"{self.kind} ({', '.join(self.scope)})"),
            ("Orders fetched", f"{self.fetched:,}"),
            ("New / changed / unchanged", f"{self.new:,} / {self.changed:,} / {self.unchanged:,}"),
            ("Open orders re-read", f"{self.rechecked_open:,}"),
            (
                "Requests / pages / retries",
                f"{self.requests:,} / {self.pages:,} / {self.retries:,}",
            ),
            ("Windows", f"{len(self.windows)}"),
            ("Problems", f"{self.problems:,}"),
            ("Orders in store", f"{self.orders_in_store:,}"),
            ("Time", f"{self.elapsed:.1f} s"),
        ]
        for check in self.tag_checks:
            server = "?" if check.server is None else f"{check.server:,}"
            mark = "" if check.ok else " ≠"
            rows.append((f"Tag {check.tag}", f"local {check.local:,} / server {server}{mark}"))
        rows.extend(("Warning", w) for w in self.warnings)
        return rows

    def __repr__(self) -> str:
        state = "ok" if self.ok else f"FAILED: {self.error}"
        return (
            f"SyncReport({state}, {self.kind}, fetched={self.fetched:,}, new={self.new:,}, "
            f"changed={self.changed:,}, unchanged={self.unchanged:,}, requests={self.requests:,}, "
            f"retries={self.retries:,}, warnings={len(self.warnings)}, {self.elapsed:.1f} s)"
        )

    def _repr_html_(self) -> str:
        body = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
            for k, v in self._rows()
        )
        title = "SyncReport" if self.ok else "SyncReport — failed"
        return f"<div><strong>{html.escape(title)}</strong><table>{body}</table></div>"
