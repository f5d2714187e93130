"""``load_orders``: whatever the API returned, as typed :class:`OrderFrames`.

Sources: an iterable of order dicts (or of page dicts), raw page bytes (one or many pages, or one
order per line), :class:`~ht_analytics.Page` objects, or a path to ``.json``, ``.jsonl`` /
``.ndjson`` (one page or one order a line) and their ``.gz``. Bytes are parsed by Arrow's JSON reader
and typed with vectorised compute; a block the fast path cannot read without guessing is read value
by value instead, with the same result.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import secrets
import sys
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from ._exceptions import PayloadError
from ._extract import NeedsSlowPath, RawBlock, concat_raw, fast_schema, from_struct
from ._extract_slow import NotOrders, from_dicts
from ._frames import OrderFrames
from ._nesting import MAX_DEPTH, too_deep
from ._reconcile import reconcile
from ._schema import MONEY, ORDER_FIELDS, TYPED
from ._secrets import REDACTED, is_sensitive, scrub
from ._typing import PROBLEM_SCHEMA, type_block

__all__ = ["DataProblemWarning", "load_orders"]

Source = Any
IN_BREAKDOWN = frozenset(
    name for f in ORDER_FIELDS if f.in_breakdown for name in (f.camel, f.snake) if name
)
"""Order fields the wire nests in ``breakdown`` (a message names them ``breakdown.<key>``)."""
_MIN_BLOCK = 1 << 24
_SUFFIXES = (".json", ".jsonl", ".ndjson", ".gz")
_FAST_SCHEMA = fast_schema()
_ARROW_COULD_NOT = (pa.ArrowException, NeedsSlowPath, UnicodeDecodeError)
"""What the fast path raises when Arrow cannot read bytes (a key that is not UTF-8 comes out of
pyarrow as a ``UnicodeDecodeError``): the Python path reads them instead."""


class DataProblemWarning(UserWarning):
    """Some values could not be read (NA in the frames), or were kept with a note; all are listed
    in ``problems``."""


def load_orders(source: Source, *, strict: bool = False) -> OrderFrames:
    """Load orders into typed frames.

    Args:
        source: order dicts (or page dicts), page bytes, ``Page`` objects, or a path to a
            ``.json`` / ``.jsonl`` / ``.ndjson`` file (optionally ``.gz``).
        strict: raise :class:`PayloadError` at the first value that cannot be read, naming the
            order, the field and the raw value. By default such a value becomes NA plus a row in
            ``problems``, and a :class:`DataProblemWarning` says how many there were.

    Example:
        >>> frames = load_orders(page.raw for page in client.iter_pages())  # doctest: +SKIP
        >>> frames.orders[["order_id", "status", "total_amount"]].head()  # doctest: +SKIP
    """
    tables = load_tables(source, strict=strict)
    problem_table = tables.problems
    frames = frames_from_tables(tables)
    if len(problem_table):
        kept = len(problem_table) - tables.unreadable
        # Text with bytes that are not UTF-8 is kept (with U+FFFD), not NA; strict still raises.
        replaced = pc.sum(pc.ends_with(problem_table["reason"], READ_AS_FFFD)).as_py() or 0
        na = tables.unreadable - replaced
        said = [
            f"{na:,} value(s) could not be read (NA in the frames)" if na else "",
            f"{replaced:,} part(s) of the source hold bytes that are not UTF-8 (read as U+FFFD)"
            if replaced
            else "",
            f"{kept:,} note(s) on values kept as sent (a DST rule applied, a duplicate order, "
            "an unknown status id, totals that do not add up …)"
            if kept
            else "",
        ]
        warnings.warn(
            "; ".join(x for x in said if x) + ": listed in .problems",
            DataProblemWarning,
            stacklevel=2,
        )
    return frames


@dataclass(frozen=True, slots=True)
class LoadedTables:
    """The five tables as typed Arrow tables, before conversion to pandas (what the store writes)."""

    orders: pa.Table
    services: pa.Table
    adjustments: pa.Table
    tags: pa.Table
    problems: pa.Table
    unreadable: int = 0
    """How many of the problems are values that could not be read (the rest are notes)."""
    tags_sent: pa.Array | None = None
    """The orders whose payload carried a ``tags`` array (their whole tag list; ``None``: not
    known, e.g. tables read back from the store)."""


def load_tables(
    source: Source, *, strict: bool = False, depth_checked: bool = False
) -> LoadedTables:
    """What :func:`load_orders` does, up to (not including) the conversion to pandas.

    ``depth_checked``: the pages of an iterable source were already checked for nesting (the
    client checks every page it reads), so they are not checked again."""
    blocks = list(_blocks(source, depth_checked=depth_checked))
    raw = _concat(blocks)
    typed = type_block(raw)
    problems = list(typed.problems)
    mismatch = reconcile(typed.orders, typed.services, typed.adjustments, typed.unreadable)
    if mismatch is not None:  # the values are kept as sent: a note, not an unreadable value
        problems.append(mismatch)
    problem_table = pa.concat_tables(problems) if problems else PROBLEM_SCHEMA.empty_table()
    unreadable = sum(len(t) for t in typed.unreadable)
    if strict and unreadable:
        bad = pa.concat_tables(typed.unreadable)
        # The first in the source: by the position of its order (none: the source itself, first).
        at = pc.fill_null(pc.index_in(bad["order_id"], value_set=typed.orders["order_id"]), -1)
        first = bad.take(pc.sort_indices(at)).slice(0, 1).to_pylist()[0]
        who = f"order {first['order_id']}" if first["order_id"] is not None else "the source"
        field = first["field"] or ""
        if first["table"] == "orders" and field in IN_BREAKDOWN:
            field = f"breakdown.{field}"
        where = f", {first['table']} field {field}" if field else f" {first['table']}"
        raw, reason = first["raw_value"], str(first["reason"])
        said = raw is not None and repr(raw) in reason  # the reason quotes it already
        raise PayloadError(
            f"{who}{where}: "
            + (reason if said or raw is None else f"{raw!r}: {reason}")
            + (f" (and {unreadable - 1} more unreadable values)" if unreadable > 1 else "")
        )
    return LoadedTables(
        typed.orders,
        typed.services,
        typed.adjustments,
        typed.tags,
        problem_table,
        unreadable=unreadable,
        tags_sent=typed.tags_sent,
    )


def frames_from_tables(tables: LoadedTables) -> OrderFrames:
    """Typed Arrow tables (from :func:`load_tables` or the store) as :class:`OrderFrames`."""
    return OrderFrames(
        orders=_to_pandas(tables.orders, "orders"),
        services=_to_pandas(tables.services, "services"),
        adjustments=_to_pandas(tables.adjustments, "adjustments"),
        tags=_to_pandas(tables.tags, "tags"),
        problems=_to_pandas(tables.problems, "problems"),
    )


# -- sources ---------------------------------------------------------------------------------------


def _blocks(source: Source, *, depth_checked: bool = False) -> Iterator[RawBlock]:
    if isinstance(source, str) and _is_json_text(source):
        try:
            yield from _from_bytes(source.encode("utf-8", errors="surrogatepass"))
        except PayloadError as exc:
            if "\n" in source.strip() or len(source) > 4096:
                raise
            # One short line, such as "[2024] orders": a file name as likely as JSON.
            raise PayloadError(
                f"load_orders: {_shown_path(source)!r} is neither a file that exists nor JSON "
                f"({exc})"
            ) from None
    elif isinstance(source, str | os.PathLike):
        yield from _from_bytes(_read_path(Path(source)))
    elif isinstance(source, bytes | bytearray | memoryview):
        yield from _from_bytes(bytes(source))
    elif isinstance(source, dict):
        yield from_dicts(_orders_of([source]))
    elif isinstance(source, Iterable):
        yield from _from_iterable(source, depth_checked=depth_checked)
    else:
        raise TypeError(
            f"load_orders() cannot read a {type(source).__name__}: pass order dicts, page bytes, "
            "Page objects or a path to a .json/.jsonl/.ndjson(.gz) file"
        )


def _is_json_text(text: str) -> bool:
    """A str that is JSON text rather than a path: it starts like JSON, does not end like one of
    the files read ("[2024] orders.json" is a file name), and is no existing file."""
    if _no_bom(text)[:1] not in ("{", "[") or text.rstrip().lower().endswith(_SUFFIXES):
        return False
    if "\n" in text.strip():
        return True
    try:
        return not Path(text).is_file()
    except OSError:  # e.g. a name too long to be a file
        return True


def _no_bom(text: str) -> str:
    """``text`` without leading space and byte-order mark (what ``read_text()`` gives for a file
    saved with one)."""
    return text.lstrip().lstrip("\ufeff").lstrip()


def _shown_path(text: str) -> str:
    """A path for a message: at most 120 characters (a str that was meant as JSON text must not
    be repeated whole)."""
    return text if len(text) <= 120 else text[:100] + " …"


def _from_iterable(items: Iterable[Any], *, depth_checked: bool = False) -> Iterator[RawBlock]:
    """Blocks in the order of the items (the last occurrence of an order wins): runs of one-line
    pages are read together by Arrow, a pretty-printed page on its own, runs of dicts together."""
    run: list[bytes] = []
    run_items: list[int] = []  # the position (from 1) of each piece of the run in the source
    dicts: list[Any] = []
    deep = [False]  # whether a page of the run nests too deeply for Arrow (each page is checked)
    marked = [True]  # whether every piece of the run is one object: ``{`` … ``}``
    failed: list[PayloadError] = []
    read = [False]  # whether any item was read

    def guarded(blocks: Iterator[RawBlock], item: int) -> Iterator[RawBlock]:
        """The blocks of one piece, or (a piece that is not JSON at all: a cut-off page, an
        HTML error page) a problem naming its item: the other items load."""
        try:
            got = list(blocks)  # (a piece fails before it yields anything)
        except PayloadError as exc:
            failed.append(exc)
            yield _unreadable_item(item, str(exc))
            return
        read[0] = True
        yield from got

    def flush_run() -> Iterator[RawBlock]:
        if run:
            # Pages the client read as JSON were each checked for nesting: not the whole again.
            # Other pieces were checked one by one. Joined, pieces that are each ``{`` … ``}``
            # nest no deeper than the deepest (no JSON value goes on from a line ending in ``}``
            # to a line starting with ``{``, and no string spans lines); other pieces may be one
            # document cut in pieces, nesting deeper joined: that run is checked whole.
            names = [f"item {i}" for i in run_items]
            yield from guarded(
                _from_bytes(
                    b"\n".join(run),
                    deep=deep[0],
                    checked=depth_checked or marked[0],
                    objects=marked[0],
                    line_names=names,
                ),
                run_items[0],
            )
            run.clear()
            run_items.clear()
            deep[0] = False
            marked[0] = True

    def flush_dicts() -> Iterator[RawBlock]:
        if dicts:
            read[0] = True
            yield from_dicts(_orders_of(list(dicts)))
            dicts.clear()

    for number, item in enumerate(items, start=1):
        raw = getattr(item, "raw", item)
        if isinstance(raw, bytes | bytearray | memoryview):
            piece = bytes(raw)
        elif isinstance(raw, str) and _is_json_text(raw):  # a page's text (``response.text``)
            piece = raw.encode("utf-8", errors="surrogatepass")
        elif isinstance(raw, os.PathLike) or (isinstance(raw, str) and _is_file_name(raw)):
            piece = _read_path(Path(raw))
        else:
            yield from flush_run()
            dicts.append(raw)
            continue
        yield from flush_dicts()
        piece = piece if piece[:1] == b"{" and piece[-1:] == b"}" else _unmarked(piece)
        if b"\n" in piece or b"\r" in piece:
            yield from flush_run()
            yield from guarded(_from_bytes(piece), number)
        elif piece:
            deep[0] = deep[0] or (not depth_checked and too_deep(piece))
            marked[0] = marked[0] and piece[:1] == b"{" and piece[-1:] == b"}"
            run.append(piece)
            run_items.append(number)
    yield from flush_run()
    yield from flush_dicts()
    if failed and not read[0]:  # nothing in the source could be read: not orders at all
        raise failed[0]


def _unreadable_item(number: int, reason: str) -> RawBlock:
    """A block with no order and one problem: item ``number`` of the source is not JSON."""
    block = from_dicts([])
    block.problems.append(
        {
            "order_id": None,
            "table": "orders",
            "field": f"item {number}",
            "raw_value": None,
            "reason": reason.replace("load_orders: document 1 of the source", f"item {number}"),
        }
    )
    return block


def _unmarked(piece: bytes) -> bytes:
    """A piece without surrounding space and without a UTF-8 byte-order mark."""
    piece = piece.strip()
    return piece[3:].strip() if piece[:3] == b"\xef\xbb\xbf" else piece


def _is_file_name(text: str) -> bool:
    """A str in a list that names a file: one of the files read (any case), or one that exists."""
    if text.rstrip().lower().endswith(_SUFFIXES):
        return True
    try:
        return Path(text).is_file()
    except (OSError, ValueError):  # a name too long, a NUL in it
        return False


def _read_path(path: Path) -> bytes:
    try:
        is_file, is_dir = path.is_file(), path.is_dir()
    except (OSError, ValueError):  # a name too long to be a file, a NUL in it
        is_file = is_dir = False
    if is_dir:
        raise IsADirectoryError(
            f"load_orders: {_shown_path(str(path))} is a folder: pass a .json, .jsonl or .ndjson "
            "file (or .gz), or a list of them"
        )
    if not is_file:
        raise FileNotFoundError(f"load_orders: no such file: {_shown_path(str(path))}")
    data = path.read_bytes()
    if path.suffix.lower() == ".gz" or data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise PayloadError(f"{path}: not a readable gzip file ({exc})") from None
    return data


def _from_bytes(
    data: bytes,
    *,
    deep: bool = False,
    checked: bool = False,
    objects: bool = False,
    line_names: list[str] | None = None,
) -> Iterator[RawBlock]:
    """Fast path over all the bytes; on failure, line by line; a line that still fails is read
    value by value, and a line that is not JSON at all becomes a problem (the other lines load).
    ``deep``: a line is known to nest too deeply for Arrow: straight to line by line.
    ``checked``: no line nests too deeply (each was checked): Arrow may read them at once.
    ``line_names``: what to call each line in problems (``"item 4"``: the pieces of a list,
    joined one per line); else ``"line n"``."""
    size = len(data)
    data = data.lstrip()
    if data[:3] == b"\xef\xbb\xbf":  # a UTF-8 byte-order mark
        data = data[3:].lstrip()
    at = size - len(data)  # where the data starts in the source (for the offsets problems give)
    data = data.rstrip()
    if not data:
        return
    if data[:1] == b"[":  # a JSON array (of orders or pages): not Arrow's newline-delimited form
        yield from_dicts(_orders_of(_documents(data, at=at)))
        return
    if data[:1] == b"{" and not deep:  # Arrow is only given objects (a bare `null` crashes it)
        try:
            yield _fast(data, checked=checked, objects=objects)
            return
        except _ARROW_COULD_NOT:  # Python will
            pass
    lines = data.split(b"\n")
    if len(lines) == 1 or _looks_pretty(data):
        try:
            documents = _documents(data, at=at)
        except PayloadError:
            # Not JSON as a whole. One document per line whose first is broken (a cut-off
            # page, an HTML error page) is read line by line below, each bad line a problem: the
            # pieces of a list always (each is a line of its own), a file's lines when most are
            # whole objects (a pretty-printed document's lines are pieces: ``{``, ``"id": 5,``).
            if len(lines) == 1 or (line_names is None and not _mostly_objects(lines)):
                raise
        else:
            yield from_dicts(_orders_of(documents))
            return
    good = 0
    bad: list[RawBlock] = []
    # (number, the line without surrounding space, where that starts within the line)
    numbered = [  # (line 1 starts where the source does: with what was stripped before it)
        (n, _unmarked(line), len(line) - len(line.lstrip()) + (at if n == 1 else 0))
        for n, line in enumerate(lines, start=1)
        if line.strip()
    ]  # (a line may start with a byte-order mark: files joined with `cat`)
    for start in range(0, len(numbered), CHUNK_LINES):
        chunk = numbered[start : start + CHUNK_LINES]
        # A run of lines at once (most runs read fast even when one line somewhere cannot),
        # when no line is known to nest too deeply…
        size = sum(len(line) for _, line, _ in chunk)
        if not deep and len(chunk) > 1 and all(line[:1] == b"{" for _, line, _ in chunk):
            try:
                joined = b"\n".join(line for _, line, _ in chunk)
                yield _fast(joined, checked=checked, objects=True)
                good += len(chunk)
                continue
            except _ARROW_COULD_NOT:
                pass
        # … else line by line: Arrow for lines as big as pages, Python for orders (Arrow's
        # fixed cost per call is far above Python's parse of one order).
        pages = size >= PAGE_LINE * len(chunk)
        for number, line, lead in chunk:
            name = (
                line_names[number - 1]
                if line_names is not None and number <= len(line_names)
                else f"line {number}"
            )
            good_line, block = _one_line(name, line, lead, try_fast=pages)
            if good_line:
                good += 1
                yield block
            else:
                bad.append(block)
    if bad and not good:
        raise PayloadError(bad[0].problems[0]["reason"])
    yield from bad


_NOT_AN_OBJECT_LINE = re.compile(rb"[\r\n][ \t\r\n]*[^{\s]")
"""A line that starts with something else than an object (about 0.3 ms per MiB to look for)."""

CHUNK_LINES = 256
"""Lines read at once by the fast path when the whole source could not be."""

PAGE_LINE = 64 * 1024
"""Lines this long on average are pages (hundreds of orders): each is worth a fast read."""


def _one_line(name: str, line: bytes, lead: int, *, try_fast: bool) -> tuple[bool, RawBlock]:
    """One line (``lead``: the space stripped from its start; ``name``: ``"line 3"``, or
    ``"item 3"`` in a list): ``(True, its block)``, or ``(False, a block naming it)`` when it is
    not JSON."""
    if try_fast and line[:1] == b"{":
        try:
            return True, _fast(line, objects=True)  # one line, starting with {
        except _ARROW_COULD_NOT:  # Python will
            pass
    try:
        documents = _documents(line, at=lead)
        if documents and isinstance(documents[0], NotOrders):  # bytes that are not UTF-8
            documents[0] = NotOrders(documents[0].raw, f"{name}: {documents[0].reason}")
    except PayloadError as exc:
        block = from_dicts([])
        text = _excerpt(line[:200].decode("utf-8", errors="replace"))
        block.problems.append(
            {
                "order_id": None,
                "table": "orders",
                "field": name,
                "raw_value": text,
                "reason": str(exc).replace("load_orders: document 1 of the source", name),
            }
        )
        return False, block
    if len(documents) == 1 and not isinstance(documents[0], list | dict):
        return True, from_dicts(documents, where=lambda _: name)
    return True, from_dicts(_orders_of(documents), where=lambda i: f"{name}, item {i}")


_PAIR = re.compile(r'"((?:[^"\\]|\\.)*)"\s*:\s*("(?:[^"\\]|\\.)*")?')
"""A key in JSON text, and its value when it is a whole string."""


def _excerpt(text: str) -> str:
    """The start of a line that is not JSON, as kept in ``problems``, with the value of every
    key that suggests a secret (``authentication_token`` …) replaced by ``[redacted]``, as
    :func:`scrub` does for readable orders. A secret's value that is an object or a list, or
    that the text does not show whole, ends the excerpt."""
    out: list[str] = []
    at = 0
    for match in _PAIR.finditer(text):
        try:
            key = json.loads(f'"{match.group(1)}"')
        except ValueError:
            key = match.group(1)
        if not is_sensitive(str(key)):
            continue
        if match.group(2) is not None:
            out.append(text[at : match.start(2)] + f'"{REDACTED}"')
            at = match.end(2)
        else:  # a container, a bare value or a cut-off string: nothing after the key
            return "".join(out) + text[at : match.end(1) + 1] + f": {REDACTED}…"
    return "".join(out) + text[at:]


def _fast(data: bytes, *, checked: bool = False, objects: bool = False) -> RawBlock:
    """``data`` read by Arrow (``checked``: its pages were each checked for nesting already;
    ``objects``: each of its lines is known to start with ``{``)."""
    # A block of Arrow's that starts with the document `null` crashes the process (SIGSEGV), and
    # blocks start at lines: Arrow is only given lines that start with an object.
    if data.lstrip()[:1] != b"{" or (not objects and _NOT_AN_OBJECT_LINE.search(data)):
        raise NeedsSlowPath("a line that does not start with an object")
    if b"\r" in data and data.count(b"\r") != data.count(b"\r\n"):
        # Arrow starts a block after a lone carriage return too: what follows it may not be
        # an object (a bare `null` there crashes the process). JSON has none outside space.
        raise NeedsSlowPath("a carriage return that ends no line")
    if not checked and too_deep(data):  # Arrow would crash the process; Python's says why
        raise NeedsSlowPath(f"nested deeper than {MAX_DEPTH} levels")
    parse = pj.ParseOptions(explicit_schema=_FAST_SCHEMA, unexpected_field_behavior="infer")
    try:
        options = pj.ReadOptions(block_size=_MIN_BLOCK, use_threads=True)
        table = pj.read_json(pa.BufferReader(data), read_options=options, parse_options=parse)
    except pa.ArrowInvalid as exc:
        if "straddling" not in str(exc):
            raise
        # A line longer than the block: give the reader blocks as large as the longest line.
        options = pj.ReadOptions(block_size=_longest_line(data) + 1, use_threads=True)
        table = pj.read_json(pa.BufferReader(data), read_options=options, parse_options=parse)
    if _has_timestamps(table.schema):
        # Arrow took text of an unknown field for timestamps (dropping its form and offset):
        # read again with those fields pinned as text, so that ``extra`` keeps what was sent.
        pinned = pj.ParseOptions(
            explicit_schema=_text_for_timestamps(table.schema), unexpected_field_behavior="infer"
        )
        table = pj.read_json(pa.BufferReader(data), read_options=options, parse_options=pinned)
    if not data.isascii():
        table.validate(full=True)  # invalid UTF-8 raises here, and Python names the bad line
    pages = table.column("orders").is_valid() if "orders" in table.column_names else None
    ids = table.column("id").is_valid() if "id" in table.column_names else None
    # A line with an id is an order, whatever else it holds (an unknown field named ``orders``
    # is kept in ``extra``, as the slow path keeps it); a line without one and with an ``orders``
    # list is a page.
    is_order = pc.all(ids).as_py() if ids is not None else False
    is_page = (
        not is_order
        and (pc.all(pages).as_py() if pages is not None else False)
        and (ids is None or not pc.any(ids).as_py())
    )
    if is_page:
        table = table.drop_columns([n for n in table.column_names if n != "orders"])
    elif is_order:
        # The page keys of the schema are columns on every line; on orders they are unknown
        # fields, kept when an order has them (``status`` is the snake flavour's status id).
        table = table.drop_columns(
            [
                n
                for n in _PAGE_KEYS
                if n in table.column_names and not pc.any(table[n].is_valid()).as_py()
            ]
        )
    else:
        # Lines that are neither a page nor an order with an id (an `order` envelope, an error
        # body, an order without id): Python reads them and names what it cannot use.
        raise NeedsSlowPath("lines that are neither pages nor orders with an id")
    if is_page:
        lists = table.column("orders").combine_chunks()
        if not pa.types.is_list(lists.type):
            raise NeedsSlowPath("orders is not a list")
        orders = lists.flatten()
        if len(orders) == 0:
            return from_dicts([])
        if not pa.types.is_struct(orders.type):
            raise NeedsSlowPath("orders holds something other than objects")
    else:
        if "id" not in table.column_names:
            raise NeedsSlowPath("neither pages nor orders")
        batch = table.combine_chunks().to_batches()
        orders = (
            pa.StructArray.from_arrays(
                [table.column(n).combine_chunks() for n in table.column_names],
                names=table.column_names,
            )
            if not batch
            else batch[0].to_struct_array()
        )
    return from_struct(orders)


_PAGE_KEYS = ("orders", "next_cursor")


def _has_timestamps(schema: pa.Schema) -> bool:
    return any(_with_text(f.type) != f.type for f in schema)


def _with_text(kind: pa.DataType) -> pa.DataType:
    """``kind`` with every timestamp in it (in structs and lists too) made a string."""
    if pa.types.is_timestamp(kind):
        return pa.string()
    if pa.types.is_struct(kind):
        return pa.struct([f.with_type(_with_text(f.type)) for f in kind])
    if pa.types.is_list(kind):
        return pa.list_(kind.value_field.with_type(_with_text(kind.value_type)))
    return kind


def _text_for_timestamps(schema: pa.Schema) -> pa.Schema:
    return pa.schema([f.with_type(_with_text(f.type)) for f in schema])


def _longest_line(data: bytes) -> int:
    ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10)
    if len(ends) == 0:
        return len(data)
    bounds = np.concatenate(([-1], ends, [len(data)]))
    return int(np.diff(bounds).max())


def _looks_pretty(data: bytes) -> bool:
    """A single document spread over lines (pretty-printed JSON) rather than one per line."""
    first = data.split(b"\n", 1)[0].strip()
    return first in (b"{", b"[") or not first.endswith(b"}")


def _mostly_objects(lines: list[bytes]) -> bool:
    """At least half the lines are each a whole object (``{`` … ``}``): one document per line,
    whose first line is broken (a cut-off page, an HTML error page), not one document spread
    over lines (whose lines are pieces: ``{``, ``"id": 5,`` …)."""
    filled = [line.strip() for line in lines if line.strip()]
    whole = sum(1 for line in filled if len(line) > 2 and line[:1] == b"{" and line[-1:] == b"}")
    return whole * 2 >= len(filled)


def _documents(data: bytes, *, at: int = 0) -> list[Any]:
    """Every JSON document in the bytes: one, several one per line, or several pretty-printed.
    ``at``: where ``data`` starts in what the user gave (a problem's byte offsets count from
    there)."""
    text, not_utf8 = _decoded(data, at=at)
    decoder = json.JSONDecoder(parse_float=Decimal)
    documents: list[Any] = [] if not_utf8 is None else [not_utf8]
    position = 0
    while True:
        while position < len(text) and text[position].isspace():
            position += 1
        if position >= len(text):
            return documents
        try:
            document, position = decoder.raw_decode(text, position)
        except json.JSONDecodeError as exc:
            number = len(documents) + (1 if not_utf8 is None else 0)
            also = "" if not_utf8 is None else "; it holds bytes that are not UTF-8 too"
            raise PayloadError(
                f"load_orders: document {number} of the source is not JSON ({exc}){also}"
            ) from None
        except RecursionError:
            # A value nested too deeply for Python's parser: cut out, and read as such (its
            # order is left out, named, as from any other source); the rest of it loads.
            mark = f"\x00ht: nested too deeply {secrets.token_hex(8)}\x00"
            cut, end = _cut_deep(text, position, mark)
            try:
                document = _marked_deep(decoder.raw_decode(cut)[0], mark)
            except (json.JSONDecodeError, RecursionError):
                number = len(documents) + (1 if not_utf8 is None else 0)
                raise PayloadError(
                    f"load_orders: document {number} of the source is nested too deeply to read"
                ) from None
            position = end
        documents.append(document)


_TOKENS = re.compile(r'\\.|["\[\]{}]', re.DOTALL)


def _cut_depth() -> int:
    """How deep a value may nest and still be read by Python's parser here, with room to spare
    (the depth where a value read alone, as a line or a dict, is read too)."""
    return sys.getrecursionlimit() - 150


def _cut_deep(text: str, start: int, mark: str) -> tuple[str, int]:
    """The JSON document at ``text[start:]`` with each value nested deeper than
    :func:`_cut_depth` replaced by the string ``mark``, and where the document ends."""
    limit = _cut_depth()
    out: list[str] = []
    depth = 0
    inside = False
    keep_from = start
    cut_at: int | None = None
    for token in _TOKENS.finditer(text, start):
        char = token.group()
        if inside:
            inside = char != '"'
        elif char == '"':
            inside = True
        elif char in "[{":
            depth += 1
            if depth > limit and cut_at is None:
                cut_at = token.start()
        elif char in "]}":
            depth -= 1
            if cut_at is not None and depth == limit:
                out += [text[keep_from:cut_at], json.dumps(mark)]
                keep_from, cut_at = token.end(), None
            if depth == 0:
                out.append(text[keep_from : token.end()])
                return "".join(out), token.end()
    out.append(text[keep_from:] if cut_at is None else text[keep_from:cut_at])
    return "".join(out), len(text)


def _marked_deep(document: Any, mark: str) -> Any:
    """``document`` with each ``mark`` of :func:`_cut_deep` replaced by a value nested as deeply
    as the one cut out (which the order extraction names and leaves out)."""
    if isinstance(document, str) and document == mark:
        return _too_deep()
    stack = [document] if isinstance(document, dict | list) else []
    while stack:
        node = stack.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, value in list(items):
            if isinstance(value, str) and value == mark:
                node[key] = _too_deep()
            elif isinstance(value, dict | list):
                stack.append(value)
    return document


def _too_deep() -> list[Any]:
    deep: list[Any] = []
    for _ in range(sys.getrecursionlimit() + 100):
        deep = [deep]
    return deep


def _decoded(data: bytes, *, at: int = 0) -> tuple[str, NotOrders | None]:
    """The text of UTF-8 bytes. Bytes that are not UTF-8 are read as U+FFFD (the values holding
    them are kept so, and the rest loads), and a :class:`NotOrders` names them: how many U+FFFD
    they became, and the first one's offset (``at``: where ``data`` starts in what was given)."""
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        text = data.decode("utf-8", errors="replace")
        # Each bad byte (or cut-short sequence) became one U+FFFD; the others were sent as such.
        replaced = text.count("\ufffd") - data.count("\ufffd".encode())
        where = f"at byte {at + exc.start:,}"
        if replaced > 1:
            where = f"{replaced:,} U+FFFD in all, the first {where}"
        # The bad bytes alone as the raw value: text around them could hold a secret's value.
        shown = "".join(f"\\x{b:02x}" for b in data[exc.start : exc.end])
        return text, NotOrders(shown, f"bytes that are not UTF-8 ({where}) {READ_AS_FFFD}")


READ_AS_FFFD = "were read as U+FFFD ('\ufffd') in the values that hold them"
"""How the problem naming bytes that are not UTF-8 ends (the warning counts those apart)."""


def _orders_of(items: Iterable[Any]) -> Iterator[Any]:
    """Orders from a mix of orders, pages and lists of them; what holds no order (an error
    response, a page whose ``orders`` is not a list) as :class:`NotOrders`."""
    for item in items:
        # An object with an id is an order, even with a field named ``orders`` or ``order``.
        no_id = isinstance(item, dict) and item.get("id") is None
        if no_id and isinstance(item.get("orders"), list):
            yield from item["orders"]
        elif no_id and isinstance(item.get("order"), dict):
            yield item["order"]
        elif isinstance(item, dict) and "orders" in item and not _ORDER_KEYS & item.keys():
            kind = "null" if item["orders"] is None else type(item["orders"]).__name__
            yield NotOrders(item, f"a page whose 'orders' is {kind}, not a list of orders")
        elif isinstance(item, dict) and _is_envelope(item):
            status, message = item.get("status"), _message(item)
            said = f"status {status!r}" + (f": {message}" if message else "")
            yield NotOrders(item, f"an API response without orders ({said})")
        elif isinstance(item, list):
            yield from _orders_of_list(item)
        else:
            yield item


def _orders_of_list(items: list[Any]) -> Iterator[Any]:
    """:func:`_orders_of` of a list, whose lists inside are flattened without recursion (a list
    nested thousands deep is one problem, not a ``RecursionError``)."""
    stack: list[tuple[list[Any], int]] = [(items, 0)]
    while stack:
        current, position = stack.pop()
        if position >= len(current):
            continue
        stack.append((current, position + 1))
        item = current[position]
        if isinstance(item, list):
            if len(stack) > MAX_DEPTH:
                yield NotOrders("[…]", f"lists nested more than {MAX_DEPTH} deep")
            else:
                stack.append((item, 0))
        else:
            yield from _orders_of([item])


_ORDER_KEYS = frozenset({"id", "breakdown", "createdAt", "created_at"})


def _is_envelope(item: dict[str, Any]) -> bool:
    """A response body rather than an order: no order key, and a text status (an order's
    status is a number) or an error message."""
    if _ORDER_KEYS & item.keys():
        return False
    status = item.get("status")
    textual = isinstance(status, str) and not status.strip().lstrip("-").isdigit()
    return textual or any(k in item for k in ("message", "error", "errors"))


def _message(item: dict[str, Any]) -> str:
    """The error message of a response body, secrets redacted (as in every problem row)."""
    for key in ("message", "error", "errors"):
        value = item.get(key)
        if value:
            try:
                text = value if isinstance(value, str) else json.dumps(scrub(value), default=str)
            except RecursionError:
                return "(a message nested too deeply to show)"
            return text[:200]
    return ""


def _concat(blocks: list[RawBlock]) -> RawBlock:
    if not blocks:
        return from_dicts([])
    if len(blocks) == 1:
        return blocks[0]
    out = RawBlock()
    offset = 0
    parts: dict[str, list[dict[str, pa.Array]]] = {"orders": [], "services": [], "adjustments": []}
    for block in blocks:
        for problem in block.problems:
            if problem.get("order_row") is not None:
                problem = problem | {"order_row": problem["order_row"] + offset}
            out.problems.append(problem)
        parts["orders"].append(block.orders)
        for name in ("services", "adjustments"):
            cols = dict(getattr(block, name))
            cols["order_row"] = pc.add(cols["order_row"], offset)
            parts[name].append(cols)
        offset += len(block.orders["order_id"])
    for name, pieces in parts.items():
        setattr(out, name, {key: concat_raw([p[key] for p in pieces]) for key in pieces[0]})
    return out


# -- to pandas -------------------------------------------------------------------------------------


def _mapper(t: pa.DataType) -> Any:
    if pa.types.is_decimal(t):
        return pd.ArrowDtype(MONEY)
    if pa.types.is_boolean(t):
        return pd.BooleanDtype()
    if pa.types.is_integer(t):
        return pd.Int64Dtype()
    return None


def _to_pandas(table: pa.Table, name: str) -> pd.DataFrame:
    schema = TYPED[name]
    frame = table.to_pandas(types_mapper=_mapper)
    for column, dtype in schema.items():
        if column not in frame.columns:
            frame[column] = pd.Series(pd.NA, index=frame.index)
        if frame[column].dtype != pd.api.types.pandas_dtype(dtype):
            frame[column] = frame[column].astype(dtype)
    result: pd.DataFrame = frame[list(schema)]
    return result
