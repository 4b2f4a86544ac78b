"""Accounts and sign-in (issue 10, points 2 and 3): powers that match roles, and a sign-in limiter that holds.

The limiter tests attack it the way the review did: twenty parallel wrong passwords against a real uvicorn
server, a spoofed X-Forwarded-For from 127.0.0.1, an attacker's failures from other addresses before the
real user signs in.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import select

from epitrace.api import create_app
from epitrace.domain.passwords import check_password, password_problem
from epitrace.domain.roles import Role
from epitrace.errors import InputError
from epitrace.service import auth
from epitrace.storage import accounts, signin
from epitrace.storage.accounts import add_user, create_api_token
from epitrace.storage.db import make_engine, read_session, write_session
from epitrace.storage.models import AuditEvent, SignInCounter, utcnow
from tests.backends import database_url
from tests.test_api import assert_error_shape
from tests.threads import in_threads

PASSWORD = "correct horse battery staple"
USERS = {
    "admin": (Role.ADMINISTRATOR, "CITY"), "admin2": (Role.ADMINISTRATOR, "CITY"), "admin-d1": (Role.ADMINISTRATOR, "D1"),
    "supervisor": (Role.SUPERVISOR, "CITY"), "supervisor-d2": (Role.SUPERVISOR, "D2"), "tracer-d1": (Role.TRACER, "D1"),
    "tracer-d2": (Role.TRACER, "D2"), "epi": (Role.EPIDEMIOLOGIST, "D1"), "privacy": (Role.PRIVACY_OFFICER, "CITY"),
}
USER_ADDRESS = ("198.51.100.7", 40000)


@pytest.fixture
def world(db_url):  # type: ignore[no-untyped-def]
    engine = make_engine(db_url)
    with write_session(engine) as session:
        for name, (role, code) in USERS.items():
            add_user(session, name, PASSWORD, role=role.value, jurisdiction_code=code)
    yield {"app": create_app(engine), "engine": engine, "url": db_url}
    engine.dispose()


def client(world, address: tuple[str, int] = USER_ADDRESS) -> TestClient:  # type: ignore[no-untyped-def]
    return TestClient(world["app"], base_url="https://testserver", client=address)


def signed_in(world, username: str, address: tuple[str, int] = USER_ADDRESS) -> TestClient:  # type: ignore[no-untyped-def]
    browser = client(world, address)
    response = browser.post("/api/session", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    browser.headers["X-CSRF-Token"] = response.json()["csrf_token"]
    return browser


def sign_in(browser: TestClient, username: str, password: str = PASSWORD) -> httpx.Response:
    return browser.post("/api/session", json={"username": username, "password": password})


def entries(world, **where: object) -> list[AuditEvent]:  # type: ignore[no-untyped-def]
    with read_session(world["engine"]) as session:
        query = select(AuditEvent).order_by(AuditEvent.id)
        for column, value in where.items():
            query = query.where(getattr(AuditEvent, column) == value)
        rows = list(session.scalars(query))
        session.expunge_all()
        return rows


def test_production_password_hashing_is_argon2id_at_the_librarys_cost(db_url, monkeypatch) -> None:
    """The suite hashes cheaply (tests/conftest.py); the service does not: this test uses the real hasher."""
    from argon2 import PasswordHasher, Type, extract_parameters

    from tests.conftest import PRODUCTION_HASHER

    monkeypatch.setattr(accounts, "HASHER", PRODUCTION_HASHER)
    default = PasswordHasher()
    assert (PRODUCTION_HASHER.time_cost, PRODUCTION_HASHER.memory_cost, PRODUCTION_HASHER.parallelism) == (
        default.time_cost, default.memory_cost, default.parallelism) and default.memory_cost >= 64 * 1024
    engine = make_engine(db_url)
    with write_session(engine) as session:
        user = add_user(session, "real", PASSWORD, role=Role.TRACER.value, jurisdiction_code="D1")
        stored = extract_parameters(user.password_hash)
    assert stored.type is Type.ID and stored.memory_cost == default.memory_cost
    app = create_app(engine)
    assert sign_in(TestClient(app, base_url="https://testserver"), "real").status_code == 200
    assert sign_in(TestClient(app, base_url="https://testserver"), "real", "wrong passphrase!!").status_code == 401
    engine.dispose()


@pytest.fixture
def clock(monkeypatch):  # type: ignore[no-untyped-def]
    """Stop the limiter's and the accounts' clock, and move it forward on demand: ``clock(seconds=61)``
    (a stopped clock keeps the tests exact on a slow machine)."""
    start = utcnow()
    offset = [timedelta()]

    def moved() -> object:
        return start + offset[0]

    monkeypatch.setattr(signin, "now", moved)
    monkeypatch.setattr(accounts, "utcnow", moved)

    def advance(**delta: float) -> None:
        offset[0] += timedelta(**delta)

    return advance


# --- the sign-in limiter ---------------------------------------------------------------------------------------------


@contextmanager
def served(app, **options: object) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """The app on a real uvicorn server on localhost, started with ``options`` as `epitrace serve` would
    (the socket is bound here and handed over, as in ``tests.browser_support.live_server``)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", http="h11", ws="none", **options)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    try:
        while not server.started:
            assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
            time.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture
def checked(monkeypatch):  # type: ignore[no-untyped-def]
    """Counts argon2 verifications made for sign-ins."""
    count = [0]
    lock = threading.Lock()
    verify = auth.verify_password

    def counting(password_hash, password):  # type: ignore[no-untyped-def]
        with lock:
            count[0] += 1
        return verify(password_hash, password)

    monkeypatch.setattr(auth, "verify_password", counting)
    return count


def test_twenty_parallel_wrong_passwords_reach_the_hash_at_most_five_times(world, checked, clock) -> None:
    start = threading.Barrier(20)
    statuses: list[int] = []

    def attack(base: str) -> None:
        with httpx.Client(base_url=base, timeout=60) as http:
            start.wait()
            statuses.append(http.post("/api/session", json={"username": "supervisor", "password": "guess 12345"})
                            .status_code)

    with served(world["app"], **auth.uvicorn_proxy_options()) as base:
        in_threads(lambda _: attack(base), 20, timeout_s=60)
        assert sorted(set(statuses)) == [401, 429] and len(statuses) == 20
        assert statuses.count(401) == checked[0] == signin.PAIR.threshold
        twenty_first = httpx.post(f"{base}/api/session", json={"username": "supervisor", "password": PASSWORD})
    assert_error_shape(twenty_first, 429)
    assert 1 <= int(twenty_first.headers["Retry-After"]) <= signin.PAIR.cap_s
    assert checked[0] == statuses.count(401)  # the throttled 21st never reached the hash


def test_two_workers_on_one_database_share_the_count(world, checked, clock) -> None:
    """Two apps with their own engines (two worker processes) on one database file: one count."""
    workers = [world["app"], create_app(make_engine(world["url"]))]
    start = threading.Barrier(12)
    statuses: list[int] = []

    def attack(app) -> None:  # type: ignore[no-untyped-def]
        with TestClient(app, client=("203.0.113.9", 1)) as browser:
            start.wait()
            statuses.append(sign_in(browser, "tracer-d1", "guess 12345").status_code)

    in_threads(lambda i: attack(workers[i % 2]), 12, timeout_s=60)
    assert len(statuses) == 12 and statuses.count(401) == checked[0] == signin.PAIR.threshold
    assert statuses.count(429) == 12 - signin.PAIR.threshold


def _address_keys(world) -> set[str]:  # type: ignore[no-untyped-def]
    with read_session(world["engine"]) as session:
        return {k.removeprefix("address:") for k in session.scalars(select(SignInCounter.key)) if k.startswith("address:")}


def test_a_spoofed_forwarded_for_from_localhost_is_not_the_address(world, clock) -> None:
    with served(world["app"], **auth.uvicorn_proxy_options()) as base:
        answers = [httpx.post(f"{base}/api/session", headers={"X-Forwarded-For": f"192.0.2.{i}"},
                              json={"username": "tracer-d2", "password": "guess 12345"}).status_code for i in range(7)]
    # Each spoofed address would have been a fresh pair: instead the sixth attempt is throttled.
    assert answers == [401] * 5 + [429] * 2
    assert _address_keys(world) == {"127.0.0.1"}


def test_forwarded_for_counts_when_localhost_is_a_configured_proxy(world, monkeypatch, clock) -> None:
    monkeypatch.setenv("EPITRACE_TRUSTED_PROXIES", "127.0.0.1")
    with served(world["app"], **auth.uvicorn_proxy_options()) as base:
        answers = [httpx.post(f"{base}/api/session", headers={"X-Forwarded-For": f"192.0.2.{i}"},
                              json={"username": "tracer-d2", "password": "guess 12345"}).status_code for i in range(7)]
    assert answers == [401] * 7
    assert _address_keys(world) == {f"192.0.2.{i}" for i in range(7)}


def test_trusted_proxies_setting_refuses_what_is_not_an_address(monkeypatch) -> None:
    from epitrace.errors import ConfigurationError

    assert auth.uvicorn_proxy_options() == {"proxy_headers": False}
    monkeypatch.setenv("EPITRACE_TRUSTED_PROXIES", "10.0.0.5, 10.1.0.0/16")
    assert auth.uvicorn_proxy_options() == {"proxy_headers": True, "forwarded_allow_ips": "10.0.0.5,10.1.0.0/16"}
    monkeypatch.setenv("EPITRACE_TRUSTED_PROXIES", "proxy.example")
    with pytest.raises(ConfigurationError, match="'proxy.example', which is not an address or network"):
        auth.uvicorn_proxy_options()


def test_the_real_user_gets_in_after_an_attackers_failures_from_elsewhere(world, clock) -> None:
    usual = client(world)
    assert sign_in(usual, "supervisor").status_code == 200  # the user's usual address
    answers = []
    for n in range(20):  # an attacker from twenty addresses, three guesses each
        attacker = client(world, (f"203.0.113.{n}", 1))
        answers += [sign_in(attacker, "supervisor", "guess 12345").status_code for _ in range(3)]
    # Ten guesses reach the hash; then the account waits between guesses from any address it never used.
    assert answers == [401] * signin.ACCOUNT.threshold + [429] * (60 - signin.ACCOUNT.threshold)
    assert sign_in(usual, "supervisor").status_code == 200  # the usual address is not held up at all
    elsewhere = sign_in(client(world, ("192.0.2.99", 1)), "supervisor")  # a new address waits a little
    assert_error_shape(elsewhere, 429)
    assert int(elsewhere.headers["Retry-After"]) <= signin.ACCOUNT.cap_s
    clock(seconds=int(elsewhere.headers["Retry-After"]))
    assert sign_in(client(world, ("192.0.2.99", 1)), "supervisor").status_code == 200
    # The user's success gives the attacker no fresh start.
    assert sign_in(client(world, ("203.0.113.0", 1)), "supervisor", "guess 12345").status_code == 429
    throttles = [e.record_id for e in entries(world, record_type="sign_in", action="throttle")]
    assert throttles == ["account:supervisor"]


def test_own_typos_cost_seconds_and_each_throttle_start_is_audited_once(world, clock) -> None:
    browser = client(world)
    assert [sign_in(browser, "epi", "typo typo typo").status_code for _ in range(5)] == [401] * 5
    throttled = sign_in(browser, "epi")
    assert_error_shape(throttled, 429)
    assert throttled.json()["error"] == f"too many failed sign-ins: try again in {throttled.headers['Retry-After']} second(s)"
    assert int(throttled.headers["Retry-After"]) <= 3
    for _ in range(3):  # more typos, each after its wait: the waits grow 4, 8, 16 seconds
        clock(seconds=int(sign_in(browser, "epi").headers["Retry-After"]))
        assert sign_in(browser, "epi", "typo typo typo").status_code == 401
    assert int(sign_in(browser, "epi").headers["Retry-After"]) in (16, 17)
    clock(seconds=17)
    assert sign_in(browser, "epi").status_code == 200
    assert sign_in(browser, "epi", "typo typo typo").status_code == 401  # the pair starts again from zero
    throttles = entries(world, record_type="sign_in", action="throttle")
    assert [(e.record_id, e.actor) for e in throttles] == [(f"pair:epi from {USER_ADDRESS[0]}", "sign-in limiter")]


def test_unknown_and_known_accounts_get_the_same_answer_and_the_same_throttle(world, clock) -> None:
    browser = client(world, ("192.0.2.1", 1))
    known = [sign_in(browser, "tracer-d1", "guess 12345") for _ in range(6)]
    unknown = [sign_in(browser, "nobody-here", "guess 12345") for _ in range(6)]
    assert [r.status_code for r in known] == [r.status_code for r in unknown] == [401] * 5 + [429]
    assert known[0].json() == unknown[0].json()


# --- powers that match roles -----------------------------------------------------------------------------------------


def test_an_administrator_cannot_create_a_supervisor_alone(world) -> None:
    admin = signed_in(world, "admin")
    refused = admin.post("/api/users", json={"username": "sam", "password": "a passphrase of words",
                                             "role": "supervisor", "jurisdiction": "D1"})
    assert assert_error_shape(refused, 403)["error"] == (
        "the administrator role cannot create a working supervisor account alone: a supervisor holds rights yours "
        "lacks (approve exposure windows for the public feed, confirm or reject links, import lab results, "
        "merge persons, read personal data, record interviews, visits, contacts and task results). Leave out password "
        "to create it pending approval by an account in D1 or above that holds them, who hands its owner a "
        "first-password link")
    made = admin.post("/api/users", json={"username": "sam", "role": "supervisor", "jurisdiction": "D1"})
    assert made.status_code == 201 and made.json()["pending_approval"] is True and made.json()["password_link"] is None
    # Pending: no password works, nobody signs in, and neither administrator can approve it.
    assert sign_in(client(world), "sam", "a passphrase of words").status_code == 401
    for name in ("admin", "admin2"):
        refused = signed_in(world, name).post("/api/users/sam/approve")
        assert assert_error_shape(refused, 403)["error"].startswith(
            "approving a supervisor account needs a role that holds its rights; the administrator role lacks: ")
    assert_error_shape(signed_in(world, "tracer-d1").post("/api/users/sam/approve"), 403)  # a tracer lacks some
    assert_error_shape(signed_in(world, "supervisor-d2").post("/api/users/sam/approve"), 404)  # D1 is not theirs
    supervisor = signed_in(world, "supervisor")
    assert [u["username"] for u in supervisor.get("/api/users/pending").json()] == ["sam"]
    approved = supervisor.post("/api/users/sam/approve")
    assert approved.status_code == 200, approved.text
    link = approved.json()["link"]
    assert link.startswith("https://testserver/reset/")
    assert sign_in(client(world), "sam", "a passphrase of words").status_code == 401  # still no password
    setter = client(world)
    assert setter.post(link.removeprefix("https://testserver"),
                       data={"password": "sam's own passphrase", "confirm": "sam's own passphrase"}).status_code == 200
    assert sign_in(client(world), "sam", "sam's own passphrase").status_code == 200
    logged = [(e.actor, e.action) for e in entries(world, record_type="account") if e.actor.startswith("user:")]
    assert logged == [("user:admin", "request"), ("user:supervisor", "approve"), ("user:supervisor", "reset_link"),
                      ("user:sam", "password")]
    assert_error_shape(supervisor.post("/api/users/sam/approve"), 409)


def test_what_an_administrator_may_do_alone(world) -> None:
    admin = signed_in(world, "admin")
    epi = admin.post("/api/users", json={"username": "eve", "role": "epidemiologist", "jurisdiction": "D2"})
    assert epi.status_code == 201 and epi.json()["pending_approval"] is False
    link = epi.json()["password_link"]["link"].removeprefix("https://testserver")
    assert client(world).post(link, data={"password": "eve's passphrase", "confirm": "eve's passphrase"}).status_code == 200
    assert sign_in(client(world), "eve", "eve's passphrase").status_code == 200
    other = admin.post("/api/users", json={"username": "al", "password": "al's own passphrase",
                                           "role": "administrator", "jurisdiction": "CITY"})
    assert other.status_code == 201 and other.json()["password_link"] is None
    assert_error_shape(admin.post("/api/users", json={"username": "po", "role": "privacy officer",
                                                      "jurisdiction": "CITY", "password": "po's passphrase"}), 403)
    # Outside the administrator's jurisdiction: refused, and an account of another district is not visible.
    d1 = signed_in(world, "admin-d1")
    assert_error_shape(d1.post("/api/users", json={"username": "x", "role": "epidemiologist", "jurisdiction": "D2"}), 403)
    # Every action on another district's account answers as for an account that does not exist.
    for action, body in (("deactivate", None), ("role", {"role": "epidemiologist"}), ("reset-link", None),
                         ("approve", None)):
        refused = assert_error_shape(d1.post(f"/api/users/tracer-d2/{action}", json=body), 404)
        missing = assert_error_shape(d1.post(f"/api/users/no-such-user/{action}", json=body), 404)
        assert refused["error"].replace("tracer-d2", "X") == missing["error"].replace("no-such-user", "X"), action
    assert sign_in(client(world), "tracer-d2").status_code == 200  # untouched
    assert_error_shape(signed_in(world, "supervisor").post("/api/users", json={
        "username": "y", "role": "tracer", "jurisdiction": "D1"}), 403)


def test_get_users_is_scoped_to_the_administrators_jurisdiction(world) -> None:
    listed = {u["username"] for u in signed_in(world, "admin-d1").get("/api/users").json()}
    assert listed == {"admin-d1", "tracer-d1", "epi"}
    assert {u["username"] for u in signed_in(world, "admin").get("/api/users").json()} == set(USERS)


def test_raising_a_role_beyond_the_changers_rights_needs_approval_and_new_credentials(world) -> None:
    token = signed_in(world, "admin").post("/api/users/epi/role", json={"role": "tracer"})
    assert token.json() == {"username": "epi", "role": "tracer", "jurisdiction": "D1", "active": True,
                            "pending_approval": True}
    assert sign_in(client(world), "epi").status_code == 401  # the old password no longer works
    link = signed_in(world, "supervisor").post("/api/users/epi/approve").json()["link"]
    assert client(world).post(link.removeprefix("https://testserver"),
                              data={"password": "epi's new passphrase", "confirm": "epi's new passphrase"}).status_code == 200
    assert sign_in(client(world), "epi", "epi's new passphrase").json()["role"] == "tracer"
    lowered = signed_in(world, "admin").post("/api/users/tracer-d1/role", json={"role": "epidemiologist"})
    assert lowered.json()["pending_approval"] is False and sign_in(client(world), "tracer-d1").status_code == 200


def test_deactivation_ends_sessions_and_tokens_at_once(world) -> None:
    browser = signed_in(world, "tracer-d1")
    with write_session(world["engine"]) as session:
        token = create_api_token(session, "tracer-d1", name="script")
    machine = TestClient(world["app"], headers={"Authorization": f"Bearer {token}"})
    assert browser.get("/api/me").status_code == machine.get("/api/me").status_code == 200
    answer = signed_in(world, "admin").post("/api/users/tracer-d1/deactivate")
    assert answer.json()["active"] is False
    assert_error_shape(browser.get("/api/me"), 401)
    assert_error_shape(machine.get("/api/me"), 401)
    assert_error_shape(sign_in(client(world), "tracer-d1"), 401)
    assert [e.action for e in entries(world, record_type="account", actor="user:admin")] == ["deactivate"]


def test_a_reset_link_works_once_and_expires(world, cli, clock) -> None:
    made = cli("users", "reset-link", "tracer-d1")
    assert made.exit_code == 0, made.stderr
    path = made.stdout.strip().splitlines()[-1]
    assert path.startswith("/reset/")
    page = client(world)
    assert "Set the password of tracer-d1" in page.get(path).text
    weak = page.post(path, data={"password": "aaaaaaaaaaaa", "confirm": "aaaaaaaaaaaa"})
    assert weak.status_code == 400 and "one character repeated" in weak.text
    differ = page.post(path, data={"password": "a new passphrase", "confirm": "another passphrase"})
    assert differ.status_code == 400 and "the two passwords differ" in differ.text
    assert page.post(path, data={"password": "a new passphrase", "confirm": "a new passphrase"}).status_code == 200
    assert sign_in(client(world), "tracer-d1").status_code == 401
    assert sign_in(client(world), "tracer-d1", "a new passphrase").status_code == 200
    again = page.post(path, data={"password": "a third passphrase", "confirm": "a third passphrase"})
    assert again.status_code == 404 and "it was used already, has expired" in again.text
    later = cli("users", "reset-link", "tracer-d1").stdout.strip().splitlines()[-1]
    clock(hours=1, seconds=1)
    assert page.get(later).status_code == 404
    # An administrator may not hold a tracer's credential; an epidemiologist's, yes.
    refused = signed_in(world, "admin").post("/api/users/tracer-d1/reset-link")
    assert "ask the server's operator to run `epitrace users reset-link tracer-d1`" in assert_error_shape(refused, 403)["error"]
    assert signed_in(world, "admin").post("/api/users/epi/reset-link").json()["link"].startswith("https://testserver/reset/")


def test_expired_and_revoked_tokens_get_401(world, clock) -> None:
    browser = signed_in(world, "tracer-d1")
    short = browser.post("/api/tokens", json={"name": "one day", "days": 1}).json()
    default = browser.post("/api/tokens", json={"name": "default"}).json()
    assert (default["expires_at"][:10] > short["expires_at"][:10])
    bearer = {"Authorization": f"Bearer {default['token']}"}
    assert client(world).get("/api/me", headers=bearer).status_code == 200
    assert [t["name"] for t in browser.get("/api/tokens").json()] == ["default", "one day"]
    assert "token" not in browser.get("/api/tokens").json()[0]
    assert_error_shape(signed_in(world, "tracer-d2").delete(f"/api/tokens/{default['id']}"), 404)  # not theirs
    assert browser.delete(f"/api/tokens/{default['id']}").json()["revoked"] is True
    assert_error_shape(client(world).get("/api/me", headers=bearer), 401)
    assert_error_shape(browser.post("/api/tokens", json={"name": "forever", "days": 10000}), 422)
    clock(days=1, seconds=1)
    assert_error_shape(client(world).get("/api/me", headers={"Authorization": f"Bearer {short['token']}"}), 401)
    logged = [(e.action, e.record_id) for e in entries(world, record_type="api_token")]
    assert logged == [("create", str(short["id"])), ("create", str(default["id"])), ("revoke", str(default["id"]))]


def test_cli_tokens_expire_and_revoke(world, cli, clock) -> None:
    token = cli("users", "token", "tracer-d1", "--label", "feed", "--days", "2").stdout.strip()
    assert client(world).get("/api/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    listed = cli("users", "tokens", "tracer-d1", "--format", "csv").stdout.splitlines()
    assert listed[0] == "id,name,created_at,expires_at,revoked" and ",feed," in listed[1] and listed[1].endswith(",False")
    assert cli("users", "revoke-token", listed[1].split(",")[0]).exit_code == 0
    assert_error_shape(client(world).get("/api/me", headers={"Authorization": f"Bearer {token}"}), 401)
    assert cli("users", "token", "tracer-d1", "--days", "0").stderr.strip() == (
        "Error: a token's lifetime must be 1-366 days, got 0")


def test_no_secret_is_in_the_audit_log(world) -> None:
    admin = signed_in(world, "admin")
    made = admin.post("/api/users", json={"username": "al", "password": "al's own passphrase", "role": "administrator",
                                          "jurisdiction": "CITY"})
    token = admin.post("/api/tokens", json={"name": "t"}).json()["token"]
    link = admin.post("/api/users/epi/reset-link").json()["link"]
    assert made.status_code == 201
    for entry in entries(world):
        text = " ".join(str(v) for v in (entry.actor, entry.action, entry.record_type, entry.record_id, entry.purpose))
        for secret in ("al's own passphrase", PASSWORD, token, link.rsplit("/", 1)[1]):
            assert secret not in text


# --- passwords and the command line ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("password", "reason"), [
    ("short", "the password is too short (5 characters): use at least 12 characters"),
    ("aaaaaaaaaaaa", "the password is one character repeated ('a'): use a passphrase of a few words"),
    (" " * 12, "the password is only whitespace: use words, letters or digits"),
    ("Password1234", "the password is in the list of common passwords that attackers try first: choose another"),
    ("QWERTYUIOP123", "the password is in the list of common passwords that attackers try first: choose another"),
    ("iloveyou2026", "the password is in the list of common passwords that attackers try first: choose another"),
])
def test_weak_passwords_are_refused_with_the_reason(password: str, reason: str) -> None:
    problem = password_problem(password)
    assert problem is not None and problem.startswith(reason)
    with pytest.raises(InputError, match="^the password "):
        check_password(password)


def test_the_common_password_list_is_shipped_and_long() -> None:
    from epitrace.domain.passwords import common_passwords

    listed = common_passwords()
    assert len(listed) > 2000 and all(p == p.lower() for p in listed)
    assert sum(len(p) >= 12 for p in listed) > 2000
    assert password_problem("a sensible passphrase here") is None


def test_weak_passwords_are_refused_by_the_api_and_the_cli(world, cli) -> None:
    refused = signed_in(world, "admin").post("/api/users", json={
        "username": "al", "password": " " * 12, "role": "administrator", "jurisdiction": "CITY"})
    assert assert_error_shape(refused, 400)["error"] == "the password is only whitespace: use words, letters or digits"
    weak = cli.runner.invoke(_app(), ["users", "add", "bo", "--role", "tracer", "--jurisdiction", "D1",
                                      "--password-stdin"], input="aaaaaaaaaaaa\n")
    assert weak.exit_code == 1 and "one character repeated" in weak.stderr


def _app():  # type: ignore[no-untyped-def]
    from epitrace.cli import app

    return app


def test_the_cli_reads_passwords_from_a_prompt_or_stdin_never_an_option(world, cli) -> None:
    gone = cli.runner.invoke(_app(), ["users", "add", "bo", "--role", "tracer", "--jurisdiction", "D1",
                                      "--password", "a passphrase of words"])
    assert gone.exit_code == 2 and "No such option: --password" in gone.stderr
    prompted = cli.runner.invoke(_app(), ["users", "add", "bo", "--role", "tracer", "--jurisdiction", "D1"],
                                 input="bo's passphrase\nbo's passphrase\n")
    assert prompted.exit_code == 0 and "bo's passphrase" not in prompted.stdout
    piped = cli.runner.invoke(_app(), ["users", "add", "cy", "--role", "supervisor", "--jurisdiction", "D2",
                                       "--password-stdin"], input="cy's passphrase\n")
    assert piped.exit_code == 0, piped.stderr
    # The operator at the server may create any account, working at once; it is audited as the CLI.
    assert sign_in(client(world), "bo", "bo's passphrase").status_code == 200
    assert sign_in(client(world), "cy", "cy's passphrase").status_code == 200
    created = [e for e in entries(world, record_type="account", action="create") if e.actor.startswith("cli:")]
    assert len(created) == 2
    help_text = cli("users", "add", "--help").stdout
    assert "--password-stdin" in help_text and "--password " not in help_text


def test_cli_deactivate_activate_role_and_approve(world, cli) -> None:
    assert cli("users", "deactivate", "tracer-d1").exit_code == 0
    assert sign_in(client(world), "tracer-d1").status_code == 401
    assert cli("users", "activate", "tracer-d1").exit_code == 0
    assert sign_in(client(world), "tracer-d1").status_code == 200
    signed_in(world, "admin").post("/api/users", json={"username": "sam", "role": "tracer", "jurisdiction": "D1"})
    approved = cli("users", "approve", "sam")
    assert approved.exit_code == 0 and approved.stdout.strip().splitlines()[-1].startswith("/reset/")
    assert cli("users", "role", "sam", "supervisor").exit_code == 0
    listed = {row["username"]: row for row in __import__("json").loads(cli("users", "list").stdout)}
    assert listed["sam"]["role"] == "supervisor" and listed["sam"]["pending_approval"] is False


def test_the_sign_in_page_throttles_like_the_api(world, clock) -> None:
    browser = client(world)
    for _ in range(5):
        assert browser.post("/login", data={"username": "epi", "password": "typo typo typo"}).status_code == 401
    page = browser.post("/login", data={"username": "epi", "password": PASSWORD}, follow_redirects=False)
    assert page.status_code == 429 and "too many failed sign-ins: try again in" in page.text
    assert 1 <= int(page.headers["Retry-After"]) <= 3
    clock(seconds=3)
    assert browser.post("/login", data={"username": "epi", "password": PASSWORD}, follow_redirects=False).status_code == 303


def test_tokens_made_before_0011_keep_working_for_90_days_and_accounts_stay_approved(tmp_path) -> None:
    from sqlalchemy import text

    from epitrace.storage.accounts import account_for_token
    from epitrace.storage.migrate import upgrade
    from epitrace.storage.models import ApiToken, User
    from tests.conftest import city_database

    engine = city_database(database_url(tmp_path, 'old'), revision="0010")
    with engine.begin() as conn:
        d1 = conn.execute(text("SELECT id FROM jurisdiction WHERE code = 'D1'")).scalar_one()
        conn.execute(text("INSERT INTO app_user (id, username, password_hash, role, jurisdiction_id, active, created_at) "
                          "VALUES (1, 'old', :hash, 'tracer', :d1, :yes, '2026-01-01')"),
                     {"hash": accounts.HASHER.hash(PASSWORD), "d1": d1, "yes": True})
        conn.execute(text("INSERT INTO api_token (token_hash, user_id, name, created_at, revoked) "
                          "VALUES (:digest, 1, 'old', '2026-01-01', :no)"), {"digest": accounts._digest("ept_old"), "no": False})
    upgrade(engine)
    with write_session(engine) as session:
        user = session.scalars(select(User)).one()
        assert (user.pending_approval, user.requested_by, user.approved_by) == (False, None, None)
        expires = session.scalars(select(ApiToken.expires_at)).one()
        assert timedelta(days=89) < expires - utcnow() <= timedelta(days=90)
        found = account_for_token(session, "ept_old")
        assert found is not None and found.username == "old"
    engine.dispose()
