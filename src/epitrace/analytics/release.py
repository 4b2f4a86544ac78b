"""What a release is drawn from: linked count tables over the jurisdiction tree and time, and views of them.

Every count epitrace releases about cases is a cell of one table: rows are jurisdictions (each
one's own cases, and the total of its subtree), columns are days, ISO weeks, "no date" and all
time, for report and onset dates. ``case_table`` builds every cell and every additive relation
between them (a week is the sum of its days, a city the sum of its districts, all time the sum
of the weeks and the undated cases, for both dates), so that ``domain.privacy.protect`` can
suppress the table once, whole. A curve, a total or a KPI denominator for a scope is then a
*view* of the protected table (``curve_view``, ``cell_of``), and Rt is computed from a view
(``released_rt``). Frames and mappings in, frames out; no I/O.

Cells are named ``Cell(table, where, when)``: ``table`` is ``report`` or ``onset`` (dated cells),
``cases`` (all-time counts, shared by both dates) or a caller's name (``count_table``); ``where``
is ``own:D1`` (cases of D1 itself) or ``tree:CITY`` (CITY and everything below it; ``tree:*`` is
every top-level jurisdiction together); ``when`` is ``day:2026-03-02``, ``week:2026-03-02`` (the
Monday), ``undated`` or ``all``. A leaf's subtree is its own cell, so it has no ``tree:`` cell.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cached_property
from typing import NamedTuple

import polars as pl

from epitrace.analytics.curves import DATE_COLUMN, By, Interval
from epitrace.analytics.defaults import DEFAULT_SI_MEAN, DEFAULT_SI_SD
from epitrace.domain.privacy import Suppression

EVERYWHERE = "*"
"""The node above every top-level jurisdiction (the command line's whole database)."""


class Cell(NamedTuple):
    """One count of a linked table (see the module docstring)."""

    table: str
    where: str
    when: str


@dataclass(frozen=True)
class Tree:
    """Jurisdictions as a tree: ``parent`` maps each code to its parent's code (None at the top)."""

    parent: Mapping[str, str | None]

    @cached_property
    def children(self) -> dict[str | None, list[str]]:
        found: dict[str | None, list[str]] = {}
        for code in sorted(self.parent):
            found.setdefault(self.parent[code], []).append(code)
        return found

    def subtree(self, node: str) -> list[str]:
        """``node`` and every code below it (every code for ``EVERYWHERE``)."""
        if node == EVERYWHERE:
            return sorted(self.parent)
        found, stack = [], [node]
        while stack:
            current = stack.pop()
            found.append(current)
            stack.extend(self.children.get(current, []))
        return sorted(found)

    def where(self, node: str) -> str:
        """The cell name of ``node``'s subtree total."""
        if node == EVERYWHERE:
            roots = self.children.get(None, [])
            return self.where(roots[0]) if len(roots) == 1 else f"tree:{EVERYWHERE}"
        return f"tree:{node}" if self.children.get(node) else f"own:{node}"

    def node_for(self, codes: frozenset[str] | None) -> str:
        """The node whose subtree is exactly ``codes`` (None: everywhere)."""
        if codes is None or codes == frozenset(self.parent):
            return EVERYWHERE
        for code in sorted(codes):
            if frozenset(self.subtree(code)) == codes:
                return code
        raise ValueError(f"jurisdictions {sorted(codes)} are not one jurisdiction and everything below it")

    def totals(self) -> list[tuple[str, list[str]]]:
        """``(total, parts)`` of every subtree total, children before parents."""
        found: list[tuple[str, list[str]]] = []

        def visit(node: str) -> None:
            kids = self.children.get(node, [])
            for kid in kids:
                visit(kid)
            if kids:
                found.append((self.where(node), [f"own:{node}", *(self.where(k) for k in kids)]))

        roots = self.children.get(None, [])
        for root in roots:
            visit(root)
        if len(roots) != 1:
            found.append((f"tree:{EVERYWHERE}", [self.where(r) for r in roots]))
        return found

    def wheres(self) -> list[str]:
        """Every row of a table over this tree: each code's own cases and each subtree total."""
        return sorted({f"own:{c}" for c in self.parent} | {total for total, _ in self.totals()})


def jurisdiction_tree(frame: pl.DataFrame) -> Tree:
    """The tree from a frame with columns ``code`` and ``parent``."""
    return Tree(dict(zip(frame["code"].to_list(), frame["parent"].to_list(), strict=True)))


@dataclass
class LinkedTable:
    """Counts and the additive relations ``(total, parts)`` between them."""

    values: dict[Cell, int] = field(default_factory=dict)
    relations: list[tuple[Cell, tuple[Cell, ...]]] = field(default_factory=list)

    def fill(self, tree: Tree, table: str, when: str, own: Mapping[str, int]) -> None:
        """Cells of one column: each code's own count, each subtree total, and their relations."""
        for code in tree.parent:
            self.values[Cell(table, f"own:{code}", when)] = int(own.get(code, 0))
        for total, parts in tree.totals():
            cells = tuple(Cell(table, p, when) for p in parts)
            self.values[Cell(table, total, when)] = sum(self.values[c] for c in cells)
            self.relations.append((Cell(table, total, when), cells))

    def merge(self, other: LinkedTable) -> LinkedTable:
        """Both tables as one (shared cells must agree)."""
        clash = [c for c, v in other.values.items() if c in self.values and self.values[c] != v]
        if clash:
            raise ValueError(f"tables disagree on {clash[0]}")
        return LinkedTable({**self.values, **other.values}, [*self.relations, *other.relations])


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def case_table(cases: pl.DataFrame, tree: Tree) -> LinkedTable:
    """Cases by jurisdiction and report/onset day, week and all time, with every relation.

    ``cases`` needs ``jurisdiction``, ``reported_on`` and ``onset``. Days run from the first to
    the last date of each basis over the whole frame.

    Examples
    --------
    >>> tree = Tree({"CITY": None, "D1": "CITY", "D2": "CITY"})
    >>> cases = pl.DataFrame({"jurisdiction": ["D1", "D1", "D2"], "onset": [None, None, None],
    ...                       "reported_on": [date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 3)]})
    >>> t = case_table(cases, tree)
    >>> t.values[Cell("report", "tree:CITY", "day:2026-03-03")], t.values[Cell("onset", "own:D1", "undated")]
    (2, 2)
    """
    table = LinkedTable()
    wheres = tree.wheres()
    table.fill(tree, "cases", "all", Counter(cases["jurisdiction"].to_list()))
    for by, column in DATE_COLUMN.items():
        dated = cases.filter(pl.col(column).is_not_null())
        table.fill(tree, by, "undated", Counter(cases.filter(pl.col(column).is_null())["jurisdiction"].to_list()))
        weeks: dict[date, list[date]] = {}
        if not dated.is_empty():
            by_day: dict[date, Counter] = {}
            for code, day in dated.select("jurisdiction", column).iter_rows():
                by_day.setdefault(day, Counter())[code] += 1
            first, last = min(by_day), max(by_day)
            for i in range((last - first).days + 1):
                day = first + timedelta(days=i)
                table.fill(tree, by, f"day:{day}", by_day.get(day, Counter()))
                weeks.setdefault(_monday(day), []).append(day)
            for monday, days in weeks.items():
                total: Counter = Counter()
                for day in days:
                    total.update(by_day.get(day, Counter()))
                table.fill(tree, by, f"week:{monday}", total)
        for where in wheres:
            for monday, days in weeks.items():
                table.relations.append((Cell(by, where, f"week:{monday}"), tuple(Cell(by, where, f"day:{d}") for d in days)))
            table.relations.append((Cell("cases", where, "all"),
                                    (*(Cell(by, where, f"week:{m}") for m in weeks), Cell(by, where, "undated"))))
    return table


def count_table(own: Mapping[str, int], tree: Tree, *, table: str) -> LinkedTable:
    """One all-time count per jurisdiction (e.g. a KPI's denominator), with its subtree totals."""
    result = LinkedTable()
    result.fill(tree, table, "all", own)
    return result


def cell_of(table: LinkedTable, status: Mapping[Cell, Suppression], cell: Cell) -> tuple[int, Suppression]:
    """A cell's count and how it is released (a cell the table does not have is a released 0)."""
    return table.values.get(cell, 0), status.get(cell, Suppression.RELEASED)


def curve_view(table: LinkedTable, status: Mapping[Cell, Suppression], tree: Tree, *, node: str, by: By = "report",
               interval: Interval = "day", by_jurisdiction: bool = False) -> pl.DataFrame:
    """The epidemic curve of ``node``'s subtree as released: ``period, [jurisdiction], label, cases, status``.

    ``cases`` is null where the cell is suppressed. Periods run from the first to the last one
    with cases; with ``by_jurisdiction`` there is a row per period for every jurisdiction of the
    subtree that has dated cases (its own cases, not those below it).
    """
    prefix = f"{interval}:"
    periods = sorted({date.fromisoformat(c.when[len(prefix):]) for c in table.values
                      if c.table == by and c.when.startswith(prefix)})
    rows_of = [f"own:{code}" for code in tree.subtree(node)] if by_jurisdiction else [tree.where(node)]
    if by_jurisdiction:
        rows_of = [w for w in rows_of if any(table.values.get(Cell(by, w, f"{prefix}{p}"), 0) for p in periods)]
    used = [p for p in periods if any(table.values.get(Cell(by, w, f"{prefix}{p}"), 0) for w in rows_of)]
    schema = {"period": pl.Date, **({"jurisdiction": pl.String} if by_jurisdiction else {}), "label": pl.String,
              "cases": pl.Int64, "status": pl.String}
    if not used:
        return pl.DataFrame(schema=schema)
    rows = []
    for period in periods:
        if not used[0] <= period <= used[-1]:
            continue
        label = f"{period.isocalendar().year}-W{period.isocalendar().week:02d}" if interval == "week" else period.isoformat()
        for where in rows_of:
            count, how = cell_of(table, status, Cell(by, where, f"{prefix}{period}"))
            rows.append((period, *([where.removeprefix("own:")] if by_jurisdiction else []), label,
                         count if how is Suppression.RELEASED else None, how.value))
    return pl.DataFrame(rows, schema=schema, orient="row")


def impute_suppressed(days: pl.DataFrame, weeks: pl.DataFrame, *, threshold: int) -> list[float]:
    """Daily counts from a released daily curve alone, for Rt's infectiousness term.

    Released days are their count; a ``"<threshold"`` day is ``threshold / 2``; an ``"x"`` day
    shares what its released week total leaves after the other days (never less than the
    threshold), or is the threshold when the week is withheld too. Only released cells are read.
    """
    week_of = {row["period"]: row for row in weeks.iter_rows(named=True)}
    primary = threshold / 2
    by_week: dict[date, list[dict]] = {}
    for row in days.iter_rows(named=True):
        by_week.setdefault(_monday(row["period"]), []).append(row)
    imputed: dict[date, float] = {}
    for monday, rows in by_week.items():
        week = week_of.get(monday)
        secondary = [r for r in rows if r["status"] == Suppression.SECONDARY]
        share = float(threshold)
        if secondary and week is not None and week["status"] == Suppression.RELEASED:
            left = week["cases"] - sum(r["cases"] for r in rows if r["status"] == Suppression.RELEASED)
            left -= primary * sum(r["status"] == Suppression.PRIMARY for r in rows)
            share = max(float(threshold), left / len(secondary))
        for r in rows:
            imputed[r["period"]] = (float(r["cases"]) if r["status"] == Suppression.RELEASED
                                    else primary if r["status"] == Suppression.PRIMARY else share)
    return [imputed[p] for p in days["period"].to_list()]


def released_rt(days: pl.DataFrame, weeks: pl.DataFrame, *, threshold: int, si_mean: float = DEFAULT_SI_MEAN,
                si_sd: float = DEFAULT_SI_SD) -> tuple[pl.DataFrame | None, int]:
    """Rt (Cori) from a released daily curve, for the windows whose days are all released.

    The estimate reads only the released curve (``impute_suppressed`` fills the withheld days of
    the infectiousness term), so it tells nothing the curve does not: the posterior
    Gamma(a + sum I, 1 / (1/b + sum lambda)) would otherwise give away each window's sum and a
    weighted sum of every earlier day. A window is published only when all its days are
    released, so its incidence sum is exact. Day 1 counts as imported (EpiEstim).

    Returns the published windows (None before 8 days) and how many windows were withheld.
    """
    import numpy as np

    from epitrace.analytics.rt import Incidence, estimate_rt

    if days.height < 8:
        return None, 0
    counts = np.array(impute_suppressed(days, weeks, threshold=threshold))
    local, imported = counts.copy(), np.zeros_like(counts)
    local[0], imported[0] = 0.0, counts[0]
    table = estimate_rt(Incidence(local, imported), si_mean=si_mean, si_sd=si_sd)
    released = np.concatenate([[0], np.cumsum((days["status"] != Suppression.RELEASED.value).to_numpy())])
    starts, ends = table["t_start"].to_numpy(), table["t_end"].to_numpy()
    keep = released[ends] - released[starts - 1] == 0
    return table.filter(pl.Series(keep)), int((~keep).sum())
