"""Issue 9: the promises hold under ordinary use. Each test is named after the defect it guards."""

from __future__ import annotations

import logging
import re
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from epitrace.domain.periods import infectious_period
from epitrace.domain.profiles import RESPIRATORY
from epitrace.storage import audit
from epitrace.storage.db import write_session
from epitrace.storage.models import AuditEvent, Person, Task
from tests.conftest import lab_line, write_labs
from tests.test_api import PASSWORD, assert_error_shape, client_for, world  # noqa: F401 - the shared fixture

TODAY = "2026-03-15"


@pytest.fixture(autouse=True)
def _clock(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("EPITRACE_TODAY", TODAY)


def verified(world) -> bool:  # type: ignore[no-untyped-def]  # noqa: F811
    with write_session(world["engine"]) as session:
        return audit.verify(session) is None


def entries(world) -> int:  # type: ignore[no-untyped-def]  # noqa: F811
    with write_session(world["engine"]) as session:
        return session.scalar(select(func.count()).select_from(AuditEvent)) or 0


def page_client(world, username: str) -> tuple[TestClient, str]:  # type: ignore[no-untyped-def]  # noqa: F811
    client = TestClient(world["app"], base_url="https://testserver", follow_redirects=False)
    assert client.post("/login", data={"username": username, "password": PASSWORD, "next": "/queue"}).status_code == 303
    page = client.get("/queue?show=all")
    return client, re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]


# 1. The audit chain cannot be broken by use.

def test_refused_form_keeps_the_audit_chain(world) -> None:  # noqa: F811
    client, csrf = page_client(world, "supervisor")
    case = world["cases"]["Ana"]
    refused = [
        (f"/cases/{case}/interview", {"onset": "2026-04-30"}),                  # after the specimen, in the future
        (f"/cases/{case}/interview", {"onset": "1900-01-01"}),
        (f"/cases/{case}/interview", {"onset": "2026-03-09", "isolation": "2026-02-01"}),
        (f"/cases/{case}/visits", {"place": "Blue Door", "start": "2026-03-09T20:00", "end": "2026-03-09T19:00"}),
        (f"/cases/{case}/visits", {"place": "Blue Door", "start": "2026-03-20T18:00", "end": "2026-03-20T19:00"}),
        (f"/cases/{case}/visits", {"place": "Blue Door", "lat": "north", "start": "2026-03-09T18:00", "end": "2026-03-09T19:00"}),
        (f"/cases/{case}/contacts", {"given_name": "Cy", "family_name": "Lee", "last_exposure": "2026-03-30"}),
        (f"/cases/{case}/contacts", {"given_name": "Cy", "family_name": "Lee", "last_exposure": "2026-03-10",
                                     "date_of_birth": "2027-01-01"}),
        (f"/cases/{case}/contacts", {"given_name": "Cy", "family_name": "Lee", "last_exposure": "2026-01-01"}),
        (f"/cases/{case}/contacts", {"given_name": "x" * 300, "family_name": "Lee", "last_exposure": "2026-03-10"}),
        ("/persons/merge", {"keep": str(world["persons"]["Ana"]), "other": str(world["persons"]["Ana"])}),
        ("/persons/merge", {"keep": str(world["persons"]["Ana"]), "other": "x"}),
        ("/tasks/999999/result", {"result": "negative"}),
        ("/share", {"code": "WRONG-CODE", "consent": "true"}),
        ("/login", {"username": "tracer-d1", "password": "wrong"}),
    ]
    for path, form in refused:
        before = entries(world)
        response = client.post(path, data={"csrf_token": csrf, **form})
        assert response.status_code in (400, 401, 404, 409, 422), (path, form, response.status_code)
        assert verified(world), f"audit verify fails after the refused {path} {form}"
        # A refused write audits only the reads it showed (the page again), never the write.
        with write_session(world["engine"]) as session:
            actions = session.scalars(select(AuditEvent.action).where(AuditEvent.id > before)).all()
        assert not {"create", "update", "merge"} & set(actions), (path, actions)


def test_refused_api_writes_keep_the_audit_chain(world) -> None:  # noqa: F811
    api = client_for(world, "supervisor")
    case = world["cases"]["Ana"]
    refused = [
        ("patch", f"/api/cases/{case}", {"onset": "2026-05-01"}),
        ("patch", f"/api/cases/{case}", {"interviewed_on": "2026-03-01"}),
        ("post", f"/api/cases/{case}/visits", {"place": "X", "start": "2026-03-09T18:00:00Z", "end": "2026-03-19T18:00:00Z"}),
        ("post", f"/api/cases/{case}/contacts", {"given_name": "Cy", "family_name": "Lee", "setting": "work",
                                                 "last_exposure": "2026-03-16"}),
        ("post", "/api/persons/merge", {"keep": world["persons"]["Ana"], "other": 999999}),
        ("post", "/api/tasks/999999/result", {"result": "negative"}),
        ("post", "/api/labs/rows", {"rows": [{"lab_id": "L", "specimen_id": "X", "result": "maybe"}]}),
        ("post", "/api/links/999999/review", {"decision": "confirm"}),
    ]
    for method, path, body in refused:
        response = getattr(api, method)(path, json=body)
        assert 400 <= response.status_code < 500, (path, response.status_code, response.text)
        assert_error_shape(response, response.status_code)
        assert verified(world), f"audit verify fails after the refused {method.upper()} {path}"
    # and a dry run writes nothing, the audit chain included
    before = entries(world)
    rows = [{"lab_id": "L", "specimen_id": "S77", "collected_on": "2026-03-10", "resulted_on": "2026-03-11",
             "result": "positive", "test_type": "PCR", "given_name": "Dee", "family_name": "Ray",
             "date_of_birth": "1970-01-01", "jurisdiction_code": "D1"}]
    assert api.post("/api/labs/rows", json={"rows": rows, "dry_run": True}).json()["imported"] == 1
    assert entries(world) == before and verified(world)


# 2. One error tree, used everywhere.

def test_error_shape_for_every_family(world, monkeypatch, caplog) -> None:  # noqa: F811
    anonymous = TestClient(world["app"], base_url="https://testserver", raise_server_exceptions=False)
    api = client_for(world, "tracer-d1")
    epi = client_for(world, "epi")
    assert_error_shape(api.patch(f"/api/cases/{world['cases']['Ana']}", json={"onset": "2027-01-01"}), 400)
    assert_error_shape(anonymous.get("/api/cases"), 401)
    assert_error_shape(epi.get("/api/cases"), 403)
    assert_error_shape(api.get("/api/cases/999999"), 404)
    supervisor = client_for(world, "supervisor")
    merge = {"keep": world["persons"]["Ana"], "other": world["persons"]["Bea"]}
    assert supervisor.post("/api/persons/merge", json=merge).status_code == 200
    assert "already merged" in assert_error_shape(supervisor.post("/api/persons/merge", json=merge), 409)["error"]
    assert_error_shape(api.get("/api/nowhere"), 404)
    assert_error_shape(api.delete("/api/cases"), 405)
    assert_error_shape(api.get("/api/cases?limit=abc"), 422)
    monkeypatch.setenv("EPITRACE_FEED_KEY", "/nonexistent/key.pem")
    feed = anonymous.get("/feed/")
    assert feed.headers["content-type"].startswith("application/json")
    assert_error_shape(feed, 503)
    # an unexpected error: the one shape with 500, logged with its stack and without its message
    import epitrace.storage.workbench as workbench

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("Ana Silva +15550001 leaked")

    monkeypatch.setattr(workbench, "case_detail", broken)
    with caplog.at_level(logging.ERROR, logger="epitrace.errors"):
        failed = api.get(f"/api/cases/{world['cases']['Ana']}")
    assert_error_shape(failed, 500)
    assert "RuntimeError" in caplog.text and "routes_investigation.py" in caplog.text
    assert "Ana Silva" not in caplog.text and "Ana Silva" not in failed.text
    page, _ = page_client(world, "tracer-d1")
    page_failure = TestClient(world["app"], base_url="https://testserver", raise_server_exceptions=False,
                              cookies=page.cookies).get(f"/cases/{world['cases']['Ana']}")
    assert page_failure.status_code == 500 and "text/html" in page_failure.headers["content-type"]
    for _ in range(5):
        anonymous.post("/api/session", json={"username": "tracer-d2", "password": "wrong"})
    limited = assert_error_shape(anonymous.post("/api/session", json={"username": "tracer-d2", "password": "wrong"}), 429)
    assert "try again in" in limited["error"]


def test_items_of_an_error_have_one_shape(world) -> None:  # noqa: F811
    api = client_for(world, "supervisor")
    validation = assert_error_shape(api.post("/api/persons/merge", json={"keep": "x"}), 422)
    rows = assert_error_shape(api.post("/api/labs/rows", json={"rows": [{"lab_id": "L", "result": "maybe"}]}), 422)
    for item in validation["errors"] + rows["errors"]:
        assert set(item) == {"field", "reason", "value", "row"}


def test_cli_user_errors_print_no_traceback(cli, world) -> None:  # noqa: F811
    case = world["cases"]["Ana"]
    for args in (("contacts", "add", str(case), "--given-name", "Cy", "--family-name", "Lee", "--setting", "work",
                  "--last-exposure", "2026-03-20"),
                 ("cases", "update", str(case), "--onset", "1900-01-01"),
                 ("visits", "add", str(case), "--place", "X", "--start", "2026-03-01T10:00+00:00",
                  "--end", "2026-03-03T10:00+00:00"),
                 ("rt", "--incidence", "missing.csv", "--si-mean", "2.6", "--si-sd", "0", "--out", "rt.csv")):
        result = cli(*args)
        assert result.exit_code == 1, (args, result.output)
        assert result.output.startswith("Error: ") and "Traceback" not in result.output, result.output


def test_rt_si_sd_zero_is_an_error(cli) -> None:
    (cli.cwd / "cases.csv").write_text("dates,I\n" + "".join(f"{d},{d}\n" for d in range(1, 15)))
    result = cli("rt", "--incidence", "cases.csv", "--si-mean", "2.6", "--si-sd", "0", "--out", "rt.csv")
    assert result.exit_code == 1
    assert "serial interval sd must be > 0 days" in result.output and "Traceback" not in result.output


# 3. Each defect, with its regression test.

def test_contact_exposed_after_today_is_a_clear_400(world, cli) -> None:  # noqa: F811
    case = world["cases"]["Ana"]
    api = client_for(world, "tracer-d1")
    body = assert_error_shape(api.post(f"/api/cases/{case}/contacts", json={
        "given_name": "Cy", "family_name": "Lee", "setting": "work", "last_exposure": "2026-03-20"}), 400)
    assert body["error"].startswith("last exposure 2026-03-20 is after the contact was identified (2026-03-15)")
    client, csrf = page_client(world, "tracer-d1")
    page = client.post(f"/cases/{case}/contacts", data={"csrf_token": csrf, "given_name": "Cy", "family_name": "Lee",
                                                          "setting": "work", "last_exposure": "2026-03-20"})
    assert page.status_code == 400 and "last exposure 2026-03-20 is after" in page.text and 'value="Cy"' in page.text
    result = cli("contacts", "add", str(case), "--given-name", "Cy", "--family-name", "Lee", "--setting", "work",
                 "--last-exposure", "2026-03-20")
    assert result.exit_code == 1 and "last exposure 2026-03-20 is after" in result.output


def test_merge_moves_the_national_id(world, cli) -> None:  # noqa: F811
    write_labs(cli.cwd / "more.csv",
               lab_line("S3", given="Anna", family="Silva", jurisdiction="D1", national_id="NID-1", phone=""))
    assert cli("import", "labs", "more.csv").exit_code == 0
    with write_session(world["engine"]) as session:
        anna = session.scalar(select(Person.id).where(Person.given_name == "Anna"))
    keep, other = world["persons"]["Ana"], anna
    api = client_for(world, "supervisor")
    merged = api.post("/api/persons/merge", json={"keep": keep, "other": other})
    assert merged.status_code == 200, merged.text
    with write_session(world["engine"]) as session:
        assert session.get_one(Person, keep).national_id == "NID-1"
        assert session.get_one(Person, other).national_id is None
    assert verified(world)


def test_merge_with_different_national_ids_is_a_clear_conflict(world, cli) -> None:  # noqa: F811
    write_labs(cli.cwd / "ids.csv", lab_line("S4", given="Eve", family="Moss", national_id="A-1", jurisdiction="D1"),
               lab_line("S5", given="Eva", family="Moss", national_id="B-2", jurisdiction="D1"))
    assert cli("import", "labs", "ids.csv").exit_code == 0
    with write_session(world["engine"]) as session:
        eve, eva = (session.scalar(select(Person.id).where(Person.given_name == n)) for n in ("Eve", "Eva"))
    result = cli("persons", "merge", str(eve), str(eva))
    assert result.exit_code == 1 and "different national ids" in result.output and "Traceback" not in result.output


def test_resaving_interview_keeps_free_text_symptoms(world) -> None:  # noqa: F811
    client, csrf = page_client(world, "tracer-d1")
    case = world["cases"]["Ana"]
    saved = client.post(f"/cases/{case}/interview", data={"csrf_token": csrf, "onset": "2026-03-09",
                                                          "symptoms": ["fever"], "other_symptoms": "chills, rash"})
    assert saved.status_code == 303
    page = client.get(f"/cases/{case}").text
    other = re.search(r'name="other_symptoms" value="([^"]*)"', page).group(1)  # type: ignore[union-attr]
    assert other == "chills, rash"
    ticked = re.findall(r'name="symptoms" value="([^"]+)"[^>]* checked', page)
    # Re-saving the form exactly as shown keeps every symptom.
    assert client.post(f"/cases/{case}/interview", data={"csrf_token": csrf, "onset": "2026-03-09", "symptoms": ticked,
                                                         "other_symptoms": other}).status_code == 303
    api = client_for(world, "tracer-d1")
    assert api.get(f"/api/cases/{case}").json()["symptoms"] == "fever, chills, rash"


def test_one_follow_up_schedule_per_person(world) -> None:  # noqa: F811
    api = client_for(world, "supervisor")
    ana, bea = world["cases"]["Ana"], world["cases"]["Bea"]
    first = api.post(f"/api/cases/{ana}/contacts", json={"given_name": "Cy", "family_name": "Lee", "date_of_birth": "1999-09-09",
                                                         "setting": "household", "last_exposure": "2026-03-10",
                                                         "identified_on": "2026-03-12"})
    second = api.post(f"/api/cases/{bea}/contacts", json={"given_name": "Cy", "family_name": "Lee", "date_of_birth": "1999-09-09",
                                                          "setting": "work", "last_exposure": "2026-03-12",
                                                          "identified_on": "2026-03-13"})
    assert first.status_code == second.status_code == 201, (first.text, second.text)
    person = first.json()["person_id"]
    assert second.json()["person_id"] == person
    with write_session(world["engine"]) as session:
        tasks = session.scalars(select(Task).where(Task.person_id == person, Task.status == "open")).all()
    kinds = [t.kind for t in tasks]
    assert kinds.count("notify") == 1 and kinds.count("test") == 1
    checks = sorted(t.due_on for t in tasks if t.kind == "symptom_check")
    assert len(checks) == len(set(checks)), "two symptom checks on one day"
    assert checks[-1] == date(2026, 3, 26)  # 14 days after the latest exposure
    for task in tasks:  # the notification, the test, and the days both schedules cover name both cases
        if task.kind != "symptom_check" or date(2026, 3, 14) <= task.due_on <= date(2026, 3, 24):
            assert f"case {ana}" in task.reason and f"case {bea}" in task.reason, task.reason


@pytest.mark.parametrize(("body", "message"), [
    ({"onset": "1900-01-01"}, "onset 1900-01-01 is before the person was born (1990-04-02)"),
    ({"onset": "1995-01-01"}, "onset 1995-01-01 is 11391 days before the specimen date 2026-03-10"),
    ({"onset": "2026-03-16"}, "onset 2026-03-16 is in the future (today is 2026-03-15)"),
    ({"isolation": "2026-03-20"}, "isolation date 2026-03-20 is in the future"),
    ({"interviewed_on": "2026-03-16"}, "interview date 2026-03-16 is in the future"),
    ({"interviewed_on": "2026-03-01"}, "interview date 2026-03-01 is before the specimen was taken"),
])
def test_implausible_case_dates_are_refused(world, body, message) -> None:  # noqa: F811
    api = client_for(world, "tracer-d1")
    refused = assert_error_shape(api.patch(f"/api/cases/{world['cases']['Ana']}", json=body), 400)
    assert refused["error"].startswith(message), refused["error"]


def test_implausible_contact_and_visit_dates(world) -> None:  # noqa: F811
    api = client_for(world, "tracer-d1")
    case = world["cases"]["Ana"]
    contact = {"given_name": "Cy", "family_name": "Lee", "setting": "work", "last_exposure": "2026-03-10"}
    born = assert_error_shape(api.post(f"/api/cases/{case}/contacts", json=contact | {"date_of_birth": "2027-01-01"}), 400)
    assert born["error"].startswith("date of birth 2027-01-01 is in the future")
    outside = assert_error_shape(api.post(f"/api/cases/{case}/contacts", json=contact | {"last_exposure": "2026-02-01"}), 400)
    assert "outside the case's infectious period (2026-03-08 to 2026-03-20)" in outside["error"]
    assert api.post(f"/api/cases/{case}/contacts", json=contact | {"last_exposure": "2026-02-01", "confirm": True}).status_code == 201
    visit = {"place": "Blue Door", "start": "2026-03-09T18:00:00Z", "end": "2026-03-09T19:00:00Z"}
    future = assert_error_shape(api.post(f"/api/cases/{case}/visits", json=visit | {"end": "2026-03-17T19:00:00Z"}), 400)
    assert future["error"].startswith("visit end 2026-03-17T19:00:00+00:00 is in the future")
    long = assert_error_shape(api.post(f"/api/cases/{case}/visits", json=visit | {"end": "2026-03-12T18:00:00Z"}), 400)
    assert "lasts 72 hours, more than 24" in long["error"]
    assert api.post(f"/api/cases/{case}/visits", json=visit | {"end": "2026-03-12T18:00:00Z", "confirm": True}).status_code == 201


def test_confirmation_box_appears_on_the_form_that_needs_it(world) -> None:  # noqa: F811
    client, csrf = page_client(world, "tracer-d1")
    case = world["cases"]["Ana"]
    form = {"csrf_token": csrf, "given_name": "Cy", "family_name": "Lee", "setting": "work", "last_exposure": "2026-02-01"}
    page = client.post(f"/cases/{case}/contacts", data=form)
    assert page.status_code == 400 and "This is correct: record it anyway" in page.text
    assert client.post(f"/cases/{case}/contacts", data=form | {"confirm": "true"}).status_code == 303


def test_infectious_period_starts_before_the_earlier_of_onset_and_specimen() -> None:
    period = infectious_period(RESPIRATORY, onset=date(2026, 3, 12), specimen=date(2026, 3, 10))
    assert period.first_day == date(2026, 3, 8)  # 2 days before the specimen, not before onset
    assert period.last_day == date(2026, 3, 22)  # 10 days after onset
    assert "specimen date 2026-03-10" in period.basis


def test_signed_in_pages_and_personal_api_answers_are_not_cached(world) -> None:  # noqa: F811
    client, _ = page_client(world, "tracer-d1")
    case = world["cases"]["Ana"]
    for path in ("/queue", f"/cases/{case}", "/tasks", "/persons?q=Ana"):
        assert client.get(path).headers["cache-control"] == "no-store", path
    api = client_for(world, "tracer-d1")
    for path in ("/api/cases", f"/api/cases/{case}", "/api/persons?q=Ana", "/api/me"):
        assert api.get(path).headers["cache-control"] == "no-store", path


def test_docs_make_no_request_to_a_third_party(world) -> None:  # noqa: F811
    client = TestClient(world["app"], base_url="https://testserver")
    for path in ("/docs", "/redoc"):
        html = client.get(path).text
        urls = re.findall(r'(?:src|href)=["\']([^"\']+)', html) + re.findall(r"url: ?'([^']+)'", html)
        assert urls, html
        for url in urls:
            assert url.startswith("/"), f"{path} loads {url} from elsewhere"
            if url != "/openapi.json":
                assert client.get(url).status_code == 200, url


def test_text_length_limits(world) -> None:  # noqa: F811
    api = client_for(world, "tracer-d1")
    case = world["cases"]["Ana"]
    long_name = assert_error_shape(api.post(f"/api/cases/{case}/contacts", json={
        "given_name": "x" * 201, "family_name": "Lee", "setting": "work", "last_exposure": "2026-03-10"}), 422)
    assert long_name["errors"][0]["field"] == "body.given_name"
    symptoms = assert_error_shape(api.patch(f"/api/cases/{case}", json={"symptoms": "cough " * 1000}), 422)
    assert "2000" in symptoms["error"]
    client, csrf = page_client(world, "tracer-d1")
    page = client.post(f"/cases/{case}/interview", data={"csrf_token": csrf, "other_symptoms": "y" * 3000})
    assert page.status_code == 400 and "symptoms is 3,000 characters long; at most 2,000 are allowed" in page.text


def test_a_write_is_committed_before_its_answer_is_sent(world) -> None:  # noqa: F811
    """The request's transaction commits before the response starts (issue 11): a client that has its 200
    finds the contact from any other connection; a commit after the answer would lose that ordering."""
    from sqlalchemy import create_engine

    from epitrace.storage.models import Contact

    observer = create_engine(world["engine"].url.render_as_string(hide_password=False))  # another connection, which sees only committed rows
    seen: list[int] = []

    def watching(app):  # type: ignore[no-untyped-def]
        async def wrapped(scope, receive, send):  # type: ignore[no-untyped-def]
            async def on_send(message):  # type: ignore[no-untyped-def]
                if message["type"] == "http.response.start" and scope.get("method") == "POST":
                    with observer.connect() as conn:
                        seen.append(conn.execute(select(func.count()).select_from(Contact)).scalar_one())
                await send(message)
            await app(scope, receive, on_send)
        return wrapped

    client = client_for({**world, "app": watching(world["app"])}, "tracer-d1")
    made = client.post(f"/api/cases/{world['cases']['Ana']}/contacts", json={
        "given_name": "Bo", "family_name": "Jensen", "setting": "household", "last_exposure": "2026-03-11",
        "identified_on": "2026-03-12"})
    assert made.status_code == 201, made.text
    assert seen[-1] == 1  # committed when the answer began
    observer.dispose()
