"""The service: accounts, one error shape, scoping (404 that leaks nothing), audit on every personal read."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from epitrace.api import create_app
from epitrace.domain.roles import Role
from epitrace.storage.accounts import add_user, create_api_token
from epitrace.storage.db import make_engine, write_session
from epitrace.storage.models import AuditEvent, Case, Person, Task
from tests.conftest import lab_line, write_labs

PASSWORD = "correct horse battery staple"
USERS = {
    "tracer-d1": (Role.TRACER, "D1"), "tracer-d2": (Role.TRACER, "D2"), "supervisor": (Role.SUPERVISOR, "CITY"),
    "epi": (Role.EPIDEMIOLOGIST, "CITY"), "admin": (Role.ADMINISTRATOR, "CITY"), "privacy": (Role.PRIVACY_OFFICER, "CITY"),
}


def assert_error_shape(response, status: int) -> dict:  # type: ignore[no-untyped-def]
    body = response.json()
    assert response.status_code == status, body
    assert set(body) == {"ok", "error", "errors", "status"} and body["ok"] is False and body["status"] == status
    assert isinstance(body["error"], str) and body["error"]
    return body


@pytest.fixture
def world(cli, db_url):  # type: ignore[no-untyped-def]
    """Two districts with a case each, an account per role, and the app."""
    write_labs(cli.cwd / "labs.csv", lab_line("S1", jurisdiction="D1", given="Ana", phone="+15550001"),
               lab_line("S2", jurisdiction="D2", given="Bea", family="Stone", dob="1980-02-02"))
    assert cli("import", "labs", "labs.csv").exit_code == 0
    engine = make_engine(db_url)
    with write_session(engine) as session:
        for name, (role, code) in USERS.items():
            add_user(session, name, PASSWORD, role=role.value, jurisdiction_code=code)
        token = create_api_token(session, "tracer-d1", name="test")
        ids = {p.given_name: p.id for p in session.scalars(select(Person))}
        cases = {session.get_one(Person, c.person_id).given_name: c.id for c in session.scalars(select(Case))}
        tasks = {session.get_one(Person, t.person_id).given_name: t.id for t in session.scalars(select(Task))}
    app = create_app(engine)
    yield {"app": app, "engine": engine, "token": token, "persons": ids, "cases": cases, "tasks": tasks}
    engine.dispose()


def client_for(world, username: str | None) -> TestClient:  # type: ignore[no-untyped-def]
    client = TestClient(world["app"], base_url="https://testserver")
    if username:
        response = client.post("/api/session", json={"username": username, "password": PASSWORD})
        assert response.status_code == 200, response.text
        client.headers["X-CSRF-Token"] = response.json()["csrf_token"]
    return client


def audit_count(world) -> int:  # type: ignore[no-untyped-def]
    with write_session(world["engine"]) as session:
        return session.scalar(select(func.count()).select_from(AuditEvent)) or 0


def test_sign_in_cookie_and_wrong_password(world) -> None:
    client = TestClient(world["app"], base_url="https://testserver")
    ok = client.post("/api/session", json={"username": "tracer-d1", "password": PASSWORD})
    cookie = ok.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Secure" in cookie
    assert ok.json() | {"csrf_token": None} == {"username": "tracer-d1", "role": "tracer", "jurisdiction": "D1",
                                                "jurisdiction_name": "North District", "csrf_token": None}
    wrong = client.post("/api/session", json={"username": "tracer-d1", "password": "nope"})
    nobody = client.post("/api/session", json={"username": "nobody", "password": "nope"})
    assert assert_error_shape(wrong, 401)["error"] == assert_error_shape(nobody, 401)["error"] == "wrong user name or password"


def test_sign_in_is_rate_limited(world) -> None:
    client = TestClient(world["app"], base_url="https://testserver")
    for _ in range(5):
        client.post("/api/session", json={"username": "supervisor", "password": "guess"})
    blocked = client.post("/api/session", json={"username": "supervisor", "password": PASSWORD})
    assert re.fullmatch(r"too many failed sign-ins: try again in \d+ second\(s\)", assert_error_shape(blocked, 429)["error"])
    assert 1 <= int(blocked.headers["Retry-After"]) <= 3


def test_writes_with_a_cookie_need_the_csrf_token(world) -> None:
    client = client_for(world, "tracer-d1")
    case_id = world["cases"]["Ana"]
    body = {"onset": "2026-03-09"}
    del client.headers["X-CSRF-Token"]
    refused = client.patch(f"/api/cases/{case_id}", json=body)
    assert assert_error_shape(refused, 403)["error"] == "the CSRF token is missing or wrong: reload the page and submit again"
    bearer = TestClient(world["app"], base_url="https://testserver", headers={"Authorization": f"Bearer {world['token']}"})
    assert bearer.patch(f"/api/cases/{case_id}", json=body).status_code == 200  # tokens are not cookies: no CSRF


def test_unauthenticated_and_validation_errors_share_the_shape(world) -> None:
    anonymous = TestClient(world["app"], base_url="https://testserver")
    assert_error_shape(anonymous.get("/api/cases"), 401)
    client = client_for(world, "tracer-d1")
    body = assert_error_shape(client.post(f"/api/cases/{world['cases']['Ana']}/visits", json={"place": "Café"}), 422)
    assert body["error"] == "body.start: Field required"
    bad = client.post(f"/api/cases/{world['cases']['Ana']}/visits",
                      json={"place": "Café", "start": "2026-03-09T20:00:00Z", "end": "2026-03-09T19:00:00Z"})
    assert assert_error_shape(bad, 400)["error"].startswith("visit end 2026-03-09T19:00:00+00:00 is not after its start")


def test_tracer_flow_through_the_api(world) -> None:
    client = client_for(world, "tracer-d1")
    cases = client.get("/api/cases").json()
    assert cases["count"] == 1 and cases["data"][0]["person"]["name"] == "Ana Silva"
    case_id = world["cases"]["Ana"]
    assert client.patch(f"/api/cases/{case_id}", json={"onset": "2026-03-09", "interviewed_on": "2026-03-12"}).status_code == 200
    visit = client.post(f"/api/cases/{case_id}/visits", json={"place": "Blue Door Café", "lat": 52.37, "lon": 4.89,
                        "start": "2026-03-09T18:00:00+01:00", "end": "2026-03-09T20:00:00+01:00"})
    assert visit.status_code == 201
    contact = client.post(f"/api/cases/{case_id}/contacts", json={"given_name": "Bo", "family_name": "Jensen",
                          "date_of_birth": "1985-06-01", "setting": "household", "last_exposure": "2026-03-11",
                          "identified_on": "2026-03-12"})
    assert contact.json() == {"contact_id": 1, "person_id": contact.json()["person_id"], "created": True, "tasks": 15}
    tests = client.get("/api/tasks", params={"kind": "test"}).json()
    assert tests["count"] == 1 and "household contact of case" in tests["data"][0]["reason"]
    done = client.post(f"/api/tasks/{tests['data'][0]['id']}/result", json={"result": "negative", "on": "2026-03-14"})
    assert done.json()["status"] == "done"
    detail = client.get(f"/api/cases/{case_id}").json()
    assert detail["visits"][0]["window_id"] is not None and detail["contacts"][0]["person"]["name"] == "Bo Jensen"


def test_lab_upload_and_json_rows(world) -> None:
    supervisor = client_for(world, "supervisor")
    csv = "\n".join(["lab_id,specimen_id,collected_on,resulted_on,result,test_type,given_name,family_name,date_of_birth,"
                     "sex,phone,national_id,address,jurisdiction_code", lab_line("S9", given="Cy", jurisdiction="D2")])
    uploaded = supervisor.post("/api/labs", files={"file": ("labs.csv", csv.encode(), "text/csv")})
    assert uploaded.json()["new_cases"] == 1
    bad = supervisor.post("/api/labs/rows", json={"rows": [{"lab_id": "L", "specimen_id": "X", "result": "maybe"}]})
    body = assert_error_shape(bad, 422)
    assert {"row": 1, "field": "result", "value": "maybe", "reason": "expected one of positive, negative, inconclusive"} in body["errors"]
    tracer = client_for(world, "tracer-d2")
    assert_error_shape(tracer.post("/api/labs/rows", json={"rows": []}), 403)
    d1_only = client_for(world, "tracer-d1")
    assert_error_shape(d1_only.post("/api/labs", files={"file": ("l.csv", csv.encode(), "text/csv")}), 403)


def routes_with_ids(world, owner: str) -> list[tuple[str, str, dict | None]]:  # type: ignore[no-untyped-def]
    """Every API route that names a record, aimed at ``owner``'s case, person and task."""
    case, person = world["cases"][owner], world["persons"][owner]
    other = "Ana" if owner == "Bea" else "Bea"
    with write_session(world["engine"]) as session:
        task = session.execute(select(__import__("epitrace.storage.models", fromlist=["Task"]).Task.id).where(
            __import__("epitrace.storage.models", fromlist=["Task"]).Task.case_id == case)).scalar_one()
    return [
        ("GET", f"/api/cases/{case}", None),
        ("GET", f"/api/cases/{case}/visits", None),
        ("GET", f"/api/cases/{case}/windows", None),
        ("GET", f"/api/cases/{case}/contacts", None),
        ("PATCH", f"/api/cases/{case}", {"onset": "2026-03-09"}),
        ("POST", f"/api/cases/{case}/visits", {"place": "X", "start": "2026-03-09T18:00:00Z", "end": "2026-03-09T19:00:00Z"}),
        ("POST", f"/api/cases/{case}/contacts", {"given_name": "A", "family_name": "B", "setting": "work", "last_exposure": "2026-03-09"}),
        ("GET", f"/api/persons/{person}", None),
        ("POST", "/api/persons/merge", {"keep": person, "other": world["persons"][other]}),
        ("POST", f"/api/tasks/{task}/result", {"result": "done"}),
    ]


def missing_twin(method: str, path: str, body: dict | None) -> tuple[str, str, dict | None]:  # type: ignore[type-arg]
    path = re.sub(r"/(\d+)(/|$)", r"/999999\2", path)
    if body and "keep" in body:
        body = {"keep": 999999, "other": 999998}
    return method, path, body


# The city supervisor sees both districts: nothing is out of scope for it (covered by the next test).
@pytest.mark.parametrize("username", [u for u in USERS if u != "supervisor"])
def test_out_of_scope_records_are_refused_exactly_like_missing_ones(world, username: str) -> None:
    client = client_for(world, username)
    owner = "Ana" if username == "tracer-d2" else "Bea"  # a record in the other district
    for method, path, body in routes_with_ids(world, owner):
        out_of_scope = client.request(method, path, json=body)
        missing = client.request(*missing_twin(method, path, body)[:2], json=missing_twin(method, path, body)[2])
        assert out_of_scope.status_code in (403, 404), (username, method, path, out_of_scope.text)
        assert out_of_scope.status_code == missing.status_code, (username, method, path)
        if out_of_scope.status_code == 404:
            # Same words as for a record that does not exist, but for the id.
            assert out_of_scope.json()["error"].rsplit(" ", 1)[0] == missing.json()["error"].rsplit(" ", 1)[0]


def test_city_supervisor_sees_both_districts_and_lists_are_scoped(world) -> None:
    assert client_for(world, "supervisor").get("/api/cases").json()["count"] == 2
    assert [c["person"]["name"] for c in client_for(world, "tracer-d2").get("/api/cases").json()["data"]] == ["Bea Stone"]
    assert client_for(world, "tracer-d1").get("/api/persons", params={"q": "stone"}).json()["count"] == 0
    assert client_for(world, "tracer-d2").get("/api/persons", params={"q": "stone"}).json()["count"] == 1


PERSONAL_READS = ["/api/cases", "/api/cases/{case}", "/api/cases/{case}/visits", "/api/cases/{case}/windows",
                  "/api/cases/{case}/contacts", "/api/tasks", "/api/tasks/{task}", "/api/persons?q=silva",
                  "/api/persons/{person}"]


@pytest.mark.parametrize("route", PERSONAL_READS)
def test_every_personal_read_is_audited(world, route: str) -> None:
    client = client_for(world, "tracer-d1")
    path = route.format(case=world["cases"]["Ana"], person=world["persons"]["Ana"], task=world["tasks"]["Ana"])
    before = audit_count(world)
    assert client.get(path).status_code == 200
    assert audit_count(world) > before
    with write_session(world["engine"]) as session:
        last = session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
        assert last.actor == "user:tracer-d1" and last.action == "read"


def test_every_api_route_that_returns_personal_data_is_in_the_audit_test() -> None:
    """Guard: a new personal-data GET route must be added to PERSONAL_READS."""
    from epitrace.api import routes_investigation

    # /api/me is the caller; links and publication proposals carry case ids and redacted places, no personal data.
    app_paths = {r.path for r in routes_investigation.router.routes if "GET" in r.methods} - {
        "/api/me", "/api/links", "/api/publications"}
    listed = {re.sub(r"\{\w+\}", "{x}", p.split("?")[0]) for p in PERSONAL_READS}
    assert {re.sub(r"\{\w+\}", "{x}", p) for p in app_paths} == listed


def test_privacy_officer_sees_who_accessed_a_person_and_verifies_the_chain(world) -> None:
    client_for(world, "tracer-d1").get(f"/api/persons/{world['persons']['Ana']}")
    privacy = client_for(world, "privacy")
    events = privacy.get("/api/audit", params={"person_id": world["persons"]["Ana"]}).json()
    assert any(e["actor"] == "user:tracer-d1" and e["action"] == "read" for e in events)
    assert privacy.get("/api/audit/verify").json() == {"ok": True, "first_broken_entry": None}
    assert_error_shape(client_for(world, "tracer-d1").get("/api/audit/verify"), 403)


def test_openapi_documents_every_api_route(world) -> None:
    spec = TestClient(world["app"]).get("/openapi.json").json()
    api_routes = {r.path for r in world["app"].routes if getattr(r, "path", "").startswith("/api")}
    assert api_routes <= set(spec["paths"])
    assert all(op.get("description") or op.get("summary") for path in spec["paths"].values() for op in path.values())


def test_rt_route_needs_eight_days_of_cases(world) -> None:
    epi = client_for(world, "epi")
    body = assert_error_shape(epi.get("/api/analytics/rt"), 400)
    assert body["error"] == "Rt needs at least 8 days of cases; there are 1"
    curve = epi.get("/api/analytics/curve").json()
    assert curve["data"] == [{"label": "2026-03-11", "cases": "<5"}]
