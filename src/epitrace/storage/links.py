"""Transmission links and clusters as tracers review them."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from epitrace.domain.statuses import LinkCertainty
from epitrace.errors import Conflict, InputError, NotFound
from epitrace.storage import audit
from epitrace.storage.audit import Actor
from epitrace.storage.models import Case, Cluster, ClusterCase, Place, TransmissionLink, utcnow
from epitrace.storage.scope import Scope, case_filter

REVIEWS = {"confirm": LinkCertainty.CONFIRMED.value, "reject": "rejected"}


def review_link(session: Session, link_id: int, *, decision: str, actor: Actor) -> TransmissionLink:
    """A tracer confirms or rejects a proposed link; the decision and reviewer are kept."""
    if decision not in REVIEWS:
        raise InputError(f"decision {decision!r} is not valid: expected confirm or reject")
    link = session.get(TransmissionLink, link_id)
    if link is None:
        raise NotFound(f"no transmission link {link_id}; list them with `epitrace links list`")
    if link.reviewed_by is not None:
        raise Conflict(f"link {link_id} was already reviewed by {link.reviewed_by} ({link.certainty})")
    link.certainty = REVIEWS[decision]
    link.reviewed_by, link.reviewed_at = actor.name, utcnow()
    infectee = session.get_one(Case, link.infectee_case_id)
    audit.record(session, actor, action=decision, record_type="link", record_id=link_id, person_id=infectee.person_id)
    return link


def list_clusters(session: Session) -> list[tuple[Cluster, str, int]]:
    """Clusters, largest first, with their place name and size."""
    size = func.count(ClusterCase.id)
    rows = session.execute(
        select(Cluster, Place.name, size)
        .join(Place, Place.id == Cluster.place_id)
        .join(ClusterCase, ClusterCase.cluster_id == Cluster.id)
        .group_by(Cluster.id, Place.name)
        .order_by(size.desc(), Cluster.id)
    ).all()
    return [(c, name, n) for c, name, n in rows]


def case_ids_in_scope(session: Session, scope: Scope) -> set[int]:
    """Ids of the cases the scope sees."""
    return set(session.scalars(select(Case.id).where(case_filter(scope))))


def clusters_of_cases(session: Session, case_ids: set[int]) -> list[dict]:
    """Clusters with at least one of these cases: id, place (households never named) and how many of them."""
    return [
        {"id": cid, "place": "a household" if kind == "home" else name, "cases": n}
        for cid, name, kind, n in session.execute(
            select(Cluster.id, Place.name, Place.kind, func.count(ClusterCase.id))
            .join(Place, Place.id == Cluster.place_id).join(ClusterCase, ClusterCase.cluster_id == Cluster.id)
            .where(ClusterCase.case_id.in_(case_ids)).group_by(Cluster.id, Place.name, Place.kind).order_by(Cluster.id)
        )
    ]


def cluster_case_ids(session: Session, cluster_id: int) -> set[int]:
    """Ids of a cluster's cases."""
    return set(session.scalars(select(ClusterCase.case_id).where(ClusterCase.cluster_id == cluster_id)))
