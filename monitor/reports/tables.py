"""A report is a few named tables; each can be drawn as a chart and exported as CSV."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

ChartKind = Literal["line", "bar", "stacked", "none"]


@dataclass(frozen=True)
class Table:
    name: str
    title: str
    columns: list[tuple[str, str]]  # (key, heading)
    rows: list[list[Any]]
    # How the console draws it: a line per column over the first column (time series),
    # bars of the first numeric column, or stacked bars of the ``series`` columns.
    chart: ChartKind = "none"
    series: list[str] = field(default_factory=list)  # keys drawn; default all but the first
    note: str = ""

    @property
    def keys(self) -> list[str]:
        return [k for k, _ in self.columns]

    def drawn(self) -> list[str]:
        return self.series or self.keys[1:]

    def column(self, key: str) -> list[Any]:
        i = self.keys.index(key)
        return [r[i] for r in self.rows]

    def as_dicts(self) -> list[dict[str, Any]]:
        return [dict(zip(self.keys, (plain(v) for v in r), strict=True)) for r in self.rows]


def plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def cell(value: Any) -> str:
    """How a value reads in a table cell and in CSV: the same text in both."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.1f}"
    if isinstance(value, datetime):
        return value.isoformat(timespec="minutes")
    return str(value)


FORMULA = ("=", "+", "@", "\t", "\r")


def csv_cell(value: Any) -> str:
    """A cell for CSV: text a spreadsheet would run as a formula is quoted with ' first."""
    text = cell(value)
    return "'" + text if isinstance(value, str) and text.startswith(FORMULA) else text


def to_csv(table: Table) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([heading for _, heading in table.columns])
    for row in table.rows:
        writer.writerow([csv_cell(v) for v in row])
    return out.getvalue()
