"""API routes for epidemiologists (aggregates), privacy officers (audit) and administrators (accounts)."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from sqlalchemy.orm import Session

from epitrace import settings
from epitrace.analytics.rt import DEFAULT_SI_MEAN, DEFAULT_SI_SD, rt_from_daily_counts
from epitrace.api import schemas as s
from epitrace.domain.privacy import suppress_small
from epitrace.domain.roles import Permission
from epitrace.errors import InputError, Unavailable
from epitrace.service.auth import actor_of, get_db, require, scope_of
from epitrace.settings import Settings
from epitrace.storage import audit
from epitrace.storage import workbench as wb
from epitrace.storage.accounts import Account, add_user, list_users
from epitrace.storage.analytics import cases_frame
from epitrace.storage.scope import Scope

router = APIRouter(prefix="/api")
Db = Annotated[Session, Depends(get_db)]
AGGREGATES = Depends(require(Permission.READ_AGGREGATES))


@router.get("/analytics/curve", tags=["analytics"])
def curve(db: Db, account: Account = AGGREGATES, by: str = Query("report", pattern="^(report|onset)$"),
          interval: str = Query("day", pattern="^(day|week)$"), by_jurisdiction: bool = False) -> dict:
    """The epidemic curve of your jurisdiction; counts below the small-count threshold are suppressed."""
    from epitrace.analytics.curves import epicurve

    threshold = Settings.from_env().small_count_threshold
    table = epicurve(cases_frame(db, scope_of(account)), by=by, interval=interval, by_jurisdiction=by_jurisdiction)  # type: ignore[arg-type]
    audit.record(db, actor_of(account, "surveillance"), action="report", record_type="aggregate", record_id="curve", person_id=None)
    return {"threshold": threshold, "data": [{**r, "cases": suppress_small(r["cases"], threshold=threshold)}
                                             for r in table.drop("period").iter_rows(named=True)]}


@router.get("/analytics/kpis", tags=["analytics"])
def kpis(db: Db, account: Account = AGGREGATES, today: date | None = None) -> dict:
    """Operational KPIs of your jurisdiction's tracing."""
    from epitrace.analytics.curves import kpis as compute
    from epitrace.storage.analytics import contact_tasks_frame

    cases = cases_frame(db, scope_of(account))
    visible = set(cases["case_id"].to_list())
    tasks = contact_tasks_frame(db, case_ids=visible)
    audit.record(db, actor_of(account, "surveillance"), action="report", record_type="aggregate", record_id="kpis", person_id=None)
    return {"data": compute(cases, tasks, today=today or settings.today()).to_dicts()}


@router.get("/analytics/rt", tags=["analytics"])
def rt(db: Db, account: Account = AGGREGATES, si_mean: float = DEFAULT_SI_MEAN, si_sd: float = DEFAULT_SI_SD) -> dict:
    """Rt over weekly windows from your jurisdiction's cases by report date."""
    from epitrace.analytics.curves import epicurve

    curve = epicurve(cases_frame(db, scope_of(account)), by="report", interval="day")
    table = rt_from_daily_counts(curve["cases"], si_mean=si_mean, si_sd=si_sd)
    if table is None:
        raise InputError(f"Rt needs at least 8 days of cases; there are {curve.height}")
    audit.record(db, actor_of(account, "surveillance"), action="report", record_type="aggregate", record_id="rt", person_id=None)
    return {"first_day": curve["period"][0], "data": table.to_dicts()}


@router.get("/reports/report.pdf", tags=["analytics"], response_class=Response)
def report_pdf(db: Db, account: Account = AGGREGATES) -> Response:
    """The outbreak report as PDF (small counts suppressed, no identifiers)."""
    from epitrace.reports.report import ReportOptions, build_report

    with tempfile.TemporaryDirectory() as folder:
        build_report(db, Path(folder), ReportOptions(today=settings.today(), threshold=Settings.from_env().small_count_threshold),
                     actor=actor_of(account, "surveillance"))
        pdf = (Path(folder) / "report.pdf").read_bytes()
    return Response(pdf, media_type="application/pdf", headers={"Content-Disposition": "attachment; filename=report.pdf"})


@router.get("/audit", response_model=list[s.AuditEventPublic], tags=["audit"])
def audit_events(db: Db, person_id: int = Query(ge=1, le=s.MAX_ID, description="The person whose accesses to list."), account: Account = Depends(require(Permission.READ_AUDIT))) -> list[dict]:
    """Who accessed a person's data, newest first (privacy officers)."""
    audit.record(db, actor_of(account, "privacy oversight"), action="read", record_type="audit", record_id=person_id,
                 person_id=person_id)
    return wb.audit_for_person(db, person_id)


@router.get("/audit/verify", response_model=s.AuditVerified, tags=["audit"])
def audit_verify(db: Db, account: Account = Depends(require(Permission.READ_AUDIT))) -> dict:
    """Check the audit log's hash chain; names the first broken entry."""
    broken = audit.verify(db)
    return {"ok": broken is None, "first_broken_entry": broken}


@router.get("/users", response_model=list[s.UserPublic], tags=["accounts"])
def users(db: Db, account: Account = Depends(require(Permission.MANAGE_USERS))) -> list[dict]:
    """Accounts with role and jurisdiction."""
    return [{"username": u.username, "role": u.role, "jurisdiction": code, "active": u.active} for u, code in list_users(db)]


@router.post("/users", response_model=s.UserPublic, tags=["accounts"], status_code=201)
def create_user(body: s.UserCreate, db: Db, account: Account = Depends(require(Permission.MANAGE_USERS))) -> dict:
    """Create an account in your jurisdiction or below it."""
    from epitrace.storage.jurisdictions import get_jurisdiction

    if not Scope(account.jurisdiction_ids).allows(get_jurisdiction(db, body.jurisdiction).id):
        raise InputError(f"jurisdiction {body.jurisdiction!r} is outside yours ({account.jurisdiction_code})")
    user = add_user(db, body.username, body.password, role=body.role, jurisdiction_code=body.jurisdiction)
    return {"username": user.username, "role": user.role, "jurisdiction": body.jurisdiction}


feed_router = APIRouter()


@feed_router.get("/feed/", response_model=s.FeedDocument, tags=["feed"])
def public_feed(db: Db, since: int = Query(0, ge=0, le=s.MAX_ID, description="Only batches after this version.")) -> dict:
    """The public exposure feed (no sign-in): signed, hash-chained batches of redacted windows."""
    from epitrace.feed import load_private_key
    from epitrace.storage.publication import current_public_key, feed_document

    try:
        key = load_private_key(Path(settings.Settings.from_env().feed_key))
    except Exception:  # noqa: BLE001 - no key: the feed is not set up on this server
        raise Unavailable("the feed is not set up on this server (no signing key): run `epitrace feed keygen`") from None
    return feed_document(db, public_key=current_public_key(key), since=since, today=settings.today())
