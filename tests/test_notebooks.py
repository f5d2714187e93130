"""The notebooks run end to end (nbclient, a real kernel) against the sandbox they start."""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).parent.parent / "notebooks").glob("*.ipynb"))


def test_the_four_notebooks_are_there_without_outputs() -> None:
    """01-quickstart, 02-revenue, 03-at-risk, 04-tags; outputs are stripped in git."""
    assert [p.stem for p in NOTEBOOKS] == ["01-quickstart", "02-revenue", "03-at-risk", "04-tags"]
    for path in NOTEBOOKS:
        cells = json.loads(path.read_text())["cells"]
        for cell in cells:
            assert not cell.get("outputs"), path
            assert cell.get("execution_count") is None, path


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every cell executes without error (no key: the sandbox), and charts are drawn."""
    monkeypatch.delenv("HT_API_KEY", raising=False)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    book = nbformat.read(path, as_version=4)
    client = NotebookClient(
        book, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute(env=dict(os.environ))
    errors = [
        o for c in book.cells for o in c.get("outputs", []) if o.get("output_type") == "error"
    ]
    assert not errors
    assert (tmp_path / "data" / "sandbox-cache" / "manifest.json").is_file()
