"""The nesting guard: the depth of JSON bytes, brackets inside strings left out, checked against a
byte-by-byte scanner written here, and the crafted payloads that used to crash the process."""

from __future__ import annotations

import subprocess
import sys

from hypothesis import given, settings
from hypothesis import strategies as st

import ht_analytics._nesting as nesting
from ht_analytics._nesting import MAX_DEPTH, too_deep


def reference(data: bytes) -> bool:
    """Byte by byte: a backslash escapes the next byte (an escaped quote or backslash is
    nothing; JSON has backslashes in strings only); an unescaped quote opens or closes a
    string; a line starts outside strings; outside, ``[{`` go one level down and ``]}`` one up.
    Deep: past MAX_DEPTH, or above the top — but never with MAX_DEPTH brackets or fewer outside
    strings (they cannot nest deeper)."""
    depth = deepest = lowest = count = 0
    inside = escaped = False
    for byte in data:
        if escaped:
            escaped = False
            if byte in b'"\\':
                continue
        if byte == 0x5C:
            escaped = True
        elif byte in b"\r\n":
            inside = False
        elif byte == 0x22:
            inside = not inside
        elif inside:
            continue
        elif byte in b"[{":
            depth += 1
            count += 1
            deepest = max(deepest, depth)
        elif byte in b"]}":
            depth -= 1
            count += 1
            lowest = min(lowest, depth)
    return count > MAX_DEPTH and (deepest > MAX_DEPTH or lowest < 0)


PIECES = [
    b"[",
    b"]",
    b"{",
    b"}",
    b'"',
    b"\\",
    b'\\"',
    b"\\\\",
    b"\n",
    b"\r",
    b"a",
    b":",
    b",",
    b"1",
]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from(PIECES), max_size=400),
    st.integers(min_value=0, max_value=3 * MAX_DEPTH),
)
def test_too_deep_agrees_with_a_byte_by_byte_scan(pieces: list[bytes], opened: int) -> None:
    """Random bytes of brackets, quotes, escapes and newlines, behind ``opened`` real levels
    (so that the limit is near); strings are also told apart a few marks at a time (as a big
    input is, in chunks)."""
    data = b"[" * opened + b"".join(pieces) + b"]" * opened
    want = reference(data)
    assert too_deep(data) is want
    chunk = nesting._CHUNK
    try:
        nesting._CHUNK = 7
        assert too_deep(data) is want
    finally:
        nesting._CHUNK = chunk


def test_worked_examples() -> None:
    n = MAX_DEPTH + 10
    assert too_deep(b"[" * n + b"]" * n)
    assert not too_deep(b"[" * 500 + b"]" * 500)
    # brackets in strings, even escaped quotes around them, do not count
    assert not too_deep(b"[" * 500 + b'"' + b"[" * 100 + b'"' + b"]" * 500)
    assert not too_deep(b"[" * 500 + b'"\\"' + b"[" * 100 + b'\\""' + b"]" * 500)
    # an escaped backslash ends no string, and the quote after it closes it
    assert too_deep(b'["\\\\",' + b"[" * n + b"]" * n + b"]")
    # a line left inside a string does not hide the next line's depth
    assert too_deep(b'{"a":"}\n' + b'{"x":' * n + b"1" + b"}" * n)


CRAFTED = {
    # closing brackets in strings used to cancel the real levels they hide (Python
    # expressions, made in the child process)
    "strings": """'{"s":"}","a":' * 20_000 + "1" + ',"t":"{"}' * 20_000""",
    "escaped": """'{"s":"\\\\"}\\\\"","a":' * 20_000 + "1" + ',"t":"\\\\"{\\\\""}' * 20_000""",
}


def test_crafted_depth_is_an_error_or_a_problem_never_a_crash() -> None:
    """In a child process (a crash would kill the tests): as a page and as lines, the loader
    leaves the order out (named) and reads the other; the client's page parse raises."""
    script = f"""
import warnings
from ht_analytics import PayloadError, load_orders
from ht_analytics._pagination import parse_page_light
warnings.simplefilter("ignore")
for name, expression in {CRAFTED!r}.items():
    value = eval(expression)
    order = '{{"id":1,"x":' + value + '}}'
    page = ('{{"status":"success","orders":[' + order + ',{{"id":2}}]}}').encode()
    for kind, call in (
        ("page", lambda: load_orders(page).orders["order_id"].tolist()),
        ("lines", lambda: load_orders((order + '\\n{{"id":2}}').encode()).orders["order_id"].tolist()),
        ("client", lambda: parse_page_light(page, what="page 1")["orders"]),
    ):
        try:
            print(name, kind, call())
        except PayloadError as exc:
            print(name, kind, "PayloadError", "nested too deeply" in str(exc))
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    for name in CRAFTED:
        assert f"{name} page [2]" in done.stdout
        assert f"{name} lines [2]" in done.stdout
        assert f"{name} client PayloadError True" in done.stdout


def test_a_lone_carriage_return_neither_hides_depth_nor_starts_a_block_with_null() -> None:
    """Arrow starts a block after a lone CR as after a newline. 16 MiB in (where its first block
    ends): a string left open before a CR, then 30,000 levels; and a valid page whose CR is
    followed by `null`. Both used to kill the process; now a clear error, and the page loads."""
    script = """
import warnings
from ht_analytics import PayloadError, load_orders
warnings.simplefilter("ignore")
n = 30000
hidden = b'{"id":1,"s":"' + b"x" * (2**24 - 100) + b'\\r{"id":2,"a":' + b"[" * n + b"]" * n + b"}"
head, tail = b'{"status":"success","orders":[{"id":1,"note":"', b'","tags":[\\r'
page = head + b"x" * (2**24 - len(head) - len(tail) - 2) + tail + b'null]},{"id":2}]}'
for name, data in (("hidden", hidden), ("page", page)):
    for kind, source in (("bytes", data), ("pieces", [data])):
        try:
            print(name, kind, load_orders(source).orders["order_id"].tolist())
        except PayloadError as exc:
            print(name, kind, "PayloadError", "not JSON" in str(exc))
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines() == [
        "hidden bytes PayloadError True",
        "hidden pieces PayloadError True",
        "page bytes [1, 2]",
        "page pieces [1, 2]",
    ]
