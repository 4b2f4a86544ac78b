"""API routes for epidemiologists (aggregates), privacy officers (audit) and administrators (accounts)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as FastAPIPath
from fastapi.responses import Response
from sqlalchemy.orm import Session

from epitrace import settings
from epitrace.analytics.defaults import DEFAULT_SI_MEAN, DEFAULT_SI_SD
from epitrace.api import schemas as s
from epitrace.domain import limits
from epitrace.domain.roles import Permission
from epitrace.errors import Unavailable
from epitrace.service.auth import READ_ONLY_DB, REQUEST_DB, actor_of, current_account, require, scope_of
from epitrace.storage import accounts, aggregates, audit
from epitrace.storage import workbench as wb
from epitrace.storage.accounts import Account
from epitrace.storage.audit import Actor
from epitrace.storage.models import ApiToken, User

router = APIRouter(prefix="/api")
Db = Annotated[Session, REQUEST_DB]
AGGREGATES = Depends(require(Permission.READ_AGGREGATES))


@router.get("/analytics/curve", response_model=s.CurvePublic, response_model_exclude_unset=True, tags=["analytics"])
def curve(db: Db, account: Account = AGGREGATES, by: str = Query("report", pattern="^(report|onset)$"),
          interval: str = Query("day", pattern="^(day|week)$"), by_jurisdiction: bool = False) -> dict:
    """The epidemic curve of your jurisdiction; small counts, and counts that would give one away, are suppressed."""
    return aggregates.curve(db, scope_of(account), actor=actor_of(account, "surveillance"), by=by,  # type: ignore[arg-type]
                            interval=interval, by_jurisdiction=by_jurisdiction).as_json()  # type: ignore[arg-type]


@router.get("/analytics/kpis", response_model=s.KpisPublic, tags=["analytics"])
def kpis(db: Db, account: Account = AGGREGATES) -> dict:
    """Operational KPIs of your jurisdiction's tracing as of today; counts below the threshold are suppressed.

    There is no choice of day: KPIs of two days differenced would give away counts of the tasks in between.
    """
    return aggregates.kpis(db, scope_of(account), actor=actor_of(account, "surveillance"),
                           today=settings.today()).as_json()


@router.get("/analytics/rt", response_model=s.RtPublic, tags=["analytics"])
def rt(db: Db, account: Account = AGGREGATES, by: str = Query("report", pattern="^(report|onset)$"),
       si_mean: float = DEFAULT_SI_MEAN, si_sd: float = DEFAULT_SI_SD) -> dict:
    """Rt over weekly windows of your jurisdiction's released curve; windows with a suppressed day are not shown."""
    return aggregates.rt(db, scope_of(account), actor=actor_of(account, "surveillance"), by=by,  # type: ignore[arg-type]
                         si_mean=si_mean, si_sd=si_sd).as_json()


@router.get("/analytics/clusters", response_model=s.ClustersPublic, tags=["analytics"])
def clusters(db: Db, account: Account = AGGREGATES) -> dict:
    """Place and setting clusters with your jurisdiction's cases; sizes suppressed, households not named."""
    return aggregates.clusters(db, scope_of(account), actor=actor_of(account, "surveillance")).as_json()


@router.get("/reports/report.pdf", tags=["analytics"], response_class=Response)
def report_pdf(db: Db, account: Account = AGGREGATES) -> Response:
    """The outbreak report of your jurisdiction as PDF (small counts suppressed, no identifiers)."""
    from epitrace.reports.report import ReportOptions, build_report

    with tempfile.TemporaryDirectory() as folder:
        build_report(db, Path(folder), ReportOptions(today=settings.today()), scope=scope_of(account),
                     actor=actor_of(account, "surveillance"))
        pdf = (Path(folder) / "report.pdf").read_bytes()
    return Response(pdf, media_type="application/pdf", headers={"Content-Disposition": "attachment; filename=report.pdf"})


@router.get("/reports/report.json", tags=["analytics"])
def report_json(db: Db, account: Account = AGGREGATES) -> dict:
    """The data the outbreak report of your jurisdiction draws (the same release as report.pdf)."""
    return aggregates.overview(db, scope_of(account), actor=actor_of(account, "surveillance"), today=settings.today(),
                               name="report data").tables()


@router.get("/audit", response_model=list[s.AuditEventPublic], tags=["audit"])
def audit_events(db: Db, person_id: int = Query(ge=1, le=limits.MAX_ID, description="The person whose accesses to list."), account: Account = Depends(require(Permission.READ_AUDIT))) -> list[dict]:
    """Who accessed a person's data, newest first (privacy officers); a person outside your jurisdiction is a 404."""
    return wb.audit_for_person(db, scope_of(account), person_id, actor=actor_of(account, "privacy oversight"))


@router.get("/audit/denials", response_model=s.DenialsPublic, tags=["audit"])
def audit_denials(db: Db, account: Account = Depends(require(Permission.READ_AUDIT)),
                  days: int = Query(30, ge=1, le=366, description="How many days back, today included.")) -> s.DenialsPublic:
    """Refused out-of-scope accesses per account and day, for the accounts of your jurisdiction (privacy officers)."""
    since, until = audit.denial_window(days)
    rows = audit.denial_counts(db, scope_of(account).jurisdiction_ids, since=since, until=until)
    return s.DenialsPublic(data=[s.DenialCount(**r) for r in rows], count=len(rows), since=since, until=until)


@router.get("/audit/verify", response_model=s.AuditVerified, tags=["audit"])
def audit_verify(db: Db, account: Account = Depends(require(Permission.READ_AUDIT))) -> dict:
    """Check the audit log's hash chain; names the first broken entry."""
    broken = audit.verify(db)
    return {"ok": broken is None, "first_broken_entry": broken}


Username = Annotated[str, FastAPIPath(min_length=1, max_length=limits.USERNAME, description="An account name.")]
MANAGE = Depends(require(Permission.MANAGE_USERS))


def _user(user: User, code: str) -> dict:
    return {"username": user.username, "role": user.role, "jurisdiction": code, "active": user.active,
            "pending_approval": user.pending_approval}


def _link(request: Request, link: accounts.Link) -> dict:
    return {"username": link.username, "link": str(request.base_url).rstrip("/") + link.path,
            "expires_at": link.expires_at}


def _managing(account: Account) -> Actor:
    return actor_of(account, "account management")


@router.get("/users", response_model=list[s.UserPublic], tags=["accounts"])
def users(db: Db, account: Account = MANAGE) -> list[dict]:
    """Accounts of your jurisdiction and below it, with role and state."""
    return [_user(u, code) for u, code in accounts.list_users(db, account.jurisdiction_ids)]


@router.post("/users", response_model=s.UserCreated, tags=["accounts"], status_code=201)
def create_user(body: s.UserCreate, request: Request, db: Db, account: Account = MANAGE) -> dict:
    """Create an account in your jurisdiction or below it.

    A role holding rights yours lacks (personal data, the audit log) gives a pending account, which a second
    account holding those rights approves (POST /api/users/{username}/approve); without a password you get a
    one-time first-password link.
    """
    made = accounts.request_user(db, account, username=body.username, role=body.role,
                                 jurisdiction_code=body.jurisdiction, password=body.password, actor=_managing(account))
    answer = _user(made.user, made.jurisdiction)
    if made.pending:
        answer["approval_needed_from"] = (f"an account in {made.jurisdiction} or above whose role holds every right "
                                          f"of a {made.user.role}")
    if made.link is not None:
        answer["password_link"] = _link(request, made.link)
    return answer


@router.get("/users/pending", response_model=list[s.UserPublic], tags=["accounts"])
def pending_users(db: Db, account: Account = Depends(current_account)) -> list[dict]:
    """Accounts waiting for an approval you may give (your jurisdiction, rights your role holds)."""
    return [_user(u, code) for u, code in accounts.pending_for(db, account)]


@router.post("/users/{username}/approve", response_model=s.PasswordLink, tags=["accounts"])
def approve_user(username: Username, request: Request, db: Db, account: Account = Depends(current_account)) -> dict:
    """Approve a pending account (a second account whose role holds its rights); answers its one-time
    first-password link, to hand to the account's owner."""
    return _link(request, accounts.approve_user(db, account, username, actor=actor_of(account, "account approval")))


@router.post("/users/{username}/role", response_model=s.UserPublic, tags=["accounts"])
def change_role(username: Username, body: s.RoleChange, db: Db, account: Account = MANAGE) -> dict:
    """Change an account's role; a role holding rights yours lacks leaves the account pending approval."""
    user = accounts.set_role(db, account, username, body.role, actor=_managing(account))
    return _user(user, _code(db, user))


@router.post("/users/{username}/deactivate", response_model=s.UserPublic, tags=["accounts"])
def deactivate_user(username: Username, db: Db, account: Account = MANAGE) -> dict:
    """Deactivate an account: its sessions, tokens and links stop working at once."""
    user = accounts.deactivate_user(db, account, username, actor=_managing(account))
    return _user(user, _code(db, user))


@router.post("/users/{username}/reset-link", response_model=s.PasswordLink, tags=["accounts"])
def reset_link(username: Username, request: Request, db: Db, account: Account = MANAGE) -> dict:
    """A one-time link (valid one hour) that sets the account's password; for accounts whose rights you hold."""
    return _link(request, accounts.create_reset_link(db, account, username, actor=_managing(account)))


def _code(db: Session, user: User) -> str:
    return accounts.code_of(db, user)


def _token(row: ApiToken) -> dict:
    return {"id": row.id, "name": row.name, "created_at": row.created_at, "expires_at": row.expires_at,
            "revoked": row.revoked}


@router.get("/tokens", response_model=list[s.TokenPublic], tags=["accounts"])
def tokens(db: Db, account: Account = Depends(current_account)) -> list[dict]:
    """Your API tokens, newest first."""
    return [_token(row) for row in accounts.list_tokens(db, account.username)]


@router.post("/tokens", response_model=s.TokenCreated, tags=["accounts"], status_code=201)
def create_token(body: s.TokenCreate, db: Db, account: Account = Depends(current_account)) -> dict:
    """A new API token acting as you, expiring in ``days`` days (90 by default); shown once."""
    token, row = accounts.issue_api_token(db, account.username, name=body.name, days=body.days,
                                          actor=_managing(account))
    return _token(row) | {"token": token}


@router.delete("/tokens/{token_id}", response_model=s.TokenPublic, tags=["accounts"])
def revoke_token(token_id: s.RecordId, db: Db, account: Account = Depends(current_account)) -> dict:
    """Revoke a token: yours, or (administrators) any of an account in your jurisdiction."""
    return _token(accounts.revoke_token(db, account, token_id, actor=_managing(account)))


feed_router = APIRouter()


@feed_router.get("/feed/", response_model=s.FeedDocument, tags=["feed"])
def public_feed(db: Annotated[Session, READ_ONLY_DB], since: int = Query(0, ge=0, le=limits.MAX_ID, description="Only batches after this version.")) -> dict:
    """The public exposure feed (no sign-in): signed, hash-chained batches of redacted windows."""
    from epitrace.feed import load_private_key
    from epitrace.storage.publication import current_public_key, feed_document

    try:
        key = load_private_key(Path(settings.Settings.from_env().feed_key))
    except Exception:  # noqa: BLE001 - no key: the feed is not set up on this server
        raise Unavailable("the feed is not set up on this server (no signing key): run `epitrace feed keygen`") from None
    return feed_document(db, public_key=current_public_key(key), since=since, today=settings.today())
