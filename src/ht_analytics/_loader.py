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
from ._extract_slow import from_dicts
from ._frames import OrderFrames
from ._reconcile import reconcile
from ._schema import MONEY, TYPED
from ._typing import PROBLEM_SCHEMA, type_block

__all__ = ["DataProblemWarning", "load_orders"]

Source = Any
_MIN_BLOCK = 1 << 24
_SUFFIXES = (".json", ".jsonl", ".ndjson", ".gz")
_FAST_SCHEMA = fast_schema()


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
        said = [
            f"{tables.unreadable:,} value(s) could not be read (NA in the frames)"
            if tables.unreadable
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


def load_tables(source: Source, *, strict: bool = False) -> LoadedTables:
    """What :func:`load_orders` does, up to (not including) the conversion to pandas."""
    blocks = list(_blocks(source))
    raw = _concat(blocks)
    typed = type_block(raw)
    problems = list(typed.problems)
    mismatch = reconcile(typed.orders, typed.services, typed.adjustments)
    if mismatch is not None:  # the values are kept as sent: a note, not an unreadable value
        problems.append(mismatch)
    problem_table = pa.concat_tables(problems) if problems else PROBLEM_SCHEMA.empty_table()
    unreadable = sum(len(t) for t in typed.unreadable)
    if strict and unreadable:
        bad = pa.concat_tables(typed.unreadable)
        first = bad.slice(0, 1).to_pylist()[0]
        who = f"order {first['order_id']}" if first["order_id"] is not None else "an order"
        raise PayloadError(
            f"{who} {first['table']}.{first['field']}: {first['raw_value']!r}: {first['reason']}"
            + (f" (and {unreadable - 1} more unreadable values)" if unreadable > 1 else "")
        )
    return LoadedTables(
        typed.orders,
        typed.services,
        typed.adjustments,
        typed.tags,
        problem_table,
        unreadable=unreadable,
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


def _blocks(source: Source) -> Iterator[RawBlock]:
    if isinstance(source, str | os.PathLike):
        yield from _from_bytes(_read_path(Path(source)))
    elif isinstance(source, bytes | bytearray | memoryview):
        yield from _from_bytes(bytes(source))
    elif isinstance(source, dict):
        yield from_dicts(_orders_of([source]))
    elif isinstance(source, Iterable):
        yield from _from_iterable(source)
    else:
        raise TypeError(
            f"load_orders() cannot read a {type(source).__name__}: pass order dicts, page bytes, "
            "Page objects or a path to a .json/.jsonl/.ndjson(.gz) file"
        )


def _from_iterable(items: Iterable[Any]) -> Iterator[RawBlock]:
    pending: list[bytes] = []
    dicts: list[Any] = []
    for item in items:
        raw = getattr(item, "raw", item)
        if isinstance(raw, bytes | bytearray | memoryview):
            pending.append(bytes(raw))
        elif isinstance(raw, os.PathLike) or (isinstance(raw, str) and raw.endswith(_SUFFIXES)):
            pending.append(_read_path(Path(raw)))
        else:
            dicts.append(raw)
    # Runs of one-line pages are read together by Arrow; a pretty-printed page on its own.
    run: list[bytes] = []
    for piece in (p if p[:1] == b"{" and p[-1:] == b"}" else p.strip() for p in pending):
        if b"\n" in piece:
            if run:
                yield from _from_bytes(b"\n".join(run))
                run = []
            yield from _from_bytes(piece)
        else:
            run.append(piece)
    if run:
        yield from _from_bytes(b"\n".join(run))
    if dicts:
        yield from_dicts(_orders_of(dicts))


def _read_path(path: Path) -> bytes:
    if not path.is_file():
        raise FileNotFoundError(f"load_orders: no such file: {path}")
    data = path.read_bytes()
    if path.suffix == ".gz" or data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise PayloadError(f"{path}: not a readable gzip file ({exc})") from None
    return data


def _from_bytes(data: bytes) -> Iterator[RawBlock]:
    """Fast path over all the bytes; on failure, line by line; a line that still fails is read
    value by value, and a line that is not JSON at all becomes a problem (the other lines load)."""
    data = data.strip()
    if data[:3] == b"\xef\xbb\xbf":  # a UTF-8 byte-order mark
        data = data[3:].strip()
    if not data:
        return
    if data[:1] == b"[":  # a JSON array (of orders or pages): not Arrow's newline-delimited form
        yield from_dicts(_orders_of(_documents(data)))
        return
    if data[:1] == b"{":  # Arrow is only given objects (a bare `null` crashes pyarrow 26)
        try:
            yield _fast(data)
            return
        except (pa.ArrowException, NeedsSlowPath):  # Arrow could not; Python will
            pass
    lines = data.split(b"\n")
    if len(lines) == 1 or _looks_pretty(data):
        yield from_dicts(_orders_of(_documents(data)))
        return
    good = 0
    bad: list[RawBlock] = []
    for number, line in enumerate(lines, start=1):
        line = line.strip()
        if not line:
            continue
        try:
            if line[:1] != b"{":
                raise NeedsSlowPath("not an object")
            yield _fast(line)
            good += 1
        except (pa.ArrowException, NeedsSlowPath):  # Arrow could not; Python will
            try:
                documents = _documents(line)
            except PayloadError as exc:
                block = from_dicts([])
                text = line[:200].decode("utf-8", errors="replace")
                block.problems.append(
                    {
                        "order_id": None,
                        "table": "orders",
                        "field": f"line {number}",
                        "raw_value": text,
                        "reason": str(exc),
                    }
                )
                bad.append(block)
                continue
            good += 1
            yield from_dicts(_orders_of(documents))
    if bad and not good:
        raise PayloadError(bad[0].problems[0]["reason"])
    yield from bad


def _fast(data: bytes) -> RawBlock:
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
    if not data.isascii():
        table.validate(full=True)  # invalid UTF-8 raises here, and Python names the bad line
    pages = table.column("orders").is_valid() if "orders" in table.column_names else None
    ids = table.column("id").is_valid() if "id" in table.column_names else None
    is_page = pc.all(pages).as_py() if pages is not None else False
    is_order = pc.all(ids).as_py() if ids is not None else False
    if is_page:
        table = table.drop_columns([n for n in table.column_names if n != "orders"])
    elif is_order:
        # Page keys are not an order's fields; ``status``, though, is (the snake flavour's
        # status id), so it stays.
        table = table.drop_columns(
            [n for n in ("orders", "next_cursor") if n in table.column_names]
        )
    else:
        # Lines that are neither a page nor an order with an id (an `order` envelope, an error
        # body, an order without id): Python reads them and names what it cannot use.
        raise NeedsSlowPath("lines that are neither pages nor orders with an id")
    if "orders" in table.column_names:
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


def _documents(data: bytes) -> list[Any]:
    """Every JSON document in the bytes: one, several one per line, or several pretty-printed."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PayloadError(f"load_orders: the source is not UTF-8 JSON ({exc})") from None
    decoder = json.JSONDecoder(parse_float=Decimal)
    documents: list[Any] = []
    position = 0
    while True:
        while position < len(text) and text[position].isspace():
            position += 1
        if position >= len(text):
            return documents
        try:
            document, position = decoder.raw_decode(text, position)
        except json.JSONDecodeError as exc:
            number = len(documents) + 1
            raise PayloadError(
                f"load_orders: document {number} of the source is not JSON ({exc})"
            ) from None
        documents.append(document)


def _orders_of(items: Iterable[Any]) -> Iterator[Any]:
    """Orders from a mix of orders, pages and lists of them."""
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("orders"), list):
            yield from item["orders"]
        elif isinstance(item, dict) and isinstance(item.get("order"), dict):
            yield item["order"]
        elif isinstance(item, list):
            yield from _orders_of(item)
        else:
            yield item


def _concat(blocks: list[RawBlock]) -> RawBlock:
    if not blocks:
        return from_dicts([])
    if len(blocks) == 1:
        return blocks[0]
    out = RawBlock(problems=[p for b in blocks for p in b.problems])
    offset = 0
    parts: dict[str, list[dict[str, pa.Array]]] = {"orders": [], "services": [], "adjustments": []}
    for block in blocks:
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
