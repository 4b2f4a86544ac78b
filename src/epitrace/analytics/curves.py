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


KPI_COUNTS: dict[str, tuple[str | None, str]] = {
    "median days from result to interview": (None, "interviewed"),
    "90th percentile days from result to interview": (None, "interviewed"),
    "share of contacts notified within 24 h": ("notified", "notify_due"),
    "share of contacts tested by the due date": ("tested_on_time", "tests_due"),
    "share of new cases already known contacts": ("known", "cases"),
}
"""Each KPI's numerator and denominator, as columns of ``kpi_counts`` (None: no numerator)."""


def _kpi_parts(cases: pl.DataFrame, contact_tasks: pl.DataFrame, *, today: date) -> dict[str, pl.DataFrame]:
    """The rows each KPI counts, by the names of ``kpi_counts``' columns."""
    notify = contact_tasks.filter((pl.col("kind") == "notify") & (pl.col("identified_on") <= today - timedelta(days=1)))
    tests = contact_tasks.filter((pl.col("kind") == "test") & ((pl.col("due_on") < today) | (pl.col("status") == "done")))
    return {
        "cases": cases,
        "interviewed": cases.filter(pl.col("interviewed_on").is_not_null()),
        "notify_due": notify,
        "notified": notify.filter((pl.col("status") == "done")
                                  & ((pl.col("completed_on") - pl.col("identified_on")).dt.total_days() <= 1)),
        "tests_due": tests,
        "tested_on_time": tests.filter((pl.col("status") == "done") & (pl.col("completed_on") <= pl.col("due_on"))),
        "known": cases.filter(pl.col("known_contact")),
    }


def kpi_counts(cases: pl.DataFrame, contact_tasks: pl.DataFrame, *, today: date) -> pl.DataFrame:
    """The counts behind the KPIs, per jurisdiction: ``jurisdiction`` and one column per count.

    Cases count where they are; contacts' tasks where the case that named them is (the
    ``jurisdiction`` column of ``contact_tasks``). Summed over jurisdictions they are the
    numerators and denominators ``kpis`` reports.
    """
    parts = _kpi_parts(cases, contact_tasks, today=today)
    codes = sorted(set(cases["jurisdiction"].to_list()) | set(contact_tasks["jurisdiction"].to_list()
                                                                 if "jurisdiction" in contact_tasks.columns else []))
    frame = pl.DataFrame({"jurisdiction": codes}, schema={"jurisdiction": pl.String})
    for name, rows in parts.items():
        if "jurisdiction" not in rows.columns:
            raise ValueError(f"kpi_counts needs a jurisdiction column in the {name} rows")
        counts = rows.group_by("jurisdiction").agg(pl.len().cast(pl.Int64).alias(name))
        frame = frame.join(counts, on="jurisdiction", how="left").with_columns(pl.col(name).fill_null(0))
    return frame


def kpis(cases: pl.DataFrame, contact_tasks: pl.DataFrame, *, today: date) -> pl.DataFrame:
    """The operational KPIs tracing teams are judged by.

    Columns ``kpi, value, numerator, denominator, definition``; ``value`` is a share (0-1) or days.
    Counts are exact: what may be released of them is decided where they are released
    (``storage.aggregates``).
    """
    parts = _kpi_parts(cases, contact_tasks, today=today)
    interviewed = parts["interviewed"]
    delays = (interviewed["interviewed_on"] - interviewed["reported_on"]).dt.total_days()

    def share(numerator: int, denominator: int) -> float | None:
        return numerator / denominator if denominator else None

    def counted(kpi: str) -> tuple[int | None, int]:
        numerator, denominator = KPI_COUNTS[kpi]
        return (None if numerator is None else parts[numerator].height), parts[denominator].height

    values = {
        "median days from result to interview": None if delays.is_empty() else float(delays.median()),  # type: ignore[arg-type]
        "90th percentile days from result to interview":
            None if delays.is_empty() else float(delays.quantile(0.9, "nearest")),  # type: ignore[arg-type]
    }
    definitions = {
        "median days from result to interview":
            "interviewed_on minus the date the positive result arrived, median over interviewed cases",
        "90th percentile days from result to interview": "the same delay, 90th percentile",
        "share of contacts notified within 24 h":
            "contacts identified at least a day ago whose notification was done within a day of identification",
        "share of contacts tested by the due date":
            "test tasks whose due date has passed (or that are done) done on or before their due date",
        "share of new cases already known contacts": "cases who were someone's contact on or before their result arrived",
    }
    rows = []
    for kpi in KPI_COUNTS:
        numerator, denominator = counted(kpi)
        value = values[kpi] if kpi in values else share(numerator or 0, denominator)
        rows.append((kpi, value, numerator, denominator, definitions[kpi]))
    return pl.DataFrame(rows, schema={"kpi": pl.String, "value": pl.Float64, "numerator": pl.Int64, "denominator": pl.Int64,
                                      "definition": pl.String}, orient="row")


def setting_cluster_members(links: pl.DataFrame) -> pl.DataFrame:
    """Members of each setting cluster: ``source_case, setting, case_id`` (the source included).

    A setting cluster is a source case and the cases it is linked to through one setting;
    rejected links and links without a setting are left out.
    """
    kept = links.filter((pl.col("certainty") != "rejected") & pl.col("setting").is_not_null())
    schema = {"source_case": pl.Int64, "setting": pl.String, "case_id": pl.Int64}
    if kept.is_empty():
        return pl.DataFrame(schema=schema)
    return pl.concat([
        kept.select(pl.col("infector_case").alias("source_case"), "setting", pl.col("infector_case").alias("case_id")),
        kept.select(pl.col("infector_case").alias("source_case"), "setting", pl.col("infectee_case").alias("case_id")),
    ]).unique().cast(schema).sort(["source_case", "setting", "case_id"])  # type: ignore[arg-type]


def setting_clusters(links: pl.DataFrame, cases: pl.DataFrame) -> pl.DataFrame:
    """Clusters by setting: a source case and the cases it is linked to through one setting.

    Columns ``source_case, setting, cases`` (source included), ``first``, ``last`` (report dates).
    Rejected links are left out.
    """
    members = setting_cluster_members(links)
    if members.is_empty():
        return pl.DataFrame(schema={"source_case": pl.Int64, "setting": pl.String, "cases": pl.UInt32, "first": pl.Date, "last": pl.Date})
    dated = members.join(cases.select("case_id", "reported_on"), on="case_id", how="left")
    return (
        dated.group_by("source_case", "setting")
        .agg(pl.len().alias("cases"), pl.col("reported_on").min().alias("first"), pl.col("reported_on").max().alias("last"))
        .sort(["cases", "source_case"], descending=[True, False])
    )


def chain_sizes(forest: pl.DataFrame) -> list[int]:
    """Cases per chain of a forest of ``infector_case, infectee_case`` links, largest first.

    Examples
    --------
    >>> chain_sizes(pl.DataFrame({"infector_case": [1, 1, 7], "infectee_case": [2, 3, 8]}))
    [3, 2]
    """
    parent: dict[int, int] = {}

    def root(node: int) -> int:
        while parent.setdefault(node, node) != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for a, b in forest.select("infector_case", "infectee_case").iter_rows():
        parent[root(b)] = root(a)
    sizes: dict[int, int] = {}
    for node in list(parent):
        sizes[root(node)] = sizes.get(root(node), 0) + 1
    return sorted(sizes.values(), reverse=True)


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
