"""One writer at a time: an OS file lock on ``<store>/.lock`` (``filelock``: ``flock`` on POSIX,
``msvcrt`` on Windows).

The operating system releases the lock when its holder dies, however it dies (SIGKILL included),
so a lock left by a dead process is simply taken by the next writer. Beside it, ``.lock.holder``
says who holds it (pid, host, since when, what for) so that a writer that gives up can name the
holder.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from types import TracebackType

import filelock

from ._exceptions import CacheError
from ._store_files import FILE_MODE, atomic_write_bytes, now_utc

__all__ = ["StoreLock", "wait_for_writer"]

LOCK = ".lock"
HOLDER = ".lock.holder"


def unwritable(root: Path, exc: OSError) -> CacheError:
    """The store directory cannot be created or written: say which, why, and how to choose
    another."""
    return CacheError(
        f"cannot create or write the store at {root} ({exc.strerror or type(exc).__name__}); "
        "choose another directory: --cache, HT_CACHE_DIR or OrderStore(path=...)"
    )


class StoreLock:
    """``with StoreLock(root, timeout, purpose):`` — wait up to ``timeout`` seconds for the lock,
    then raise :class:`CacheError` naming the holder."""

    def __init__(self, root: Path, timeout: float, purpose: str) -> None:
        self.root = root
        self.timeout = timeout
        self.purpose = purpose
        self._lock = filelock.FileLock(
            root / LOCK, timeout=timeout, mode=FILE_MODE, thread_local=False
        )

    def __enter__(self) -> StoreLock:
        try:
            self._lock.acquire(timeout=max(self.timeout, 0.0), poll_interval=0.05)
        except filelock.Timeout:  # (an OSError too: caught first)
            raise CacheError(
                f"the store at {self.root} is being written by {self.holder()}; waited "
                f"{self.timeout:g} s. Wait for it to finish (or pass a longer lock_timeout); "
                "a lock whose holder has died is released by the operating system"
            ) from None
        except OSError as exc:  # a read-only or foreign directory: not a lock held by anyone
            raise unwritable(self.root, exc) from None
        body = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": now_utc().isoformat(timespec="seconds"),
            "purpose": self.purpose,
        }
        try:
            atomic_write_bytes(self.root / HOLDER, json.dumps(body).encode())
        except OSError as exc:
            self._lock.release()
            raise unwritable(self.root, exc) from None
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        (self.root / HOLDER).unlink(missing_ok=True)
        self._lock.release()

    def holder(self) -> str:
        """Who holds the lock, as far as ``.lock.holder`` says."""
        try:
            info = json.loads((self.root / HOLDER).read_text())
            return (
                f"process {info['pid']} on {info['host']} ({info['purpose']}, "
                f"since {info['since']})"
            )
        except (OSError, ValueError, KeyError, TypeError):
            return "another process"


def wait_for_writer(root: Path, timeout: float) -> None:
    """Wait until no writer holds the lock of the store at ``root`` (up to ``timeout`` seconds,
    then :class:`CacheError` naming the holder). Readers take no lock: this only waits out a
    writer caught half-way (a ``clear()`` deleting files, a first sync committing). Returns at
    once when there is no lock file, or when it cannot be opened here (a read-only store)."""
    if not (root / LOCK).exists():
        return
    lock = filelock.FileLock(root / LOCK, timeout=timeout, mode=FILE_MODE, thread_local=False)
    try:
        lock.acquire(timeout=max(timeout, 0.0), poll_interval=0.05)
    except filelock.Timeout:
        raise CacheError(
            f"the store at {root} is being written by {StoreLock(root, 0, '').holder()}; "
            f"waited {timeout:g} s. Wait for it to finish (or pass a longer lock_timeout)"
        ) from None
    except OSError:  # not ours to lock: nothing to wait for
        return
    lock.release()
