"""A guard against JSON nested too deeply for the parsers: Arrow's JSON reader recurses on the C
stack and kills the process (a segmentation fault, not an exception) some 20,000 levels down;
Python's ``json`` raises ``RecursionError`` near its recursion limit."""

from __future__ import annotations

from typing import Final

import numpy as np

__all__ = ["MAX_DEPTH", "too_deep"]

MAX_DEPTH: Final = 512
"""Deeper than this, bytes go to Python's parser (which fails cleanly) instead of Arrow's. Orders
are some ten levels deep."""

_NOT_MARKS: Final = bytes(b for b in range(256) if b not in b'"[]{}\n\r\\')
_STEP: Final = np.zeros(256, np.int8)
_STEP[list(b"[{")] = 1
_STEP[list(b"]}")] = -1
_QUOTE: Final = ord('"')
_NEWLINE: Final = ord("\n")
_RETURN: Final = ord("\r")
_BACKSLASH: Final = ord("\\")
_BACKSLASH_TO_QUOTE: Final = bytes.maketrans(b"\\", b'"')


def too_deep(data: bytes) -> bool:
    """Whether ``data`` may nest deeper than :data:`MAX_DEPTH`, whatever its size (about 1 ms per
    MiB: a page in a millisecond, 300 MiB of pages in 0.3 s; a size cut-off would let a big
    page nested deep crash the process).

    Brackets inside strings do not count (they would let a string of closing brackets hide the
    depth after it). Strings are told apart by their quotes, escaped ones left out; a string
    never spans a line (JSON escapes a newline; a carriage return starts a line for Arrow too),
    so each line starts outside strings. Bytes
    whose brackets go below zero count as deep: they only take the slower path."""
    marks = _marks(data)
    if len(marks) <= MAX_DEPTH:
        return False
    if marks.count(b'""') * 2 == marks.count(b'"'):
        # Every quote is next to its partner: no string holds a bracket (a string holding one
        # leaves a quote unpaired, back to the first of its line), so every bracket counts.
        brackets = marks.translate(None, b'"\n\r')
    else:
        # Two adjacent quotes enclose nothing and change no other mark's side: drop them all,
        # then tell the sides of what is left.
        brackets = _outside_strings(marks.replace(b'""', b""))
    if len(brackets) <= MAX_DEPTH:
        return False
    depth = np.cumsum(_STEP[np.frombuffer(brackets, np.uint8)], dtype=np.int32)
    return int(depth.max(initial=0)) > MAX_DEPTH or int(depth.min(initial=0)) < 0


def _marks(data: bytes) -> bytes:
    """The quotes, brackets and newlines of ``data`` in order. An escaped quote comes with its
    backslash made a quote: two adjacent quotes, which enclose nothing and change no other
    mark's side (as if neither were there); other backslashes are left out."""
    marks = data.translate(None, _NOT_MARKS)
    if b"\\" not in marks:
        return marks
    at = _backslashes(data, marks.count(b"\\"))
    following = np.frombuffer(data, np.uint8)[np.minimum(at + 1, len(data) - 1)]
    if bool((following == _QUOTE).all()) and at[-1] + 1 < len(data):
        # Each escapes the quote after it (the usual case): among the marks too, each is
        # followed by its quote.
        return marks.translate(_BACKSLASH_TO_QUOTE)
    # Each backslash of the data escapes the byte after it, or is escaped by the one before:
    # which, is told by its place in its run of backslashes.
    run_start = np.flatnonzero(np.diff(at, prepend=-2) != 1)
    run_length = np.diff(np.append(run_start, len(at)))
    place = np.arange(len(at)) - np.repeat(run_start, run_length)
    last = place == np.repeat(run_length, run_length) - 1
    escapes_next = (place % 2 == 0) & last  # escapes the byte after the run
    quoted = (following[escapes_next] == _QUOTE) & (at[escapes_next] + 1 < len(data))
    # The same backslashes, in the same order, among the marks: an escaped quote is the mark
    # right after its backslash (it comes right after it in the data).
    m = np.frombuffer(marks, np.uint8).copy()
    m[np.flatnonzero(m == _BACKSLASH)[escapes_next][quoted]] = _QUOTE
    return m.tobytes().translate(None, b"\\")


def _backslashes(data: bytes, count: int) -> np.ndarray:
    """Where the ``count`` backslashes of ``data`` are."""
    if count > 100_000:  # one pass over all the bytes rather than a search per backslash
        return np.flatnonzero(np.frombuffer(data, np.uint8) == _BACKSLASH)
    found = np.empty(count, dtype=np.int64)
    at = data.find(b"\\")
    i = 0
    while at >= 0:
        found[i] = at
        i += 1
        at = data.find(b"\\", at + 1)
    return found


_CHUNK = 1 << 22
"""Marks looked at in one go by :func:`_outside_strings` (bounds its memory, whatever the size)."""


def _outside_strings(marks: bytes) -> bytes:
    """The brackets of ``marks`` that lie outside strings (each line starts outside)."""
    a = np.frombuffer(marks, np.uint8)
    parts = []
    inside = 0  # whether the chunk before ended inside a string
    for start in range(0, len(a), _CHUNK):
        chunk = a[start : start + _CHUNK]
        quote = chunk == _QUOTE
        newline = (chunk == _NEWLINE) | (chunk == _RETURN)
        seen = np.cumsum(quote, dtype=np.int32)  # quotes up to and including each mark
        at_line_start = np.maximum.accumulate(np.where(newline, seen, -1))
        side = np.where(at_line_start < 0, seen + inside, seen - at_line_start) & 1
        parts.append(chunk[(side == 0) & ~quote & ~newline].tobytes())
        inside = int(side[-1])
    return b"".join(parts)
