"""Reports: HTML parsed back (sections, escaping, no external asset), XLSX opened with openpyxl,
PDF pages counted, CSV defused; personal data only when asked."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from ht_analytics import OrderFrames, Report, build_report, load_orders
from ht_analytics._statuses import OPEN_STATUSES
from ht_analytics.sandbox import generate_dataset

HOSTILE = "<script>alert(1)</script>"
FORMULA = '=HYPERLINK("http://evil.example","x")'
NOW = "2026-11-01"


@pytest.fixture(scope="module")
def frames() -> OrderFrames:
    """2,000 snake_case sandbox orders (they carry emails and phones); two open at-risk orders
    get a hostile partner name and a formula as their client's name."""
    data = generate_dataset(2000, seed=3)
    open_ids = {s.value for s in OPEN_STATUSES}
    flagged = [o for o in data.orders if o["statusId"] in open_ids and o["atRisk"]][:2]
    flagged[0]["partner"] = HOSTILE
    flagged[1]["partner"] = FORMULA
    flagged[0]["clientName"] = FORMULA
    # Hostile and odd text in tags and service names too (a '$' pair would start maths text).
    for order in data.orders[:40]:
        order["tags"] = [*order.get("tags", []), HOSTILE, "$x^{$", "Save $10 on $20"]
        order["breakdown"]["services"][0]["name"] = "$x^{$ <b>bold</b>"
    from ht_analytics.sandbox._flavour import to_snake

    snake = [to_snake(o, data.clients.get(o["clientId"]), expose_tags=True) for o in data.orders]
    return load_orders(snake)


@pytest.fixture(scope="module")
def report(frames: OrderFrames) -> Report:
    """The default report (no personal data)."""
    return build_report(frames, now=NOW, base_url="http://127.0.0.1:8765/?api_key=SECRET-K")


class Collect(HTMLParser):
    """Section ids, tag names and src/href attributes of an HTML document."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: list[str] = []
        self.sources: list[str] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        values = dict(attrs)
        if tag == "section":
            self.sections.append(values.get("id") or "")
        for key in ("src", "href"):
            if values.get(key):
                self.sources.append(values[key] or "")


def test_html_is_self_contained_and_escaped(report: Report, tmp_path: Path) -> None:
    """Every section is there, charts are inline data URIs, API values are text (escaped), and
    the provenance names the version and the API without the key."""
    text = report.to_html(tmp_path / "r.html").read_text()
    parsed = Collect()
    parsed.feed(text)
    assert parsed.sections == ["headline", "revenue", "tags", "at_risk", "operations"]
    assert parsed.sources
    assert all(s.startswith("data:image/png;base64,") for s in parsed.sources)
    assert "script" not in parsed.tags
    assert HOSTILE not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "ht-analytics " in text
    assert "SECRET-K" not in text
    assert "127.0.0.1:8765" in text
    assert report._repr_html_().startswith("<div")
    assert "&lt;b&gt;bold&lt;/b&gt;" in text
    assert "<b>bold" not in text
    assert "Save $10 on $20" in text


def test_html_cells_read_as_a_person_would(frames: OrderFrames, tmp_path: Path) -> None:
    """Money with $ and thousands, rates as percentages, overdue in hours, instants to the
    minute (a month after the data, so that appointments have passed) — checked against the
    report's own tables."""
    from decimal import Decimal

    import pandas as pd

    report = build_report(frames, now="2026-12-01")
    text = report.to_html(tmp_path / "r.html").read_text()
    net = report.tables["revenue_by_month"]["net"].iloc[0]
    assert isinstance(net, Decimal)
    assert f"<td>${net:,.2f}</td>" in text
    attention = report.tables["at_risk_orders"]
    overdue = attention["overdue"].dropna()
    assert len(overdue)
    assert f"<td>{overdue.iloc[0].total_seconds() / 3600:,.1f} h</td>" in text
    created = pd.Timestamp(attention["created_at"].iloc[0])
    assert f"<td>{created.strftime('%Y-%m-%d %H:%M')} UTC</td>" in text
    rate = report.tables["at_risk_by_week"]["at_risk_rate"].dropna().iloc[0]
    assert f"<td>{rate:.1%}</td>" in text
    assert re.search(r"<td>-?\d+\.\d{3,}</td>", text) is None  # no raw float left


def test_personal_data_only_when_asked(frames: OrderFrames, report: Report, tmp_path: Path) -> None:
    """Emails, phones and addresses appear in no file by default, and in the at-risk list with
    include_pii=True."""
    emails = list(frames.orders["client_email"].dropna().unique()[:50])
    assert emails
    written = report.write(tmp_path / "plain", ("html", "xlsx", "csv"))
    for path in written:
        data = path.read_bytes()
        assert not any(e.encode() in data for e in emails), path
    xlsx_text = " ".join(
        str(c.value)
        for ws in openpyxl.load_workbook(tmp_path / "plain" / "report.xlsx")
        for row in ws.iter_rows()
        for c in row
    )
    assert not any(e in xlsx_text for e in emails)
    phones = list(frames.orders["client_phone"].dropna().unique()[:50])
    streets = list(frames.orders["client_street"].dropna().unique()[:50])
    assert phones
    assert streets
    written += report.to_parquet(tmp_path / "plain" / "pq")
    for path in written:
        data = path.read_bytes()
        assert not any(p.encode() in data for p in phones), path
        assert not any(a.encode() in data for a in streets), path
    with_pii = build_report(frames, now=NOW, include_pii=True)
    listed = with_pii.tables["at_risk_orders"]
    assert "client_email" in listed.columns
    assert listed["client_email"].notna().any()


def test_excel_about_sheet_figures_are_numbers(report: Report, tmp_path: Path) -> None:
    """The About sheet's headline figures are numbers (money in the currency format), the same
    values the report shows as text ("5,000", "$631,989.29"); other entries stay text."""
    from decimal import Decimal

    about = openpyxl.load_workbook(report.to_excel(tmp_path / "r.xlsx"))["About"]
    cells = {row[0].value: row[1] for row in about.iter_rows(min_row=3) if row[0].value}
    orders = cells["Orders"]
    assert orders.value == int(report.headline["Orders"].replace(",", ""))
    net = cells["Net revenue"]
    assert net.number_format == "$#,##0.00"
    want = Decimal(report.headline["Net revenue"].replace("$", "").replace(",", ""))
    assert Decimal(str(net.value)) == want
    assert isinstance(cells["generated"].value, str)


def test_excel_types_formats_and_no_formulas(report: Report, tmp_path: Path) -> None:
    """Money is numbers in a currency format, instants are dates, the header is frozen with an
    autofilter, and text starting with '=' is a string cell."""
    path = report.to_excel(tmp_path / "r.xlsx")
    book = openpyxl.load_workbook(path)
    assert {"About", "revenue_by_month", "at_risk_orders", "tags"} <= set(book.sheetnames)
    rev = book["revenue_by_month"]
    header = [c.value for c in rev[1]]
    net = rev.cell(row=2, column=header.index("net") + 1)
    assert isinstance(net.value, float)
    assert net.number_format == "$#,##0.00"
    assert rev.freeze_panes == "A2"
    month = rev.cell(row=2, column=1)
    assert month.is_date
    assert month.number_format == "yyyy-mm"
    tags = book["tags"]
    assert tags.cell(row=2, column=3).number_format == "0.0%"
    assert rev.auto_filter.ref
    risk = book["at_risk_orders"]
    header = [c.value for c in risk[1]]
    local = risk.cell(row=2, column=header.index("appointment_start_local") + 1)
    assert local.is_date
    assert "timezone" in header
    created = risk.cell(row=2, column=header.index("created_at (local)") + 1)
    assert created.is_date
    assert risk.cell(row=2, column=header.index("at_risk") + 1).value is True
    partners = [
        risk.cell(row=r, column=header.index("partner") + 1) for r in range(2, risk.max_row + 1)
    ]
    hostile = [c for c in partners if c.value == FORMULA]
    assert hostile
    assert all(c.data_type == "s" for c in hostile)


def test_pdf_has_several_pages(report: Report, tmp_path: Path) -> None:
    """The PDF holds the cover, the six charts and three tables."""
    data = report.to_pdf(tmp_path / "r.pdf").read_bytes()
    assert data.startswith(b"%PDF")
    assert len(re.findall(rb"/Type\s*/Page\b", data)) == 10


def test_csv_text_cannot_start_a_formula(report: Report, tmp_path: Path) -> None:
    """In CSV a value starting with '=' is written with a leading quote."""
    paths = report.to_csv(tmp_path / "csv")
    text = next(p for p in paths if p.name == "at_risk_orders.csv").read_text()
    assert "'=HYPERLINK" in text
    assert ",=HYPERLINK" not in text


def test_csv_durations_are_hours_as_in_the_workbook(frames: OrderFrames, tmp_path: Path) -> None:
    """`overdue` is a number of hours in `overdue (hours)`, as in the XLSX, not pandas' text
    ("27 days 15:00:42.513818"); a month after the data, so that appointments have passed."""
    import csv

    report = build_report(frames, now="2026-12-01")
    paths = report.to_csv(tmp_path / "csv")
    with next(p for p in paths if p.name == "at_risk_orders.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    want = report.tables["at_risk_orders"]["overdue"]
    assert "overdue" not in rows[0]
    got = [float(r["overdue (hours)"]) if r["overdue (hours)"] else None for r in rows]
    expected = [None if pd.isna(v) else v.total_seconds() / 3600 for v in want]
    assert got == pytest.approx(expected)
    assert any(v is not None for v in got)


def test_parquet_keeps_money_exact(report: Report, tmp_path: Path) -> None:
    """Parquet tables keep money as DECIMAL(18,2)."""
    import pyarrow.parquet as pq

    paths = report.to_parquet(tmp_path / "pq")
    table = pq.read_table(next(p for p in paths if p.name == "revenue_by_month.parquet"))
    assert str(table.schema.field("net").type) == "decimal128(18, 2)"


def test_parquet_periods_are_text_any_reader_can_read(report: Report, tmp_path: Path) -> None:
    """Weeks and months in the Parquet tables are text, as in the CSV (pandas' period type
    reached DuckDB and Polars as a bare integer), read back by pyarrow and DuckDB alike."""
    import duckdb
    import pyarrow.parquet as pq

    paths = {p.name: p for p in report.to_parquet(tmp_path / "pq")}
    for name, column in (("at_risk_by_week", "week"), ("operations", "month")):
        table = pq.read_table(paths[f"{name}.parquet"])
        assert str(table.schema.field(column).type) in ("string", "large_string"), name
        want = [None if pd.isna(v) else str(v) for v in report.tables[name][column]]
        assert table[column].to_pylist() == want
        got = duckdb.sql(f"select {column} from '{paths[f'{name}.parquet']}'").fetchall()
        assert [row[0] for row in got] == want
    assert want[0] is not None
    assert re.fullmatch(r"\d{4}-\d{2}", want[0])


def test_a_report_with_personal_data_is_written_user_only(
    frames: OrderFrames, tmp_path: Path
) -> None:
    """With include_pii the files hold names, emails and phones: 0600, like the store's files;
    without it they keep the usual permissions."""
    import stat

    personal = build_report(frames, now=NOW, include_pii=True)
    paths = personal.write(tmp_path / "pii", formats=("html", "xlsx", "csv", "parquet"))
    assert paths
    for path in paths:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    plain = build_report(frames, now=NOW).write(tmp_path / "plain", formats=("html",))
    assert stat.S_IMODE(plain[0].stat().st_mode) != 0o600
