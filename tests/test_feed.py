"""The public feed: redaction, supervisor approval, signed append-only batches, verification, expiry."""

from __future__ import annotations

import copy
import json

import pytest
from fastapi.testclient import TestClient

from epitrace.api import create_app
from epitrace.feed import verify_feed
from epitrace.storage.db import make_engine
from tests.backends import needs_sqlite
from tests.conftest import lab_line, write_labs


@pytest.fixture(autouse=True)
def outbreak_clock(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The feed drops windows after the follow-up period: run these tests as of March 2026."""
    monkeypatch.setenv("EPITRACE_TODAY", "2026-03-15")


def case_with_visits(cli) -> str:  # type: ignore[no-untyped-def]
    write_labs(cli.cwd / "l.csv", lab_line("S1"))
    cli("import", "labs", "l.csv")
    cli("cases", "update", "1", "--onset", "2026-03-09")
    cli("visits", "add", "1", "--place", "Blue Door Café", "--lat", "52.37", "--lon", "4.89",
        "--start", "2026-03-09T18:07+00:00", "--end", "2026-03-09T19:50+00:00")
    cli("visits", "add", "1", "--place", "Home", "--kind", "home", "--lat", "52.36", "--lon", "4.88",
        "--start", "2026-03-09T20:00+00:00", "--end", "2026-03-10T08:00+00:00")
    return "1"


def test_propose_redacts_and_refuses_homes(cli) -> None:
    case_with_visits(cli)
    out = cli("feed", "propose", "--case", "1").stdout
    assert "window 1: proposal 1\n  - times rounded outward to 15 minutes: 18:07-19:50 became 18:00-20:00 UTC" in out
    assert "  - radius widened from 50 m to 50 m" not in out
    assert "  ! only one case was at this place and time" in out
    assert "window 2: not proposed (homes are never published)" in out


def test_approval_needs_warnings_acknowledged_then_publish_and_verify(cli, monkeypatch) -> None:
    case_with_visits(cli)
    cli("feed", "propose", "--case", "1")
    refused = cli("feed", "approve", "1")
    assert refused.exit_code == 1 and "approve with --acknowledge-warnings" in refused.stderr
    assert cli("feed", "approve", "1", "--acknowledge-warnings").exit_code == 0
    key = cli.cwd / "key.pem"
    keygen = cli("feed", "keygen", "--key", str(key))
    public = keygen.stdout.strip().rsplit(" ", 1)[1]
    assert cli("feed", "keygen", "--key", str(key)).exit_code == 1  # never overwritten
    published = cli("feed", "publish", "--key", str(key), "--out", "feed.json")
    assert "Published batch 1 (1 window(s))." in published.stdout
    document = json.loads((cli.cwd / "feed.json").read_text())
    window = document["batches"][0]["payload"]["windows"][0]
    assert window == {"id": "w1", "label": "Blue Door Café", "lat": 52.37, "lon": 4.89, "radius_m": 50.0,
                      "start": 1773079200, "end": 1773086400, "expires_on": "2026-03-23"}
    assert "Silva" not in json.dumps(document) and "Home" not in json.dumps(document)
    ok = cli("feed", "verify", "feed.json", "--public-key", public)
    assert ok.stdout.strip() == "The feed verifies: 1 batch(es), signatures checked against the pinned public key."


def published_feed(cli):  # type: ignore[no-untyped-def]
    case_with_visits(cli)
    cli("visits", "add", "1", "--place", "Gym", "--lat", "52.38", "--lon", "4.9",
        "--start", "2026-03-10T07:00+00:00", "--end", "2026-03-10T08:00+00:00")
    cli("feed", "propose", "--case", "1")
    key = cli.cwd / "key.pem"
    public = cli("feed", "keygen", "--key", str(key)).stdout.strip().rsplit(" ", 1)[1]
    cli("feed", "approve", "1", "--acknowledge-warnings")
    cli("feed", "publish", "--key", str(key))
    assert cli("feed", "approve", "2", "--acknowledge-warnings").exit_code == 0  # the gym (homes get no proposal)
    cli("feed", "publish", "--key", str(key), "--out", "feed.json")
    return json.loads((cli.cwd / "feed.json").read_text()), public, key


def test_tampering_dropping_and_wrong_keys_are_caught(cli) -> None:
    document, public, _ = published_feed(cli)
    assert [b["version"] for b in document["batches"]] == [1, 2]
    assert document["batches"][1]["previous"] == document["batches"][0]["hash"]
    assert verify_feed(document, public_key=public).ok
    altered = copy.deepcopy(document)
    altered["batches"][0]["payload"]["windows"][0]["radius_m"] = 5000.0
    assert verify_feed(altered, public_key=public).problem == "batch 1: its content does not match its hash"
    dropped = copy.deepcopy(document)
    del dropped["batches"][0]
    assert verify_feed(dropped, public_key=public).problem == (
        "batch 2: it does not follow the batch before it (a batch is missing, reordered or altered)")
    other_key = cli("feed", "keygen", "--key", str(cli.cwd / "other.pem")).stdout.strip().rsplit(" ", 1)[1]
    assert verify_feed(document, public_key=other_key).problem == "batch 1: the signature does not verify"
    (cli.cwd / "bad.json").write_text(json.dumps(altered))
    bad = cli("feed", "verify", "bad.json", "--public-key", public)
    assert (bad.exit_code, bad.stderr.strip()) == (1, "Error: the feed does not verify: batch 1: its content does not match its hash")


def test_api_serves_since_and_drops_expired_batches(cli, db_url, monkeypatch) -> None:
    _, public, key = published_feed(cli)
    monkeypatch.setenv("EPITRACE_FEED_KEY", str(key))
    monkeypatch.setenv("EPITRACE_TODAY", "2026-03-20")
    client = TestClient(create_app(make_engine(db_url)))
    since = client.get("/feed/", params={"since": 1}).json()
    assert [b["version"] for b in since["batches"]] == [2]
    assert verify_feed(since, public_key=public).ok  # the chain is checked from starts_after
    monkeypatch.setenv("EPITRACE_TODAY", "2026-04-30")  # after the follow-up period of every window
    assert client.get("/feed/").json()["batches"] == []


@needs_sqlite("a writer holding SQLite's one write lock")
def test_the_feed_answers_while_a_writer_holds_the_lock(cli, db_url, monkeypatch) -> None:
    """The public feed reads without taking the write lock (issue 11): it answers while another
    connection is in the middle of a write, instead of queueing behind it."""
    import sqlite3

    _, public, key = published_feed(cli)
    monkeypatch.setenv("EPITRACE_FEED_KEY", str(key))
    monkeypatch.setenv("EPITRACE_TODAY", "2026-03-20")
    engine = make_engine(db_url)
    writer = sqlite3.connect(db_url.removeprefix("sqlite:///"), isolation_level=None, timeout=0)
    writer.execute("BEGIN IMMEDIATE")
    try:
        # A write would now wait; give the service's own writers no patience so a wrong answer is quick.
        monkeypatch.setattr("epitrace.storage.db.BUSY_TIMEOUT_MS", 100)
        document = TestClient(create_app(engine)).get("/feed/")
        assert document.status_code == 200 and verify_feed(document.json(), public_key=public).ok
    finally:
        writer.execute("ROLLBACK")
        writer.close()
        engine.dispose()


def test_propose_and_approve_through_the_api(cli, db_url) -> None:
    from epitrace.storage.accounts import add_user
    from epitrace.storage.db import write_session
    from tests.test_api import PASSWORD

    case_with_visits(cli)
    engine = make_engine(db_url)
    with write_session(engine) as session:
        add_user(session, "tracer", PASSWORD, role="tracer", jurisdiction_code="D1")
        add_user(session, "supervisor", PASSWORD, role="supervisor", jurisdiction_code="CITY")
    app = create_app(engine)

    def login(name: str) -> TestClient:
        client = TestClient(app, base_url="https://testserver")
        client.headers["X-CSRF-Token"] = client.post("/api/session", json={"username": name, "password": PASSWORD}).json()["csrf_token"]
        return client

    tracer, supervisor = login("tracer"), login("supervisor")
    proposals = tracer.post("/api/cases/1/publication").json()
    assert [p["refusal"] for p in proposals] == [None, "homes are never published"]
    assert tracer.get("/api/publications").status_code == 403  # tracers propose, supervisors approve
    listed = supervisor.get("/api/publications").json()
    assert listed[0]["place"] == "Blue Door Café" and listed[0]["warnings"]
    refused = supervisor.post(f"/api/publications/{listed[0]['id']}/review", json={"decision": "approve"})
    assert refused.status_code == 400 and "--acknowledge-warnings" in refused.json()["error"]
    approved = supervisor.post(f"/api/publications/{listed[0]['id']}/review",
                               json={"decision": "approve", "acknowledge_warnings": True})
    assert approved.json() == {"id": listed[0]["id"], "status": "approved", "reviewed_by": "user:supervisor"}
    engine.dispose()
