"""The staff pages without a browser: sign-in, header, forms that keep what was typed, scoping."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.test_api import PASSWORD, world  # noqa: F401 - the shared fixture


def signed_in(world, username: str) -> tuple[TestClient, str]:  # type: ignore[no-untyped-def]  # noqa: F811
    client = TestClient(world["app"], base_url="https://testserver", follow_redirects=False)
    response = client.post("/login", data={"username": username, "password": PASSWORD, "next": "/queue"})
    assert response.status_code == 303 and response.headers["location"] == "/queue"
    page = client.get("/queue?show=all")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    return client, csrf


def test_pages_need_sign_in_and_say_who_and_where(world) -> None:  # noqa: F811
    anonymous = TestClient(world["app"], base_url="https://testserver", follow_redirects=False)
    assert anonymous.get("/tasks").headers["location"] == "/login?next=/tasks"
    client, _ = signed_in(world, "tracer-d1")
    page = client.get("/queue?show=all").text
    assert "Signed in as <strong>tracer-d1</strong> (tracer)" in page and "North District (D1)" in page
    assert "Ana Silva" in page and "Bea Stone" not in page


def test_wrong_password_keeps_the_user_name(world) -> None:  # noqa: F811
    client = TestClient(world["app"], base_url="https://testserver")
    page = client.post("/login", data={"username": "tracer-d1", "password": "nope", "next": "/"})
    assert page.status_code == 401 and 'value="tracer-d1"' in page.text and "wrong user name or password" in page.text


def test_visit_form_error_keeps_what_was_typed(world) -> None:  # noqa: F811
    client, csrf = signed_in(world, "tracer-d1")
    case = world["cases"]["Ana"]
    page = client.post(f"/cases/{case}/visits", data={"csrf_token": csrf, "place": "Blue Door Café", "kind": "venue",
                       "lat": "52.37", "lon": "4.89", "start": "2026-03-09T20:00", "end": "2026-03-09T19:00"})
    assert page.status_code == 400
    assert 'role="alert">visit end 2026-03-09T19:00:00+00:00 is not after its start' in page.text
    assert 'value="Blue Door Café"' in page.text and 'value="2026-03-09T20:00"' in page.text
    ok = client.post(f"/cases/{case}/visits", data={"csrf_token": csrf, "place": "Blue Door Café", "kind": "venue",
                     "lat": "", "lon": "", "start": "2026-03-09T18:00", "end": "2026-03-09T19:00"})
    assert ok.status_code == 303 and "Blue Door Café" in client.get(f"/cases/{case}").text


def test_forms_without_the_csrf_token_are_refused(world) -> None:  # noqa: F811
    client, _ = signed_in(world, "tracer-d1")
    page = client.post(f"/cases/{world['cases']['Ana']}/interview", data={"onset": "2026-03-09"})
    assert page.status_code == 403 and "CSRF token" in page.text


def test_another_district_gets_not_found(world) -> None:  # noqa: F811
    client, _ = signed_in(world, "tracer-d2")
    page = client.get(f"/cases/{world['cases']['Ana']}")
    missing = client.get("/cases/999999")
    assert page.status_code == missing.status_code == 404
    assert "Not found" in page.text and "Ana" not in page.text


def test_epidemiologist_sees_aggregates_not_people(world) -> None:  # noqa: F811
    from epitrace.storage.db import write_session
    from epitrace.storage.models import TransmissionLink

    with write_session(world["engine"]) as session:
        session.add(TransmissionLink(infector_case_id=world["cases"]["Ana"], infectee_case_id=world["cases"]["Bea"],
                                     certainty="possible", evidence="named as work contact", source="contact tracing"))
    client = TestClient(world["app"], base_url="https://testserver")
    client.post("/login", data={"username": "epi", "password": PASSWORD, "next": "/"})
    assert client.get("/dashboard").status_code == 200
    assert client.get("/queue").status_code == 403
    chains = client.get("/chains")
    assert chains.status_code == 200 and 'aria-label="Transmission chains: 2 cases"' in chains.text
    assert 'href="/cases/' not in chains.text  # the same chain, but no way to the people in it
    supervisor = TestClient(world["app"], base_url="https://testserver")
    supervisor.post("/login", data={"username": "supervisor", "password": PASSWORD, "next": "/"})
    assert f'href="/cases/{world["cases"]["Bea"]}"' in supervisor.get("/chains").text


def test_selfcheck_page_without_a_feed_key_explains(world, monkeypatch, tmp_path) -> None:  # noqa: F811
    monkeypatch.setenv("EPITRACE_FEED_KEY", str(tmp_path / "missing.pem"))
    page = TestClient(world["app"]).get("/selfcheck")
    assert page.status_code == 503 and "the public feed is not set up on this server yet" in page.text


def test_interview_form_records_symptoms(world) -> None:  # noqa: F811
    client, csrf = signed_in(world, "tracer-d1")
    case = world["cases"]["Ana"]
    done = client.post(f"/cases/{case}/interview", data={"csrf_token": csrf, "onset": "2026-03-09", "interviewed_on": "2026-03-12",
                       "symptoms": ["fever", "cough"], "other_symptoms": "rash"})
    assert done.status_code == 303
    page = client.get(f"/cases/{case}").text
    assert "Symptoms: fever, cough, rash" in page and 'value="fever" checked' in page
