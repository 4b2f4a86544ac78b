"""Serving with several workers (issue 11, points 2 and 4): person resolution without races, time limits
on statements, a pool that answers 503 when exhausted, `epitrace serve --workers N`, the share-code
limiter shared by every worker, and a name search that does not depend on the database's collation.

The races are real: threads, each with its own engine (its own connections, as separate worker
processes would have), start together at a barrier and resolve the same identity.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from epitrace.api import create_app
from epitrace.domain.identity import Identity
from epitrace.errors import Unavailable
from epitrace.intake.labs import parse_lab_csv
from epitrace.service.auth import READ_ONLY_DB, REQUEST_DB
from epitrace.storage import audit
from epitrace.storage.audit import Actor
from epitrace.storage.db import make_engine, read_session, write_session
from epitrace.storage.investigation import add_contact
from epitrace.storage.labs import import_lab_rows
from epitrace.storage.models import Case, Contact, LabResult, Person
from tests.backends import POSTGRES, database_url
from tests.conftest import LAB_HEADER, lab_line
from tests.test_api import assert_error_shape
from tests.threads import in_threads

ACTOR = Actor("test")
SLOW = ("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000000) "
        "SELECT count(*) FROM c")
"""A statement that runs for minutes on either backend, unless stopped."""
needs_postgresql = pytest.mark.skipif(not POSTGRES, reason="PostgreSQL only (EPITRACE_TEST_BACKEND=postgresql)")


def race(url: str, work: Callable[[Session, int], object], n: int = 4) -> list[BaseException]:
    """Run ``work(session, i)`` in ``n`` threads at once, each in its own write transaction on its own
    engine; the errors they raised."""
    start = threading.Barrier(n)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        own = make_engine(url)
        try:
            start.wait()
            with write_session(own) as session:
                work(session, i)
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)
        finally:
            own.dispose()

    in_threads(run, n)
    return errors


def counts(engine, *models) -> list[int]:  # type: ignore[no-untyped-def]
    with read_session(engine) as session:
        assert audit.verify(session) is None
        return [session.scalar(select(func.count()).select_from(m)) for m in models]


# --- person resolution -----------------------------------------------------------------------------------------------


def _import(specimens: list[str], **fields: str) -> Callable[[Session, int], object]:
    def work(session: Session, i: int) -> object:
        data = "\n".join([LAB_HEADER, lab_line(specimens[i], **fields)]) + "\n"
        rows = parse_lab_csv(data.encode(), source=f"labs-{i}.csv", today=date(2026, 3, 20))
        return import_lab_rows(session, rows, source=f"labs-{i}.csv", sha256=str(i), actor=ACTOR)

    return work


def test_concurrent_imports_of_one_identity_make_one_person_and_one_case(db_url, engine) -> None:
    assert race(db_url, _import(["S1", "S2", "S3", "S4"])) == []
    assert counts(engine, Person, Case, LabResult) == [1, 1, 4]


def test_concurrent_imports_sharing_a_national_id_make_one_person_and_no_crash(db_url, engine) -> None:
    # Different spellings: only the national id says they are one person.
    spellings = [("Ana", "Silva"), ("Anna", "Silva"), ("Ana", "Sylva"), ("Ana Maria", "Silva")]

    def work(session: Session, i: int) -> object:
        given, family = spellings[i]
        return _import([f"S{i}"], given=given, family=family, national_id="NID-7")(session, 0)

    assert race(db_url, work) == []
    assert counts(engine, Person, Case, LabResult) == [1, 1, 4]


def test_concurrent_imports_of_the_same_file_import_it_once(db_url, engine) -> None:
    assert race(db_url, _import(["S1"] * 4)) == []
    assert counts(engine, Person, Case, LabResult) == [1, 1, 1]


def test_concurrent_contacts_of_one_identity_make_one_person_and_one_contact(db_url, engine) -> None:
    with write_session(engine) as session:  # the case
        _import(["S1"])(session, 0)
        case_id = session.scalar(select(Case.id))

    def work(session: Session, i: int) -> object:
        return add_contact(session, case_id, Identity("Bo", "Jensen", date(1985, 6, 1), national_id="NID-9" if i % 2 else None),
                           setting="household", last_exposure=date(2026, 3, 9), identified_on=date(2026, 3, 12), actor=ACTOR)

    assert race(db_url, work) == []
    assert counts(engine, Person, Contact) == [2, 1]


# --- time limits and the pool ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("opened", [read_session, write_session])
def test_a_statement_past_its_time_limit_is_stopped_with_a_clear_error(engine, opened) -> None:
    with pytest.raises(Unavailable) as error, opened(engine, statement_timeout_ms=200) as session:
        session.execute(text(SLOW)).scalar()
    assert error.value.message == ("the database query took too long and was stopped after 200 ms "
                                   "(EPITRACE_DB_STATEMENT_TIMEOUT_MS): narrow the search, filter or date range and try again")
    assert error.value.status == 503 and error.value.headers == {"Retry-After": "5"}
    with read_session(engine) as session:  # the connection goes back to the pool without the limit
        assert session.execute(text("SELECT 1")).scalar() == 1


def _slow_app(engine, timeout_ms: int):  # type: ignore[no-untyped-def]
    app = create_app(engine)
    app.state.statement_timeout_ms = timeout_ms

    def slow_read(db: Session = READ_ONLY_DB) -> dict:
        return {"n": db.execute(text(SLOW)).scalar()}

    def slow_request(db: Session = REQUEST_DB) -> dict:
        return {"n": db.execute(text(SLOW)).scalar()}

    app.add_api_route("/api/test/slow-read", slow_read)
    app.add_api_route("/api/test/slow-request", slow_request)
    return app


@pytest.mark.parametrize("path", ["/api/test/slow-read", "/api/test/slow-request"])
def test_a_request_whose_query_takes_too_long_is_answered_503(engine, path) -> None:
    browser = TestClient(_slow_app(engine, 200), raise_server_exceptions=False)
    answer = browser.get(path)
    assert assert_error_shape(answer, 503)["error"].startswith("the database query took too long and was stopped after 200 ms")
    assert answer.headers["Retry-After"] == "5"


def test_requests_get_the_configured_time_limit(db_url, monkeypatch) -> None:
    monkeypatch.setenv("EPITRACE_DB_STATEMENT_TIMEOUT_MS", "1234")
    engine = make_engine(db_url)
    assert create_app(engine).state.statement_timeout_ms == 1234
    engine.dispose()


@needs_postgresql
def test_an_exhausted_pool_is_answered_503_with_retry_after(db_url, monkeypatch) -> None:
    monkeypatch.setenv("EPITRACE_DB_POOL_SIZE", "1")
    monkeypatch.setenv("EPITRACE_DB_MAX_OVERFLOW", "0")
    monkeypatch.setenv("EPITRACE_DB_POOL_TIMEOUT_S", "1")
    engine = make_engine(db_url)
    app = create_app(engine)
    assert (engine.pool.size(), engine.pool._max_overflow, engine.pool._timeout) == (1, 0, 1)  # type: ignore[attr-defined]
    sign_in = {"username": "nobody", "password": "not a password"}
    with engine.connect():  # the one connection, busy
        answer = TestClient(app, raise_server_exceptions=False).post("/api/session", json=sign_in)
    assert assert_error_shape(answer, 503)["error"].startswith("the database has no free connection for this request")
    assert answer.headers["Retry-After"] == "5"
    assert TestClient(app).post("/api/session", json=sign_in).status_code == 401
    engine.dispose()


def test_a_national_id_taken_by_a_writer_outside_the_lock_resolves_to_that_person(engine, monkeypatch) -> None:
    """The fallback when the lock was skipped: the insert's UniqueViolation becomes a second lookup."""
    from epitrace.storage import persons

    ana = Identity("Ana", "Silva", date(1990, 4, 2), national_id="NID-1")
    with write_session(engine) as session:
        stored = persons.resolve_person(session, ana, sex=None, address=None, jurisdiction_id=None, actor=ACTOR).person.id
    find_same, missed = persons._find_same, []

    def misses_once(session: Session, identity: Identity) -> Person | None:
        if not missed:  # as if the other writer had not committed yet when this one looked
            missed.append(identity)
            return None
        return find_same(session, identity)

    monkeypatch.setattr(persons, "_find_same", misses_once)
    with write_session(engine) as session:
        again = persons.resolve_person(session, Identity("Anna", "Silva", None, national_id="NID-1"), sex=None,
                                       address=None, jurisdiction_id=None, actor=ACTOR)
        assert (again.person.id, again.created) == (stored, False)
    assert counts(engine, Person) == [1]


# --- shared state ----------------------------------------------------------------------------------------------------


def test_two_workers_share_the_share_code_limit(db_url, engine) -> None:
    """Two apps with their own engines on one database (two worker processes): wrong codes sent in
    parallel to both count once, so the address gets 5 guesses, not 5 per worker."""
    workers = [create_app(engine), create_app(make_engine(db_url))]
    start = threading.Barrier(12)
    statuses: list[int] = []

    def guess(i: int) -> None:
        with TestClient(workers[i % 2], base_url="https://testserver", client=("203.0.113.5", 1)) as browser:
            start.wait()
            statuses.append(browser.post("/api/share", headers={"X-Share-Code": f"WRONG-{i:05d}"},
                                         files={"trail": ("t.csv", b"lat,lon,start,end\n")}).status_code)

    in_threads(guess, 12, timeout_s=60)
    assert sorted(statuses) == [404] * 5 + [429] * 7
    for app in workers:  # both see the throttle, also on the page, and another address is not throttled
        assert TestClient(app, client=("203.0.113.5", 1)).post("/share", data={"code": "WRONG"}).status_code == 429
        assert TestClient(app, client=("198.51.100.1", 1)).post("/share", data={"code": "WRONG"}).status_code == 404
    workers[1].state.engine.dispose()


# --- epitrace serve --workers ----------------------------------------------------------------------------------------


@pytest.mark.slow  # starts epitrace serve --workers 2 as processes
def test_serve_with_two_workers_signs_in_writes_and_stops(db_url, engine, tmp_path) -> None:
    """`epitrace serve --workers 2` as its own process on a free port: a sign-in on one request and writes
    on the next ones (whichever worker answers), then a clean stop on SIGINT."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    import httpx

    from benchmarks._postgres import free_port
    from epitrace.storage.accounts import add_user
    from tests.test_api import PASSWORD

    with write_session(engine) as session:
        add_user(session, "supervisor", PASSWORD, role="supervisor", jurisdiction_code="CITY")
    port = free_port()
    src = str(Path(__file__).parents[1] / "src")
    env = {**os.environ, "EPITRACE_DATABASE_URL": db_url, "EPITRACE_TODAY": "2026-03-20",
           "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    server = subprocess.Popen([sys.executable, "-m", "epitrace", "serve", "--workers", "2", "--port", str(port)],
                              env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, server.communicate()
            try:
                if httpx.get(f"{base}/login", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "epitrace serve --workers 2 did not start"
            time.sleep(0.2)
        with httpx.Client(base_url=base, timeout=30) as browser:
            signed = browser.post("/api/session", json={"username": "supervisor", "password": PASSWORD})
            assert signed.status_code == 200, signed.text
            browser.headers["X-CSRF-Token"] = signed.json()["csrf_token"]
            for i in range(6):  # enough requests that both workers answer some
                data = "\n".join([LAB_HEADER, lab_line(f"S{i}")]) + "\n"
                uploaded = browser.post("/api/labs", files={"file": (f"labs-{i}.csv", data.encode(), "text/csv")})
                assert uploaded.status_code == 200, uploaded.text
    finally:
        server.send_signal(signal.SIGINT)
        try:
            out, err = server.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            raise
    assert server.returncode == 0, err.decode()
    assert b"2 workers" in out
    assert counts(engine, Person, Case, LabResult) == [1, 1, 6]


# --- name search under any collation ---------------------------------------------------------------------------------


@pytest.fixture
def icu_url(tmp_path) -> str:  # type: ignore[no-untyped-def]
    """A fresh PostgreSQL database whose default collation is ICU's en-US, initialised with CITY > D1, D2."""
    from sqlalchemy import make_url

    from tests.backends import _admin
    from tests.conftest import city_database

    plain = make_url(database_url(tmp_path, "plain"))
    name = f"{plain.database}_icu"
    _admin().execute(text(f"CREATE DATABASE \"{name}\" TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' "
                          "LOCALE 'C'"))
    url = plain.set(database=name).render_as_string(hide_password=False)
    city_database(url).dispose()
    return url


@needs_postgresql
def test_name_search_finds_prefixes_under_an_icu_collation(icu_url) -> None:
    from epitrace.storage import persons
    from epitrace.storage.scope import EVERYWHERE
    from epitrace.storage.workbench import search_persons

    engine = make_engine(icu_url)
    with write_session(engine) as session:
        assert session.execute(text("SELECT datlocprovider FROM pg_database WHERE datname = current_database()")).scalar() == "i"
        for given, family in (("Jan", "Jansen"), ("Jan", "Jans"), ("Anna", "Jansson"), ("Bo", "Janz"), ("Ana", "Silva"),
                              ("Łucja", "Wałęsa"), ("Lena", "Wamba")):
            persons.resolve_person(session, Identity(given, family, date(1990, 1, 1)), sex=None, address=None,
                                   jurisdiction_id=None, actor=ACTOR)
    with write_session(engine) as session:
        def found(q: str) -> list[str]:
            return sorted(p["name"] for p in search_persons(session, EVERYWHERE, actor=ACTOR, q=q)[0])

        assert found("jans") == ["Anna Jansson", "Jan Jans", "Jan Jansen"]
        assert found("Jan Jans") == ["Jan Jans", "Jan Jansen"]
        assert found("jansen jan") == ["Jan Jansen"]
        assert found("an") == ["Ana Silva", "Anna Jansson"]
        # A prefix whose last letter's successor is punctuation ('z' + 1 = '{') or sorts elsewhere under ICU
        # ('ł' + 1 = 'Ń', an N): the range must be the bytes' order, not the language's.
        assert found("janz") == ["Bo Janz"]
        assert found("wał") == ["Łucja Wałęsa"]
        assert found("łucja wa") == ["Łucja Wałęsa"]
        # Still an index range, not a scan of every person (seq scans off: the table is tiny here).
        session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(session.execute(text(
            "EXPLAIN SELECT id FROM person WHERE family_key >= 'jans' AND family_key < 'jant'")).scalars())
        assert "Index" in plan and "ix_person" in plan, plan
    engine.dispose()
