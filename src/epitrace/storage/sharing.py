"""Voluntary sharing: a one-time code lets a case share their own trail or check-ins.

The upload (checked and read by ``service.sharing``: the code before the body) is read in memory,
cut to the case's infectious period and turned into visits that
wait for a tracer's confirmation; the raw file is never stored. Consent records what the person
agreed to and what was kept.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import polars as pl
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from epitrace.domain import limits
from epitrace.domain.periods import infectious_period
from epitrace.errors import InputError, NotFound
from epitrace.storage import audit, signin
from epitrace.storage.audit import Actor
from epitrace.storage.cases import profile_of
from epitrace.storage.investigation import PlaceSpec, VisitSpec, add_visits, derive_windows
from epitrace.storage.models import Case, Consent, ShareCode, Visit, utcnow
from epitrace.storage.scope import Scope, scoped_case

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread on the phone
CODE_HOURS = 48
TOO_MANY = "too many wrong codes from your address"
INVALID = "this code is not valid (mistyped, already used or expired): ask your contact tracer for a new one"
CONSENT = "I agree to share this location history and these check-ins with the contact tracers of my case, to find places and people at risk."


def _digest(code: str) -> str:
    return hashlib.sha256(code.strip().upper().replace("-", "").encode()).hexdigest()


def issue_code(session: Session, scope: Scope, case_id: int, *, actor: Actor) -> str:
    """A one-time code (10 characters, valid for 48 hours) for the case to share with."""
    case = scoped_case(session, scope, case_id, actor=actor)
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(10))
    session.add(ShareCode(code_hash=_digest(code), case_id=case.id, issued_by=actor.name,
                          expires_at=utcnow() + timedelta(hours=CODE_HOURS)))
    audit.record(session, actor, action="issue code", record_type="case", record_id=case.id, person_id=case.person_id)
    return f"{code[:5]}-{code[5:]}"


@dataclass(frozen=True)
class Shared:
    case_id: int
    visits: int
    stays_outside_period: int
    checkins: int


def check_code(session: Session, code: str) -> ShareCode:
    """The code's row if the code can be used now (issued, unused, unexpired), else NotFound, the
    same for every reason. The share routes call this before they read the upload."""
    row = None
    if len(code) <= limits.CODE:
        row = session.scalar(select(ShareCode).where(ShareCode.code_hash == _digest(code)))
    if row is None or row.used_at is not None or row.expires_at < utcnow():
        raise NotFound(INVALID)
    return row


def check_code_limited(engine: Engine, code: str, *, address: str) -> None:
    """:func:`check_code` in a transaction of its own, counting a wrong code against ``address`` in the
    database (``storage.signin``'s share key), so every worker sees the same count: after 5 wrong codes,
    one more try per 15 minutes (429 with ``Retry-After``)."""
    signin.limited_check(engine, _share_key(address), signin.SHARE, lambda session: check_code(session, code),
                         refusal=TOO_MANY)


def share_throttled_for(engine: Engine, *, address: str) -> int:
    """Seconds ``address`` must wait before it may try a code again (0: now)."""
    return signin.throttled_for(engine, _share_key(address), signin.SHARE)


def _share_key(address: str) -> str:
    return f"share:{address[:64]}"


def share(session: Session, code: str, *, trail: pl.DataFrame | None, checkins: list | None, consent: bool) -> Shared:  # type: ignore[type-arg]
    """Turn an upload into unconfirmed visits of the code's case; the code is then used up."""
    if not consent:
        raise InputError("sharing needs your consent: tick the box that you agree, or do not share")
    row = check_code(session, code)
    case = session.get_one(Case, row.case_id)
    period = infectious_period(profile_of(session, case), onset=case.onset_date, specimen=case.specimen_date,
                               isolation=case.isolation_date)
    start, end = int(period.start.timestamp()), int(period.end.timestamp())
    specs, outside = [], 0
    if trail is not None:
        for stay in trail.iter_rows(named=True):
            if stay["end"] <= start or stay["start"] >= end:
                outside += 1
                continue
            specs.append(VisitSpec(PlaceSpec(name=f"shared stay at {stay['lat']:.5f}, {stay['lon']:.5f}", kind="other",
                                             lat=stay["lat"], lon=stay["lon"]),
                                   datetime.fromtimestamp(stay["start"], timezone.utc),
                                   datetime.fromtimestamp(stay["end"], timezone.utc), "trail"))
    for item in checkins or []:
        if item.departure <= start or item.arrival >= end:
            continue
        specs.append(VisitSpec(PlaceSpec(name=item.venue_name, kind="venue"), datetime.fromtimestamp(item.arrival, timezone.utc),
                               datetime.fromtimestamp(item.departure, timezone.utc), "check-in"))
    actor = Actor(name=f"case {case.id} (shared with code)", purpose="voluntary sharing for the interview")
    visits = add_visits(session, case.id, specs, actor=actor) if specs else []
    for visit in visits:
        visit.confirmed = False
    derive_windows(session, case)
    row.used_at = utcnow()
    shared = {"trail_stays_in_period": len([s for s in specs if s.source == "trail"]), "trail_stays_outside_period": outside,
              "checkins_in_period": len([s for s in specs if s.source == "check-in"]),
              "raw_file_kept": False}
    session.add(Consent(case_id=case.id, share_code_id=row.id, statement=CONSENT, shared=json.dumps(shared)))
    return Shared(case.id, len(visits), outside, shared["checkins_in_period"])


def confirm_visit(session: Session, scope: Scope, visit_id: int, *, actor: Actor) -> Visit:
    """A tracer confirms a shared visit; its exposure window follows."""
    visit = session.get(Visit, visit_id)
    if visit is None:
        raise NotFound(f"no visit with id {visit_id}")
    try:
        case = scoped_case(session, scope, visit.case_id, actor=actor)
    except NotFound:  # refused like a missing visit: the case id is not named (issue 10)
        raise NotFound(f"no visit with id {visit_id}") from None
    visit.confirmed = True
    audit.record(session, actor, action="confirm", record_type="visit", record_id=visit.id, person_id=case.person_id)
    derive_windows(session, case)
    return visit
