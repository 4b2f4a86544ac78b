"""Pages of the staff web app. Each handler calls one storage function and renders a template."""

from __future__ import annotations

import base64
import io
from datetime import date, datetime, timezone
from typing import Annotated
from urllib.parse import parse_qsl, urlencode, urlsplit

from fastapi import APIRouter, Depends, Form, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from epitrace import settings
from epitrace.domain import limits
from epitrace.domain.identity import Identity
from epitrace.domain.roles import Permission, can
from epitrace.domain.statuses import CaseStatus, TaskKind
from epitrace.domain.symptoms import COMMON_SYMPTOMS, join_symptoms, split_symptoms
from epitrace.errors import EpitraceError, InputError, NeedsConfirmation, NotFound, StaleRecord, Unavailable
from epitrace.service.auth import REQUEST_DB, SESSION_COOKIE, actor_of, current_account, require, scope_of, sign_in
from epitrace.service.errors import PageRoute
from epitrace.storage import workbench as wb
from epitrace.storage.accounts import Account, end_session, link_account, use_reset_link
from epitrace.storage.db import savepoint
from epitrace.storage.investigation import PlaceSpec, VisitSpec

router = APIRouter(include_in_schema=False, route_class=PageRoute)
templates = Jinja2Templates(directory=str(__import__("pathlib").Path(__file__).parent / "templates"))
Db = Annotated[Session, REQUEST_DB]
PageId = Annotated[int, PathParam(ge=1, le=limits.MAX_ID)]
"""A record id in a page's path: within 63 bits, so the database is never asked for a larger one."""


# Pages use the API's account and role checks; on a page route, "not signed in" becomes a redirect to
# /login?next=… (service.errors decides by the route's class).
READ = Depends(require(Permission.READ_PERSONAL))
WRITE = Depends(require(Permission.WRITE_INVESTIGATION))


def render(request: Request, name: str, account: Account | None, status_code: int = 200, **context) -> HTMLResponse:  # type: ignore[no-untyped-def]
    return templates.TemplateResponse(request, name, {"account": account, "today": settings.today(), "can": can,
                                                       "Permission": Permission, **context}, status_code=status_code)


def render_error_page(request: Request, status: int, title: str, message: str) -> HTMLResponse:
    """The error page (nobody shown as signed in: the error may be that nobody is)."""
    return templates.TemplateResponse(request, "error.html", {"account": None, "status": status, "message": message,
                                                               "title": title}, status_code=status)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/") -> HTMLResponse:
    return render(request, "login.html", None, next=next, username="", error=None)


@router.post("/login", response_class=HTMLResponse)
def login(request: Request, db: Db, username: Annotated[str, Form()] = "", password: Annotated[str, Form()] = "",
          next: Annotated[str, Form()] = "/") -> HTMLResponse:
    try:
        token, _ = sign_in(db, request, username, password)
    except EpitraceError as exc:
        page = render(request, "login.html", None, status_code=exc.status, next=next, username=username,
                      error=exc.message)
        page.headers.update(exc.headers)  # Retry-After when throttled
        return page
    target = next if next.startswith("/") and not next.startswith("//") else "/"
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="strict", secure=request.url.scheme == "https",
                        max_age=12 * 3600)
    return response  # type: ignore[return-value]


@router.get("/reset/{token}", response_class=HTMLResponse)
def reset_page(request: Request, token: str, db: Db) -> HTMLResponse:
    """The one-time page that sets an account's password (from a reset or first-password link)."""
    return render(request, "reset.html", None, username=link_account(db, token[:100]), error=None, done=False)


@router.post("/reset/{token}", response_class=HTMLResponse)
def reset_submit(request: Request, token: str, db: Db, password: Annotated[str, Form()] = "",
                 confirm: Annotated[str, Form()] = "") -> HTMLResponse:
    username = link_account(db, token[:100])
    try:
        if password != confirm:
            raise InputError("the two passwords differ: type the same password twice")
        with savepoint(db):
            use_reset_link(db, token[:100], password)
    except InputError as exc:
        return render(request, "reset.html", None, status_code=exc.status, username=username, error=exc.message,
                      done=False)
    return render(request, "reset.html", None, username=username, error=None, done=True)


@router.post("/logout")
def logout(request: Request, db: Db, account: Account = Depends(current_account)) -> RedirectResponse:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        end_session(db, token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/", response_class=HTMLResponse)
def home(request: Request, account: Account = Depends(current_account)) -> HTMLResponse:
    if can(account.role, Permission.READ_PERSONAL):
        return RedirectResponse("/queue", status_code=303)  # type: ignore[return-value]
    return RedirectResponse("/dashboard", status_code=303)  # type: ignore[return-value]


def _query_int(text: str, label: str, default: int) -> int:
    """A whole-number paging value of a list page, or a 400 that names it (list pages only)."""
    if not text.strip():
        return default
    try:
        return int(text)
    except ValueError:
        raise InputError(f"{label} {text!r} is not a whole number") from None


# Rows per page. Each listed row is also an audit entry (about 0.4 ms each at 300k persons), so pages
# stay short and page on, with the true count (issue 9).
QUEUE_PAGE = 50
BOARD_PAGE = 25  # per column: due today, overdue, done
PERSONS_PAGE = 50


@router.get("/queue", response_class=HTMLResponse)
def queue(request: Request, db: Db, account: Account = READ, show: str = "new", status: str = "", jurisdiction: str = "",
          reported_from: str = "", reported_to: str = "", sort: str = "", offset: str = "",
          limit: str = "") -> HTMLResponse:
    """Case queue: cases awaiting interview first (newest result first), with the SLA clock; filtered,
    sorted and paged, with the true count (issue 9)."""
    if show not in ("new", "all"):
        raise InputError(f"show {show!r} is not one of: new, all")
    scope = scope_of(account)
    first, size = _query_int(offset, "offset", 0), _query_int(limit, "limit", QUEUE_PAGE)
    rows, total = wb.list_cases(db, scope, actor=actor_of(account), today=settings.today(), status=status or None,
                                jurisdiction=jurisdiction or None, reported_from=_date(reported_from, "Reported from"),
                                reported_to=_date(reported_to, "Reported to"), uninterviewed=show == "new",
                                sort=sort or None, limit=size, offset=first)
    return render(request, "queue.html", account, cases=rows, total=total, show=show, offset=first, limit=size,
                  filters={"status": status, "jurisdiction": jurisdiction, "reported_from": reported_from,
                           "reported_to": reported_to, "sort": sort},
                  statuses=[s.value for s in CaseStatus], sorts=[s.value for s in wb.CaseSort],
                  jurisdictions=wb.jurisdictions_in_scope(db, scope))


def _case(request: Request, db: Session, account: Account, case_id: int, *, status_code: int = 200, errors=None,
          form=None, confirmable=None, stale=None) -> HTMLResponse:  # type: ignore[no-untyped-def]
    detail = wb.case_detail(db, scope_of(account), case_id, actor=actor_of(account))
    return render(request, "case.html", account, status_code=status_code, case=detail, errors=errors or {},
                  form=form or {}, confirmable=confirmable or {}, stale=stale or {}, symptom_choices=COMMON_SYMPTOMS,
                  stored_symptoms=split_symptoms(detail.get("symptoms")))


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def case_page(request: Request, case_id: PageId, db: Db, account: Account = READ) -> HTMLResponse:
    return _case(request, db, account, case_id)


def _attempt(db: Session, action) -> None:  # type: ignore[no-untyped-def]
    """Run a form's write in a savepoint, so a refused form leaves nothing half-written."""
    with savepoint(db):
        action()


def _case_form_error(request: Request, db: Session, account: Account, case_id: int, form_name: str,
                     error: EpitraceError, values: dict) -> HTMLResponse:
    """The case page again, with the form's message and everything that was typed. After a change by
    someone else (``StaleRecord``) the form carries the case's current version, so the next submit of
    what was typed, checked against what is stored now, goes through; after any other refusal it keeps
    the version it was opened at."""
    if isinstance(error, StaleRecord):
        values = {name: value for name, value in values.items() if name != "version"}
    return _case(request, db, account, case_id, status_code=error.status, errors={form_name: _form_message(error)},
                 form={form_name: values}, confirmable={form_name: isinstance(error, NeedsConfirmation)},
                 stale={form_name: isinstance(error, StaleRecord)})


def _form_message(error: EpitraceError) -> str:
    """A refused form's message; a write over someone else's change says who and when (issue 11, point 3)."""
    if not isinstance(error, StaleRecord):
        return error.message
    by = f" by {error.changed_by}" if error.changed_by else ""
    at = ""
    if error.changed_at is not None:
        at = f" at {error.changed_at:%H:%M} UTC" if error.changed_at.date() == datetime.now(timezone.utc).date() \
            else f" at {error.changed_at:%Y-%m-%d %H:%M} UTC"
    return (f"This {error.record_type} was changed{by}{at} since you opened it (now version {error.version}). "
            "Check the current values below and submit again.")


def _version(text: str) -> int | None:
    """The version a form was rendered from (its hidden ``version`` field); empty is no precondition."""
    if not text.strip():
        return None
    version = limits.record_number(text.strip())
    if version is None:
        raise InputError(f"the form's version {text!r} is not a version (a whole number from 1): reload the page")
    return version


def _date(text: str, label: str) -> date | None:
    """A YYYY-MM-DD form field or list filter (empty is None), or an InputError naming it."""
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InputError(f"{label} {text!r} is not a date: use YYYY-MM-DD") from None


@router.post("/cases/{case_id}/interview", response_class=HTMLResponse)
def interview(request: Request, case_id: PageId, db: Db, account: Account = WRITE, onset: Annotated[str, Form()] = "",
              isolation: Annotated[str, Form()] = "", interviewed_on: Annotated[str, Form()] = "",
              symptoms: Annotated[list[str] | None, Form()] = None, other_symptoms: Annotated[str, Form()] = "",
              version: Annotated[str, Form()] = "") -> HTMLResponse:
    values = {"onset": onset, "isolation": isolation, "interviewed_on": interviewed_on, "symptoms": symptoms or [],
              "other_symptoms": other_symptoms, "version": version}
    try:
        _attempt(db, lambda: wb.record_interview(
            db, scope_of(account), case_id, actor=actor_of(account), onset=_date(onset, "Onset"),
            isolation=_date(isolation, "Isolation"), interviewed_on=_date(interviewed_on, "Interview date"),
            symptoms=join_symptoms(symptoms or [], other_symptoms), today=settings.today(),
            expected_version=_version(version)))
    except EpitraceError as error:
        if error.status == 404:
            raise
        return _case_form_error(request, db, account, case_id, "interview", error, values)
    return RedirectResponse(f"/cases/{case_id}#interview", status_code=303)  # type: ignore[return-value]


def _utc(text: str, label: str) -> datetime:
    try:
        return datetime.fromisoformat(text.strip()).replace(tzinfo=timezone.utc)
    except ValueError:
        raise InputError(f"{label} {text!r} is not a date and time: use the picker or YYYY-MM-DDTHH:MM") from None


@router.post("/cases/{case_id}/visits", response_class=HTMLResponse)
def visit(request: Request, case_id: PageId, db: Db, account: Account = WRITE, place: Annotated[str, Form()] = "",
          kind: Annotated[str, Form()] = "venue", lat: Annotated[str, Form()] = "", lon: Annotated[str, Form()] = "",
          start: Annotated[str, Form()] = "", end: Annotated[str, Form()] = "",
          confirm: Annotated[bool, Form()] = False) -> HTMLResponse:
    values = {"place": place, "kind": kind, "lat": lat, "lon": lon, "start": start, "end": end}
    try:
        if not place.strip():
            raise InputError("Place is required: give the name of the place")
        spec = VisitSpec(PlaceSpec(place.strip(), kind, float(lat) if lat.strip() else None, float(lon) if lon.strip() else None),
                         _utc(start, "Arrival"), _utc(end, "Departure"))
        _attempt(db, lambda: wb.record_visit(db, scope_of(account), case_id, spec, actor=actor_of(account),
                                             confirmed=confirm))
    except ValueError:
        return _case_form_error(request, db, account, case_id, "visit",
                                InputError("Latitude and longitude must be numbers in degrees"), values)
    except EpitraceError as error:
        if error.status == 404:
            raise
        return _case_form_error(request, db, account, case_id, "visit", error, values)
    return RedirectResponse(f"/cases/{case_id}#itinerary", status_code=303)  # type: ignore[return-value]


@router.post("/cases/{case_id}/contacts", response_class=HTMLResponse)
def contact(request: Request, case_id: PageId, db: Db, account: Account = WRITE, given_name: Annotated[str, Form()] = "",
            family_name: Annotated[str, Form()] = "", date_of_birth: Annotated[str, Form()] = "",
            phone: Annotated[str, Form()] = "", setting: Annotated[str, Form()] = "household",
            last_exposure: Annotated[str, Form()] = "", confirm: Annotated[bool, Form()] = False) -> HTMLResponse:
    values = {"given_name": given_name, "family_name": family_name, "date_of_birth": date_of_birth, "phone": phone,
              "setting": setting, "last_exposure": last_exposure}
    try:
        if not given_name.strip() or not family_name.strip():
            raise InputError("Given and family name are required")
        exposure = _date(last_exposure, "Last exposure")
        if exposure is None:
            raise InputError("Last exposure is required: the last day they were together")
        identity = Identity(given_name.strip(), family_name.strip(), _date(date_of_birth, "Date of birth"), phone.strip() or None)
        _attempt(db, lambda: wb.record_contact(db, scope_of(account), case_id, identity, actor=actor_of(account),
                                               setting=setting, last_exposure=exposure, identified_on=settings.today(),
                                               confirmed=confirm))
    except EpitraceError as error:
        if error.status == 404:
            raise
        return _case_form_error(request, db, account, case_id, "contact", error, values)
    return RedirectResponse(f"/cases/{case_id}#contacts", status_code=303)  # type: ignore[return-value]


BOARD_FILTERS = ("kind", "jurisdiction", "due_from", "due_to", "overdue_sort", "done_from", "due_offset",
                 "overdue_offset", "done_offset", "limit")


@router.get("/tasks", response_class=HTMLResponse)
def task_board(request: Request, db: Db, account: Account = READ, kind: str = "", jurisdiction: str = "",
               due_from: str = "", due_to: str = "", overdue_sort: str = "", done_from: str = "",
               due_offset: str = "", overdue_offset: str = "", done_offset: str = "", limit: str = "") -> HTMLResponse:
    """Due today, overdue, and done (since a day, default today), side by side: each paged with its
    true count, the same filters on all three (issue 9)."""
    given = {"kind": kind, "jurisdiction": jurisdiction, "due_from": due_from, "due_to": due_to,
             "overdue_sort": overdue_sort, "done_from": done_from, "due_offset": due_offset,
             "overdue_offset": overdue_offset, "done_offset": done_offset, "limit": limit}
    return _board(request, db, account, {name: value for name, value in given.items() if value})


def _board(request: Request, db: Session, account: Account, query: dict[str, str], *, status_code: int = 200,
           error: str | None = None, typed: dict | None = None) -> HTMLResponse:
    """The task board for the filters in ``query`` (the board's own query parameters)."""
    q = {name: query.get(name, "") for name in BOARD_FILTERS}
    scope, actor, today = scope_of(account), actor_of(account), settings.today()
    size = _query_int(q["limit"], "limit", BOARD_PAGE)
    since = _date(q["done_from"], "Done since") or today
    offsets = {name: _query_int(q[f"{name}_offset"], f"{name}_offset", 0) for name in ("due", "overdue", "done")}
    # No setting filter here: settings live on the contact, and checking each task's contact costs
    # 100-700 ms at 1.5 M tasks (the API and the CLI offer it).
    common = {"kind": q["kind"] or None, "jurisdiction": q["jurisdiction"] or None, "limit": size}
    due = wb.list_tasks(db, scope, actor=actor, today=today, status="open", due_on=today, offset=offsets["due"], **common)
    overdue = wb.list_tasks(db, scope, actor=actor, today=today, overdue=True, due_from=_date(q["due_from"], "Due from"),
                            due_to=_date(q["due_to"], "Due to"), sort=q["overdue_sort"] or None,
                            offset=offsets["overdue"], **common)
    done = wb.list_tasks(db, scope, actor=actor, today=today, status="done", completed_from=since,
                         offset=offsets["done"], **common)
    sections = [
        {"key": "due", "label": "Due today", "rows": due[0], "total": due[1], "empty": "Nothing due today."},
        {"key": "overdue", "label": "Overdue", "rows": overdue[0], "total": overdue[1], "empty": "Nothing overdue."},
        {"key": "done", "label": "Done", "rows": done[0], "total": done[1],
         "empty": "Nothing done today." if since == today else f"Nothing done since {since}."},
    ]
    for section in sections:
        section["offset"] = offsets[section["key"]]
    # The result buttons come back to this board with these filters (also when it is shown again after a
    # refused result, whose own URL is /tasks/{id}/result).
    here = "/tasks" + (f"?{urlencode(query)}" if query else "")
    return render(request, "tasks.html", account, status_code=status_code, error=error, typed=typed or {},
                  sections=sections, limit=size,
                  done_since=since, here=here, query=query,
                  filters={name: q[name] for name in ("kind", "jurisdiction", "due_from", "due_to", "overdue_sort",
                                                      "done_from")},
                  kinds=[k.value for k in TaskKind], jurisdictions=wb.jurisdictions_in_scope(db, scope))


@router.post("/tasks/{task_id}/result", response_class=HTMLResponse)
def task_result(request: Request, task_id: PageId, db: Db, account: Account = WRITE, result: Annotated[str, Form()] = "",
                back: Annotated[str, Form()] = "/tasks", version: Annotated[str, Form()] = "") -> HTMLResponse:
    """Record a task's result from the board. A refused result (the task was changed or closed meanwhile,
    e.g. from another tab: issues 10 and 11) shows the board again with the message, the result that was
    chosen, and the task as it is now."""
    target = back if back.startswith("/") and not back.startswith("//") else "/tasks"
    try:
        _attempt(db, lambda: wb.record_task_result(db, scope_of(account), task_id, actor=actor_of(account),
                                                   result=result or "done", on=settings.today(),
                                                   expected_version=_version(version)))
    except EpitraceError as error:
        if error.status == 404:
            raise
        url = urlsplit(target)
        query = dict(parse_qsl(url.query)) if url.path == "/tasks" else {}
        return _board(request, db, account, {k: v for k, v in query.items() if k in BOARD_FILTERS},
                      status_code=error.status, error=_form_message(error), typed={"task": task_id, "result": result})
    return RedirectResponse(target, status_code=303)  # type: ignore[return-value]


@router.get("/persons", response_class=HTMLResponse)
def persons(request: Request, db: Db, account: Account = READ, q: str = "", jurisdiction: str = "", sort: str = "",
            offset: str = "", limit: str = "") -> HTMLResponse:
    """Person search: name in either order (each part a prefix), phone in any spelling, national id;
    sorted and paged with the true count (issue 9)."""
    scope = scope_of(account)
    first, size = _query_int(offset, "offset", 0), _query_int(limit, "limit", PERSONS_PAGE)
    rows, total = (wb.search_persons(db, scope, actor=actor_of(account), q=q, jurisdiction=jurisdiction or None,
                                     sort=sort or None, limit=size, offset=first) if q.strip() else ([], 0))
    return render(request, "persons.html", account, q=q, persons=rows, total=total, offset=first, limit=size,
                  filters={"jurisdiction": jurisdiction, "sort": sort}, sorts=[s.value for s in wb.PersonSort],
                  jurisdictions=wb.jurisdictions_in_scope(db, scope))


@router.get("/persons/{person_id}", response_class=HTMLResponse)
def person_page(request: Request, person_id: PageId, db: Db, account: Account = READ) -> HTMLResponse:
    return render(request, "person.html", account, person=wb.person_detail(db, scope_of(account), person_id, actor=actor_of(account)))


@router.post("/persons/merge")
def merge(request: Request, db: Db, keep: Annotated[int, Form(ge=1, le=limits.MAX_ID)],
          other: Annotated[int, Form(ge=1, le=limits.MAX_ID)],
          account: Account = Depends(require(Permission.MERGE_PERSONS))) -> RedirectResponse:
    wb.merge(db, scope_of(account), keep, other, actor=actor_of(account))
    return RedirectResponse(f"/persons/{keep}", status_code=303)


@router.get("/chains", response_class=HTMLResponse)
def chains(request: Request, db: Db, account: Account = Depends(require(Permission.READ_AGGREGATES)),
           cluster: int | None = None) -> HTMLResponse:
    """Most likely transmission chains in scope, as a clickable SVG; filter by cluster."""
    from epitrace.web.chains_view import chain_svg

    svg, clusters = chain_svg(db, scope_of(account), cluster=cluster, linkable=can(account.role, Permission.READ_PERSONAL))
    return render(request, "chains.html", account, svg=svg, clusters=clusters, cluster=cluster)


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard(request: Request, db: Db, account: Account = Depends(require(Permission.READ_AGGREGATES))) -> HTMLResponse:
    """Epidemic curve, Rt and KPIs of your jurisdiction: one release, suppressed and audited."""
    import matplotlib.pyplot as plt

    from epitrace.reports.figures import epicurve_figure, rt_figure
    from epitrace.reports.report import format_kpi
    from epitrace.storage import aggregates

    released = aggregates.overview(db, scope_of(account), actor=actor_of(account, "surveillance"), today=settings.today(),
                                   name="dashboard", with_clusters=False)
    images = {}
    if not released.curve.frame.is_empty():
        images["curve"] = _png(epicurve_figure(released.curve.frame, threshold=released.threshold, title="New cases by report date"))
    rt = released.rt
    if rt.frame is not None and not rt.frame.is_empty():
        images["rt"] = _png(rt_figure(rt.frame, first_day=rt.first_day, si=f"mean {rt.si_mean} d, sd {rt.si_sd} d"))  # type: ignore[arg-type]
    plt.close("all")
    return render(request, "dashboard.html", account, images=images, kpis=[format_kpi(r) for r in released.kpis.rows],
                  total=released.curve.total, threshold=released.threshold, rt_note=rt.note)


def _png(fig) -> str:  # type: ignore[no-untyped-def]
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return base64.b64encode(buffer.getvalue()).decode()


@router.get("/selfcheck", response_class=HTMLResponse)
def selfcheck_page(request: Request) -> HTMLResponse:
    """The private self-check: the page does everything in the browser; only /feed/ is fetched."""
    from pathlib import Path

    from epitrace.feed import load_private_key
    from epitrace.settings import Settings
    from epitrace.storage.publication import current_public_key

    try:
        key = current_public_key(load_private_key(Path(Settings.from_env().feed_key)))
    except EpitraceError:
        raise Unavailable("the public feed is not set up on this server yet, so there is nothing to check against") from None
    # The page may talk to this server only (the feed): the trail has nowhere to go. Its only scripts are
    # the static modules: no inline script runs (issue 9). The policy is service.headers.PAGE_POLICY.
    return render(request, "selfcheck.html", None, public_key=key)


STATIC_TYPES = {"js": "text/javascript", "css": "text/css"}


@router.get("/static/{name}")
def static_file(name: str):  # type: ignore[no-untyped-def]
    """A script or the stylesheet of the pages (epitrace/web/static/*.js, *.css): the pages run no inline
    script or style (service.headers.PAGE_POLICY); the self-check's modules read and match the trail."""
    import re
    from pathlib import Path

    from fastapi.responses import FileResponse

    path = Path(__file__).parent / "static" / name
    if not re.fullmatch(r"[a-z_]+\.(js|css)", name) or not path.is_file():
        raise NotFound(f"there is no script or stylesheet {name!r} here")
    return FileResponse(path, media_type=STATIC_TYPES[name.rsplit(".", 1)[1]])


@router.get("/checkin", response_class=HTMLResponse)
def checkin_page(request: Request) -> HTMLResponse:
    """The venue check-in page: the venue code is in the URL fragment (never sent here); visits stay in the browser."""
    # It may fetch nothing (service.headers.POLICY_BY_PATH); its script is /static/checkin.js.
    return render(request, "checkin.html", None)


@router.get("/share", response_class=HTMLResponse)
def share_page(request: Request) -> HTMLResponse:
    """Where a case shares their own history with a one-time code (no account)."""
    from epitrace.storage.sharing import CONSENT

    return render(request, "share.html", None, consent=CONSENT, code="", error=None, result=None)


@router.post("/share", response_class=HTMLResponse)
async def share_submit(request: Request, db: Db) -> HTMLResponse:
    """Check the code before the upload is read (it is the form's first field), read the upload as a
    stream, keep only visits in the infectious period; the file is never stored."""
    from epitrace.service.sharing import receive_share
    from epitrace.storage.sharing import CONSENT

    try:
        with savepoint(db):
            result = await receive_share(request, db)
    except EpitraceError as error:
        upload = getattr(request.state, "share_upload", None)
        code = upload.code if upload is not None else ""
        return render(request, "share.html", None, status_code=error.status, consent=CONSENT, code=code,
                      error=error.message, result=None)
    return render(request, "share.html", None, consent=CONSENT, code="", error=None,
                  result={"visits": result.visits, "outside": result.stays_outside_period})
