"""API routes for tracers and supervisors: cases, visits, contacts, tasks, persons, labs, links."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import date
from enum import StrEnum
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, File, Header, Query, Request, Response, UploadFile
from sqlalchemy.orm import Session

from epitrace import settings
from epitrace.api import schemas as s
from epitrace.domain import limits
from epitrace.domain.identity import Identity
from epitrace.domain.roles import Permission
from epitrace.domain.statuses import CaseStatus, PublicationStatus, TaskKind, TaskStatus
from epitrace.errors import InputError, StaleRecord
from epitrace.intake.labs import LAB_COLUMNS, LabFile, import_lab_file, read_lab_csv, read_lab_records
from epitrace.service.auth import (
    REQUEST_DB,
    SESSION_COOKIE,
    actor_of,
    current_account,
    require,
    scope_of,
    sign_in,
)
from epitrace.service.errors import STALE_RESPONSES, error_response
from epitrace.storage import workbench as wb
from epitrace.storage.accounts import Account, end_session
from epitrace.storage.db import savepoint
from epitrace.storage.investigation import PlaceSpec, VisitSpec

router = APIRouter(prefix="/api")
READ = Depends(require(Permission.READ_PERSONAL))
WRITE = Depends(require(Permission.WRITE_INVESTIGATION))
Db = Annotated[Session, REQUEST_DB]


def _today() -> date:
    return settings.today()


# -- versions (issue 11, point 3) ---------------------------------------------------------------------
# A case's or task's version travels as a strong ETag, "4": it names the version of the record's own
# row (the lists of visits, contacts and tasks in a case's answer carry their own versions), and a write
# sends it back as If-Match (RFC 9110 compares If-Match strongly) or as the body's `version`.

IfMatch = Annotated[str | None, Header(max_length=64, description=(
    'The ETag of the version you read, e.g. "4" (quotes included), or * for any version. If the record changed '
    "since, nothing is written and the answer is 409 with the current state. Optional (older clients keep "
    "working), but send it, or the `version` field: without either a change made meanwhile is overwritten."))]
T = TypeVar("T")


def _etag(response: Response, version: int) -> None:
    response.headers["ETag"] = f'"{version}"'


def _expected_version(if_match: str | None, version: int | None) -> int | None:
    """The version a write names, from If-Match and/or the body's ``version`` (None: no precondition)."""
    header: int | None = None
    if if_match is not None and if_match.strip() != "*":
        quoted = if_match.strip()
        header = limits.record_number(quoted[1:-1]) if len(quoted) > 2 and quoted[0] == quoted[-1] == '"' else None
        if header is None:
            raise InputError(f'If-Match {if_match!r} is not a version: send the ETag you read, a quoted whole '
                             'number such as "4" (quotes included), or * for any version')
    if header is not None and version is not None and header != version:
        raise InputError(f'If-Match "{header}" and the body\'s version {version} disagree: send the version you '
                         "read once, or the same in both")
    return header if header is not None else version


def _unless_stale(request: Request, db: Session, write: Callable[[], T], current: Callable[[], Any]) -> T | Response:
    """Run ``write`` in a savepoint; a ``StaleRecord`` is answered with 409 and the record as it is now.

    The current state is read after the refused write is undone, and the request's transaction then
    commits: nothing is written but the audit entries of that read (the answer shows its data)."""
    try:
        with savepoint(db):
            return write()
    except StaleRecord as stale:
        stale.current = current()
        return error_response(request, stale)


@router.post("/session", response_model=s.AccountPublic, tags=["accounts"])
def log_in(body: s.LoginRequest, request: Request, response: Response, db: Db) -> s.AccountPublic:
    """Sign in; sets an HttpOnly session cookie and returns the CSRF token for writes."""
    token, account = sign_in(db, request, body.username, body.password)
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", max_age=12 * 3600)
    return _public(account)


def _public(account: Account) -> s.AccountPublic:
    return s.AccountPublic(username=account.username, role=account.role, jurisdiction=account.jurisdiction_code,
                           jurisdiction_name=account.jurisdiction_name, csrf_token=account.csrf_token)


@router.delete("/session", response_model=s.Ok, tags=["accounts"])
def log_out(request: Request, response: Response, db: Db, account: Account = Depends(current_account)) -> s.Ok:
    """Sign out: the session is deleted on the server."""
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        end_session(db, token)
    response.delete_cookie(SESSION_COOKIE)
    return s.Ok()


@router.get("/me", response_model=s.AccountPublic, tags=["accounts"])
def me(account: Account = Depends(current_account)) -> s.AccountPublic:
    """Who is signed in, with which role and jurisdiction."""
    return _public(account)


def _one_of(vocabulary: type[StrEnum], what: str) -> str:
    return f"{what}: one of {', '.join(m.value for m in vocabulary)}."


@router.get("/cases", response_model=s.CasesPublic, tags=["cases"])
def cases(db: Db, account: Account = READ,
          status: str | None = Query(None, description=_one_of(CaseStatus, "Only cases with this status")),
          jurisdiction: str | None = Query(None, description="Only this jurisdiction (a code of yours) and those below it."),
          reported_from: date | None = Query(None, description="Results reported on or after this day."),
          reported_to: date | None = Query(None, description="Results reported on or before this day."),
          uninterviewed: bool = Query(False, description="Only cases not interviewed yet."),
          sort: str | None = Query(None, description=_one_of(wb.CaseSort, "Order (default newest)")),
          limit: int = Query(50, ge=1, le=500), offset: int = Query(0, ge=0)) -> s.CasesPublic:
    """Cases in your jurisdiction, one page; ``count`` is how many match the filters in all.

    Unknown filter or sort values are a 400 naming the allowed ones."""
    rows, count = wb.list_cases(db, scope_of(account), actor=actor_of(account), today=_today(), status=status,
                                jurisdiction=jurisdiction, reported_from=reported_from, reported_to=reported_to,
                                uninterviewed=uninterviewed, sort=sort, limit=limit, offset=offset)
    return s.CasesPublic(data=[s.CasePublic(**r) for r in rows], count=count)


ETAG = {"ETag": {"description": 'The record\'s version, quoted ("4"): send it back as If-Match with a change.',
                 "schema": {"type": "string"}}}


@router.get("/cases/{case_id}", response_model=s.CaseDetail, tags=["cases"],
            responses={200: {"headers": ETAG}})
def case(case_id: s.RecordId, db: Db, response: Response, account: Account = READ) -> dict:
    """One case: infectious period, visits and windows, contacts, tasks, links; its version is the ETag."""
    detail = wb.case_detail(db, scope_of(account), case_id, actor=actor_of(account))
    _etag(response, detail["version"])
    return detail


def _case_now(db: Session, account: Account, case_id: int) -> dict:
    detail = wb.case_detail(db, scope_of(account), case_id, actor=actor_of(account))
    return s.CaseDetail.model_validate(detail).model_dump(mode="json")


@router.patch("/cases/{case_id}", response_model=s.CaseUpdated, tags=["cases"],
              responses={200: {"headers": ETAG}, **STALE_RESPONSES})
def update(case_id: s.RecordId, body: s.CaseUpdate, request: Request, response: Response, db: Db,
           account: Account = WRITE, if_match: IfMatch = None) -> Any:
    """Record interview facts; exposure windows are derived again. Send the version you read (If-Match or
    ``version``): a case changed since is not written, and the 409 carries it as it is now."""
    expected = _expected_version(if_match, body.version)
    version = _unless_stale(request, db, lambda: wb.record_interview(
        db, scope_of(account), case_id, actor=actor_of(account), onset=body.onset, isolation=body.isolation,
        interviewed_on=body.interviewed_on, symptoms=body.symptoms, today=_today(), expected_version=expected),
        lambda: _case_now(db, account, case_id))
    if isinstance(version, Response):
        return version
    _etag(response, version)
    return s.CaseUpdated(version=version)


@router.post("/cases/{case_id}/visits", response_model=s.VisitCreated, tags=["cases"], status_code=201)
def add_visit(case_id: s.RecordId, body: s.VisitCreate, db: Db, account: Account = WRITE) -> dict:
    """Add an itinerary visit; its exposure window follows from the infectious period."""
    visit_id = wb.record_visit(db, scope_of(account), case_id, VisitSpec(
        PlaceSpec(name=body.place, kind=body.kind, lat=body.lat, lon=body.lon), body.start, body.end, body.source),
        actor=actor_of(account), confirmed=body.confirm)
    return {"visit_id": visit_id}


@router.post("/cases/{case_id}/contacts", response_model=s.ContactCreated, tags=["cases"], status_code=201)
def add_contact(case_id: s.RecordId, body: s.ContactCreate, db: Db, account: Account = WRITE) -> s.ContactCreated:
    """Record a named contact; follow-up tasks are planned with due dates and reasons."""
    result = wb.record_contact(
        db, scope_of(account), case_id, Identity(body.given_name, body.family_name, body.date_of_birth, body.phone,
                                                 body.national_id),
        actor=actor_of(account), setting=body.setting, last_exposure=body.last_exposure,
        identified_on=body.identified_on or _today(), relationship=body.relationship, confirmed=body.confirm)
    return s.ContactCreated(**result)


@router.get("/cases/{case_id}/visits", response_model=list[s.VisitPublic], tags=["cases"])
def case_visits(case_id: s.RecordId, db: Db, account: Account = READ) -> list[dict]:
    """The case's itinerary, each visit with its exposure window (if inside the infectious period)."""
    return wb.case_visits(db, scope_of(account), case_id, actor=actor_of(account))


@router.get("/cases/{case_id}/windows", response_model=list[s.WindowPublic], tags=["cases"])
def case_windows(case_id: s.RecordId, db: Db, account: Account = READ) -> list[dict]:
    """The case's exposure windows: place, start and end (UTC), and the rule that made them."""
    return wb.case_windows(db, scope_of(account), case_id, actor=actor_of(account))


@router.get("/cases/{case_id}/contacts", response_model=list[s.CaseContactPublic], tags=["cases"])
def case_contacts(case_id: s.RecordId, db: Db, account: Account = READ) -> list[dict]:
    """The contacts the case named, with setting, last exposure and follow-up status."""
    return wb.case_contacts(db, scope_of(account), case_id, actor=actor_of(account))


@router.get("/tasks", response_model=s.TasksPublic, tags=["tasks"])
def tasks(db: Db, account: Account = READ,
          status: str | None = Query("open", description=_one_of(TaskStatus, "Only tasks with this status")),
          kind: str | None = Query(None, description=_one_of(TaskKind, "Only tasks of this kind")),
          jurisdiction: str | None = Query(None, description="Only this jurisdiction (a code of yours) and those below it."),
          setting: str | None = Query(None, description="Only contacts' tasks from an exposure in this setting (household, work, ...)."),
          overdue: bool = Query(False, description="Only open tasks due before today."),
          due_on: date | None = Query(None, description="Due on this day."),
          due_from: date | None = Query(None, description="Due on or after this day."),
          due_to: date | None = Query(None, description="Due on or before this day."),
          completed_from: date | None = Query(None, description="Completed on or after this day."),
          completed_to: date | None = Query(None, description="Completed on or before this day."),
          sort: str | None = Query(None, description=_one_of(wb.TaskSort, "Order (default due; completed for done tasks)")),
          limit: int = Query(50, ge=1, le=500), offset: int = Query(0, ge=0)) -> s.TasksPublic:
    """Follow-up tasks in your jurisdiction, one page; ``count`` is how many match the filters in all.

    Unknown filter or sort values are a 400 naming the allowed ones."""
    rows, count = wb.list_tasks(db, scope_of(account), actor=actor_of(account), today=_today(), status=status, kind=kind,
                                jurisdiction=jurisdiction, setting=setting, overdue=overdue, due_on=due_on,
                                due_from=due_from, due_to=due_to, completed_from=completed_from,
                                completed_to=completed_to, sort=sort, limit=limit, offset=offset)
    return s.TasksPublic(data=[s.TaskPublic(**r) for r in rows], count=count)


@router.get("/tasks/{task_id}", response_model=s.TaskPublic, tags=["tasks"], responses={200: {"headers": ETAG}})
def task(task_id: s.RecordId, db: Db, response: Response, account: Account = READ) -> dict:
    """One task, as the task list shows it; its version is the ETag."""
    row = wb.task_detail(db, scope_of(account), task_id, actor=actor_of(account), today=_today())
    _etag(response, row["version"])
    return row


@router.post("/tasks/{task_id}/result", response_model=s.TaskResultRecorded, tags=["tasks"],
             responses={200: {"headers": ETAG}, **STALE_RESPONSES})
def task_result(task_id: s.RecordId, body: s.TaskResult, request: Request, response: Response, db: Db,
                account: Account = WRITE, if_match: IfMatch = None) -> Any:
    """Record a task's result; a positive test makes the contact a case linked to its source. Send the version
    you read (If-Match or ``version``): a task changed since is not written, and the 409 carries it as it is now."""
    expected = _expected_version(if_match, body.version)
    recorded = _unless_stale(request, db, lambda: wb.record_task_result(
        db, scope_of(account), task_id, actor=actor_of(account), result=body.result, on=body.on or _today(),
        expected_version=expected),
        lambda: s.TaskPublic.model_validate(wb.task_detail(db, scope_of(account), task_id, actor=actor_of(account),
                                                           today=_today())).model_dump(mode="json"))
    if isinstance(recorded, Response):
        return recorded
    _etag(response, recorded["version"])
    return recorded


@router.get("/persons", response_model=s.PersonsPublic, tags=["persons"])
def persons(db: Db, account: Account = READ,
            q: str | None = Query(None, description="Given and family name in either order (the start of each is "
                                                    "enough), a phone number in any spelling, or a national id."),
            jurisdiction: str | None = Query(None, description="Only persons of this jurisdiction (a code of yours) and below."),
            sort: str | None = Query(None, description=_one_of(wb.PersonSort, "Order (default name)")),
            limit: int = Query(50, ge=1, le=500), offset: int = Query(0, ge=0)) -> s.PersonsPublic:
    """Search persons in your jurisdiction, one page; ``count`` is how many match in all."""
    rows, count = wb.search_persons(db, scope_of(account), actor=actor_of(account), q=q, jurisdiction=jurisdiction,
                                    sort=sort, limit=limit, offset=offset)
    return s.PersonsPublic(data=[s.PersonBrief(**r) for r in rows], count=count)


@router.get("/persons/{person_id}", response_model=s.PersonDetail, tags=["persons"])
def person(person_id: s.RecordId, db: Db, account: Account = READ) -> dict:
    """A person's record and history (lab results, cases, contacts, tasks, possible duplicates)."""
    return wb.person_detail(db, scope_of(account), person_id, actor=actor_of(account))


@router.post("/persons/merge", response_model=s.Merged, tags=["persons"])
def merge(body: s.MergeRequest, db: Db, account: Account = Depends(require(Permission.MERGE_PERSONS))) -> dict:
    """Merge person ``other`` into ``keep``; every record is kept."""
    return wb.merge(db, scope_of(account), body.keep, body.other, actor=actor_of(account))


@router.post("/labs", tags=["labs"])
def import_labs_csv(db: Db, file: UploadFile = File(description="Lab results CSV (UTF-8)."), dry_run: bool = False,
                    account: Account = Depends(require(Permission.IMPORT_LABS))) -> dict:
    """Import a lab results CSV: all or nothing; every problem comes back at once, as rows (422)."""
    data = file.file.read()
    lab_file = read_lab_csv(data, source=file.filename or "upload.csv")
    return _import(db, account, lab_file, sha256=hashlib.sha256(data).hexdigest(), dry_run=dry_run)


@router.post("/labs/rows", tags=["labs"])
def import_labs_json(body: s.LabRowsRequest, db: Db, account: Account = Depends(require(Permission.IMPORT_LABS))) -> dict:
    """Import lab results given as JSON objects with the CSV's columns (row numbers start at 1)."""
    if not body.rows:
        raise InputError("no rows given: send at least one lab result")
    records = [(i + 1, {c: ("" if r.get(c) is None else str(r.get(c))) for c in LAB_COLUMNS}, None) for i, r in enumerate(body.rows)]
    return _import(db, account, read_lab_records(records, source="api"), sha256="json", dry_run=body.dry_run)


def _import(db: Session, account: Account, lab_file: LabFile, *, sha256: str, dry_run: bool) -> dict:
    # Format, reference, scope and conflict problems are all found by import_lab_file, in one pass;
    # the caller's scope is checked before any stored specimen is compared (issue 9, point 7).
    with savepoint(db, keep=not dry_run):
        report = import_lab_file(db, lab_file, sha256=sha256, actor=actor_of(account), scope=scope_of(account))
    return {"dry_run": dry_run, "rows": report.rows, "imported": report.imported, "already_imported": report.already_imported,
            "results": dict(report.new_results), "new_persons": report.new_persons, "new_cases": report.new_cases,
            "joined_cases": report.joined_cases, "contacts_became_cases": report.contacts_became_cases,
            "tests_closed": report.tests_closed, "merge_candidates": report.merge_candidates}


@router.get("/links", response_model=s.LinksPublic, tags=["links"])
def links(db: Db, account: Account = Depends(require(Permission.READ_AGGREGATES)), certainty: str | None = None,
          source: str | None = None, limit: int = Query(100, ge=1, le=500), offset: int = Query(0, ge=0)) -> s.LinksPublic:
    """Transmission links (case ids and evidence, no names) whose infectee is in your jurisdiction."""
    rows, count = wb.list_links(db, scope_of(account), certainty=certainty, source=source, limit=limit, offset=offset)
    return s.LinksPublic(data=[s.LinkPublic(**r) for r in rows], count=count)


@router.post("/links/{link_id}/review", response_model=s.LinkReviewed, tags=["links"])
def review(link_id: s.RecordId, body: s.LinkReview, db: Db, account: Account = Depends(require(Permission.REVIEW_LINKS))) -> dict:
    """Confirm or reject a proposed link (your name is recorded)."""
    return wb.review(db, scope_of(account), link_id, decision=body.decision, actor=actor_of(account))


SHARE_FORM = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["consent"],
    "properties": {
        "code": {"type": "string", "maxLength": limits.CODE,
                 "description": "The one-time code, unless sent as X-Share-Code or ?code=; it must come before the files."},
        "trail": {"type": "string", "format": "binary", "description": "Your location history file."},
        "checkins": {"type": "string", "format": "binary",
                     "description": "Your check-ins (JSON saved by the check-in page)."},
        "consent": {"type": "boolean", "description": "You agree to share (required)."}}}}}}}


@router.post("/share", response_model=s.Shared, tags=["sharing"], openapi_extra=SHARE_FORM)
async def share_upload(request: Request, db: Db,
                       code: str | None = Query(None, max_length=limits.CODE,
                                                description="The one-time code (or the X-Share-Code header, or the "
                                                            "form field code before the files)."),
                       x_share_code: str | None = Header(None, max_length=limits.CODE,
                                                         description="The one-time code from your contact tracer.")) -> dict:
    """A case shares their own trail or check-ins with a one-time code (no account; the file is not kept).

    The code is checked before the upload is read: send it as the X-Share-Code header, as ?code=, or as the
    form field ``code`` before the files. A wrong code is a 404 and nothing of the files is read."""
    from epitrace.service.sharing import receive_share

    result = await receive_share(request, db, code=x_share_code if x_share_code is not None else code)
    return {"visits_shared": result.visits, "stays_outside_infectious_period": result.stays_outside_period,
            "checkins_shared": result.checkins, "raw_file_kept": False}


@router.post("/cases/{case_id}/publication", response_model=list[s.ProposalPublic], tags=["feed"])
def propose_publication(case_id: s.RecordId, db: Db, account: Account = WRITE) -> list[dict]:
    """Propose the case's exposure windows for the public feed; redaction says what it changed."""
    from epitrace.storage.publication import propose_case_windows

    return [p.__dict__ for p in propose_case_windows(db, scope_of(account), case_id, actor=actor_of(account))]


@router.get("/publications", response_model=list[s.PublicationPublic], tags=["feed"])
def publications(db: Db, status: PublicationStatus = Query(PublicationStatus.PROPOSED, description="Only proposals in this state."),
                 account: Account = Depends(require(Permission.APPROVE_PUBLICATION))) -> list[dict]:
    """Publication proposals in your jurisdiction, with changes and warnings."""
    from epitrace.storage.publication import list_proposals

    return list_proposals(db, scope_of(account), status=status)


@router.post("/publications/{proposal_id}/review", response_model=s.PublicationReviewed, tags=["feed"])
def review_publication(proposal_id: s.RecordId, body: s.PublicationReview, db: Db,
                       account: Account = Depends(require(Permission.APPROVE_PUBLICATION))) -> dict:
    """Approve (acknowledging any warnings) or reject a proposal."""
    from epitrace.storage.publication import review_proposal

    row = review_proposal(db, scope_of(account), proposal_id, approve=body.decision == "approve",
                          acknowledge_warnings=body.acknowledge_warnings, actor=actor_of(account))
    return {"id": row.id, "status": row.status, "reviewed_by": row.reviewed_by}
