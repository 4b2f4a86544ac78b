"""Epidemic curves, operational KPIs and cluster tables: frames in, frames out, no I/O."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Literal

import polars as pl

By = Literal["onset", "report"]
Interval = Literal["day", "week"]
DATE_COLUMN: dict[str, str] = {"onset": "onset", "report": "reported_on"}


def epicurve(cases: pl.DataFrame, *, by: By = "report", interval: Interval = "day", by_jurisdiction: bool = False) -> pl.DataFrame:
    """New cases per day or ISO week, by onset or report date, optionally per jurisdiction.

    Every period between the first and last is present (zero when no case), so the curve has no
    gaps. Weeks start on Monday and are labelled ISO-style (``2026-W11``). Cases without the
    chosen date (e.g. no onset) are left out; ``epicurve_missing`` counts them.

    Examples
    --------
    >>> cases = pl.DataFrame({"reported_on": [date(2026, 3, 2), date(2026, 3, 4), date(2026, 3, 4)],
    ...                       "onset": [None, None, None], "jurisdiction": ["D1", "D1", "D2"]})
    >>> epicurve(cases).rows()
    [(datetime.date(2026, 3, 2), '2026-03-02', 1), (datetime.date(2026, 3, 3), '2026-03-03', 0), (datetime.date(2026, 3, 4), '2026-03-04', 2)]
    """
    column = DATE_COLUMN[by]
    dated = cases.filter(pl.col(column).is_not_null())
    groups = ["jurisdiction"] if by_jurisdiction else []
    schema = {"period": pl.Date, **({"jurisdiction": pl.String} if by_jurisdiction else {}), "label": pl.String, "cases": pl.UInt32}
    if dated.is_empty():
        return pl.DataFrame(schema=schema)
    period = pl.col(column).dt.truncate("1w") if interval == "week" else pl.col(column)
    counts = dated.group_by(period.alias("period"), *groups).agg(pl.len().alias("cases"))
    first, last = counts["period"].min(), counts["period"].max()
    step = 7 if interval == "week" else 1
    periods = pl.DataFrame({"period": [first + timedelta(days=i) for i in range(0, (last - first).days + 1, step)]})  # type: ignore[operator]
    grid = periods.join(dated.select(groups).unique(), how="cross") if groups else periods
    full = grid.join(counts, on=["period", *groups], how="left").with_columns(pl.col("cases").fill_null(0))
    label = pl.col("period").dt.strftime("%G-W%V") if interval == "week" else pl.col("period").dt.strftime("%Y-%m-%d")
    return full.with_columns(label.alias("label")).select(list(schema)).sort(["period", *groups])


def epicurve_missing(cases: pl.DataFrame, *, by: By) -> int:
    """Cases left out of a curve because they lack the chosen date."""
    return int(cases[DATE_COLUMN[by]].null_count())


def kpis(cases: pl.DataFrame, contact_tasks: pl.DataFrame, *, today: date) -> pl.DataFrame:
    """The operational KPIs tracing teams are judged by.

    Columns ``kpi, value, numerator, denominator, definition``; ``value`` is a share (0-1) or days.
    """
    interviewed = cases.filter(pl.col("interviewed_on").is_not_null())
    delays = (interviewed["interviewed_on"] - interviewed["reported_on"]).dt.total_days()
    notify = contact_tasks.filter((pl.col("kind") == "notify") & (pl.col("identified_on") <= today - timedelta(days=1)))
    notified = notify.filter((pl.col("status") == "done") & ((pl.col("completed_on") - pl.col("identified_on")).dt.total_days() <= 1))
    tests = contact_tasks.filter((pl.col("kind") == "test") & ((pl.col("due_on") < today) | (pl.col("status") == "done")))
    on_time = tests.filter((pl.col("status") == "done") & (pl.col("completed_on") <= pl.col("due_on")))
    known = cases.filter(pl.col("known_contact"))

    def share(numerator: int, denominator: int) -> float | None:
        return numerator / denominator if denominator else None

    rows = [
        ("median days from result to interview", None if delays.is_empty() else float(delays.median()),  # type: ignore[arg-type]
         None, interviewed.height, "interviewed_on minus the date the positive result arrived, median over interviewed cases"),
        ("90th percentile days from result to interview", None if delays.is_empty() else float(delays.quantile(0.9, "nearest")),  # type: ignore[arg-type]
         None, interviewed.height, "the same delay, 90th percentile"),
        ("share of contacts notified within 24 h", share(notified.height, notify.height), notified.height, notify.height,
         "contacts identified at least a day ago whose notification was done within a day of identification"),
        ("share of contacts tested by the due date", share(on_time.height, tests.height), on_time.height, tests.height,
         "test tasks whose due date has passed (or that are done) done on or before their due date"),
        ("share of new cases already known contacts", share(known.height, cases.height), known.height, cases.height,
         "cases who were someone's contact on or before their result arrived"),
    ]
    return pl.DataFrame(rows, schema={"kpi": pl.String, "value": pl.Float64, "numerator": pl.Int64, "denominator": pl.Int64,
                                      "definition": pl.String}, orient="row")


def setting_clusters(links: pl.DataFrame, cases: pl.DataFrame) -> pl.DataFrame:
    """Clusters by setting: a source case and the cases it is linked to through one setting.

    Columns ``source_case, setting, cases`` (source included), ``first``, ``last`` (report dates).
    Rejected links are left out.
    """
    kept = links.filter((pl.col("certainty") != "rejected") & pl.col("setting").is_not_null())
    if kept.is_empty():
        return pl.DataFrame(schema={"source_case": pl.Int64, "setting": pl.String, "cases": pl.UInt32, "first": pl.Date, "last": pl.Date})
    members = pl.concat([
        kept.select(pl.col("infector_case").alias("source_case"), "setting", pl.col("infector_case").alias("case_id")),
        kept.select(pl.col("infector_case").alias("source_case"), "setting", pl.col("infectee_case").alias("case_id")),
    ]).unique()
    dated = members.join(cases.select("case_id", "reported_on"), on="case_id", how="left")
    return (
        dated.group_by("source_case", "setting")
        .agg(pl.len().alias("cases"), pl.col("reported_on").min().alias("first"), pl.col("reported_on").max().alias("last"))
        .sort(["cases", "source_case"], descending=[True, False])
    )


CERTAINTY_RANK = {"confirmed": 0, "probable": 1, "possible": 2}
SOURCE_RANK = {"contact tracing": 0, "co-location": 1}


def most_likely_tree(links: pl.DataFrame) -> pl.DataFrame:
    """One infector per case: the forest of the most likely links.

    Links are taken best first (confirmed, probable, possible; a named contact before
    co-location; then the order found) and kept when the infectee has no infector yet and the
    link does not close a loop. Rejected links are never used.

    Examples
    --------
    >>> links = pl.DataFrame({"infector_case": [1, 2, 1], "infectee_case": [3, 3, 2],
    ...     "certainty": ["possible", "probable", "possible"], "source": ["co-location", "contact tracing", "contact tracing"]})
    >>> most_likely_tree(links).select("infector_case", "infectee_case").rows()
    [(2, 3), (1, 2)]
    """
    ranked = (
        links.filter(pl.col("certainty") != "rejected")
        .with_row_index("_order")
        .with_columns(
            pl.col("certainty").replace_strict(CERTAINTY_RANK, default=3).alias("_c"),
            pl.col("source").replace_strict(SOURCE_RANK, default=2).alias("_s"),
        )
        .sort(["_c", "_s", "_order"])
    )
    parent: dict[int, int] = {}

    def root(node: int) -> int:
        while parent.get(node, node) != node:
            node = parent[node]
        return node

    has_infector: set[int] = set()
    kept = []
    for row in ranked.iter_rows(named=True):
        a, b = row["infector_case"], row["infectee_case"]
        if b in has_infector or root(a) == root(b):
            continue
        has_infector.add(b)
        parent[root(b)] = root(a)
        kept.append(row["_order"])
    return links.filter(pl.col("certainty") != "rejected").with_row_index("_order").filter(
        pl.col("_order").is_in(kept)).sort(pl.col("_order").replace_strict({o: i for i, o in enumerate(kept)})).drop("_order")
