"""The one path of every aggregate that leaves the system: scoped, suppressed and audited.

Each public function takes the caller's ``Scope`` and the ``Actor`` to audit, both required, and
writes exactly one audit entry (action ``report``, record type ``aggregate``, record id naming
what was released for which jurisdiction). The API, the dashboard, the report and the command
line call these and assemble no aggregate of their own.

How a release is made
---------------------
1. Counts are read for the whole database, and the tables behind every release are suppressed
   whole by ``domain.privacy.protect`` (primary and secondary suppression, threshold
   ``Settings.small_count_threshold``): cases by jurisdiction and report/onset day, ISO week,
   "no date" and all time (``analytics.release.case_table``); each KPI count by jurisdiction;
   each cluster's size by jurisdiction.
2. A caller's release is a view of those protected tables for its scope, which must be one
   jurisdiction and everything below it (what accounts have), or ``EVERYWHERE`` (the command
   line). A district's curve, the city's curve and the city's curve by district are views of
   one table, so no pair of them, and no total among them, gives a suppressed cell away, even
   to two accounts comparing notes. The price: which cells are withheld can reflect small
   counts elsewhere (that is what keeps the views consistent); no count out of scope is released.
3. Rt is computed from the released daily curve alone and published only for windows whose days
   are all released (``analytics.release.released_rt``), so it tells nothing the curve does not.
4. A KPI's value is shown only when its numerator and denominator are both released; each count
   shows as itself, ``"<5"`` or ``"x"``.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from typing import Any

import polars as pl
from sqlalchemy.orm import Session

from epitrace.analytics.curves import (
    KPI_COUNTS,
    By,
    Interval,
    chain_sizes,
    kpi_counts,
    most_likely_tree,
    setting_cluster_members,
)
from epitrace.analytics.curves import kpis as compute_kpis
from epitrace.analytics.defaults import DEFAULT_SI_MEAN, DEFAULT_SI_SD
from epitrace.analytics.release import (
    EVERYWHERE,
    Cell,
    LinkedTable,
    Tree,
    case_table,
    cell_of,
    count_table,
    curve_view,
    jurisdiction_tree,
    released_rt,
)
from epitrace.domain.privacy import Suppression, legend, protect, shown, suppress_small
from epitrace.domain.statuses import RESIDENTIAL_KINDS
from epitrace.errors import InputError
from epitrace.settings import Settings
from epitrace.storage import audit
from epitrace.storage.analytics import (
    cases_frame,
    contact_tasks_frame,
    jurisdictions_frame,
    links_frame,
    place_cluster_members_frame,
)
from epitrace.storage.audit import Actor
from epitrace.storage.jurisdictions import codes_by_id
from epitrace.storage.scope import EVERYWHERE as ALL_SCOPE
from epitrace.storage.scope import Scope

RELEASED = Suppression.RELEASED


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


@dataclass(frozen=True)
class Curve:
    """An epidemic curve as released: ``frame`` has ``period, [jurisdiction], label, cases, status``.

    ``cases`` is null where the cell is suppressed (``status`` says how).
    """

    frame: pl.DataFrame
    jurisdiction: str
    by: str
    interval: str
    by_jurisdiction: bool
    threshold: int
    total: int | str
    """All cases of the scope, as shown."""
    undated: int | str
    """Cases without the curve's date, as shown."""

    def rows(self) -> list[dict]:
        """One dict per cell: ``label``, [``jurisdiction``], ``cases`` as shown."""
        return [{**{k: r[k] for k in ("jurisdiction", "label") if k in r},
                 "cases": shown(r["cases"] or 0, Suppression(r["status"]), threshold=self.threshold)}
                for r in self.frame.iter_rows(named=True)]

    def as_json(self) -> dict:
        return {"jurisdiction": self.jurisdiction, "by": self.by, "interval": self.interval, "threshold": self.threshold,
                "legend": legend(self.threshold), "total": self.total, "undated": self.undated, "data": self.rows()}


@dataclass(frozen=True)
class RtEstimate:
    """Rt over weekly windows of the released daily curve; ``frame`` is None before 8 days."""

    frame: pl.DataFrame | None
    first_day: date | None
    days: int
    withheld: int
    """Windows not published because one of their days is suppressed."""
    si_mean: float
    si_sd: float

    @property
    def note(self) -> str | None:
        if self.frame is None:
            return f"Rt needs at least 8 days of cases; there are {self.days}"
        if self.withheld:
            return (f"{self.withheld} of {self.withheld + self.frame.height} window(s) are not shown: they include a day whose "
                    "count is suppressed")
        return None

    def as_json(self) -> dict:
        return {"first_day": self.first_day, "si_mean": self.si_mean, "si_sd": self.si_sd, "withheld_windows": self.withheld,
                "note": self.note, "data": [] if self.frame is None else self.frame.to_dicts()}


@dataclass(frozen=True)
class Kpis:
    """KPIs as released: ``rows`` of ``kpi, value, numerator, denominator, definition``.

    ``value`` is None when a count behind it is suppressed; counts show as themselves, "<5" or "x";
    ``numerator`` is None for delays.
    """

    rows: list[dict]
    today: date
    threshold: int

    def as_json(self) -> dict:
        return {"today": self.today, "threshold": self.threshold, "legend": legend(self.threshold), "data": self.rows}


@dataclass(frozen=True)
class Clusters:
    """Cluster sizes as released: ``rows`` of ``kind, where, setting, cases, first, last, status``.

    Households are never named; sizes of the scope's cases show as themselves, "<5" or "x".
    """

    rows: list[dict]
    threshold: int

    def as_json(self) -> dict:
        return {"threshold": self.threshold, "legend": legend(self.threshold),
                "data": [{k: _plain(v) for k, v in r.items()} for r in self.rows]}


@dataclass(frozen=True)
class Chains:
    """The most likely transmission chains of the scope with at least ``threshold`` cases.

    ``forest`` holds case ids to draw from; it is never released as data (only ``sizes``).
    """

    forest: pl.DataFrame = field(repr=False)
    sizes: list[int]
    small: int | str
    """How many smaller chains are not drawn, as shown."""
    threshold: int


@dataclass(frozen=True)
class Overview:
    """Everything a report or the dashboard releases, read and audited once."""

    jurisdiction: str
    today: date
    threshold: int
    curve: Curve
    rt: RtEstimate
    kpis: Kpis
    clusters: Clusters | None
    chains: Chains | None

    def tables(self) -> dict:
        """What was released, as JSON-ready data (the report writes it as report.json)."""
        result = {"jurisdiction": self.jurisdiction, "today": self.today.isoformat(), "threshold": self.threshold,
                  "legend": legend(self.threshold), "total_cases": self.curve.total, "undated": self.curve.undated,
                  "curve": {"by": self.curve.by, "data": self.curve.rows()},
                  "rt": {k: _plain(v) for k, v in self.rt.as_json().items()},
                  "kpis": self.kpis.rows}
        if self.clusters is not None:
            result["clusters"] = self.clusters.as_json()["data"]
        if self.chains is not None:
            result["chains"] = {"sizes": self.chains.sizes, "smaller_not_drawn": self.chains.small}
        return result


@dataclass
class _Source:
    """The whole database's counts, the protected case table and the caller's node in the tree."""

    session: Session
    tree: Tree
    node: str
    threshold: int

    @cached_property
    def cases(self) -> pl.DataFrame:
        return cases_frame(self.session, ALL_SCOPE)

    @cached_property
    def table(self) -> LinkedTable:
        return case_table(self.cases, self.tree)

    @cached_property
    def status(self) -> dict[Cell, Suppression]:
        return _protected(self.table, threshold=self.threshold)

    @property
    def where(self) -> str:
        return self.tree.where(self.node)

    @cached_property
    def codes(self) -> list[str]:
        return self.tree.subtree(self.node)

    def scoped(self, frame: pl.DataFrame) -> pl.DataFrame:
        return frame.filter(pl.col("jurisdiction").is_in(self.codes))

    def shown(self, cell: Cell) -> int | str:
        count, how = cell_of(self.table, self.status, cell)
        return shown(count, how, threshold=self.threshold)

    @property
    def name(self) -> str:
        return "all jurisdictions" if self.node == EVERYWHERE else self.node


_PATTERNS: OrderedDict[str, dict[Cell, Suppression]] = OrderedDict()
_PATTERNS_KEPT = 16
_PATTERNS_LOCK = threading.Lock()  # the service answers requests from several threads


def _protected(table: LinkedTable, *, threshold: int) -> dict[Cell, Suppression]:
    """``protect`` of the table, remembered for the same counts: the audit solves many small LPs.

    The pattern depends on the counts and the threshold only, so a remembered one is the one
    that would be computed again.
    """
    digest = hashlib.sha256(repr((threshold, sorted(table.values.items()), table.relations)).encode()).hexdigest()
    with _PATTERNS_LOCK:
        if digest in _PATTERNS:
            _PATTERNS.move_to_end(digest)
            return _PATTERNS[digest]
    pattern = protect(table.values, table.relations, threshold=threshold)
    with _PATTERNS_LOCK:
        _PATTERNS[digest] = pattern
        while len(_PATTERNS) > _PATTERNS_KEPT:
            _PATTERNS.popitem(last=False)
    return pattern


def _source(session: Session, scope: Scope) -> _Source:
    if not isinstance(scope, Scope):
        raise TypeError(f"a Scope is required, got {scope!r}")
    tree = jurisdiction_tree(jurisdictions_frame(session))
    codes = None
    if scope.jurisdiction_ids is not None:
        known = codes_by_id(session)
        codes = frozenset(known[i] for i in scope.jurisdiction_ids if i in known)
    try:
        node = tree.node_for(codes)
    except ValueError as error:
        raise InputError(f"aggregates are released for one jurisdiction and everything below it: {error}") from None
    return _Source(session, tree, node, Settings.from_env().small_count_threshold)


def _audit(source: _Source, actor: Actor, what: str) -> None:
    if not isinstance(actor, Actor):
        raise TypeError(f"an audit Actor is required, got {actor!r}")
    audit.record(source.session, actor, action="report", record_type="aggregate", record_id=f"{what} of {source.name}",
                 person_id=None)


def _check(by: str, interval: str) -> None:
    if by not in ("report", "onset"):
        raise InputError(f"by {by!r} is not known: expected report or onset")
    if interval not in ("day", "week"):
        raise InputError(f"interval {interval!r} is not known: expected day or week")


def _curve(source: _Source, *, by: By, interval: Interval, by_jurisdiction: bool) -> Curve:
    frame = curve_view(source.table, source.status, source.tree, node=source.node, by=by, interval=interval,
                       by_jurisdiction=by_jurisdiction)
    return Curve(frame, source.name, by, interval, by_jurisdiction, source.threshold,
                 total=source.shown(Cell("cases", source.where, "all")), undated=source.shown(Cell(by, source.where, "undated")))


def _rt(source: _Source, *, by: By, si_mean: float, si_sd: float) -> RtEstimate:
    days = curve_view(source.table, source.status, source.tree, node=source.node, by=by, interval="day")
    weeks = curve_view(source.table, source.status, source.tree, node=source.node, by=by, interval="week")
    frame, withheld = released_rt(days, weeks, threshold=source.threshold, si_mean=si_mean, si_sd=si_sd)
    return RtEstimate(frame, None if days.is_empty() else days["period"][0], days.height, withheld, si_mean, si_sd)


def _kpis(source: _Source, *, today: date) -> Kpis:
    tasks = contact_tasks_frame(source.session)
    counts = kpi_counts(source.cases, tasks, today=today)
    tables = LinkedTable()
    for column in counts.columns[1:]:
        if column != "cases":  # the case table's all-time cells, suppressed with the curves they add up to
            own = dict(zip(counts["jurisdiction"].to_list(), counts[column].to_list(), strict=True))
            tables = tables.merge(count_table(own, source.tree, table=f"kpi:{column}"))
    status = _protected(tables, threshold=source.threshold)
    exact = compute_kpis(source.scoped(source.cases), source.scoped(tasks), today=today)

    def count(column: str | None) -> tuple[int | None, Suppression]:
        if column is None:
            return None, RELEASED
        if column == "cases":
            return cell_of(source.table, source.status, Cell("cases", source.where, "all"))
        return cell_of(tables, status, Cell(f"kpi:{column}", source.where, "all"))

    rows = []
    for row in exact.iter_rows(named=True):
        numerator_column, denominator_column = KPI_COUNTS[row["kpi"]]
        (numerator, n_how), (denominator, d_how) = count(numerator_column), count(denominator_column)
        if (numerator, denominator) != (row["numerator"], row["denominator"]):
            raise AssertionError(f"KPI {row['kpi']!r}: scoped counts {row['numerator']}/{row['denominator']} differ from "
                                 f"the table's {numerator}/{denominator}")
        rows.append({
            "kpi": row["kpi"], "value": row["value"] if n_how is RELEASED and d_how is RELEASED else None,
            "numerator": None if numerator is None else shown(numerator, n_how, threshold=source.threshold),
            "denominator": shown(denominator or 0, d_how, threshold=source.threshold), "definition": row["definition"],
        })
    return Kpis(rows, today, source.threshold)


def _clusters(source: _Source) -> Clusters:
    t = source.threshold
    dated = source.cases.select("case_id", "jurisdiction", "reported_on")
    places = place_cluster_members_frame(source.session).join(dated, on="case_id", how="inner")
    settings = setting_cluster_members(links_frame(source.session)).join(dated, on="case_id", how="inner")
    groups: list[tuple[str, dict, pl.DataFrame]] = []
    for (cluster_id,), members in places.group_by(["cluster_id"], maintain_order=True):
        first = members.row(0, named=True)
        residential = first["residential"] or first["kind"] in {k.value for k in RESIDENTIAL_KINDS}
        groups.append((f"cluster:place:{cluster_id}", {
            "kind": "place", "where": "a household (not named)" if residential else first["place"], "setting": first["kind"],
            "first": first["first"], "last": first["last"], "status": first["status"]}, members))
    for (source_case, setting), members in settings.group_by(["source_case", "setting"], maintain_order=True):
        groups.append((f"cluster:setting:{source_case}:{setting}", {
            "kind": "setting", "where": f"around one case ({setting})", "setting": setting, "status": "linked"}, members))
    tables = LinkedTable()
    for name, _, members in groups:
        own = members.group_by("jurisdiction").len()
        tables = tables.merge(count_table(dict(own.iter_rows()), source.tree, table=name))
    status = _protected(tables, threshold=t)
    rows = []
    for name, row, members in groups:
        count, how = cell_of(tables, status, Cell(name, source.where, "all"))
        if count == 0:
            continue
        if row["kind"] == "setting":
            mine = source.scoped(members)["reported_on"]
            row = {**row, "first": mine.min(), "last": mine.max()}
        rows.append({**row, "cases": shown(count, how, threshold=t), "_order": (how is not RELEASED, -count if how is RELEASED else 0)})
    # Released sizes largest first, then the suppressed ones by date: an order by their true size would rank them.
    rows.sort(key=lambda r: (*r["_order"], str(r["first"]), r["kind"], r["where"]))
    columns = ("kind", "where", "setting", "cases", "first", "last", "status")
    return Clusters([{k: r[k] for k in columns} for r in rows], t)


def _chains(source: _Source) -> Chains:
    visible = source.scoped(source.cases)["case_id"].to_list()
    links = links_frame(source.session).filter(pl.col("infector_case").is_in(visible) & pl.col("infectee_case").is_in(visible))
    forest = most_likely_tree(links)
    sizes = chain_sizes(forest)
    drawn = [s for s in sizes if s >= source.threshold]
    return Chains(forest, drawn, suppress_small(len(sizes) - len(drawn), threshold=source.threshold), source.threshold)


def curve(session: Session, scope: Scope, *, actor: Actor, by: By = "report", interval: Interval = "day",
          by_jurisdiction: bool = False) -> Curve:
    """New cases per day or ISO week of the scope (optionally per jurisdiction), suppressed; one audit entry."""
    _check(by, interval)
    source = _source(session, scope)
    released = _curve(source, by=by, interval=interval, by_jurisdiction=by_jurisdiction)
    _audit(source, actor, f"curve by {by} date/{interval}{'/jurisdiction' if by_jurisdiction else ''}")
    return released


def rt(session: Session, scope: Scope, *, actor: Actor, by: By = "report", si_mean: float = DEFAULT_SI_MEAN,
       si_sd: float = DEFAULT_SI_SD) -> RtEstimate:
    """Rt of the scope from its released daily curve (see the module docstring); one audit entry.

    Raises ``InputError`` when the curve has fewer than 8 days.
    """
    _check(by, "day")
    source = _source(session, scope)
    released = _rt(source, by=by, si_mean=si_mean, si_sd=si_sd)
    if released.frame is None:
        raise InputError(released.note or "")
    _audit(source, actor, f"rt by {by} date")
    return released


def kpis(session: Session, scope: Scope, *, actor: Actor, today: date) -> Kpis:
    """The operational KPIs of the scope as of ``today``, counts suppressed; one audit entry."""
    source = _source(session, scope)
    released = _kpis(source, today=today)
    _audit(source, actor, f"kpis as of {today}")
    return released


def clusters(session: Session, scope: Scope, *, actor: Actor) -> Clusters:
    """Place and setting clusters with the scope's cases, sizes suppressed, households not named; one audit entry."""
    source = _source(session, scope)
    released = _clusters(source)
    _audit(source, actor, "clusters")
    return released


def overview(session: Session, scope: Scope, *, actor: Actor, today: date, by: By = "report",
             si_mean: float = DEFAULT_SI_MEAN, si_sd: float = DEFAULT_SI_SD, name: str = "report",
             with_clusters: bool = True) -> Overview:
    """Curve, Rt, KPIs and (``with_clusters``) clusters and chains of the scope, as one release with one audit entry.

    ``name`` says what the release is for in the audit entry (``report``, ``dashboard``).
    """
    _check(by, "day")
    source = _source(session, scope)
    released = Overview(
        source.name, today, source.threshold, _curve(source, by=by, interval="day", by_jurisdiction=False),
        _rt(source, by=by, si_mean=si_mean, si_sd=si_sd), _kpis(source, today=today),
        _clusters(source) if with_clusters else None, _chains(source) if with_clusters else None,
    )
    _audit(source, actor, f"{name} by {by} date as of {today}")
    return released
