"""The ht-analytics command line: help everywhere, the demo, and `sandbox serve` as a real process."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import click
import httpx
import pandas as pd
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
    assert ("sync",) in paths
    assert ("cache", "info") in paths
    assert ("sandbox", "serve") in paths
    for path in paths:
        result = runner.invoke(main, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        command = main
        for name in path:
            command = command.commands[name]  # type: ignore[attr-defined]
        assert command.help, f"{' '.join(path) or 'ht-analytics'} has no help text"


def test_demo_syncs_and_computes(tmp_path: Path) -> None:
    """The demo syncs every sandbox order into its store and prints the metrics."""
    cache = tmp_path / "demo-cache"
    result = CliRunner().invoke(main, ["demo", "--orders", "1500", "--cache", str(cache)])
    assert result.exit_code == 0, result.output
    assert "1,500 orders fetched" in result.output
    assert "1,500 orders in the store" in result.output
    for heading in ("Revenue by month", "Top tags", "At risk:", "Operations by quarter"):
        assert heading in result.output
    assert "(the last four of 9 quarters)" in result.output  # two years of orders
    assert (cache / "manifest.json").is_file()
    again = CliRunner().invoke(main, ["demo", "--orders", "1500", "--cache", str(cache)])
    assert again.exit_code == 0, again.output
    assert "1,500 orders in the store" in again.output  # emptied first, not doubled


def test_user_error_is_one_line_without_traceback() -> None:
    """No key for `sync`, or a bad date: a short message and a non-zero exit code."""
    result = CliRunner().invoke(main, ["sync"])
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    assert "no API key: set HT_API_KEY" in result.output
    assert "api_key=" not in result.output  # nothing to pass on a command line
    bad = CliRunner().invoke(main, ["sync", "--start", "31-31-2025"], env={"HT_API_KEY": "k"})
    assert bad.exit_code != 0
    assert "Traceback" not in bad.output
    assert len(bad.output.strip().splitlines()) == 1


def test_sync_cache_and_counts_against_the_sandbox(tmp_path: Path) -> None:
    """`sync`, `counts`, `cache info` and `cache clear` work against a sandbox through
    HT_BASE_URL / HT_API_KEY / HT_CACHE_DIR, as against the real API."""
    from ht_analytics.sandbox import SandboxServer

    cache = str(tmp_path / "store")
    with SandboxServer(orders=800, seed=4, api_key="k-test") as srv:
        env = {"HT_API_KEY": "k-test", "HT_BASE_URL": srv.url, "HT_CACHE_DIR": cache}
        runner = CliRunner()
        first = runner.invoke(main, ["sync"], env=env)
        assert first.exit_code == 0, first.output
        assert "800 orders in the store" in first.output
        assert "k-test" not in first.output
        tagged = runner.invoke(main, ["sync", "--tags", "channel_web"], env=env)
        assert tagged.exit_code == 0, tagged.output
        want = sum("channel_web" in o["tags"] for o in srv.data.orders)
        assert f"tag channel_web: {want:,} stored, the API counts {want:,}" in tagged.output
        counted = runner.invoke(main, ["counts", "--tags", "channel_web"], env=env)
        assert counted.exit_code == 0, counted.output
        assert re.search(rf"channel_web\s+{want:,}\s+{want:,}", counted.output)
        assert "The API counts every order" not in counted.output  # they agree: no footnote
        other = next(t for o in srv.data.orders for t in o["tags"] if t != "channel_web")
        partial = runner.invoke(main, ["counts", "--tags", "channel_web", "--tags", other], env=env)
        assert partial.exit_code == 0, partial.output
        assert "The API counts every order the key can see" in partial.output
        info = runner.invoke(main, ["cache", "info"], env=env)
        assert "orders 800" in info.output
        cleared = runner.invoke(main, ["cache", "clear", "--yes"], env=env)
        assert cleared.exit_code == 0
        assert "No store" in runner.invoke(main, ["cache", "info"], env=env).output


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("expose_tags", [False, True])
def test_sandbox_serve_answers_like_the_contract(expose_tags: bool) -> None:
    """`ht-analytics sandbox serve` runs as a process; ?limit=2 gives 2 camelCase orders and a
    cursor; with --expose-tags the orders carry their tags."""
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
            *(["--expose-tags"] if expose_tags else []),
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
        assert ("tags" in body["orders"][0]) is expose_tags
        assert re.fullmatch(
            r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", body["orders"][0]["createdAt"]
        )
        assert httpx.get(url, timeout=5).status_code == 401
    finally:
        proc.terminate()
        output = proc.communicate(timeout=20)[0].decode()
    assert str(port) in output
    assert "Traceback" not in output
    assert f"HT_BASE_URL=http://127.0.0.1:{port} " in output  # what a client needs, as it is


def test_report_at_the_sandbox_clock_agrees_with_the_demo(tmp_path: Path) -> None:
    """Sandbox data describes its own clock: `report --now <that clock>` counts the orders that
    need attention as the demo does, and says which clock it used."""
    from ht_analytics.sandbox import DEFAULT_NOW

    cache, runner = tmp_path / "c", CliRunner()
    demo = runner.invoke(
        main, ["demo", "--orders", "1200", "--cache", str(cache), "--out", str(tmp_path / "d")]
    )
    assert demo.exit_code == 0, demo.output
    match = re.search(r"([\d,]+) need attention", demo.output)
    assert match, demo.output
    clock = DEFAULT_NOW.isoformat()
    out = tmp_path / "r"
    result = runner.invoke(
        main,
        ["report", "--cache", str(cache), "--out", str(out), "--format", "html", "--now", clock],
    )
    assert result.exit_code == 0, result.output
    page = (out / "report.html").read_text()
    assert f"<th>Orders needing attention</th><td>{match.group(1)}</td>" in page
    assert f"at risk measured at: {pd.Timestamp(clock).isoformat(timespec='seconds')}" in page


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


def test_demo_writes_the_three_report_files(tmp_path: Path) -> None:
    """`demo --out DIR` writes report.html, report.xlsx and report.pdf there."""
    out = tmp_path / "reports"
    result = CliRunner().invoke(
        main, ["demo", "--orders", "1200", "--cache", str(tmp_path / "c"), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    for name in ("report.html", "report.xlsx", "report.pdf"):
        assert (out / name).stat().st_size > 1000, name
    assert str(out / "report.html") in result.output


def test_report_command_from_the_store(tmp_path: Path) -> None:
    """`report` reads the store (no network) and writes the chosen formats; an empty store or
    an unknown format is one clear line."""
    cache = tmp_path / "c"
    runner = CliRunner()
    assert (
        runner.invoke(
            main, ["demo", "--orders", "900", "--cache", str(cache), "--out", str(tmp_path / "d")]
        ).exit_code
        == 0
    )
    out = tmp_path / "r"
    result = runner.invoke(
        main,
        [
            "report",
            "--cache",
            str(cache),
            "--out",
            str(out),
            "--format",
            "html,csv",
            "--start",
            "2025-06-01",
        ],
    )
    assert result.exit_code == 0, result.output
    assert (out / "report.html").is_file()
    assert (out / "csv" / "revenue_by_month.csv").is_file()
    assert "start 2025-06-01" in (out / "report.html").read_text()
    empty = runner.invoke(main, ["report", "--cache", str(tmp_path / "none")])
    assert empty.exit_code != 0
    assert "is empty" in empty.output
    assert "--cache data/demo-cache" in empty.output
    bad = runner.invoke(main, ["report", "--cache", str(cache), "--format", "docx"])
    assert bad.exit_code != 0
    assert "unknown format docx" in bad.output
    for args, message in (
        (["--start", "2026-05-01", "--end", "2025-01-01"], "is after end"),
        (["--tags", "no-such-tag"], "no stored order matches"),
        (["--start", "not-a-date"], "is not a date"),
        (["--end", "2026-02-01T00:00:00Z"], "give a day as YYYY-MM-DD"),
        (["--now", "yesterday-ish"], "is not an ISO date-time"),
        (["--out", "/proc/no-such-dir/x"], ""),
    ):
        failed = runner.invoke(main, ["report", "--cache", str(cache), *args])
        assert failed.exit_code != 0, args
        assert "Traceback" not in failed.output, args
        assert len(failed.output.strip().splitlines()) == 1, failed.output
        assert message in failed.output
    missing = runner.invoke(
        main, ["counts", "--tags", "x", "--cache", str(tmp_path / "none")], env={"HT_API_KEY": "k"}
    )
    assert missing.exit_code != 0
    assert "no store at" in missing.output
    no_key = runner.invoke(main, ["counts", "--tags", "x", "--cache", str(cache)])
    assert no_key.exit_code != 0
    assert "no API key" in no_key.output
    kept = runner.invoke(main, ["cache", "clear", "--cache", str(cache)], input="n\n")
    assert kept.exit_code != 0
    assert (cache / "manifest.json").is_file()


def test_demo_leaves_a_real_store_and_other_folders_alone(tmp_path: Path) -> None:
    """The demo empties its store first, but only a sandbox's store: pointed at a store of the
    real API (its manifest names https://apis.hellotech.com) or at a folder of other files, it
    stops with one line and deletes nothing."""
    import json

    real = tmp_path / "real"
    first = CliRunner().invoke(
        main, ["demo", "--orders", "40", "--cache", str(real), "--out", str(tmp_path / "r")]
    )
    assert first.exit_code == 0, first.output
    manifest = json.loads((real / "manifest.json").read_text())
    manifest["base_url"] = "https://apis.hellotech.com"
    (real / "manifest.json").write_text(json.dumps(manifest))
    before = sorted(str(p) for p in real.rglob("*"))
    refused = CliRunner().invoke(main, ["demo", "--orders", "40", "--cache", str(real)])
    assert refused.exit_code == 1
    assert "holds orders from https://apis.hellotech.com, not from a sandbox" in refused.output
    assert "Traceback" not in refused.output
    assert sorted(str(p) for p in real.rglob("*")) == before

    notes = tmp_path / "notes"
    (notes / "orders").mkdir(parents=True)
    (notes / "orders" / "q3.txt").write_text("mine")
    (notes / "todo.md").write_text("mine too")
    refused = CliRunner().invoke(main, ["demo", "--orders", "40", "--cache", str(notes)])
    assert refused.exit_code == 1
    assert "is not an ht-analytics store" in refused.output
    assert (notes / "orders" / "q3.txt").read_text() == "mine"
    cleared = CliRunner().invoke(main, ["cache", "clear", "--yes", "--cache", str(notes)])
    assert cleared.exit_code == 1
    assert (notes / "orders" / "q3.txt").read_text() == "mine"


def test_verbose_shows_retries_on_stderr_without_the_key(tmp_path: Path) -> None:
    """``-v`` logs each retry with its reason to stderr (a silent wait of 18 s otherwise); the
    key appears nowhere."""
    import os
    import subprocess
    import sys

    env = dict(os.environ, HT_API_KEY="SECRET-abcdef-123456", HT_BASE_URL="http://127.0.0.1:1")
    code = (
        "import sys; from ht_analytics.cli import main; from ht_analytics.testing import "
        "set_testing; set_testing(True); sys.argv = ['ht-analytics', *sys.argv[1:]]; main()"
    )
    run = subprocess.run(
        [sys.executable, "-c", code, "-v", "sync", "--cache", str(tmp_path / "s")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 1
    assert "retrying GET http://127.0.0.1:1/" in run.stderr
    assert "Connection refused" in run.stderr
    assert "abcdef" not in run.stdout + run.stderr


def test_the_demo_empties_its_own_damaged_store(tmp_path: Path) -> None:
    """A data file of the demo's store is lost: the next demo empties the store and runs (it is
    the demo's own, from a sandbox), and damage messages name the store for `cache clear`."""
    import json

    cache, out = tmp_path / "demo", tmp_path / "r"
    args = ["demo", "--orders", "40", "--cache", str(cache), "--out", str(out)]
    assert CliRunner().invoke(main, args).exit_code == 0
    manifest = json.loads((cache / "manifest.json").read_text())
    lost = next(iter(manifest["files"]["orders"].values()))[0]
    (cache / lost).unlink()
    info = CliRunner().invoke(main, ["cache", "info", "--cache", str(cache)])
    assert f"cache clear --cache {cache}" in info.output
    again = CliRunner().invoke(main, args)
    assert again.exit_code == 0, again.output
    assert "40 orders in the store" in again.output


def test_verbose_shows_the_sync_steps(tmp_path: Path) -> None:
    """``-v sync`` says what the sync read (its windows) and what it committed, on stderr."""
    import os
    import subprocess
    import sys

    from ht_analytics.sandbox import SandboxServer

    with SandboxServer(orders=300, seed=1) as srv:
        env = dict(os.environ, HT_API_KEY=srv.api_key, HT_BASE_URL=srv.url)
        run = subprocess.run(
            [sys.executable, "-m", "ht_analytics", "-v", "sync", "--cache", str(tmp_path / "s")],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert run.returncode == 0, run.stderr
    assert "backfill sync read" in run.stderr
    assert "creation-date window(s)" in run.stderr
    assert "committed: 300 new, 0 changed, 0 unchanged order(s); the store holds 300" in run.stderr
    assert srv.api_key not in run.stdout + run.stderr


def test_cache_info_after_the_demo_points_to_the_demos_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The demo writes to data/demo-cache: `cache info` on the default store says so instead of
    advising to run the demo again."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HT_CACHE_DIR", raising=False)
    runner = CliRunner()
    before = runner.invoke(main, ["cache", "info"])
    (tmp_path / "data/demo-cache").mkdir(parents=True)
    (tmp_path / "data/demo-cache/manifest.json").write_text("{}")
    after = runner.invoke(main, ["cache", "info"])
    assert "run `ht-analytics sync`." in before.output
    assert "--cache data/demo-cache" in after.output


def test_tags_may_be_repeated_or_separated_by_commas(tmp_path: Path) -> None:
    """`--tags a,b` means the tags a and b (not one tag "a,b" that no order carries)."""
    from ht_analytics.sandbox import SandboxServer

    with SandboxServer(orders=300, seed=2) as srv:
        env = {"HT_API_KEY": srv.api_key, "HT_BASE_URL": srv.url}
        cache = str(tmp_path / "s")
        both = ["--tags", "channel_web,channel_store", "--cache", cache]
        synced = CliRunner().invoke(main, ["sync", *both], env=env)
        assert synced.exit_code == 0, synced.output
        counted = CliRunner().invoke(main, ["counts", *both], env=env)
    assert counted.exit_code == 0, counted.output
    assert "channel_web" in counted.output
    assert "channel_store" in counted.output
    assert "channel_web,channel_store" not in counted.output
    assert "stored, the API counts 0" not in synced.output


@pytest.mark.parametrize("start", ["2026-01-01T05:00", "2026-01-01 23:59:59Z", "01/02/2026"])
def test_report_dates_are_days(start: str) -> None:
    """``report --start`` is a day (its help says YYYY-MM-DD): a time of day or another format is
    refused before the store is read, as ``sync`` refuses a time of day."""
    result = CliRunner().invoke(main, ["report", "--start", start])
    assert result.exit_code == 1
    assert f"--start {start!r} is not a date" in result.output
    assert "YYYY-MM-DD" in result.output
    assert "Traceback" not in result.output


def test_cache_clear_checks_the_folder_before_asking(tmp_path: Path) -> None:
    """A folder that is not a store is refused before the question (nothing deleted); a path
    that does not exist has nothing to clear, and says so."""
    other = tmp_path / "mine"
    other.mkdir()
    (other / "important.txt").write_text("keep me")
    result = CliRunner().invoke(main, ["cache", "clear", "--cache", str(other)], input="y\n")
    assert result.exit_code == 1
    assert "Delete the store" not in result.output
    assert "not an ht-analytics store" in result.output
    assert (other / "important.txt").read_text() == "keep me"
    missing = tmp_path / "nowhere"
    result = CliRunner().invoke(main, ["cache", "clear", "--cache", str(missing), "--yes"])
    assert result.exit_code == 0
    assert "Nothing to clear" in result.output
    assert "Cleared" not in result.output
    assert not missing.exists()


def test_the_demo_of_no_orders_prints_none_not_pandas_internals(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        ["demo", "--orders", "0", "--cache", str(tmp_path / "c"), "--out", str(tmp_path / "r")],
    )
    assert result.exit_code == 0, result.output
    assert "Empty DataFrame" not in result.output
    assert result.output.count("  (none)") == 2  # the tags, the operations
