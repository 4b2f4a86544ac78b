"""Issue 10, points 6 and 7: closed means closed; headers on every answer; files readable by the owner only."""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from epitrace.storage import audit
from epitrace.storage.db import write_session
from epitrace.storage.models import AuditEvent, Case, Task
from tests.test_api import PASSWORD, assert_error_shape, client_for, world  # noqa: F401 - the shared fixture

TODAY = "2026-03-15"


@pytest.fixture(autouse=True)
def _clock(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("EPITRACE_TODAY", TODAY)


# 6. Closed means closed: a result on a closed task is 409 with the task's state, and nothing is written.

def _state(world) -> tuple[int, int, bool]:  # type: ignore[no-untyped-def]  # noqa: F811
    """How many cases and audit entries there are (refusals of out-of-scope requests, which are audited
    as ``denied``, not counted), and whether the audit chain verifies."""
    with write_session(world["engine"]) as session:
        return (session.scalar(select(func.count()).select_from(Case)) or 0,
                session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action != audit.DENIED)) or 0,
                audit.verify(session) is None)


def _contact_tasks(world) -> dict[str, int]:  # type: ignore[no-untyped-def]  # noqa: F811
    """Name Bo Jensen as Ana's household contact; the ids of his first test and symptom-check tasks."""
    client = client_for(world, "tracer-d1")
    made = client.post(f"/api/cases/{world['cases']['Ana']}/contacts", json={
        "given_name": "Bo", "family_name": "Jensen", "date_of_birth": "1985-06-01", "setting": "household",
        "last_exposure": "2026-03-11", "identified_on": "2026-03-12"})
    assert made.status_code == 201, made.text
    with write_session(world["engine"]) as session:
        tasks = session.scalars(select(Task).where(Task.contact_id == made.json()["contact_id"]).order_by(Task.id)).all()
        return {kind: next(t.id for t in tasks if t.kind == kind) for kind in ("test", "symptom_check", "notify")}


def _closed_message(task_id: int, kind: str, status: str, result: str, on: str) -> str:
    return (f"task {task_id} ({kind}) is already {status}: result {result!r} on {on}. A closed task is not changed; "
            "report a later test result as a new lab result (epitrace import labs, or POST /api/labs)")


def test_a_closed_negative_test_refuses_a_later_positive_issue_10(world) -> None:  # noqa: F811
    task = _contact_tasks(world)["test"]
    client = client_for(world, "tracer-d1")
    first = client.post(f"/api/tasks/{task}/result", json={"result": "negative", "on": "2026-03-14"})
    assert first.status_code == 200 and first.json()["status"] == "done"
    before = _state(world)
    for result in ("positive", "POSITIVE ", "negative", "inconclusive"):
        again = client.post(f"/api/tasks/{task}/result", json={"result": result})
        body = assert_error_shape(again, 409)
        assert body["error"] == _closed_message(task, "test", "done", "negative", "2026-03-14")
        assert body["errors"] == [
            {"field": "status", "reason": "the task is closed", "value": "done", "row": None},
            {"field": "result", "reason": "the result it was closed with", "value": "negative", "row": None},
            {"field": "completed_on", "reason": "the day it was closed", "value": "2026-03-14", "row": None},
        ]
    # Another district learns nothing of the task's state: scope comes before the closed check.
    other = client_for(world, "tracer-d2").post(f"/api/tasks/{task}/result", json={"result": "positive"})
    assert assert_error_shape(other, 404)["error"] == f"no task with id {task}" and "negative" not in other.text
    assert _state(world) == before and before[2]  # no case, no audit entry, the chain verifies
    shown = client.get("/api/tasks", params={"status": "done", "kind": "test"}).json()["data"]
    assert [(t["id"], t["result"]) for t in shown] == [(task, "negative")]


def test_a_cancelled_task_refuses_every_result_issue_10(world) -> None:  # noqa: F811
    tasks = _contact_tasks(world)
    with write_session(world["engine"]) as session:
        for task_id in (tasks["test"], tasks["symptom_check"]):
            task = session.get_one(Task, task_id)
            task.status, task.result, task.completed_on = "cancelled", "contact moved away", date(2026, 3, 13)
    before = _state(world)
    client = client_for(world, "tracer-d1")
    for task_id, kind, result in ((tasks["test"], "test", "positive"), (tasks["symptom_check"], "symptom_check", "symptoms")):
        body = assert_error_shape(client.post(f"/api/tasks/{task_id}/result", json={"result": result}), 409)
        assert body["error"] == _closed_message(task_id, kind, "cancelled", "contact moved away", "2026-03-13")
    assert _state(world) == before and before[2]


def test_an_open_positive_test_still_makes_a_case(world) -> None:  # noqa: F811
    task = _contact_tasks(world)["test"]
    client = client_for(world, "tracer-d1")
    done = client.post(f"/api/tasks/{task}/result", json={"result": "positive", "on": "2026-03-14"})
    assert done.status_code == 200 and done.json()["new_case"] is True and done.json()["status"] == "done"
    body = assert_error_shape(client.post(f"/api/tasks/{task}/result", json={"result": "positive"}), 409)
    assert body["error"].startswith(f"task {task} (test) is already done: result 'positive")
    assert _state(world)[2]


def _page_client(world) -> tuple[TestClient, str]:  # type: ignore[no-untyped-def]  # noqa: F811
    client = TestClient(world["app"], base_url="https://testserver", follow_redirects=False)
    assert client.post("/login", data={"username": "tracer-d1", "password": PASSWORD, "next": "/tasks"}).status_code == 303
    page = client.get("/tasks")
    return client, re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]


def test_the_task_board_refuses_a_result_on_a_closed_task_with_the_message_issue_10(world) -> None:  # noqa: F811
    task = _contact_tasks(world)["test"]
    client, csrf = _page_client(world)
    back = "/tasks?overdue_sort=latest_due&done_from=2026-03-01"
    first = client.post(f"/tasks/{task}/result", data={"csrf_token": csrf, "result": "negative", "back": back})
    assert first.status_code == 303 and first.headers["location"] == back
    before = _state(world)
    # A second tab still showed the task open: its "positive" button is pressed after the negative.
    page = client.post(f"/tasks/{task}/result", data={"csrf_token": csrf, "result": "positive", "back": back})
    assert page.status_code == 409, page.text
    message = _closed_message(task, "test", "done", "negative", TODAY).replace("'", "&#39;")
    assert f'<p class="error" role="alert">{message}</p>' in page.text
    # The board again, with the filters of the page the button was on, showing the task as it is now.
    assert '<option value="latest_due" selected>' in page.text and 'value="2026-03-01"' in page.text
    assert f'data-testid="task-{task}"' in page.text and '<span class="tag">negative</span>' in page.text
    # Bo's other tasks still have their buttons, and they come back to that board, not to /tasks/{id}/result.
    assert page.text.count('name="back" value="/tasks?overdue_sort=latest_due&amp;done_from=2026-03-01"') >= 2
    assert 'name="back" value="/tasks/' not in page.text
    # Nothing of the refused result is kept; the only new entries are the board's audited reads.
    cases, entries, verified = _state(world)
    assert (cases, verified) == (before[0], True)
    with write_session(world["engine"]) as session:
        new = session.scalars(select(AuditEvent.action).where(AuditEvent.id > before[1])).all()
    assert len(new) == entries - before[1] >= 1 and set(new) == {"read"}


def test_the_cli_refuses_a_result_on_a_closed_task_issue_10(world, cli) -> None:  # noqa: F811
    task = str(_contact_tasks(world)["test"])
    assert cli("tasks", "done", task, "--result", "negative", "--on", "2026-03-14").exit_code == 0
    before = _state(world)
    again = cli("tasks", "done", task, "--result", "positive")
    assert again.exit_code == 1 and again.stdout == ""
    assert again.stderr.strip() == "Error: " + _closed_message(int(task), "test", "done", "negative", "2026-03-14")
    assert _state(world) == before and before[2]


# 7. Headers: every answer of every route, signed in or not, pages and JSON, errors included.

PAGE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
            "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
DATA_CSP = "default-src 'none'; frame-ancestors 'none'"
# Swagger UI starts from an inline script, ReDoc has inline styles and a blob: worker: only they are relaxed.
SWAGGER_CSP = PAGE_CSP.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'")
REDOC_CSP = PAGE_CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'") + "; worker-src 'self' blob:"
CHECKIN_CSP = PAGE_CSP.replace("connect-src 'self'", "connect-src 'none'").replace("form-action 'self'",
                                                                                    "form-action 'none'")


def assert_guarded(response, path: str) -> None:  # type: ignore[no-untyped-def]
    """``response`` (to a request for ``path``) carries every header of issue 10, point 7."""
    where = f"{response.request.method} {path} -> {response.status_code}"
    headers = response.headers
    html = headers.get("content-type", "").startswith("text/html")
    expected = {"/docs": SWAGGER_CSP, "/docs/oauth2-redirect": SWAGGER_CSP, "/redoc": REDOC_CSP,
                "/checkin": CHECKIN_CSP}.get(path, PAGE_CSP if html else DATA_CSP)
    assert headers.get_list("content-security-policy") == [expected], where
    assert headers.get_list("x-content-type-options") == ["nosniff"], where
    assert headers.get_list("referrer-policy") == ["no-referrer"], where
    assert headers.get_list("x-frame-options") == ["DENY"], where
    if path.startswith(("/static", "/feed/")):
        assert "no-store" not in headers.get("cache-control", ""), where
    else:
        assert headers.get("cache-control") == "no-store", where


def _concrete(path: str, world) -> str:  # type: ignore[no-untyped-def]  # noqa: F811
    """A route's path with its parameters filled in with records that exist."""
    values = {"case_id": world["cases"]["Ana"], "person_id": world["persons"]["Ana"], "task_id": 1, "link_id": 1,
              "proposal_id": 1, "name": "epitrace.css",
              # Account routes get records that do not exist, so no request changes the accounts the loop signs in with.
              "username": "nobody", "token": "no-such-link", "token_id": 999_999}
    return re.sub(r"\{(\w+)\}", lambda m: str(values[m.group(1)]), path)


def _session(world, username: str | None) -> TestClient:  # type: ignore[no-untyped-def]  # noqa: F811
    client = TestClient(world["app"], base_url="https://testserver", follow_redirects=False)
    if username:
        assert client.post("/login", data={"username": username, "password": PASSWORD, "next": "/"}).status_code == 303
    return client


def test_every_route_answers_with_the_security_headers_issue_10(world) -> None:  # noqa: F811
    from fastapi.routing import APIRoute
    from starlette.routing import Mount, Route

    routes = [r for r in world["app"].routes if isinstance(r, APIRoute | Route)]
    assert len(routes) > 50 and any(isinstance(r, Mount) for r in world["app"].routes)
    gets = [r.path for r in routes if "GET" in (r.methods or ())]
    others = [(method, r.path) for r in routes for method in sorted(r.methods or ()) if method not in ("GET", "HEAD")]
    statuses: dict[str, set[int]] = {}
    for username in (None, "supervisor", "privacy", "admin"):
        client = _session(world, username)
        for path in gets:
            url = _concrete(path, world)
            response = client.get(url)
            assert_guarded(response, url)
            statuses.setdefault(path, set()).add(response.status_code)
    anonymous = _session(world, None)
    for method, path in others:  # anonymous: refused before anything is written, and still guarded
        url = _concrete(path, world)
        assert_guarded(anonymous.request(method, url), url)
    for url, status in (("/static/docs/swagger-ui.css", 200), ("/static/docs/redoc.standalone.js", 200),
                        ("/static/selfcheck.js", 200), ("/static/nothing.js", 404), ("/no/such/page", 404),
                        ("/api/no/such/route", 404), ("/cases/999999", 303), ("/api/cases/999999", 401)):
        response = anonymous.get(url)
        assert response.status_code == status, url
        assert_guarded(response, url)
    html_404 = anonymous.get("/no/such/page", headers={"Accept": "text/html"})
    assert html_404.status_code == 404 and html_404.headers["content-type"].startswith("text/html")
    assert_guarded(html_404, "/no/such/page")
    wrong_method = anonymous.put("/api/cases")
    assert wrong_method.status_code == 405
    assert_guarded(wrong_method, "/api/cases")
    out_of_scope = _session(world, "tracer-d2").get(f"/cases/{world['cases']['Ana']}")
    assert out_of_scope.status_code == 404
    assert_guarded(out_of_scope, "/cases/1")
    # The run met pages and JSON, successes and refusals: the headers are not only on the happy path.
    assert {200, 303, 401, 403, 503} <= set().union(*statuses.values())
    assert 200 in statuses["/queue"] and 200 in statuses["/api/cases/{case_id}"] and 200 in statuses["/docs"]


def test_an_unexpected_error_is_guarded_too_issue_10(world, monkeypatch) -> None:  # noqa: F811
    from epitrace.storage import workbench

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("a bug that quotes Ana Silva")

    monkeypatch.setattr(workbench, "list_cases", broken)
    client = _session(world, "supervisor")
    page = client.get("/queue")
    assert page.status_code == 500 and page.headers["content-type"].startswith("text/html")
    assert_guarded(page, "/queue")
    api = client_for(world, "supervisor").get("/api/cases")
    assert_guarded(api, "/api/cases")
    assert assert_error_shape(api, 500)["error"].startswith("an unexpected error happened in epitrace")


def test_no_route_sets_a_policy_of_its_own_issue_10() -> None:
    """One rule in one place: service/headers.py decides every header; the pages carry no inline style or script."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "src" / "epitrace"
    for path in root.rglob("*.py"):
        if path.name != "headers.py":
            text = path.read_text(encoding="utf-8")
            assert not re.search(r"""(?i)["'](content-security-policy|x-content-type-options|x-frame-options|"""
                                 r"""referrer-policy)["']""", text), f"{path} sets a header of service/headers.py"
    for template in (root / "web" / "templates").glob("*.html"):
        text = template.read_text(encoding="utf-8")
        assert "<style" not in text and "style=" not in text, template
        assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", text) == [], template  # no inline script
        assert not re.search(r"\son[a-z]+=", text), template  # no inline event handler


# The policy in a real browser: the pages work under it and nothing they do is refused.

RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation",
  (e) => window.__violations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));
"""


@pytest.mark.slow
def test_the_pages_break_no_rule_of_their_policy_in_a_browser_issue_10(world, monkeypatch) -> None:  # noqa: F811
    from playwright.sync_api import sync_playwright

    from tests.browser_support import launch_chromium, live_server

    task = _contact_tasks(world)["test"]
    case, person = world["cases"]["Ana"], world["persons"]["Ana"]
    pages = ["/tasks", f"/cases/{case}", "/queue?show=all", "/persons?q=Ana", f"/persons/{person}", "/chains",
             "/dashboard", "/no/such/page", "/login", "/share", "/checkin", "/docs", "/redoc"]
    problems: list[tuple[str, str]] = []
    here = ["/login"]
    with live_server(world["app"]) as base, sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_context(base_url=base).new_page()
        page.add_init_script(RECORD_VIOLATIONS)
        # (The browser's own /favicon.ico and the pages that are a 404 on purpose log a failed load.)
        page.on("console", lambda m: problems.append((here[0], m.text))
                if m.type == "error" and "favicon" not in m.location.get("url", "") and "404" not in m.text else None)
        page.on("pageerror", lambda e: problems.append((here[0], f"page error: {e}")))
        page.goto("/login")
        page.get_by_label("User name").fill("tracer-d1")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/queue")
        # The stylesheet applies (it was an inline <style>): the header is the dark bar.
        assert page.eval_on_selector("header", "h => getComputedStyle(h).backgroundColor") == "rgb(18, 50, 74)"
        seen: dict[str, list[str]] = {}
        for path in pages:
            here[0] = path
            page.goto(path)
            page.wait_for_load_state("networkidle")
            seen[path] = page.evaluate("window.__violations")
            if path in ("/docs", "/redoc"):  # the documentation still renders every operation under its policy
                operations = page.locator(".opblock" if path == "/docs" else "[data-section-id^='tag/']")
                assert operations.count() >= 10, (path, operations.count())
        # The forms still post (form-action 'self'): record a result from the board.
        here[0] = "result form"
        page.goto("/tasks")
        page.get_by_test_id(f"task-{task}").get_by_role("button", name="negative").click()
        page.wait_for_url("**/tasks")
        seen["result form"] = page.evaluate("window.__violations")
        # The check-in page's script (no longer inline) runs.
        here[0] = "/checkin#abc"
        page.goto("/checkin#abc")
        assert page.locator("#venue").inner_text() == "Venue code …abc"
        seen["/checkin#abc"] = page.evaluate("window.__violations")
        # The detector detects: an inline style attribute set now is refused and recorded.
        here[0] = "control"
        page.goto("/queue")
        page.evaluate("document.body.setAttribute('style', 'color: red')")
        page.wait_for_timeout(200)
        seen["control"] = page.evaluate("window.__violations")
        browser.close()
    # ReDoc's sidebar asks a CDN for its logo: the policy refuses it, as it should (the docs ask no third party).
    redoc_logo = ["img-src https://cdn.redoc.ly/redoc/logo-mini.svg :0"]
    assert {path: found for path, found in seen.items() if found} == {"/redoc": redoc_logo,
                                                                       "control": [seen["control"][0]]}
    assert seen["control"][0].startswith("style-src-attr"), seen["control"]
    assert {path for path, _ in problems} <= {"/redoc", "control"}, problems
    assert all("Content Security Policy" in text for _, text in problems), problems
    with write_session(world["engine"]) as session:
        assert session.get_one(Task, task).result == "negative"


# 7. Files: everything epitrace writes that can hold personal data is created readable by its owner only.

@pytest.fixture
def permissive_umask() -> Iterator[None]:
    """A umask that lets everyone read new files (a common default), so that a file left to it would show up."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def assert_owner_only(*paths: Path) -> None:
    modes = {str(p): oct(mode(p)) for p in paths}
    expected = {str(p): oct(0o700 if p.is_dir() else 0o600) for p in paths}
    assert modes == expected


def test_the_database_and_its_wal_and_shm_are_owner_only_issue_10(tmp_path, permissive_umask) -> None:
    from epitrace.storage.db import make_engine
    from tests.conftest import city_database

    path = tmp_path / "new.db"
    engine = city_database(f"sqlite:///{path}")
    with engine.connect() as connection:  # -wal and -shm exist while a connection is open
        connection.exec_driver_sql("SELECT count(*) FROM jurisdiction").all()
        files = [path, Path(f"{path}-wal"), Path(f"{path}-shm")]
        assert all(p.exists() for p in files), sorted(p.name for p in tmp_path.iterdir())
        assert_owner_only(*files)
    engine.dispose()
    # A database that already exists keeps the mode its owner gave it; a missing folder is still SQLite's error.
    path.chmod(0o640)
    make_engine(f"sqlite:///{path}").dispose()
    assert mode(path) == 0o640
    assert not (tmp_path / "missing").exists()
    make_engine(f"sqlite:///{tmp_path / 'missing' / 'x.db'}").dispose()
    assert not (tmp_path / "missing").exists()


def test_init_creates_an_owner_only_database_issue_10(tmp_path, permissive_umask, monkeypatch) -> None:
    from typer.testing import CliRunner

    from epitrace.cli import app

    path = tmp_path / "epitrace.db"
    monkeypatch.setenv("EPITRACE_DATABASE_URL", f"sqlite:///{path}")
    result = CliRunner().invoke(app, ["init"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert_owner_only(path, *[p for p in (Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists()])


def test_errors_csv_holding_names_is_owner_only_issue_10(permissive_umask, cli) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import lab_line, write_labs

    labs = write_labs(cli.cwd / "labs.csv", lab_line("S1", given="Ana"), lab_line("S2", result="maybe"))
    errors = cli.cwd / "labs.csv.errors.csv"
    errors.write_text("stale list from an earlier attempt\n")  # an earlier file that everyone may read
    assert mode(errors) == 0o644
    rejected = cli("import", "labs", str(labs))
    assert rejected.exit_code == 1 and "maybe" in errors.read_text()
    assert_owner_only(errors)
    errors.unlink()
    assert cli("import", "labs", str(labs)).exit_code == 1
    assert_owner_only(errors)


def test_exports_presences_and_the_report_are_owner_only_issue_10(permissive_umask, cli) -> None:  # type: ignore[no-untyped-def]
    import polars as pl

    from tests.conftest import lab_line, write_labs

    presences = pl.DataFrame({"person_id": ["a", "b"], "lat": [52.37, 52.37], "lon": [4.9, 4.9], "start": [0, 100],
                              "end": [1200, 1500]})
    windows = pl.DataFrame({"window_id": ["w1"], "lat": [52.3701], "lon": [4.9], "radius_m": [50.0], "start": [300],
                            "end": [3000]})
    presences.write_csv(cli.cwd / "p.csv")
    windows.write_csv(cli.cwd / "w.csv")
    written = []
    for out in ("e.csv", "e.parquet"):
        result = cli("match", "--windows", "w.csv", "--presences", "p.csv", "--out", out)
        assert result.exit_code == 0, result.output
        written.append(cli.cwd / out)
    (cli.cwd / "trail.csv").write_text("lat,lon,start,end\n52.37,4.89,2026-03-09T18:30:00Z,2026-03-09T19:40:00Z\n")
    for out in ("me.csv", "me.parquet"):
        result = cli("trail", "trail.csv", "--out", out)
        assert result.exit_code == 0, result.output
        written.append(cli.cwd / out)
    assert pl.read_parquet(cli.cwd / "e.parquet")["person_id"].to_list() == ["a", "b"]  # still the same files
    write_labs(cli.cwd / "labs.csv", *[lab_line(f"S{i}", given=f"P{i}", resulted=f"2026-03-{10 + i % 5:02d}",
                                                collected=f"2026-03-{9 + i % 5:02d}") for i in range(12)])
    assert cli("import", "labs", "labs.csv").exit_code == 0
    report = cli("report", "--out", "reports/march", "--today", "2026-03-20")
    assert report.exit_code == 0, report.output
    folder = cli.cwd / "reports" / "march"
    assert {p.name for p in folder.iterdir()} >= {"report.html", "report.pdf", "report.json", "epicurve.png"}
    assert (folder / "report.pdf").read_bytes()[:5] == b"%PDF-"
    assert_owner_only(*written, folder, *folder.iterdir())


def test_the_feed_signing_key_is_owner_only_issue_10(permissive_umask, cli) -> None:  # type: ignore[no-untyped-def]
    assert cli("feed", "keygen", "--key", "feed.pem").exit_code == 0
    assert_owner_only(cli.cwd / "feed.pem")


def test_the_files_helper_narrows_what_exists_and_keeps_folders_of_the_user(tmp_path, permissive_umask) -> None:
    from epitrace.files import create_private, open_private, private_dir, write_private_text

    old = tmp_path / "old.txt"
    old.write_text("kept")
    create_private(old)
    assert old.read_text() == "kept" and mode(old) == 0o600
    write_private_text(tmp_path / "new.txt", "x")
    with open_private(tmp_path / "new.txt", "a", encoding="utf-8") as handle:
        handle.write("y")
    assert (tmp_path / "new.txt").read_text() == "xy"
    theirs = tmp_path / "theirs"
    theirs.mkdir(mode=0o755)
    assert private_dir(theirs) == theirs and mode(theirs) == 0o755  # an existing folder is the user's
    assert_owner_only(tmp_path / "new.txt", private_dir(tmp_path / "a" / "b"))
    with pytest.raises(ValueError, match="open_private writes files"):
        open_private(tmp_path / "new.txt", "r")


def test_the_demo_folder_and_everything_in_it_are_owner_only_issue_10(tmp_path, permissive_umask) -> None:
    from epitrace.pipeline.demo import run_demo

    out = tmp_path / "runs" / "demo"
    run_demo(people=100, days=3, seed=1, out=out)
    assert {"epitrace.db", "report.html", "report.pdf"} <= {p.name for p in out.iterdir()}
    assert_owner_only(out, *out.iterdir())
