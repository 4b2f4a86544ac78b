"""The frames analytics read: one query each, no personal identifiers beyond record ids."""

from __future__ import annotations

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from epitrace.storage.models import Case, Cluster, ClusterCase, Contact, Jurisdiction, Place, Task, TransmissionLink
from epitrace.storage.scope import EVERYWHERE, Scope, case_filter


def _frame(rows, schema: dict) -> pl.DataFrame:  # type: ignore[no-untyped-def]
    return pl.DataFrame([tuple(r) for r in rows], schema=schema, orient="row")


def cases_frame(session: Session, scope: Scope = EVERYWHERE) -> pl.DataFrame:
    """``case_id, jurisdiction, status, onset, specimen, reported_on, interviewed_on, known_contact`` in ``scope``.

    ``known_contact`` is true when the person was someone's contact on or before the report date.
    """
    rows = session.execute(
        select(Case.id, Jurisdiction.code, Case.status, Case.onset_date, Case.specimen_date, Case.reported_on,
               Case.interviewed_on)
        .join(Jurisdiction, Jurisdiction.id == Case.jurisdiction_id)
        .where(case_filter(scope))
    ).all()
    known = set(
        session.scalars(
            select(Case.id).join(Contact, Contact.person_id == Case.person_id)
            .where(Contact.identified_on <= Case.reported_on, case_filter(scope))
        )
    )
    frame = _frame(rows, {
        "case_id": pl.Int64, "jurisdiction": pl.String, "status": pl.String, "onset": pl.Date, "specimen": pl.Date,
        "reported_on": pl.Date, "interviewed_on": pl.Date,
    })
    return frame.with_columns(pl.col("case_id").is_in(list(known)).alias("known_contact"))


def jurisdictions_frame(session: Session) -> pl.DataFrame:
    """Every jurisdiction: ``code, parent`` (the parent's code; null at the top)."""
    parent = aliased(Jurisdiction)
    rows = session.execute(
        select(Jurisdiction.code, parent.code).outerjoin(parent, parent.id == Jurisdiction.parent_id).order_by(Jurisdiction.code)
    ).all()
    return _frame(rows, {"code": pl.String, "parent": pl.String})


def contact_tasks_frame(session: Session, *, case_ids: set[int] | None = None) -> pl.DataFrame:
    """Contacts' notify and test tasks: ``contact_id, kind, identified_on, due_on, status, completed_on, result``,
    and ``jurisdiction``, that of the case that named the contact.

    With ``case_ids``, only contacts named by those cases.
    """
    query = (
        select(Contact.id, Task.kind, Contact.identified_on, Task.due_on, Task.status, Task.completed_on, Task.result,
               Jurisdiction.code)
        .join(Task, Task.contact_id == Contact.id)
        .join(Case, Case.id == Contact.case_id)
        .join(Jurisdiction, Jurisdiction.id == Case.jurisdiction_id)
        .where(Task.kind.in_(["notify", "test"]))
        .order_by(Task.id)
    )
    if case_ids is not None:
        query = query.where(Contact.case_id.in_(case_ids))
    rows = session.execute(query).all()
    return _frame(rows, {"contact_id": pl.Int64, "kind": pl.String, "identified_on": pl.Date, "due_on": pl.Date,
                         "status": pl.String, "completed_on": pl.Date, "result": pl.String, "jurisdiction": pl.String})


def links_frame(session: Session) -> pl.DataFrame:
    """``infector_case, infectee_case, certainty, source, setting`` (the setting of the naming contact, if any)."""
    rows = session.execute(
        select(TransmissionLink.infector_case_id, TransmissionLink.infectee_case_id, TransmissionLink.certainty,
               TransmissionLink.source, Contact.setting)
        .outerjoin(Case, Case.id == TransmissionLink.infectee_case_id)
        .outerjoin(Contact, (Contact.case_id == TransmissionLink.infector_case_id) & (Contact.person_id == Case.person_id))
        .order_by(TransmissionLink.id)
    ).all()
    return _frame(rows, {"infector_case": pl.Int64, "infectee_case": pl.Int64, "certainty": pl.String,
                         "source": pl.String, "setting": pl.String})


def place_cluster_members_frame(session: Session) -> pl.DataFrame:
    """Co-location clusters and their cases: ``cluster_id, place, kind, residential, status, first, last, case_id``.

    ``first`` and ``last`` are the dates of the cluster's first and last shared visit.
    """
    rows = session.execute(
        select(Cluster.id, Place.name, Place.kind, Place.is_residential, Cluster.status, Cluster.first_start,
               Cluster.last_end, ClusterCase.case_id)
        .join(Place, Place.id == Cluster.place_id)
        .join(ClusterCase, ClusterCase.cluster_id == Cluster.id)
        .order_by(Cluster.id, ClusterCase.case_id)
    ).all()
    frame = _frame(rows, {"cluster_id": pl.Int64, "place": pl.String, "kind": pl.String, "residential": pl.Boolean,
                          "status": pl.String, "first": pl.Datetime("us"), "last": pl.Datetime("us"), "case_id": pl.Int64})
    return frame.with_columns(pl.col("first").dt.date(), pl.col("last").dt.date())
