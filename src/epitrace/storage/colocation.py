"""Queries behind case-to-case co-location: windows and visits as frames, links and clusters."""

from __future__ import annotations

from datetime import datetime

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from epitrace.domain.statuses import LinkCertainty
from epitrace.storage.models import Case, Cluster, ClusterCase, ExposureWindow, Place, TransmissionLink, Visit

EPOCH_SECONDS = pl.col("start").dt.epoch("s"), pl.col("end").dt.epoch("s")


def exposure_windows_frame(session: Session) -> pl.DataFrame:
    """Every exposure window: ``window_id, case_id, venue_id (place id), start, end`` (Unix s), by id."""
    rows = session.execute(
        select(ExposureWindow.id, ExposureWindow.case_id, ExposureWindow.place_id,
               ExposureWindow.start_at, ExposureWindow.end_at).order_by(ExposureWindow.id)
    ).all()
    frame = pl.DataFrame(rows, schema=["window_id", "case_id", "venue_id", "start", "end"], orient="row",
                         schema_overrides={"start": pl.Datetime("us"), "end": pl.Datetime("us")})
    return frame.with_columns(*EPOCH_SECONDS)


def case_visits_frame(session: Session) -> pl.DataFrame:
    """Every case visit as a presence: ``person_id`` (the case id), ``venue_id, start, end``, by visit id."""
    rows = session.execute(select(Visit.case_id, Visit.place_id, Visit.start_at, Visit.end_at).order_by(Visit.id)).all()
    frame = pl.DataFrame(rows, schema=["person_id", "venue_id", "start", "end"], orient="row",
                         schema_overrides={"start": pl.Datetime("us"), "end": pl.Datetime("us")})
    return frame.with_columns(*EPOCH_SECONDS)


def cases_by_id(session: Session, ids: list[int]) -> dict[int, Case]:
    return {c.id: c for c in session.scalars(select(Case).where(Case.id.in_(ids)))} if ids else {}


def place_names(session: Session, ids: list[int]) -> dict[int, str]:
    return dict(session.execute(select(Place.id, Place.name).where(Place.id.in_(ids))).all()) if ids else {}


def residential_place_ids(session: Session, ids: list[int]) -> set[int]:
    return set(session.scalars(select(Place.id).where(Place.id.in_(ids), Place.is_residential.is_(True)))) if ids else set()


def linked_pairs(session: Session) -> set[frozenset[int]]:
    """Case pairs that already have a link, in either direction."""
    return {frozenset(p) for p in session.execute(select(TransmissionLink.infector_case_id, TransmissionLink.infectee_case_id))}


def add_colocation_link(session: Session, *, infector: int, infectee: int, evidence: str) -> None:
    session.add(TransmissionLink(infector_case_id=infector, infectee_case_id=infectee,
                                 certainty=LinkCertainty.POSSIBLE.value, evidence=evidence, source="co-location"))


def upsert_cluster(session: Session, *, place_id: int, case_ids: set[int], first_start: datetime,
                   last_end: datetime, evidence: str) -> tuple[Cluster, int]:
    """The place's cluster with these cases added; returns it and how many cases were new to it."""
    cluster = session.scalar(select(Cluster).where(Cluster.place_id == place_id))
    if cluster is None:
        cluster = Cluster(place_id=place_id, first_start=first_start, last_end=last_end, evidence=evidence)
        session.add(cluster)
        session.flush()
    else:
        cluster.first_start = min(cluster.first_start, first_start)
        cluster.last_end = max(cluster.last_end, last_end)
        cluster.evidence = evidence
    known = set(session.scalars(select(ClusterCase.case_id).where(ClusterCase.cluster_id == cluster.id)))
    new = sorted(case_ids - known)
    session.add_all(ClusterCase(cluster_id=cluster.id, case_id=c) for c in new)
    session.flush()
    return cluster, len(new)
