"""Reports at the edges, on small hand-made orders: text matplotlib would read as maths, line
breaks in CSV, dates Excel cannot show, long tables in the PDF, contacts inside free text, and
files that are replaced all together or not at all."""

from __future__ import annotations

import csv
import os
import stat
import warnings
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.text import Text

import ht_analytics._report as report_module
from ht_analytics import DataProblemWarning, OrderFrames, build_report, load_orders, plots
from ht_analytics._secrets import safe_url

NOW = "2026-03-01"


def order(order_id: int, *, created: str = "2025-05-01T12:00:00Z", **fields: Any) -> dict[str, Any]:
    """A COMPLETED camelCase order with one $10 line (net $10), with ``fields`` on top."""
    base: dict[str, Any] = {
        "id": order_id,
        "statusId": 3,
        "createdAt": created,
        "timezone": "America/New_York",
        "partner": "Acme",
        "breakdown": {
            "services": [
                {
                    "id": 1,
                    "skuId": 7,
                    "name": "Mount",
                    "originalTotalAmount": "$10.00",
                    "prepaid": "$0.00",
                    "totalAmount": "$10.00",
                    "adjustments": [],
                }
            ],
            "adjustments": [],
            "totalAmount": "$10.00",
        },
    }
    return base | fields


def load(*orders: dict[str, Any]) -> OrderFrames:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataProblemWarning)
        return load_orders(list(orders))


def test_text_with_dollar_pairs_goes_into_the_pdf_as_it_is(tmp_path: Path) -> None:
    """An open at-risk order whose partner is ``$x^{$`` (an unbalanced maths formula to
    matplotlib) and an adjustment type of the same text (a column label): the PDF is written."""
    odd = order(1, statusId=2, atRisk=True, partner="$x^{$")
    odd["breakdown"]["adjustments"] = [{"name": "a", "type": "$x^{$", "amount": "$0.00"}]
    path = build_report(load(odd, order(2)), now=NOW).to_pdf(tmp_path / "r.pdf")
    assert path.read_bytes().startswith(b"%PDF")


def test_a_long_table_in_the_pdf_keeps_its_total_and_says_what_it_left_out() -> None:
    """40 months of orders: the page shows 28 months, a line naming the 12 left out, and the
    Total row."""
    orders = [
        order(i, created=f"{2020 + i // 12}-{i % 12 + 1:02d}-15T12:00:00Z") for i in range(40)
    ]
    report = build_report(load(*orders), now=NOW)
    figure = report_module._table_figure("revenue_by_month", report.tables["revenue_by_month"])
    table = figure.axes[0].tables[0]
    rows = {}
    for (r, c), cell in table.get_celld().items():
        if c == 0:
            rows[r] = cell.get_text().get_text()
    first = [rows[r] for r in sorted(rows)]
    assert first[0] == "month"  # the header
    assert len(first) == 1 + 30
    assert first[1] == "2020-01"
    assert first[28] == "2022-04"
    assert first[29] == "… 12 more rows (every row is in the XLSX, CSV and Parquet formats)"
    assert first[30] == "Total"
    # The note runs on over its row's empty cells, which are see-through (a cell's face, drawn
    # after it, would hide the rest of the text), and it ends inside the row.
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    renderer = canvas.get_renderer()
    columns = max(c for _, c in table.get_celld()) + 1
    assert all(table[29, j].get_facecolor()[3] == 0 for j in range(1, columns))
    text = table[29, 0].get_text().get_window_extent(renderer)
    assert table[29, 0].get_window_extent(renderer).x0 <= text.x0
    assert text.x1 <= table[29, columns - 1].get_window_extent(renderer).x1


def test_a_line_break_in_csv_text_stays_inside_its_cell(tmp_path: Path) -> None:
    """A partner ``"\\r=1+1"`` (a bare CR, then a formula): read back with the csv module, the
    table has as many rows as the report's, and the cell is the text, defused."""
    report = build_report(load(order(1, statusId=2, atRisk=True, partner="\r=1+1")), now=NOW)
    path = next(p for p in report.to_csv(tmp_path) if p.name == "at_risk_orders.csv")
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert len(rows) == 1 + len(report.tables["at_risk_orders"])
    partner = rows[0].index("partner")
    assert rows[1][partner] == "'\r=1+1"


def test_dates_before_1900_go_into_xlsx_as_text(tmp_path: Path) -> None:
    """Excel's calendar cannot show 1899-06-01 or year 1: such cells are ISO text; a date from
    2025 is still a date."""
    orders = [
        order(1, created="0001-01-01T00:00:00Z", timezone="UTC"),
        order(2, created="1899-06-01T12:00:00Z", timezone="UTC"),
        order(3),
    ]
    path = build_report(load(*orders), now=NOW, tz="UTC").to_excel(tmp_path / "r.xlsx")
    sheet = openpyxl.load_workbook(path)["revenue_by_month"]
    months = [sheet.cell(row=r, column=1).value for r in range(2, 5)]
    assert months[0] == "0001-01"
    assert months[1] == "1899-06"
    assert months[2].year == 2025
    assert months[2].month == 5


def test_contacts_inside_free_text_are_left_out_unless_asked(tmp_path: Path) -> None:
    """A tag holding an email and a service name holding a phone: without include_pii they read
    ``[email]`` and ``[phone]`` in every table and every chart's text (the charts of services and
    tags label them); with it they are kept."""
    one = order(1, tags=["vip jo@example.com"])
    one["breakdown"]["services"][0]["name"] = "Call +1 (415) 555-0100 first"
    frames = load(one)
    plain = build_report(frames, now=NOW)
    assert list(plain.tables["tags"]["tag"]) == ["vip [email]"]
    assert "Call [phone] first" in list(plain.tables["revenue_by_service"]["service"])
    text = plain.to_html(tmp_path / "r.html").read_text()
    assert "jo@example.com" not in text
    assert "555-0100" not in text
    personal = build_report(frames, now=NOW, include_pii=True)
    assert list(personal.tables["tags"]["tag"]) == ["vip jo@example.com"]

    def chart_text(report: Any) -> str:
        for figure in report.charts.values():
            FigureCanvasAgg(figure).draw()  # tick labels are made when drawn
        return " ".join(t.get_text() for f in report.charts.values() for t in f.findobj(match=Text))

    drawn = chart_text(plain)
    assert "vip [email]" in drawn
    assert "Call [phone] first" in drawn
    assert "jo@example.com" not in drawn
    assert "555-0100" not in drawn
    assert "vip jo@example.com" in chart_text(personal)


def test_negative_money_in_the_headline_reads_like_the_tables() -> None:
    """Net -$5,000.00 is written the same way in the headline and in the tables."""
    refund = order(1)
    refund["breakdown"]["services"][0] |= {
        "originalTotalAmount": "-$5,000.00",
        "totalAmount": "-$5,000.00",
    }
    refund["breakdown"]["totalAmount"] = "-$5,000.00"
    report = build_report(load(refund), now=NOW)
    assert report.headline["Net revenue"] == "-$5,000.00"


def test_write_replaces_every_file_together_or_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A first write of every format; a second one whose PDF fails half-way: every file is as
    the first write left it (byte for byte) and no temporary file remains."""
    first = build_report(load(order(1)), now=NOW, title="First")
    paths = first.write(tmp_path, formats="html,xlsx,pdf,csv,parquet")
    before = {p: p.read_bytes() for p in paths}
    second = build_report(load(order(1), order(2)), now=NOW, title="Second")

    def broken(name: str, frame: Any) -> Any:
        raise RuntimeError("disk full")

    monkeypatch.setattr(report_module, "_table_figure", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        second.write(tmp_path, formats=("html", "xlsx", "pdf", "csv", "parquet"))
    assert {p: p.read_bytes() for p in paths} == before
    leftovers = [p for p in tmp_path.rglob("*") if p.name.endswith(".part")]
    assert leftovers == []


def test_write_checks_every_format_before_writing_anything(tmp_path: Path) -> None:
    """``formats="html,docx"``: a clear error, and no file is written."""
    with pytest.raises(ValueError, match="unknown format 'docx'"):
        build_report(load(order(1)), now=NOW).write(tmp_path / "out", formats="html,docx")
    assert not (tmp_path / "out").exists()


def test_personal_files_are_never_readable_by_others_even_while_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With include_pii every file is user-only from its first byte (its temporary file too);
    without it, the final files get the usual mode of the umask."""
    seen: list[int] = []
    real = report_module._Staging.file

    def watched(self: Any, target: Path) -> Path:
        temp: Path = real(self, target)
        seen.append(stat.S_IMODE(temp.stat().st_mode))
        return temp

    monkeypatch.setattr(report_module._Staging, "file", watched)
    frames = load(order(1, statusId=2, atRisk=True))
    paths = build_report(frames, now=NOW, include_pii=True).write(tmp_path / "pii", "xlsx,csv")
    assert seen
    assert set(seen) == {0o600}
    assert {stat.S_IMODE(p.stat().st_mode) for p in paths} == {0o600}
    umask = os.umask(0o022)
    try:
        plain = build_report(frames, now=NOW).write(tmp_path / "plain", "html")
    finally:
        os.umask(umask)
    assert stat.S_IMODE(plain[0].stat().st_mode) == 0o644


def test_the_tag_chart_refuses_a_crossed_frame() -> None:
    """``tag_counts(frames, by="M")`` has one row per tag and month: drawn as is, bars would
    overlap. The chart says what it takes instead."""
    from ht_analytics import tag_counts

    frames = load(order(1, tags=["a"]), order(2, tags=["a"], created="2025-06-01T12:00:00Z"))
    with pytest.raises(ValueError, match="choose one period or status first"):
        plots.tag_counts(tag_counts(frames, by="M"))
    assert plots.tag_counts(tag_counts(frames)).patches


def test_safe_url_drops_fragments_and_masks_path_parameters() -> None:
    """``#access_token=…`` is dropped and ``;token=…`` masked; the rest of the URL stays."""
    url = "https://api.example.com/v1;token=T0P;v=2/x?a=1#access_token=SECRET"
    shown = safe_url(url)
    assert "T0P" not in shown
    assert "SECRET" not in shown
    assert shown == "https://api.example.com/v1;token=***;v=2/x?a=1"


def test_xlsx_keeps_huge_amounts_exact_and_says_when_text_is_cut(tmp_path: Path) -> None:
    """Net $9,999,999,999,999,998.43 is past what an Excel number holds exactly: the cell is the
    exact amount as text. A 40,000-character partner is cut to a cell's 32,767 characters, and
    the cut is said."""
    huge = order(1, statusId=2, atRisk=True, partner="p" * 40_000)
    huge["breakdown"]["services"][0] |= {
        "originalTotalAmount": "$9,999,999,999,999,998.43",
        "totalAmount": "$9,999,999,999,999,998.43",
    }
    huge["breakdown"]["totalAmount"] = "$9,999,999,999,999,998.43"
    huge["statusId"] = 3
    risky = order(2, statusId=2, atRisk=True, partner="p" * 40_000)
    path = build_report(load(huge, risky), now=NOW, tz="UTC").to_excel(tmp_path / "r.xlsx")
    book = openpyxl.load_workbook(path)
    revenue = book["revenue_by_month"]
    header = [c.value for c in revenue[1]]
    net = [revenue.cell(row=r, column=header.index("net") + 1).value for r in (2, 3)]
    assert net == ["9,999,999,999,999,998.43", "9,999,999,999,999,998.43"]
    risk = book["at_risk_orders"]
    header = [c.value for c in risk[1]]
    partner = risk.cell(row=2, column=header.index("partner") + 1).value
    assert len(partner) == 32_767
    assert partner.endswith("[cut: longer than an Excel cell holds]")


def test_ids_read_as_keys_and_no_tags_are_explained(tmp_path: Path) -> None:
    """Order 100677 at risk: its id reads 100677 (no thousands separator) in HTML; with no tag
    known, the tags section says how tags are learnt and the chart says so instead of drawing
    empty axes."""
    report = build_report(load(order(100677, statusId=2, atRisk=True)), now=NOW)
    text = report.to_html(tmp_path / "r.html").read_text()
    assert "<td>100677</td>" in text
    assert "100,677" not in text
    assert "sync --tags" in text
    chart = report.charts["tag_counts"].axes[0]
    assert [t.get_text() for t in chart.texts] == ["No tags known (sync by tag to learn them)"]


@pytest.mark.parametrize(
    "text",
    [
        "Microsoft Office 365 2019 2021 install",
        "Appointment 01-31-2026 10:00",
        "Refund 1234.50 - 99.99",
        "Orders 100231 100232",
        "ratio 3.14159265358979",
        "https://x.example.com/u/1234567890/profile",
    ],
)
def test_text_that_is_not_a_phone_number_is_kept(text: str) -> None:
    """Years, dates, amounts, ids, long decimals and URL paths are not phone numbers."""
    assert report_module._hide_contacts(text) == text


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("call +1 (415) 555-0100 now", "call [phone] now"),
        ("call 415.555.0100", "call [phone]"),
        ("London +44 20 7946 0958", "London [phone]"),
        ("write to jo.doe+x@mail.example.com", "write to [email]"),
    ],
)
def test_phone_numbers_and_emails_in_text_are_hidden(text: str, want: str) -> None:
    assert report_module._hide_contacts(text) == want


def test_a_rename_that_fails_puts_every_old_file_back(tmp_path: Path) -> None:
    """report.pdf is a directory: the write fails, report.html and report.xlsx are still the
    first write's, and no temporary or set-aside file remains."""
    first = build_report(load(order(1)), now=NOW, title="First")
    paths = first.write(tmp_path, formats=("html", "xlsx"))
    before = {p: p.read_bytes() for p in paths}
    (tmp_path / "report.pdf").mkdir()
    second = build_report(load(order(1), order(2)), now=NOW, title="Second")
    with pytest.raises(IsADirectoryError):
        second.write(tmp_path, formats=("html", "xlsx", "pdf"))
    assert {p: p.read_bytes() for p in paths} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "report.html",
        "report.pdf",
        "report.xlsx",
    ]


def _overflowing(figure: Any) -> list[str]:
    """The texts of the figure's table that do not fit inside their cells when drawn."""
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    renderer = canvas.get_renderer()
    table = figure.axes[0].tables[0]
    out = []
    for cell in table.get_celld().values():
        text = cell.get_text()
        if not text.get_text() or cell.get_edgecolor()[3] == 0:  # the note row runs on
            continue
        box, inner = cell.get_window_extent(renderer), text.get_window_extent(renderer)
        if not (
            box.x0 <= inner.x0 and inner.x1 <= box.x1 and box.y0 <= inner.y0 <= inner.y1 <= box.y1
        ):
            out.append(text.get_text())
    return out


def test_every_pdf_table_fits_its_cells_long_names_and_long_text_included() -> None:
    """Every table of the PDF, drawn: each header (long names on several lines) and each cell's
    text lies inside its cell; text longer than a cell can hold is cut with "…"."""
    long_name = "Whole-Home Wi-Fi Mesh Network Installation and Setup, Premium Tier, Two Floors"
    orders = [
        order(i, created=f"2025-{i % 12 + 1:02d}-15T12:00:00Z", statusId=2 + i % 2, atRisk=True)
        for i in range(1, 40)
    ]
    orders[0]["breakdown"]["services"][0]["name"] = long_name  # a completed order
    orders[1]["partner"] = "A Partner With A Rather Long Trading Name, Incorporated"
    report = build_report(load(*orders), now=NOW)
    drawn = 0
    for name, frame in report.tables.items():
        figure = report_module._table_figure(name, frame)
        if not len(frame):  # an empty table is no table (its title stays)
            continue
        assert _overflowing(figure) == [], name
        drawn += 1
    assert drawn >= 6
    texts = {
        c.get_text().get_text()
        for c in report_module._table_figure(
            "revenue_by_service", report.tables["revenue_by_service"]
        )
        .axes[0]
        .tables[0]
        .get_celld()
        .values()
    }
    assert long_name[: report_module.PDF_CELL_CHARS - 1] + "…" in texts


def test_measures_keep_two_decimals_when_whole_and_counts_none() -> None:
    """A column of hours shows 4.00 beside 3.51 (not 4); a count shows 1,234."""
    shown = report_module._shown
    assert [shown(v, "number", False) for v in (4.0, 3.51)] == ["4.00", "3.51"]
    assert shown(1234, "number", False) == "1,234"
    assert shown(0.25, "number", True) == "25.0%"


def test_contacts_in_adjustment_types_stay_out_of_column_names(tmp_path: Path) -> None:
    """An order-level adjustment typed with an email and one typed with a phone number become
    revenue columns (order_<type>): without include_pii, their names hold neither, in the tables
    and in every file; with it they are kept. The amounts are kept either way."""
    one = order(1)
    one["breakdown"]["adjustments"] = [
        {"name": "a", "type": "zelda@example.com", "amount": "-$1.00"},
        {"name": "b", "type": "+1 617 555 0199", "amount": "-$2.00"},
    ]
    one["breakdown"]["totalAmount"] = "$7.00"
    frames = load(one)
    plain = build_report(frames, now=NOW)
    for name in ("revenue_by_month", "revenue_by_service"):
        columns = [c for c in plain.tables[name].columns if c.startswith("order_")]
        assert columns == ["order_email", "order_phone"], columns
    assert plain.tables["revenue_by_month"]["order_email"].iloc[-1] == -1
    assert plain.tables["revenue_by_month"]["order_phone"].iloc[-1] == -2
    plain.write(tmp_path / "plain", "html,xlsx,csv,parquet")
    for path in (tmp_path / "plain").rglob("*.*"):
        data = path.read_bytes()
        for secret in (b"zelda", b"0199"):
            assert secret not in data, path
    book = openpyxl.load_workbook(tmp_path / "plain" / "report.xlsx")
    heads = [c.value for c in book["revenue_by_month"][1]]
    assert "order_email" in heads
    assert "order_phone" in heads
    personal = build_report(frames, now=NOW, include_pii=True)
    kept = [c for c in personal.tables["revenue_by_month"].columns if c.startswith("order_")]
    assert kept == ["order_1_617_555_0199", "order_zelda_example_com"]


def test_contacts_in_the_filters_are_hidden_in_the_provenance() -> None:
    plain = build_report(load(order(1)), now=NOW, filters="tags zelda@example.com or 617-555-0199")
    assert plain.provenance["filters"] == "tags [email] or [phone]"
    personal = build_report(
        load(order(1)), now=NOW, filters="tags zelda@example.com or 617-555-0199", include_pii=True
    )
    assert personal.provenance["filters"] == "tags zelda@example.com or 617-555-0199"


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("tel:617-555-0199", "tel:[phone]"),
        ("ph:617-555-0199", "ph:[phone]"),
        ("tel:+16175550199", "tel:[phone]"),
        ("617-555-0199x12", "[phone]"),
        ("617-555-0199 ext. 12", "[phone]"),
        ("cb_6175550199", "cb_[phone]"),
        ("020 7946 0958", "[phone]"),
        ("617\u2013555\u20130199", "[phone]"),
    ],
)
def test_phone_numbers_written_in_other_common_forms_are_hidden(text: str, want: str) -> None:
    assert report_module._hide_contacts(text) == want


def test_the_first_row_of_a_short_pdf_table_is_clipped_like_the_others() -> None:
    """Two at-risk orders with a 94-character partner: in the PDF table both rows' partner
    cells are cut to the same clipped text (row 0 was taken for the note row of long tables)."""
    long = "Northeast Regional Home Technology Installation Partners Incorporated (Boston Metro)"
    risky = {"statusId": 2, "atRisk": True, "partner": long}
    frames = load(order(1, **risky), order(2, **risky))
    table = build_report(frames, now=NOW).tables["at_risk_orders"]
    figure = report_module._table_figure("at_risk_orders", table)
    column = list(table.columns).index("partner")
    cells = figure.axes[0].tables[0].get_celld()
    first, second = cells[1, column].get_text().get_text(), cells[2, column].get_text().get_text()
    assert first == second
    assert len(first) < len(long)
    assert first.endswith("…")


def test_an_order_id_beyond_exact_doubles_is_exact_in_xlsx(tmp_path: Path) -> None:
    """Order 9007199254740993 (2**53 + 1) at risk: an Excel number would read ...992."""
    frames = load(order(9_007_199_254_740_993, statusId=2, atRisk=True))
    build_report(frames, now=NOW).to_excel(tmp_path / "r.xlsx")
    sheet = openpyxl.load_workbook(tmp_path / "r.xlsx")["at_risk_orders"]
    assert str(sheet["A2"].value) == "9007199254740993"
