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

_NOT_BRACKETS: Final = bytes(b for b in range(256) if b not in b"[]{}")
_STEP: Final = np.zeros(256, np.int8)
_STEP[list(b"[{")] = 1
_STEP[list(b"]}")] = -1


def too_deep(data: bytes) -> bool:
    """Whether ``data`` may nest deeper than :data:`MAX_DEPTH`, whatever its size (about 0.7 ms
    per MiB: a page in a millisecond, 300 MiB of pages in 0.2 s; a size cut-off would let a big
    page nested deep crash the process).

    Brackets inside strings are counted too, so the estimate errs on the deep side (and closing
    brackets in strings that take the count below zero count as deep): such bytes only take the
    slower path."""
    brackets = data.translate(None, _NOT_BRACKETS)
    if len(brackets) <= MAX_DEPTH:
        return False
    depth = np.cumsum(_STEP[np.frombuffer(brackets, np.uint8)], dtype=np.int32)
    # Closing brackets inside strings make the count go below zero, which no JSON structure
    # does: they could hide real depth after them, so such bytes take the slower path too.
    return int(depth.max(initial=0)) > MAX_DEPTH or int(depth.min(initial=0)) < 0
