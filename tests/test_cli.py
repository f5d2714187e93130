"""The ht-analytics command line: help everywhere, the demo, and `sandbox serve` as a real process."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import click
import httpx
import pytest
from click.testing import CliRunner

from ht_analytics.cli import main


def all_commands(group: click.Group, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every command path of the CLI, groups included."""
    yield prefix
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from all_commands(command, (*prefix, name))
        else:
            yield (*prefix, name)


def test_every_command_has_help() -> None:
    """`--help` works on every command and each has a description."""
    runner = CliRunner()
    paths = list(all_commands(main))
    assert ("demo",) in paths
    assert ("sandbox", "serve") in paths
    for path in paths:
        result = runner.invoke(main, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        command = main
        for name in path:
            command = command.commands[name]  # type: ignore[attr-defined]
        assert command.help, f"{' '.join(path) or 'ht-analytics'} has no help text"


def test_demo_reads_every_order() -> None:
    """The demo pages through the sandbox and reports the count it generated."""
    result = CliRunner().invoke(main, ["demo", "--orders", "1500", "--page-size", "200"])
    assert result.exit_code == 0, result.output
    assert "Read 1,500 orders in 8 pages" in result.output


def test_user_error_is_one_line_without_traceback() -> None:
    """A bad option value ends with a short message and a non-zero exit code."""
    result = CliRunner().invoke(main, ["demo", "--orders", "10", "--page-size", "9999"])
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    assert "page_size must be between 1 and 500" in result.output


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_sandbox_serve_answers_like_the_contract() -> None:
    """`ht-analytics sandbox serve` runs as a process; ?limit=2 gives 2 camelCase orders and a cursor."""
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ht_analytics",
            "sandbox",
            "serve",
            "--port",
            str(port),
            "--orders",
            "500",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        url = f"http://127.0.0.1:{port}/api/partners/orders?limit=2"
        deadline = time.monotonic() + 30
        while True:
            try:
                response = httpx.get(url, headers={"Api-Key": "sandbox"}, timeout=5)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.1)
        body = response.json()
        assert response.status_code == 200
        assert body["status"] == "success"
        assert len(body["orders"]) == 2
        assert isinstance(body["next_cursor"], int)
        assert body["next_cursor"] == body["orders"][1]["id"]
        assert {"id", "statusId", "createdAt", "breakdown", "clientId"} <= set(body["orders"][0])
        assert re.fullmatch(
            r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", body["orders"][0]["createdAt"]
        )
        assert httpx.get(url, timeout=5).status_code == 401
    finally:
        proc.terminate()
        output = proc.communicate(timeout=20)[0].decode()
    assert str(port) in output
    assert "Traceback" not in output


@pytest.mark.parametrize("args", [["sandbox", "serve", "--port", "-5"], ["nope"]])
def test_bad_arguments_are_refused(args: list[str]) -> None:
    """Unknown commands and impossible values exit non-zero without a traceback."""
    result = CliRunner().invoke(main, args)
    assert result.exit_code != 0
    assert "Traceback" not in result.output


def test_sandbox_serve_on_a_busy_port_is_one_clear_line() -> None:
    """A port already in use gives a one-line error suggesting --port 0, not a traceback."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = CliRunner().invoke(
            main, ["sandbox", "serve", "--port", str(port), "--orders", "10"]
        )
    assert result.exit_code == 1
    assert "--port 0" in result.output
    assert "Traceback" not in result.output
