"""The store on disk: its layout, atomic writes, the manifest and the state file.

::

    <root>/
      manifest.json                              schema version, base URL, the live files
      state.json                                 what each sync scope has covered, last sync
                                                 (a readable copy of the manifest's "state")
      orders/created_month=YYYY-MM/part-*.parquet     (likewise services/, adjustments/, tags/,
      snapshots/sync_date=YYYY-MM-DD/part-*.parquet    problems/)
      .lock, .lock.holder                         the writers' lock (see ``_store_lock``)

Only files named in the manifest are part of the store; it records each one's rows, and readers
check each file's footer (columns, types, rows) before reading it. Every file is written to a temporary name
in its final directory, flushed and renamed into place; the manifest is replaced last, so a writer
killed at any moment leaves either the previous manifest (and some orphan files, removed by the next
writer) or the new one. The directory is user-only (0700), files 0600.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from ._exceptions import CacheError
from ._loader import LoadedTables

__all__ = [
    "DATA_TABLES",
    "FORMAT",
    "LOCAL",
    "PARQUET",
    "SCHEMA_VERSION",
    "DamagedFileError",
    "Manifest",
    "MonthFiles",
    "atomic_write_bytes",
    "checked_fragment",
    "ensure_private_dir",
    "foreign_entries",
    "read_json_file",
    "remove_orphans",
    "write_month",
    "write_parquet",
]

FORMAT = "ht-analytics-order-store"
SCHEMA_VERSION = 1
"""Bumped whenever a store written by this version cannot be read by an older one (or vice versa)."""

DATA_TABLES = ("orders", "services", "adjustments", "tags", "problems")
"""Tables partitioned by the order's ``created_month``; ``snapshots`` by ``sync_date``."""

MANIFEST = "manifest.json"
STATE = "state.json"
TMP_PREFIX = ".tmp-"
DIR_MODE = 0o700
FILE_MODE = 0o600


def ensure_private_dir(path: Path) -> None:
    """Create ``path`` (and the parents it needs) user-only, whatever the umask; tighten ``path``
    when it already exists and is ours."""
    missing = []
    here = path
    while not here.exists():
        missing.append(here)
        here = here.parent
    for directory in reversed(missing):
        with contextlib.suppress(FileExistsError):  # another writer made it meanwhile
            directory.mkdir(mode=DIR_MODE)
        directory.chmod(DIR_MODE)
    with contextlib.suppress(PermissionError):  # not ours: leave it, the files stay 0600
        if path.stat().st_mode & 0o777 != DIR_MODE:
            path.chmod(DIR_MODE)


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):  # not every platform can open a directory
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _temp_name(final: Path) -> Path:
    return final.with_name(f"{TMP_PREFIX}{secrets.token_hex(6)}-{final.name}")


def _atomic(final: Path, write: Callable[[BinaryIO], object]) -> None:
    """Write through ``write(file)`` to a temp file beside ``final`` (0600), flush and fsync it,
    rename it into place, fsync the directory; on any failure the temp file goes."""
    ensure_private_dir(final.parent)
    tmp = _temp_name(final)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(final.parent)


def atomic_write_bytes(final: Path, data: bytes) -> None:
    """Write ``data`` to ``final`` all or nothing."""
    _atomic(final, lambda fh: fh.write(data))


def write_parquet(final: Path, table: pa.Table) -> None:
    """Write ``table`` as a Parquet file at ``final``, atomically, user-only."""
    # Dictionary pages only for text: smaller and faster to write than for every column.
    text = [f.name for f in table.schema if pa.types.is_string(f.type)]
    # Encoded in memory, then written in one call (not chunk by chunk through a Python file).
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd", row_group_size=256 * 1024, use_dictionary=text)
    encoded = sink.getvalue()
    _atomic(final, lambda fh: fh.write(memoryview(encoded)))


PARQUET = ds.ParquetFileFormat()
LOCAL = pafs.LocalFileSystem()


class DamagedFileError(Exception):
    """A file the manifest names is not what the store wrote there (edited or replaced by
    hand): ``what`` says how."""

    def __init__(self, path: Path, what: str) -> None:
        super().__init__(f"{path}: {what}")
        self.path = path
        self.what = what


def checked_fragment(path: Path, rows: int, schema: pa.Schema) -> ds.ParquetFileFragment:
    """The Parquet file at ``path`` as a dataset fragment, its footer read and checked (no data
    is read; a scan of the fragment uses that footer): exactly the columns of ``schema``, of
    their types, and the ``rows`` rows the manifest recorded. :class:`DamagedFileError` otherwise;
    ``OSError`` (``FileNotFoundError``: missing) when it cannot be opened."""
    fragment = PARQUET.make_fragment(str(path), filesystem=LOCAL)
    try:
        fragment.ensure_complete_metadata()
        found = fragment.physical_schema
    except pa.ArrowInvalid as exc:  # not Parquet (truncated, empty, another format)
        why = str(exc).rsplit("': ", 1)[-1]
        raise DamagedFileError(path, f"is not a readable Parquet file ({why})") from None
    if (wrong := _schema_difference(found, schema)) is not None:
        raise DamagedFileError(path, f"does not hold the columns the store wrote ({wrong})")
    held = fragment.metadata.num_rows
    if held != rows:
        raise DamagedFileError(path, f"holds {held:,} row(s) where the manifest recorded {rows:,}")
    return fragment


def _schema_difference(found: pa.Schema, want: pa.Schema) -> str | None:
    """How the columns of a file differ from those the store writes (names and types; the
    order is not compared), ``None`` when they do not."""
    types = {f.name: f.type for f in found}
    missing = [f.name for f in want if f.name not in types]
    extra = [name for name in found.names if want.get_field_index(name) < 0]
    retyped = [
        f"{f.name} is {types[f.name]}, not {f.type}"
        for f in want
        if f.name in types and types[f.name] != f.type
    ]
    parts = (
        ([f"missing: {_some(missing)}"] if missing else [])
        + ([f"unexpected: {_some(extra)}"] if extra else [])
        + retyped[:3]
    )
    if not parts and len(found.names) != len(want.names):
        parts = ["a column twice"]
    return "; ".join(parts) if parts else None


def _some(names: list[str], shown: int = 5) -> str:
    more = len(names) - shown
    return ", ".join(names[:shown]) + (f" and {more} more" if more > 0 else "")


MonthFiles = dict[str, tuple[str, int]]
"""The files written for one month partition: table -> (path relative to the store, rows)."""


def write_month(root: Path, part: str, tables: LoadedTables, generation: int) -> MonthFiles:
    """Write each non-empty table of one partition (``created_month=YYYY-MM``) as a new file of
    ``generation``; returns what was written (named by no manifest yet)."""
    written: MonthFiles = {}
    for table in DATA_TABLES:
        rows = getattr(tables, table)
        if len(rows):
            rel = f"{table}/{part}/{new_file_name(generation)}"
            write_parquet(root / rel, rows)
            written[table] = (rel, len(rows))
    return written


def read_json_file(path: Path) -> dict[str, Any] | None:
    """A JSON object file, ``None`` when missing; a clear :class:`CacheError` when unreadable."""
    try:
        data = json.loads(path.read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise CacheError(
            f"{path} cannot be read ({type(exc).__name__}); the store may be damaged: "
            f"remove the directory (or run `ht-analytics cache clear --cache {path.parent}`) and "
            "sync again"
        ) from None
    if not isinstance(data, dict):
        raise CacheError(f"{path} is not a JSON object; the store may be damaged")
    return data


def now_utc() -> datetime:
    return datetime.now(UTC)


def new_file_name(generation: int) -> str:
    return f"part-{generation:06d}-{secrets.token_hex(4)}.parquet"


@dataclass(slots=True)
class Manifest:
    """What the store holds: one Parquet file per table and partition, and the snapshot files.

    ``files[table][partition] = (relative path, rows)``; ``snapshots`` lists
    ``(relative path, rows)`` in the order they were written.
    """

    base_url: str | None = None
    created: str | None = None
    updated: str | None = None
    generation: int = 0
    toolkit_version: str = ""
    files: dict[str, dict[str, tuple[str, int]]] = field(
        default_factory=lambda: {t: {} for t in DATA_TABLES}
    )
    snapshots: list[tuple[str, int]] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=lambda: {"scopes": {}})
    """What each sync scope has covered and the last sync (mirrored to ``state.json``); kept in
    the manifest so that data and state change in the same atomic step."""

    @classmethod
    def read(cls, root: Path) -> Manifest | None:
        """The manifest of the store at ``root`` (``None``: no store there yet)."""
        data = read_json_file(root / MANIFEST)
        if data is None:
            return None
        if data.get("format") != FORMAT:
            raise CacheError(
                f"{root} holds a {MANIFEST} that is not an ht-analytics order store; "
                "point OrderStore(path=...) at an empty or ht-analytics directory"
            )
        version = data.get("schema_version")
        if isinstance(version, bool) or version != SCHEMA_VERSION:  # true == 1 in Python
            newer = isinstance(version, int) and version > SCHEMA_VERSION
            raise CacheError(
                f"the store at {root} has schema version {version!r}; this ht-analytics reads "
                f"version {SCHEMA_VERSION}. "
                + (
                    "Upgrade ht-analytics to read it, or "
                    if newer
                    else "Its data cannot be read by this version: "
                )
                + f"clear it (`ht-analytics cache clear --cache {root}` or OrderStore(...).clear()) "
                "and sync again, "
                "or use another directory (OrderStore(path=...) / HT_CACHE_DIR)"
            )
        try:
            files = {
                table: {part: (str(f[0]), int(f[1])) for part, f in data["files"][table].items()}
                for table in DATA_TABLES
            }
            snapshots = [(str(f[0]), int(f[1])) for f in data["snapshots"]]
            state = data.get("state") or {"scopes": {}}
            if not isinstance(state.get("scopes"), dict):
                raise TypeError("state.scopes")
            return cls(
                base_url=data.get("base_url"),
                created=data.get("created"),
                updated=data.get("updated"),
                generation=int(data["generation"]),
                toolkit_version=str(data.get("toolkit_version", "")),
                files=files,
                snapshots=snapshots,
                state=state,
            )
        except (KeyError, TypeError, ValueError, IndexError, AttributeError):
            raise CacheError(
                f"{root / MANIFEST} is incomplete; the store may be damaged: clear it "
                f"(`ht-analytics cache clear --cache {root}`) and sync again"
            ) from None

    def write(self, root: Path) -> None:
        """Replace the manifest atomically: the moment a sync's files become the store."""
        body = {
            "format": FORMAT,
            "schema_version": SCHEMA_VERSION,
            "toolkit_version": self.toolkit_version,
            "base_url": self.base_url,
            "created": self.created,
            "updated": self.updated,
            "generation": self.generation,
            "files": {t: {p: list(f) for p, f in sorted(v.items())} for t, v in self.files.items()},
            "snapshots": [list(f) for f in self.snapshots],
            "state": self.state,
        }
        atomic_write_bytes(root / MANIFEST, json.dumps(body, indent=1).encode())

    def same_as(self, other: Manifest) -> bool:
        """Whether ``other`` is this very version of the manifest (no write in between)."""
        return (self.generation, self.updated) == (other.generation, other.updated)

    def live_files(self) -> set[str]:
        live = {path for table in self.files.values() for path, _ in table.values()}
        return live | {path for path, _ in self.snapshots}

    def paths(self, root: Path, table: str, partitions: Iterator[str] | None = None) -> list[Path]:
        """The files of ``table`` (optionally only these partitions), in partition order."""
        return [path for path, _ in self.entries(root, table, partitions)]

    def entries(
        self, root: Path, table: str, partitions: Iterator[str] | None = None
    ) -> list[tuple[Path, int]]:
        """The files of ``table`` (optionally only these partitions) with the rows each holds,
        in partition order."""
        if table == "snapshots":
            return [(root / p, n) for p, n in self.snapshots]
        wanted = set(partitions) if partitions is not None else None
        return [
            (root / path, rows)
            for part, (path, rows) in sorted(self.files[table].items())
            if wanted is None or part in wanted
        ]

    def rows(self, table: str) -> int:
        if table == "snapshots":
            return sum(n for _, n in self.snapshots)
        return sum(n for _, n in self.files[table].values())


def remove_orphans(root: Path, manifest: Manifest | None) -> int:
    """Delete data files the manifest does not name (left by a killed or failed writer) and empty
    partition directories. Only for a writer holding the lock. Returns how many files went."""
    live = manifest.live_files() if manifest is not None else set()
    removed = 0
    for table in (*DATA_TABLES, "snapshots"):
        top = root / table
        if not top.is_dir():
            continue
        for path in sorted(top.rglob("*")):
            if path.is_file() and path.relative_to(root).as_posix() not in live:
                path.unlink(missing_ok=True)
                removed += 1
        for part in sorted(top.iterdir(), reverse=True):
            if part.is_dir() and not any(part.iterdir()):
                part.rmdir()
    for tmp in root.glob(f"{TMP_PREFIX}*"):
        tmp.unlink(missing_ok=True)
        removed += 1
    return removed


def foreign_entries(root: Path) -> list[str]:
    """Names in ``root`` that a store does not make (a user's own files, another program's
    directory): a directory holding any of them and no manifest is not a store."""
    tables = {*DATA_TABLES, "snapshots"}
    found = [
        entry.name
        for entry in root.iterdir()
        if entry.name not in {MANIFEST, STATE, *tables}
        and not entry.name.startswith((".lock", TMP_PREFIX))
    ]
    for table in sorted(tables):  # inside a table's folder: only the store's Parquet parts
        if (root / table).is_dir():
            found += [
                path.relative_to(root).as_posix()
                for path in (root / table).rglob("*")
                if path.is_file()
                and not path.name.startswith(TMP_PREFIX)  # a killed write's temporary file
                and not (path.name.startswith("part-") and path.suffix == ".parquet")
            ]
    return sorted(found)


def remove_store(root: Path) -> None:
    """Delete every table, the manifest and the state (the directory and its lock stay)."""
    (root / STATE).unlink(missing_ok=True)  # the state first: it is never left without a manifest
    (root / MANIFEST).unlink(missing_ok=True)
    for table in (*DATA_TABLES, "snapshots"):
        shutil.rmtree(root / table, ignore_errors=True)
    for tmp in root.glob(f"{TMP_PREFIX}*"):
        tmp.unlink(missing_ok=True)
