"""Publishing exposure windows: propose (with redaction), review, publish signed batches, serve the feed."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from epitrace.domain.publication import PlaceFacts, redact
from epitrace.domain.statuses import PublicationStatus
from epitrace.errors import Conflict, InputError, NotFound
from epitrace.feed.signing import FORMAT, GENESIS, public_key_text, sign_batch
from epitrace.storage import audit
from epitrace.storage.audit import Actor
from epitrace.storage.cases import profile_of
from epitrace.storage.models import Case, ExposureWindow, FeedBatch, Place, PublishedWindow
from epitrace.storage.scope import Scope, case_filter, scoped_case


@dataclass(frozen=True)
class Proposal:
    window_id: int
    proposal_id: int | None
    refusal: str | None
    changes: list[str]
    warnings: list[str]


def _other_cases_present(session: Session, window: ExposureWindow) -> int:
    """Other cases with a window at the same place overlapping this one in time."""
    return session.scalar(
        select(func.count(func.distinct(ExposureWindow.case_id))).where(
            ExposureWindow.place_id == window.place_id, ExposureWindow.case_id != window.case_id,
            ExposureWindow.start_at < window.end_at, ExposureWindow.end_at > window.start_at)
    ) or 0


def propose_case_windows(session: Session, scope: Scope, case_id: int, *, actor: Actor) -> list[Proposal]:
    """Propose every exposure window of a case for publication, redacted; homes are refused."""
    case = scoped_case(session, scope, case_id, actor=actor)
    profile = profile_of(session, case)
    out = []
    windows = session.scalars(select(ExposureWindow).where(ExposureWindow.case_id == case.id).order_by(ExposureWindow.start_at))
    for window in windows:
        place = session.get_one(Place, window.place_id)
        facts = PlaceFacts(place.name, place.kind, place.is_residential, place.lat, place.lon, place.radius_m)
        r = redact(facts, start=window.start_at, end=window.end_at, other_cases_present=_other_cases_present(session, window))
        if not r.publishable:
            out.append(Proposal(window.id, None, r.refusal, [], []))
            continue
        if session.scalar(select(PublishedWindow.id).where(PublishedWindow.window_id == window.id)) is not None:
            out.append(Proposal(window.id, None, "already proposed", [], []))
            continue
        row = PublishedWindow(
            window_id=window.id, label=r.label, lat=r.lat, lon=r.lon, radius_m=r.radius_m,
            start_at=r.start.replace(tzinfo=None), end_at=r.end.replace(tzinfo=None),  # type: ignore[union-attr]
            expires_on=(r.end - timedelta(seconds=1)).date() + timedelta(days=profile.symptom_check_days),  # type: ignore[operator]
            changes=json.dumps(r.changes), warnings=json.dumps(r.warnings), proposed_by=actor.name,
        )
        session.add(row)
        session.flush()
        out.append(Proposal(window.id, row.id, None, r.changes, r.warnings))
    audit.record(session, actor, action="propose", record_type="publication", record_id=case.id, person_id=case.person_id)
    return out


def list_proposals(session: Session, scope: Scope, *, status: PublicationStatus = PublicationStatus.PROPOSED) -> list[dict]:
    rows = session.execute(
        select(PublishedWindow, ExposureWindow.case_id).join(ExposureWindow, ExposureWindow.id == PublishedWindow.window_id)
        .join(Case, Case.id == ExposureWindow.case_id).where(PublishedWindow.status == status, case_filter(scope))
        .order_by(PublishedWindow.id)
    ).all()
    return [{"id": p.id, "case_id": case_id, "place": p.label, "start": p.start_at, "end": p.end_at, "radius_m": p.radius_m,
             "changes": json.loads(p.changes), "warnings": json.loads(p.warnings), "proposed_by": p.proposed_by}
            for p, case_id in rows]


def review_proposal(session: Session, scope: Scope, proposal_id: int, *, approve: bool, acknowledge_warnings: bool,
                    actor: Actor) -> PublishedWindow:
    """A supervisor approves (or rejects) a proposal; warnings must be acknowledged to approve."""
    missing = NotFound(f"no publication proposal {proposal_id}; list them with `epitrace feed review`")
    found = session.execute(
        select(PublishedWindow, ExposureWindow, Case).join(ExposureWindow, ExposureWindow.id == PublishedWindow.window_id)
        .join(Case, Case.id == ExposureWindow.case_id).where(PublishedWindow.id == proposal_id)
    ).first()
    if found is None:
        raise missing
    row, window, case = found
    if not scope.allows(case.jurisdiction_id):
        # Refused exactly like a missing proposal: its case id is not named (issue 10).
        audit.deny(session, actor, record_type="publication", record_id=proposal_id, person_id=case.person_id)
        raise missing
    if row.status != PublicationStatus.PROPOSED:
        raise Conflict(f"proposal {proposal_id} is already {row.status}")
    warnings = json.loads(row.warnings)
    if approve and warnings and not acknowledge_warnings:
        raise InputError(f"proposal {proposal_id} has warnings ({'; '.join(warnings)}): approve with --acknowledge-warnings "
                         "if publishing is still right, or reject it")
    row.status, row.reviewed_by = (PublicationStatus.APPROVED if approve else PublicationStatus.REJECTED), actor.name
    audit.record(session, actor, action="approve" if approve else "reject", record_type="publication",
                 record_id=proposal_id, person_id=case.person_id)
    return row


def publish_batch(session: Session, key: Ed25519PrivateKey, *, today: date, test_info: str, actor: Actor) -> FeedBatch | None:
    """Append one signed batch with every approved, unpublished window; None when there is nothing new."""
    approved = session.scalars(select(PublishedWindow).where(PublishedWindow.status == PublicationStatus.APPROVED).order_by(PublishedWindow.id)).all()
    if not approved:
        return None
    windows = [{"id": f"w{p.id}", "label": p.label, "lat": p.lat, "lon": p.lon, "radius_m": p.radius_m,
                "start": int(p.start_at.replace(tzinfo=timezone.utc).timestamp()),
                "end": int(p.end_at.replace(tzinfo=timezone.utc).timestamp()),
                "expires_on": p.expires_on.isoformat()} for p in approved]
    row = append_batch(session, key, content={"windows": windows}, advice=test_info,
                       expires_on=max(p.expires_on for p in approved), actor=actor)
    for p in approved:
        p.status, p.batch_version = PublicationStatus.PUBLISHED, row.version
    return row


def append_batch(session: Session, key: Ed25519PrivateKey, *, content: dict, advice: str, expires_on: date,
                 actor: Actor) -> FeedBatch:
    """Sign ``content`` as the next batch, chained to the last one."""
    last = session.scalars(select(FeedBatch).order_by(FeedBatch.version.desc()).limit(1)).first()
    version = (last.version + 1) if last else 1
    payload = {"version": version, "published_at": datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
               "advice": advice, **content}
    batch = sign_batch(key, payload, previous=last.hash if last else GENESIS)
    row = FeedBatch(version=version, previous=batch["previous"], hash=batch["hash"], signature=batch["signature"],
                    payload=json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False),
                    expires_on=expires_on)
    session.add(row)
    audit.record(session, actor, action="publish", record_type="feed", record_id=version, person_id=None)
    return row


def feed_document(session: Session, *, public_key: str, since: int = 0, today: date) -> dict:
    """The feed from ``since`` on; batches whose windows have all expired are left out at the start,
    and ``starts_after`` lets a client check the chain from the first batch it receives."""
    batches = session.scalars(select(FeedBatch).where(FeedBatch.version > since).order_by(FeedBatch.version)).all()
    while batches and batches[0].expires_on < today:
        batches = batches[1:]
    return {
        "format": FORMAT,
        "public_key": public_key,
        "starts_after": batches[0].previous if batches else GENESIS,
        # payload_text is the exact signed byte string, so verifiers in other languages (the
        # self-check page's JavaScript) need not reproduce Python's JSON number formatting.
        "batches": [{"version": b.version, "previous": b.previous, "hash": b.hash, "signature": b.signature,
                     "payload": json.loads(b.payload), "payload_text": b.payload} for b in batches],
    }


def current_public_key(key: Ed25519PrivateKey) -> str:
    return public_key_text(key.public_key())
