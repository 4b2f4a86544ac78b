"""Case-to-case co-location: cases at the same place while one of them was infectious.

Every case's exposure windows are matched (by the exposure engine, venue mode on stored places)
against the other cases' visits. A match whose timing fits the incubation period proposes a
link from the infectious case to the other, and every place where two or more cases overlapped
proposes a cluster. Both carry the shared place and time as evidence and stay proposed until a
tracer accepts them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone

import polars as pl
from sqlalchemy.orm import Session

from epitrace.engine import match
from epitrace.storage import colocation as store
from epitrace.storage.cases import profile_of
from epitrace.storage.models import Case

DEFAULT_MIN_OVERLAP_S = 15 * 60


@dataclass(frozen=True)
class ColocationReport:
    """What one co-location run found."""

    pairs: int
    links_proposed: int
    clusters_touched: int
    cases_added_to_clusters: int


def _first_sign(case: Case) -> date:
    return min(d for d in (case.onset_date, case.specimen_date, case.reported_on) if d is not None)


def _utc(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, timezone.utc).replace(tzinfo=None)


def colocate_cases(session: Session, *, min_overlap_s: int = DEFAULT_MIN_OVERLAP_S) -> ColocationReport:
    """Match every case's windows against the other cases' visits; propose links and clusters."""
    windows = store.exposure_windows_frame(session)
    visits = store.case_visits_frame(session)
    if windows.is_empty() or visits.is_empty():
        return ColocationReport(0, 0, 0, 0)
    exposures = match(visits, windows.select("window_id", "venue_id", "start", "end"), min_overlap_s=min_overlap_s)
    pairs = (
        exposures.join(windows.select("window_id", "case_id", "venue_id"), on="window_id")
        .rename({"person_id": "exposed_case", "case_id": "source_case"})
        .filter(pl.col("exposed_case") != pl.col("source_case"))
        .sort("window_id", "exposed_case")  # one row per (window, exposed case): a join's order is not guaranteed
    )
    if pairs.is_empty():
        return ColocationReport(0, 0, 0, 0)
    case_ids = sorted(set(pairs["exposed_case"].to_list()) | set(pairs["source_case"].to_list()))
    cases = store.cases_by_id(session, case_ids)
    names = store.place_names(session, pairs["venue_id"].unique().to_list())
    # Homes are never named in evidence or cluster descriptions (they identify people).
    homes = store.residential_place_ids(session, list(names))
    names = {pid: ("a shared home" if pid in homes else name) for pid, name in names.items()}
    linked = store.linked_pairs(session)
    proposed = 0
    # The longest shared time per (source, exposed) pair is the evidence shown; of equally long ones, the
    # earliest (a total order, so the same seed proposes the same links on every backend: issue 11).
    best = (pairs.sort(["overlap_s", "first_start", "window_id"], descending=[True, False, False])
            .unique(["source_case", "exposed_case"], keep="first", maintain_order=True))
    rows = best.to_dicts()
    # When two cases could have infected each other, the one who showed signs first is the source.
    rows.sort(key=lambda r: (_first_sign(cases[r["source_case"]]), r["source_case"], r["exposed_case"]))
    for row in rows:
        source, exposed = cases[row["source_case"]], cases[row["exposed_case"]]
        if frozenset((source.id, exposed.id)) in linked:
            continue
        profile = profile_of(session, exposed)
        exposure_day = _utc(row["last_end"] - 1).date()
        days = (_first_sign(exposed) - exposure_day).days
        if not profile.incubation_min_days <= days <= profile.incubation_max_days:
            continue
        start, end = _utc(row["first_start"]), _utc(row["last_end"])
        evidence = (
            f"co-located at {names.get(row['venue_id'], 'place ' + str(row['venue_id']))} on {start:%Y-%m-%d} "
            f"{start:%H:%M}-{end:%H:%M} UTC ({row['overlap_s'] // 60} min) while case {source.id} was infectious; "
            f"case {exposed.id} first showed signs {days} day(s) later"
        )
        store.add_colocation_link(session, infector=source.id, infectee=exposed.id, evidence=evidence)
        linked.add(frozenset((source.id, exposed.id)))
        proposed += 1
    touched = added = 0
    for (venue_id,), group in pairs.sort("venue_id", maintain_order=True).group_by(["venue_id"], maintain_order=True):
        members = set(group["exposed_case"].to_list()) | set(group["source_case"].to_list())
        first, last = _utc(group["first_start"].min()), _utc(group["last_end"].max())  # type: ignore[arg-type]
        evidence = (f"{len(members)} cases at {names.get(venue_id, venue_id)} at overlapping times between "
                    f"{first:%Y-%m-%d %H:%M} and {last:%Y-%m-%d %H:%M} UTC, at least one of them infectious")
        _, new = store.upsert_cluster(session, place_id=venue_id, case_ids=members, first_start=first,
                                      last_end=last, evidence=evidence)
        touched += 1
        added += new
    session.flush()
    return ColocationReport(pairs.height, proposed, touched, added)

