"""``build_report``: the metrics of a set of orders as one object that a notebook shows and that
writes self-contained HTML, XLSX, PDF, CSV and Parquet files.

Personal data (client names, emails, phones, street addresses) is left out unless
``include_pii=True``. Values from the API are escaped in HTML and can never run as a formula in
XLSX or CSV. The provenance line names the toolkit version and the API base URL, never a key.
"""

from __future__ import annotations

import base64
import contextlib
import html
import io
import os
import re
import tempfile
import textwrap
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from . import plots
from ._frames import OrderFrames
from ._ops import operations_summary, order_durations, status_funnel
from ._periods import check_frames
from ._revenue import revenue_breakdown
from ._risk import at_risk_orders, at_risk_summary
from ._secrets import safe_url
from ._tag_counts import tag_counts
from ._version import toolkit_version

__all__ = ["Report", "build_report"]

PII_COLUMNS = ("client_name", "client_email", "client_phone", "client_address", "client_street")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]{1,64}@[\w-]+(?:\.[\w-]+)+")
PHONE = re.compile(
    r"(?<![A-Za-z0-9./-])(?P<number>"  # after a letter or a digit it is part of a word; "tel:", "_" not
    r"(?:\+?1[ .\-\u2013]?)?(?:\(\d{3}\)|\d{3})[ .\-\u2013]?\d{3}[ .\-\u2013]?\d{4}"  # North American
    r"|\+\d{1,3}(?:[ .\-\u2013]?\(?\d{1,4}\)?){2,5}"  # international, written with a leading +
    r"|0\d{2,4}[ .\-\u2013]?\d{3,4}[ .\-\u2013]?\d{3,4}"  # national, with a trunk 0 (020 7946 0958)
    r")(?:\s*(?:x|ext\.?)\s*\d{1,6})?"  # an extension goes with it
    r"(?![\w/:-]|\.\d)"
)
"""Emails and phone numbers inside free text (a tag, a service name): left out of a report
without ``include_pii``, like the columns that hold them."""
EXCEL_EXACT = Decimal(2**53) / 100
"""Amounts from here on are not exact as Excel numbers (doubles): written as text."""
EXCEL_TEXT = 32_767
CUT = "… [cut: longer than an Excel cell holds]"
NO_TAGS = (
    "No tag is known for these orders: the API's orders carry none; a store learns them from "
    "syncs by tag (ht-analytics sync --tags ..., store.sync(client, tags=[...]))."
)
PDF_ROWS = 30
"""Rows of a table on a PDF page; the HTML, XLSX and CSV files hold them all."""
FORMATS = ("html", "xlsx", "pdf", "csv", "parquet")
SECTIONS = {
    "headline": "Headline figures",
    "revenue": "Revenue",
    "tags": "Tags",
    "at_risk": "At risk",
    "operations": "Operations",
}


@dataclass(frozen=True, slots=True, eq=False)
class Report:
    """A report: ``tables`` (name → DataFrame), ``charts`` (name → matplotlib Figure),
    ``headline`` figures and ``provenance``. Write it with :meth:`to_html`, :meth:`to_excel`,
    :meth:`to_pdf`, :meth:`to_csv`, :meth:`to_parquet`, or :meth:`write` (several formats)."""

    title: str
    headline: dict[str, str]
    tables: dict[str, pd.DataFrame]
    charts: dict[str, Figure]
    provenance: dict[str, str]
    sections: dict[str, list[str]] = field(default_factory=dict)
    personal: bool = False
    """It holds personal data (``include_pii=True``): its files are written user-only (0600)."""

    # -- HTML ---------------------------------------------------------------------------------

    def _html(self, *, full: bool) -> str:
        esc = html.escape
        parts = [f"<h1>{esc(self.title)}</h1>"]
        prov = "; ".join(f"{esc(k)}: {esc(v)}" for k, v in self.provenance.items())
        parts.append(f"<p class='provenance'>{prov}</p>")
        for key, heading in SECTIONS.items():
            parts.append(f"<section id='{key}'><h2>{esc(heading)}</h2>")
            if key == "headline":
                rows = "".join(
                    f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in self.headline.items()
                )
                parts.append(f"<table class='headline'>{rows}</table>")
            for name in self.sections.get(key, []):
                if name in self.charts:
                    parts.append(
                        f"<img alt='{esc(name)}' src='data:image/png;base64,{_png(self.charts[name])}'/>"
                    )
                if name in self.tables:
                    parts.append(f"<h3>{esc(name.replace('_', ' '))}</h3>")
                    if name == "tags" and self.tables[name].empty:
                        parts.append(f"<p>{esc(NO_TAGS)}</p>")
                    parts.append(_html_table(self.tables[name]))
            parts.append("</section>")
        body = "\n".join(parts)
        if not full:
            return f"<div class='ht-report'>{body}</div>"
        style = (
            "body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px}"
            "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;"
            "padding:2px 6px;text-align:right}th{background:#f4f4f4}img{max-width:100%}"
            ".provenance{color:#555;font-size:.9em}"
        )
        return (
            "<!DOCTYPE html><html><head><meta charset='utf-8'>"
            f"<title>{esc(self.title)}</title><style>{style}</style></head>"
            f"<body>{body}</body></html>"
        )

    def _repr_html_(self) -> str:
        return self._html(full=False)

    def __repr__(self) -> str:
        return f"Report({self.title!r}, tables={list(self.tables)}, charts={list(self.charts)})"

    def to_html(self, path: str | Path) -> Path:
        """One self-contained HTML file (charts inline, no external asset)."""
        with self._staging() as stage:
            return self._to_html(stage, Path(path))

    def _to_html(self, stage: _Staging, target: Path) -> Path:
        stage.file(target).write_text(self._html(full=True), encoding="utf-8")
        return target

    # -- XLSX ---------------------------------------------------------------------------------

    def to_excel(self, path: str | Path) -> Path:
        """One sheet per table: money as numbers in a currency format, times as Excel dates
        (local wall-clock time beside its zone, or UTC when the column says so), header frozen,
        autofilter on; text is always text (never a formula)."""
        with self._staging() as stage:
            return self._to_excel(stage, Path(path))

    def _to_excel(self, stage: _Staging, target: Path) -> Path:
        import xlsxwriter

        book = xlsxwriter.Workbook(
            str(stage.file(target)), {"strings_to_formulas": False, "strings_to_urls": False}
        )
        money = book.add_format({"num_format": "$#,##0.00"})
        when = book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
        percent = book.add_format({"num_format": "0.0%"})
        period_formats = {
            "M": book.add_format({"num_format": "yyyy-mm"}),
            "Q": book.add_format({"num_format": "yyyy-mm"}),
            "D": book.add_format({"num_format": "yyyy-mm-dd"}),
            "W": book.add_format({"num_format": "yyyy-mm-dd"}),
        }
        bold = book.add_format({"bold": True})
        info = book.add_worksheet("About")
        info.write_string(0, 0, self.title, bold)
        for i, (k, v) in enumerate({**self.headline, **self.provenance}.items(), start=2):
            info.write_string(i, 0, str(k))
            number = _figure(str(v))
            if number is None:
                info.write_string(i, 1, str(v))
            else:  # a figure shown as "$1,234.50" or "5,000": a number, formatted alike
                info.write_number(i, 1, number[0], money if number[1] else None)
        for name, frame in self.tables.items():
            sheet = book.add_worksheet(name[:31])
            excel = _for_excel(frame)
            for c, column in enumerate(excel.columns):
                sheet.write_string(0, c, str(column), bold)
                kind = _kind(excel[column])
                rate = str(column).endswith("_rate") or str(column).startswith("share")
                for r, value in enumerate(excel[column], start=1):
                    if isinstance(value, pd.Period) and _excel_date(value.start_time):
                        fmt = period_formats.get(value.freqstr[0], when)  # its first day
                        sheet.write_datetime(r, c, value.start_time.to_pydatetime(), fmt)
                    elif isinstance(value, pd.Period):
                        sheet.write_string(r, c, str(value))
                    elif rate and isinstance(value, float) and not pd.isna(value):
                        sheet.write_number(r, c, value, percent)
                    else:
                        _write_cell(sheet, r, c, value, kind, money, when)
                sheet.set_column(c, c, max(10, min(40, len(str(column)) + 4)))
            sheet.freeze_panes(1, 0)
            sheet.autofilter(0, 0, max(len(excel), 1), max(len(excel.columns) - 1, 0))
        book.close()
        return target

    # -- PDF ----------------------------------------------------------------------------------

    def to_pdf(self, path: str | Path) -> Path:
        """A multi-page PDF (matplotlib; no browser, no LaTeX): headline and provenance, the
        charts, the main tables."""
        with self._staging() as stage:
            return self._to_pdf(stage, Path(path))

    def _to_pdf(self, stage: _Staging, target: Path) -> Path:
        from matplotlib.backends.backend_pdf import PdfPages

        with PdfPages(stage.file(target)) as pdf:
            cover = Figure(figsize=(8.27, 11.69))
            ax = cover.add_subplot()
            ax.axis("off")
            lines = [self.title, ""] + [f"{k}: {v}" for k, v in self.headline.items()]
            lines += [""] + [f"{k}: {v}" for k, v in self.provenance.items()]
            text = "\n".join(plots.plain(line) for line in lines)
            ax.text(0, 1, text, va="top", family="monospace", fontsize=9, wrap=True)
            pdf.savefig(cover)
            for figure in self.charts.values():
                pdf.savefig(figure)
            for name in ("revenue_by_month", "at_risk_orders", "operations"):
                if name in self.tables:
                    pdf.savefig(_table_figure(name, self.tables[name]))
        return target

    # -- CSV / Parquet ------------------------------------------------------------------------

    def to_csv(self, directory: str | Path) -> list[Path]:
        """One CSV per table (UTF-8, CRLF line ends, RFC 4180: a value holding a line break is
        quoted; text that would start a formula is prefixed with ``'``; durations in hours, as
        in the workbook, in a column ``<name> (hours)``)."""
        with self._staging() as stage:
            return self._to_csv(stage, Path(directory))

    def _to_csv(self, stage: _Staging, out: Path) -> list[Path]:
        paths = []
        for name, frame in self.tables.items():
            safe = frame.copy()
            for column in frame.columns:
                if _kind(safe[column]) == "text":
                    safe[column] = safe[column].map(_defuse)
                elif _kind(safe[column]) == "duration":  # not pandas' "27 days 15:00:42.51"
                    safe[column] = safe[column].dt.total_seconds() / 3600.0
                    safe = safe.rename(columns={column: f"{column} (hours)"})
            path = out / f"{name}.csv"
            safe.to_csv(stage.file(path), index=False, lineterminator="\r\n")
            paths.append(path)
        return paths

    def to_parquet(self, directory: str | Path) -> list[Path]:
        """One Parquet file per table (types kept: money as DECIMAL(18,2))."""
        with self._staging() as stage:
            return self._to_parquet(stage, Path(directory))

    def _to_parquet(self, stage: _Staging, out: Path) -> list[Path]:
        paths = []
        for name, frame in self.tables.items():
            path = out / f"{name}.parquet"
            _for_parquet(frame).to_parquet(stage.file(path), index=False)
            paths.append(path)
        return paths

    def write(
        self, directory: str | Path, formats: str | Sequence[str] = ("html", "xlsx", "pdf")
    ) -> list[Path]:
        """Write the chosen formats (``html``, ``xlsx``, ``pdf``, ``csv``, ``parquet``; a list or
        a comma-separated string) under ``directory``; returns the paths written.

        All or nothing: every file is written under a temporary name first and they replace
        the old ones together at the end; a failure leaves the previous files as they were."""
        chosen = [f.strip() for f in formats.split(",")] if isinstance(formats, str) else formats
        for fmt in chosen:
            if fmt not in FORMATS:
                raise ValueError(f"unknown format {fmt!r}: use {', '.join(FORMATS)}")
        out = Path(directory)
        written: list[Path] = []
        with self._staging() as stage:
            for fmt in dict.fromkeys(chosen):
                if fmt == "html":
                    written.append(self._to_html(stage, out / "report.html"))
                elif fmt == "xlsx":
                    written.append(self._to_excel(stage, out / "report.xlsx"))
                elif fmt == "pdf":
                    written.append(self._to_pdf(stage, out / "report.pdf"))
                elif fmt == "csv":
                    written += self._to_csv(stage, out / "csv")
                else:
                    written += self._to_parquet(stage, out / "parquet")
        return written

    @contextlib.contextmanager
    def _staging(self) -> Iterator[_Staging]:
        stage = _Staging(private=self.personal)
        try:
            yield stage
            stage.commit()
        finally:
            stage.abort()  # whatever was not renamed (nothing, after a commit)


def build_report(
    frames: OrderFrames,
    *,
    title: str = "Orders report",
    statuses: Any = "billable",
    tz: str = "local",
    now: Any = None,
    include_pii: bool = False,
    base_url: str | None = None,
    as_of: Any = None,
    filters: str = "",
) -> Report:
    """Compute the metrics of ``frames`` and gather them, with charts, into a :class:`Report`.

    Args:
        statuses, tz: as in :func:`revenue_breakdown`.
        now: the instant at-risk reasons are measured from (default: now).
        include_pii: add client names, emails, phones and addresses to the list of orders at
            risk (left out by default).
        base_url: the API the data came from (shown in the provenance; never a key).
        as_of: when the data was fetched (default: the newest creation time in the data).
        filters: a description of the filters used, for the provenance line.

    Example:
        >>> report = build_report(store.load(start="2026-01-01"))  # doctest: +SKIP
        >>> report.write("reports")  # doctest: +SKIP
    """
    check_frames(frames, "build_report")
    if not include_pii:
        # Adjustment types become column names (order_<type>): hidden before, not after.
        frames = _types_without_contacts(frames)
        filters = _hide_contacts(filters)
    revenue = revenue_breakdown(frames, by="month", statuses=statuses, tz=tz)
    by_sku = revenue_breakdown(frames, by="service", statuses=statuses, tz=tz)
    tags = tag_counts(frames)
    risk = at_risk_summary(frames, freq="W", now=now, tz=tz)
    attention = at_risk_orders(frames, now=now)
    if include_pii:
        people = frames.orders.set_index("order_id")
        for column in PII_COLUMNS:
            attention[column] = people[column].reindex(attention["order_id"]).to_numpy()
    ops = operations_summary(frames, freq="M", tz=tz)
    funnel = status_funnel(frames)
    total = revenue.iloc[-1]
    created = frames.orders["created_at"]
    headline = {
        "Orders": f"{len(frames.orders):,}",
        f"Orders counted in revenue ({revenue.attrs['statuses'].split(' (')[0]})": f"{int(total['orders']):,}",
        "Net revenue": _shown(total["net"], "money", False),
        "Gross revenue": _shown(total["gross"], "money", False),
        "Average order value": _shown(total["avg_order_value"], "money", False) or "—",
        "Open orders": f"{int(risk['open_orders'].sum()):,}",
        "Open orders at risk": f"{int(risk['at_risk'].sum()):,}",
        "Orders needing attention": f"{len(attention):,}",
        "Unreconciled orders": f"{len(revenue.attrs['unreconciled_orders']):,}",
        "Data problems (unreadable values and notes)": f"{len(frames.problems):,}",
    }
    first, last = (created.min(), created.max()) if len(created) else (None, None)
    provenance = {
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
        "data as of": _instant_text(as_of if as_of is not None else last),
        "at risk measured at": _instant_text(now) if now is not None else "the time generated",
        "orders created": f"{first:%Y-%m-%d} to {last:%Y-%m-%d}"
        if first is not None and pd.notna(first)
        else "—",
        "filters": filters or "none",
        "statuses": revenue.attrs["statuses"],
        "clock": revenue.attrs["clock"],
        "toolkit": f"ht-analytics {toolkit_version()}",
        "API": safe_url(base_url) if base_url else "—",
    }
    tables = {
        "revenue_by_month": revenue,
        "revenue_by_service": by_sku,
        "tags": tags,
        "at_risk_by_week": risk,
        "at_risk_orders": attention,
        "operations": ops,
        "status_funnel": funnel,
    }
    if not include_pii:  # before the charts are drawn: their labels are text from the API too
        tables = {name: _without_contacts(frame) for name, frame in tables.items()}
    charts = {
        "revenue_over_time": plots.figure_of(plots.revenue_over_time(tables["revenue_by_month"])),
        "revenue_by_service": plots.figure_of(plots.revenue_by_sku(tables["revenue_by_service"])),
        "tag_counts": plots.figure_of(plots.tag_counts(tables["tags"])),
        "at_risk_trend": plots.figure_of(plots.at_risk_trend(tables["at_risk_by_week"])),
        "status_funnel": plots.figure_of(plots.status_funnel(tables["status_funnel"])),
        "lead_time": plots.figure_of(plots.lead_time_distribution(order_durations(frames))),
    }
    sections = {
        "revenue": ["revenue_over_time", "revenue_by_month", "revenue_by_service"],
        "tags": ["tag_counts", "tags"],
        "at_risk": ["at_risk_trend", "at_risk_by_week", "at_risk_orders"],
        "operations": ["status_funnel", "lead_time", "operations"],
    }
    return Report(title, headline, tables, charts, provenance, sections, personal=include_pii)


# -- helpers -------------------------------------------------------------------------------------


class _Staging:
    """Files written under temporary names beside their targets (created user-only, 0600),
    then renamed over the targets together (``commit``) or removed (``abort``). A report with
    personal data keeps 0600; others get the usual mode (0666 less the umask)."""

    def __init__(self, *, private: bool) -> None:
        self.private = private
        self.staged: list[tuple[Path, Path]] = []

    def file(self, target: Path) -> Path:
        """A temporary file to write ``target``'s content to."""
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
        os.close(fd)
        self.staged.append((Path(name), target))
        return Path(name)

    def commit(self) -> None:
        """Rename every file over its target; if one rename fails, the targets already
        replaced get their old files back (kept aside meanwhile) and the error is raised."""
        mode = 0o600
        if not self.private:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        for _, target in self.staged:
            if target.is_dir():
                raise IsADirectoryError(f"{target} is a directory: no report file replaced it")
        done: list[tuple[Path, Path | None]] = []  # (target, its old file kept aside)
        try:
            for temp, target in self.staged:
                temp.chmod(mode)
                aside = None
                if target.exists():
                    aside = temp.with_name(temp.name + ".old")
                    target.replace(aside)
                done.append((target, aside))
                temp.replace(target)
        except BaseException:
            for target, aside in reversed(done):
                if aside is not None:
                    aside.replace(target)
                else:
                    target.unlink(missing_ok=True)
            raise
        for _, aside in done:
            if aside is not None:
                aside.unlink(missing_ok=True)
        self.staged = []

    def abort(self) -> None:
        for temp, _ in self.staged:
            temp.unlink(missing_ok=True)
        self.staged = []


_FIGURE = re.compile(r"(-?)(\$?)(\d{1,3}(?:,\d{3})*|\d+)(\.\d+)?")


def _figure(text: str) -> tuple[float, bool] | None:
    """A headline figure as written (``"5,000"``, ``"$1,234.50"``, ``"-$5.00"``) as a number,
    and whether it is money; ``None`` for other text. Only figures within Excel's exact range."""
    match = _FIGURE.fullmatch(text.strip())
    if match is None:
        return None
    sign, dollar, whole, fraction = match.groups()
    value = Decimal(sign + whole.replace(",", "") + (fraction or ""))
    if abs(value) >= EXCEL_EXACT:
        return None
    return float(value), bool(dollar)


def _png(figure: Figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _kind(series: pd.Series) -> str:
    name = str(series.name)
    if (name == "id" or name.endswith("_id")) and pd.api.types.is_integer_dtype(series.dtype):
        return "id"  # a key to copy, not a quantity: no thousands separator
    if isinstance(series.dtype, pd.ArrowDtype) and "decimal" in str(series.dtype):
        return "money"
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        return "time"
    if pd.api.types.is_timedelta64_dtype(series.dtype):
        return "duration"
    if pd.api.types.is_bool_dtype(series.dtype) or pd.api.types.is_numeric_dtype(series.dtype):
        return "number"
    return "text"


def _shown(value: Any, kind: str, rate: bool) -> str:
    """A cell as a person reads it: $1,234.50, 12.5%, 27.3 h, 2026-10-31 23:29 UTC, 1,234."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if isinstance(value, Decimal):
        return f"-${-value:,.2f}" if value < 0 else f"${value:,.2f}"
    if isinstance(value, pd.Timedelta):
        return f"{value.total_seconds() / 3600:,.1f} h"
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d %H:%M") + (" UTC" if value.tzinfo is not None else "")
    if kind == "id" and not isinstance(value, str):
        return str(int(value))
    if isinstance(value, bool) or kind != "number":
        return str(value)
    if rate and isinstance(value, float):
        return f"{value:.1%}"
    if isinstance(value, float):  # measures (hours …): all to the same two decimals
        return f"{value:,.2f}"
    if isinstance(value, int | np.integer):
        return f"{int(value):,}"
    return str(value)


def _html_table(frame: pd.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    kinds = [_kind(frame[c]) for c in frame.columns]
    rates = [str(c).endswith("_rate") or str(c).startswith("share") for c in frame.columns]
    rows = []
    for values in frame.head(200).itertuples(index=False):
        cells = "".join(
            f"<td>{html.escape(_shown(v, k, r))}</td>"
            for v, k, r in zip(values, kinds, rates, strict=True)
        )
        rows.append(f"<tr>{cells}</tr>")
    more = (
        f"<p>… {len(frame) - 200:,} more rows (every row is in the XLSX, CSV and Parquet formats)</p>"
        if len(frame) > 200
        else ""
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>{more}"


def _for_excel(frame: pd.DataFrame) -> pd.DataFrame:
    """Excel has no time zones: instants become wall-clock times in each row's ``timezone``
    (the column beside them says which), or UTC (said in the header) when there is none."""
    out = frame.copy()
    zones = frame["timezone"] if "timezone" in frame.columns else None
    for column in frame.columns:
        series = frame[column]
        if _kind(series) == "time" and getattr(series.dtype, "tz", None) is not None:
            if zones is not None:
                from ._periods import NAT, local_micros

                micros = local_micros(frame, column, "local")
                local = pd.to_datetime(pd.Series(micros).where(micros != NAT), unit="us")
                out[column] = local.to_numpy()
                out = out.rename(columns={column: f"{column} (local)"})
            else:
                out[column] = series.dt.tz_convert("UTC").dt.tz_localize(None)
                out = out.rename(columns={column: f"{column} (UTC)"})
        elif _kind(series) == "duration":
            out[column] = series.dt.total_seconds() / 3600.0
            out = out.rename(columns={column: f"{column} (hours)"})
    return out


def _write_cell(sheet: Any, r: int, c: int, value: Any, kind: str, money: Any, when: Any) -> None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        sheet.write_blank(r, c, None)
    elif kind == "money" and abs(value) < EXCEL_EXACT:
        sheet.write_number(r, c, float(value), money)
    elif kind == "money":  # an Excel number would round it: the exact amount, as text
        sheet.write_string(r, c, f"{value:,.2f}")
    elif kind == "time" and _excel_date(value):
        sheet.write_datetime(r, c, pd.Timestamp(value).to_pydatetime(), when)
    elif kind == "time":
        sheet.write_string(r, c, pd.Timestamp(value).isoformat())
    elif isinstance(value, bool | np.bool_):
        sheet.write_boolean(r, c, bool(value))
    elif kind == "id" and not isinstance(value, str) and abs(int(value)) > 2**53:
        sheet.write_string(r, c, str(int(value)))  # an Excel number (a double) would change it
    elif kind in ("number", "duration", "id") and not isinstance(value, str):
        sheet.write_number(r, c, float(value))
    else:
        text = str(value)
        if len(text) > EXCEL_TEXT:  # the most a cell holds: cut, and say so
            text = text[: EXCEL_TEXT - len(CUT)] + CUT
        sheet.write_string(r, c, text)


def _types_without_contacts(frames: OrderFrames) -> OrderFrames:
    """``frames`` with emails and phone numbers in the adjustments' types hidden."""
    types = frames.adjustments["type"]
    # By distinct type (a handful, over millions of adjustments).
    changed = {t: h for t in types.dropna().unique() if (h := _hide_contacts(t)) != t}
    if not changed:
        return frames
    adjustments = frames.adjustments.copy()
    adjustments["type"] = types.replace(changed).astype(types.dtype)
    return replace(frames, adjustments=adjustments)


def _is_note(i: int, note_row: int | bool) -> bool:
    """Whether row ``i`` is the note row (``note_row`` is ``False`` where there is none: not
    row 0, which ``0 == False`` would make it)."""
    return note_row is not False and i == note_row


def _without_contacts(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with emails and phone numbers inside its text replaced by ``[email]`` and
    ``[phone]`` (free text from the API can hold them)."""
    out = frame
    for column in frame.columns:
        if _kind(frame[column]) != "text" or frame[column].dtype.name == "category":
            continue
        values = frame[column]
        hidden = values.map(_hide_contacts)
        if hidden.equals(values):
            continue
        if out is frame:
            out = frame.copy()
            out.attrs = frame.attrs
        out[column] = hidden
    return out


def _phone(match: re.Match[str]) -> str:
    """A phone number has 10 to 15 digits."""
    digits = sum(ch.isdigit() for ch in match.group("number"))
    return "[phone]" if 10 <= digits <= 15 else match.group(0)


def _hide_contacts(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if "@" in value:  # (the patterns run only where they can match: cheap on long text)
        value = EMAIL.sub("[email]", value)
    if sum(ch.isdigit() for ch in value) >= 10:
        value = PHONE.sub(_phone, value)
    return value


def _excel_date(moment: Any) -> bool:
    """Whether Excel can show ``moment`` as a date (its calendar starts on 1900-03-01 without
    surprises; earlier dates are written as text)."""
    return bool(pd.Timestamp(moment).tz_localize(None) >= pd.Timestamp("1900-03-01"))


def _defuse(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _for_parquet(frame: pd.DataFrame) -> pd.DataFrame:
    """Text where pandas has objects or periods (a period would be written as pandas' own
    extension type: a bare integer to DuckDB or Polars); periods read as in the CSV."""
    out = frame.copy()
    for column in out.columns:
        if isinstance(out[column].dtype, pd.PeriodDtype):
            out[column] = out[column].astype("str")
        elif out[column].dtype == object:
            out[column] = out[column].map(lambda v: None if v is None else str(v)).astype("str")
    return out


def _table_figure(name: str, frame: pd.DataFrame) -> Figure:
    """A table on a page: its first rows (and its ``Total`` row), with a line saying how many
    rows only the other formats hold."""
    kinds = [_kind(frame[c]) for c in frame.columns]
    rates = [str(c).endswith("_rate") or str(c).startswith("share") for c in frame.columns]
    figure = Figure(figsize=(11.69, 8.27))
    ax = figure.add_subplot()
    ax.axis("off")
    ax.set_title(plots.plain(name.replace("_", " ")))

    def row(values: Any) -> list[str]:
        return [plots.plain(_shown(v, k, r)) for v, k, r in zip(values, kinds, rates, strict=True)]

    total = len(frame.columns) > 0 and len(frame) > 0 and str(frame.iloc[-1, 0]) == "Total"
    if len(frame) <= PDF_ROWS:
        cells = [row(values) for values in frame.itertuples(index=False)]
    else:
        head = PDF_ROWS - 1 - total
        cells = [row(values) for values in frame.head(head).itertuples(index=False)]
        left = len(frame) - head - total
        note = [""] * len(frame.columns)
        note[0] = f"… {left:,} more rows (every row is in the XLSX, CSV and Parquet formats)"
        cells.append(note)
        if total:
            cells.append(row(next(frame.tail(1).itertuples(index=False))))
    if cells:
        note_row = len(frame) > PDF_ROWS and PDF_ROWS - 1 - total  # its text spans the row
        cells = [
            [_clipped(v) for v in values] if not _is_note(i, note_row) else values
            for i, values in enumerate(cells)
        ]
        labels = [plots.plain(_label(str(c))) for c in frame.columns]
        # Each column as wide as its widest line (the note row aside), the page's width shared
        # out; a table too wide for the page gets a smaller font.
        chars = [
            max(
                4,
                *(len(x) for x in label.split("\n")),
                *(len(r[j]) for i, r in enumerate(cells) if not _is_note(i, note_row)),
            )
            for j, label in enumerate(labels)
        ]
        size = min(PDF_FONT, PDF_LINE_CHARS * PDF_FONT / (sum(chars) + PDF_PAD_CHARS * len(chars)))
        widths = [(n + PDF_PAD_CHARS) / (sum(chars) + PDF_PAD_CHARS * len(chars)) for n in chars]
        table = ax.table(cellText=cells, colLabels=labels, colWidths=widths, loc="upper center")
        table.auto_set_font_size(False)
        table.set_fontsize(size)
        lines = max(label.count("\n") + 1 for label in labels)
        for (r, _), cell in table.get_celld().items():
            cell.set_height(cell.get_height() * size / PDF_FONT * (lines if r == 0 else 1))
        if note_row is not False:  # the note runs on over the row's empty cells: one box
            last = len(labels) - 1
            first = table[note_row + 1, 0]
            first.get_text().set_horizontalalignment("left")
            first.visible_edges = "BLT" if last else "closed"
            for j in range(1, last + 1):  # see-through, so that they do not hide the note
                cell = table[note_row + 1, j]
                cell.set_facecolor("none")
                cell.visible_edges = "BRT" if j == last else "BT"
    return figure


PDF_FONT = 6
"""The font size of a table in the PDF (points), unless the table is too wide for it."""

PDF_LINE_CHARS = 190
"""How many characters of :data:`PDF_FONT` fit across the page (with the cells' padding)."""

PDF_PAD_CHARS = 2
"""The padding of a cell, in characters."""

PDF_CELL_CHARS = 48
"""Longer text is cut (with "…") in the PDF; the other formats hold all of it."""


def _label(name: str) -> str:
    """A column name as a header: words on lines of at most 14 characters."""
    return "\n".join(textwrap.wrap(name.replace("_", " "), 14)) if len(name) > 12 else name


def _clipped(text: str) -> str:
    return text if len(text) <= PDF_CELL_CHARS else text[: PDF_CELL_CHARS - 1] + "…"


def _instant_text(value: Any) -> str:
    """An instant as ISO-8601 UTC to the second (``—`` when there is none)."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "—"
    moment = pd.Timestamp(value)
    moment = moment.tz_localize("UTC") if moment.tzinfo is None else moment.tz_convert("UTC")
    return moment.isoformat(timespec="seconds")
