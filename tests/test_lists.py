"""Honest lists (issue 9): true counts, paging that reaches every row once, filters, sorts, search.

One line list, built once for the module (CITY > D1, D2): 170 D1 cases and 30 D2 ones; on TODAY
775 D1 tasks due, 2,445 overdue, 300 done over ten days; persons whose names and phones are spelled
in many ways. Accounts: a tracer in each district and a city supervisor, with API tokens.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, select, text
from typer.testing import CliRunner

from epitrace.api import create_app
from epitrace.cli import app as cli_app
from epitrace.domain.identity import name_key, normalise_name, normalise_phone
from epitrace.storage.accounts import add_user, create_api_token
from epitrace.storage.db import make_engine, read_session, write_session
from epitrace.storage.migrate import alembic_config, upgrade
from epitrace.storage.models import Case, Contact, Jurisdiction, Person, Task
from tests.backends import database_url
from tests.conftest import city_database
from tests.test_api import assert_error_shape

TODAY = date(2026, 3, 20)
PASSWORD = "correct horse battery staple"
GIVEN = ["Ana", "Bruno", "Chen", "Dara", "Émile", "Fatima", "Goran", "Hana", "Ivo", "Jun"]
FAMILY = ["Silva", "de Jong", "Okafor", "Nguyen", "Müller", "Zhang", "Öztürk", "Brown", "Kowalski", "Haddad"]
SETTINGS = ["household", "work", "school", "social"]
KINDS = ["notify", "test", "symptom_check"]
CASE_STATUSES = ["confirmed", "probable", "suspected", "discarded"]


@dataclass
class World:
    url: str
    app: object
    tokens: dict[str, str]
    ids: dict[str, int]  # the search probes' person ids

    def client(self, username: str) -> TestClient:
        return TestClient(self.app, base_url="https://testserver",  # type: ignore[arg-type]
                          headers={"Authorization": f"Bearer {self.tokens[username]}"})


def _person(given: str, family: str, jurisdiction_id: int, *, born: date | None, phone: str | None = None,
            national_id: str | None = None) -> Person:
    return Person(given_name=given, family_name=family, name_key=name_key(given, family),
                  family_key=normalise_name(family), date_of_birth=born, phone=phone, national_id=national_id,
                  jurisdiction_id=jurisdiction_id)


def _build(session, jurisdictions: dict[str, int]) -> dict[str, int]:  # type: ignore[no-untyped-def]
    d1, d2 = jurisdictions["D1"], jurisdictions["D2"]
    probes = {
        "ana": _person("Ana", "Silva", d1, born=date(1990, 4, 2), phone="+31 6 1234 5678", national_id="NL123456789"),
        "ana_d2": _person("Ana", "Silva", d2, born=date(1971, 1, 9), phone="+31 6 8765 4321", national_id="NL987654321"),
        "anabel": _person("Anabel", "Silvestre", d1, born=date(1985, 6, 1)),
        "bea_d2": _person("Bea", "Stone", d2, born=date(1980, 2, 2), phone="+31 6 5555 0000", national_id="NL555000111"),
        "marie": _person("Marie Claire", "van der Berg", d1, born=None, phone="06-1111 2222"),
    }
    session.add_all(probes.values())
    # Case persons: ten given x ten family names, some twice, with and without birth dates.
    people = [_person(GIVEN[i % 10], FAMILY[(i // 10) % 10], d1 if i < 170 else d2,
                      born=None if i % 7 == 0 else date(1950, 1, 1) + timedelta(days=97 * i))
              for i in range(200)]
    session.add_all(people)
    session.flush()
    profile = session.execute(text("SELECT id FROM disease_profile")).scalar_one()
    cases = [Case(person_id=p.id, jurisdiction_id=p.jurisdiction_id, profile_id=profile,
                  status=CASE_STATUSES[i % 4], reported_on=TODAY - timedelta(days=i % 23),
                  interviewed_on=None if i % 3 == 0 else TODAY - timedelta(days=i % 23))
             for i, p in enumerate(people)]
    session.add_all(cases)
    session.flush()
    d1_cases = [c for c in cases if c.jurisdiction_id == d1]
    contacts = [Contact(person_id=people[(i * 7) % 170].id, case_id=d1_cases[i].id, setting=SETTINGS[i % 4],
                        last_exposure_on=TODAY - timedelta(days=5), identified_on=TODAY - timedelta(days=3))
                for i in range(40)]
    session.add_all(contacts)
    session.flush()

    def task(i: int, jurisdiction: int, due: date, status: str, completed: date | None = None) -> dict:
        contact = contacts[i % 40] if jurisdiction == d1 else None  # D2's tasks are Bea Stone's own
        return {"kind": KINDS[i % 3], "person_id": contact.person_id if contact else probes["bea_d2"].id,
                "contact_id": contact.id if contact else None, "setting": contact.setting if contact else None,
                "jurisdiction_id": jurisdiction, "team": "contact-follow-up", "due_on": due, "status": status,
                "completed_on": completed, "result": "done" if status == "done" else None,
                "reason": f"task {i}", "created_on": TODAY - timedelta(days=20)}

    rows = [task(i, d1, TODAY, "open") for i in range(775)]
    rows += [task(i, d1, TODAY - timedelta(days=1 + i % 17), "open") for i in range(2445)]
    rows += [task(i, d1, TODAY - timedelta(days=i % 10), "done", TODAY - timedelta(days=i % 10)) for i in range(300)]
    rows += [task(i, d1, TODAY + timedelta(days=1 + i % 5), "open") for i in range(60)]
    rows += [task(i, d1, TODAY - timedelta(days=2), "cancelled") for i in range(20)]
    rows += [task(i, d2, TODAY, "open") for i in range(100)]
    session.execute(insert(Task), rows)
    return {name: p.id for name, p in probes.items()} | {"D1": d1, "D2": d2}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    url = database_url(tmp_path_factory.mktemp('lists'), 'lists')
    engine = city_database(url)
    with write_session(engine) as session:
        ids = _build(session, dict(session.execute(select(Jurisdiction.code, Jurisdiction.id)).tuples().all()))
        tokens = {}
        for username, role, code in (("tracer-d1", "tracer", "D1"), ("tracer-d2", "tracer", "D2"),
                                     ("supervisor", "supervisor", "CITY")):
            add_user(session, username, PASSWORD, role=role, jurisdiction_code=code)
            tokens[username] = create_api_token(session, username, name="test")
    yield World(url, create_app(engine), tokens, ids)
    engine.dispose()


@pytest.fixture(autouse=True)
def today(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EPITRACE_TODAY", TODAY.isoformat())


def every_page(client: TestClient, url: str, params: dict, *, limit: int) -> tuple[list[dict], list[int]]:
    """Every row of an API list, a page at a time; and the count each page reported."""
    rows, counts, offset = [], [], 0
    while True:
        body = client.get(url, params={**params, "limit": limit, "offset": offset}).json()
        counts.append(body["count"])
        rows += body["data"]
        if len(body["data"]) < limit:
            return rows, counts
        offset += limit


def db_rows(world: World, query):  # type: ignore[no-untyped-def]
    engine = make_engine(world.url)
    try:
        with read_session(engine) as session:
            return session.execute(query).all()
    finally:
        engine.dispose()


# --- the task board ----------------------------------------------------------------------------------

def test_task_board_says_200_of_775(world: World) -> None:
    page = world.client("tracer-d1").get("/tasks", params={"limit": 200})
    assert page.status_code == 200
    assert "Due today (200 of 775)" in page.text
    assert "Overdue (200 of 2445)" in page.text
    assert "Done today (30 of 30)" in page.text
    default = world.client("tracer-d1").get("/tasks").text
    assert "Due today (25 of 775)" in default and "1–25 of 775" in default


def _section(page: str, label: str) -> str:
    return page.split(f'<section aria-label="{label}">', 1)[1].split("</section>", 1)[0]


def test_task_board_pages_reach_every_task_once_and_keep_the_filters(world: World) -> None:
    client, url = world.client("tracer-d1"), "/tasks?kind=test&overdue_offset=25&limit=40"
    seen: list[str] = []
    while True:
        section = _section(client.get(url).text, "Due today")
        seen += re.findall(r'data-testid="task-(\d+)"', section)
        assert "(0 of" not in section
        following = re.search(r'rel="next" href="([^"]+)"', section)
        if following is None:
            break
        url = "/tasks" + html.unescape(following.group(1))
        assert "kind=test" in url and "overdue_offset=25" in url and "limit=40" in url
    expected = db_rows(world, select(Task.id).where(Task.kind == "test", Task.due_on == TODAY, Task.status == "open",
                                                    Task.jurisdiction_id == world.ids["D1"]))
    assert len(seen) == len(set(seen)) == len(expected) == 258
    assert {int(i) for i in seen} == {r.id for r in expected}
    back = re.search(r'rel="prev" href="([^"]+)"', _section(client.get(url).text, "Due today"))
    assert back is not None and "due_offset=200" in html.unescape(back.group(1))


def test_task_list_paging_reaches_every_row_once_with_the_true_count(world: World) -> None:
    rows, counts = every_page(world.client("tracer-d1"), "/api/tasks", {"overdue": "true"}, limit=500)
    assert counts == [2445] * 5 and len(rows) == len({r["id"] for r in rows}) == 2445
    assert all(r["overdue"] and r["status"] == "open" for r in rows)
    assert world.client("tracer-d2").get("/api/tasks", params={"due_on": TODAY.isoformat()}).json()["count"] == 100


@pytest.mark.parametrize(("sort", "key", "reverse"), [
    ("due", lambda r: (r["due_on"], r["id"]), False),
    ("latest_due", lambda r: (r["due_on"], r["id"]), True),
])
def test_task_sorts_match_python(world: World, sort: str, key, reverse: bool) -> None:  # type: ignore[no-untyped-def]
    rows, _ = every_page(world.client("supervisor"), "/api/tasks", {"status": "open", "sort": sort}, limit=500)
    assert len(rows) == 775 + 2445 + 60 + 100
    assert rows == sorted(rows, key=key, reverse=reverse)


def test_done_tasks_most_recent_first_and_by_completion_day(world: World) -> None:
    client = world.client("tracer-d1")
    rows, counts = every_page(client, "/api/tasks", {"status": "done"}, limit=70)
    assert set(counts) == {300} and rows == sorted(rows, key=lambda r: (r["completed_on"], r["id"]), reverse=True)
    since = (TODAY - timedelta(days=2)).isoformat()
    recent = client.get("/api/tasks", params={"status": "done", "completed_from": since}).json()
    assert recent["count"] == 90


def test_task_filters_combine(world: World) -> None:
    settings = dict(db_rows(world, select(Contact.id, Contact.setting)))
    tasks = db_rows(world, select(Task.id, Task.kind, Task.status, Task.jurisdiction_id, Task.contact_id, Task.due_on))
    wanted = {t.id for t in tasks if t.kind == "test" and t.status == "open" and t.jurisdiction_id == world.ids["D1"]
              and settings.get(t.contact_id) == "household" and TODAY - timedelta(days=5) <= t.due_on <= TODAY}
    params = {"kind": "test", "status": "open", "setting": "household", "jurisdiction": "D1",
              "due_from": (TODAY - timedelta(days=5)).isoformat(), "due_to": TODAY.isoformat()}
    rows, counts = every_page(world.client("supervisor"), "/api/tasks", params, limit=100)
    assert {r["id"] for r in rows} == wanted and set(counts) == {len(wanted)} and wanted


# --- the case queue and the case list ----------------------------------------------------------------

def test_case_list_says_100_of_170_and_pages_reach_every_case(world: World) -> None:
    client = world.client("tracer-d1")
    first = client.get("/api/cases", params={"limit": 100}).json()
    assert first["count"] == 170 and len(first["data"]) == 100
    rows, counts = every_page(client, "/api/cases", {}, limit=30)
    assert set(counts) == {170} and len(rows) == len({r["id"] for r in rows}) == 170
    assert rows == sorted(rows, key=lambda r: (r["reported_on"], r["id"]), reverse=True)
    oldest, _ = every_page(client, "/api/cases", {"sort": "oldest"}, limit=500)
    assert oldest == sorted(rows, key=lambda r: (r["reported_on"], r["id"]))


def test_case_filters_combine(world: World) -> None:
    cases = db_rows(world, select(Case.id, Case.status, Case.reported_on, Case.interviewed_on, Case.jurisdiction_id))
    start = TODAY - timedelta(days=10)
    wanted = {c.id for c in cases if c.jurisdiction_id == world.ids["D1"] and c.status == "confirmed" and c.reported_on >= start
              and c.interviewed_on is None}
    params = {"status": "confirmed", "reported_from": start.isoformat(), "reported_to": TODAY.isoformat(),
              "uninterviewed": "true"}
    body = world.client("tracer-d1").get("/api/cases", params=params).json()
    assert {r["id"] for r in body["data"]} == wanted and body["count"] == len(wanted) and wanted
    everywhere = world.client("supervisor").get("/api/cases", params={**params, "jurisdiction": "D2"}).json()
    assert everywhere["count"] == len({c.id for c in cases if c.jurisdiction_id == world.ids["D2"] and c.status == "confirmed"
                                       and c.reported_on >= start and c.interviewed_on is None})


def test_case_queue_pages_keep_the_filters(world: World) -> None:
    client = world.client("tracer-d1")
    page = client.get("/queue", params={"show": "all", "status": "probable", "sort": "oldest"}).text
    total = sum(1 for c in db_rows(world, select(Case.status, Case.jurisdiction_id)) if c == ("probable", world.ids["D1"]))
    assert f"{min(total, 50)} of {total} case(s)" in page
    queue = client.get("/queue").text
    waiting = sum(1 for c in db_rows(world, select(Case.interviewed_on, Case.jurisdiction_id)) if c == (None, world.ids["D1"]))
    assert f"50 of {waiting} case(s) waiting for an interview" in queue
    following = html.unescape(re.search(r'rel="next" href="([^"]+)"', queue).group(1))  # type: ignore[union-attr]
    assert following == "?offset=50"
    second = client.get("/queue" + following).text
    assert f"51–{min(100, waiting)} of {waiting}" in second


# --- person search -----------------------------------------------------------------------------------

def found(world: World, username: str, q: str, **params: str) -> list[int]:
    body = world.client(username).get("/api/persons", params={"q": q, **params}).json()
    assert body["count"] == len(body["data"]), body
    return [p["id"] for p in body["data"]]


@pytest.mark.parametrize(("q", "prefixes"), [
    ("Ana Silva", False), ("Silva Ana", False), ("silva, ana", False), ("ANA  SILVA", False), ("Ána Sílva", False),
    ("An Sil", True), ("Sil An", True), ("ana silv", True), ("silv an", True),
])
def test_search_full_name_either_order(world: World, q: str, prefixes: bool) -> None:
    hits = found(world, "tracer-d1", q)
    assert world.ids["ana"] in hits
    assert (world.ids["anabel"] in hits) is prefixes  # Anabel Silvestre: the start of each part
    assert world.ids["ana_d2"] not in hits  # the other Ana Silva lives in D2: out of a D1 tracer's scope
    assert found(world, "tracer-d2", q) == [world.ids["ana_d2"]]
    assert {world.ids["ana"], world.ids["ana_d2"]} <= set(found(world, "supervisor", q))


def test_search_multi_word_names_and_single_words(world: World) -> None:
    marie = world.ids["marie"]
    for q in ("Marie Claire van der Berg", "van der Berg Marie Claire", "van der Berg Mar", "Marie van", "van der"):
        assert marie in found(world, "tracer-d1", q), q
    assert world.ids["ana"] in found(world, "tracer-d1", "silva")  # the family name alone
    assert world.ids["ana"] in found(world, "tracer-d1", "ana")  # the given name alone
    assert found(world, "tracer-d1", "Marie Silva") == []
    too_long = world.client("tracer-d1").get("/api/persons", params={"q": "a b c d e f g"})
    assert assert_error_shape(too_long, 400)["error"] == "search has 7 words; use at most 6 (a name, a phone or an id)"


@pytest.mark.parametrize("q", ["+31612345678", "+31 6 1234 5678", "+31-6-1234-5678", "+31 (6) 12345678",
                               " +31 6 12 34 56 78 ", "+31.6.1234.5678", "0031612345678", "31612345678"])
def test_search_normalised_phone(world: World, q: str) -> None:
    """Search finds a phone exactly when identity resolution would call it the same number (one rule)."""
    same = normalise_phone(q) == normalise_phone("+31 6 1234 5678")
    assert (world.ids["ana"] in found(world, "tracer-d1", q)) is same
    assert world.ids["ana_d2"] not in found(world, "tracer-d1", q)
    assert same is (q.strip().startswith("+"))  # what the rule says today: a leading 00 is not a +


def test_search_by_phone_and_national_id_stays_in_scope(world: World) -> None:
    assert found(world, "tracer-d1", "+31 6 8765 4321") == []
    assert found(world, "tracer-d1", "NL987654321") == []
    assert found(world, "tracer-d1", "Bea Stone") == []
    assert found(world, "tracer-d2", "+31687654321") == [world.ids["ana_d2"]]
    assert found(world, "tracer-d2", "NL987654321") == [world.ids["ana_d2"]]
    assert found(world, "tracer-d1", "NL123456789") == [world.ids["ana"]]
    assert found(world, "tracer-d1", "0611112222") == [world.ids["marie"]]


def test_person_search_pages_and_sorts(world: World) -> None:
    client = world.client("supervisor")
    persons = db_rows(world, select(Person.id, Person.family_key, Person.name_key, Person.date_of_birth,
                                    Person.jurisdiction_id))
    matching = [p for p in persons if p.family_key.startswith("s") or p.name_key.startswith("s")]
    assert len(matching) > 20
    for sort, key in (("name", lambda p: (p.family_key, p.name_key, p.id)),
                      ("born", lambda p: (p.date_of_birth is None, p.date_of_birth or date.min, p.id)),
                      ("newest", lambda p: -p.id)):
        rows, counts = every_page(client, "/api/persons", {"q": "s", "sort": sort}, limit=7)
        assert set(counts) == {len(matching)}
        assert [r["id"] for r in rows] == [p.id for p in sorted(matching, key=key)], sort
    d1_total = world.client("tracer-d1").get("/api/persons", params={"q": "s"}).json()["count"]
    assert d1_total == len([p for p in matching if p.jurisdiction_id == world.ids["D1"]]) > 10
    page = world.client("tracer-d1").get("/persons", params={"q": "s", "limit": 10, "offset": 10, "sort": "born"}).text
    assert f"10 of {d1_total} match(es)" in page and f"11–20 of {d1_total}" in page
    assert 'rel="prev" href="?q=s&amp;limit=10&amp;offset=0&amp;sort=born"' in page


def test_search_finds_phones_filled_by_the_migration(tmp_path: Path) -> None:
    from alembic import command

    engine = make_engine(database_url(tmp_path, 'old'))
    command.upgrade(alembic_config(engine), "0008")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO person (given_name, family_name, name_key, family_key, phone, created_at) "
                          "VALUES ('Ana', 'Silva', 'ana|silva', 'silva', '+31 (6) 1234-5678', '2026-01-01')"))
    upgrade(engine)
    with write_session(engine) as session:
        assert session.scalars(select(Person.phone_key)).all() == ["+31612345678"]
        from epitrace.storage import workbench as wb
        from epitrace.storage.audit import Actor
        from epitrace.storage.scope import EVERYWHERE

        rows, total = wb.search_persons(session, EVERYWHERE, actor=Actor("test"), q="+31 6 12 34 56 78")
        assert total == 1 and rows[0]["name"] == "Ana Silva"
        person = session.scalars(select(Person)).one()
        person.phone = "+44 20 7946 0000"  # the model keeps the key in step
        session.flush()
        assert person.phone_key == "+442079460000"
    engine.dispose()


def test_setting_filter_finds_tasks_filled_by_the_migration(tmp_path: Path) -> None:
    """Tasks made before 0010 get their contact's setting, so the board's filter still finds them."""
    engine = city_database(database_url(tmp_path, 'old'), revision="0009")
    with engine.begin() as conn:
        d1 = conn.execute(text("SELECT id FROM jurisdiction WHERE code = 'D1'")).scalar_one()
        profile = conn.execute(text("SELECT id FROM disease_profile")).scalar_one()
        for n in (1, 2):
            conn.execute(text("INSERT INTO person (id, given_name, family_name, name_key, created_at, jurisdiction_id) "
                              "VALUES (:n, 'P', 'Q', 'p|q', '2026-01-01', :d1)"), {"n": n, "d1": d1})
        conn.execute(text("INSERT INTO case_record (id, person_id, jurisdiction_id, profile_id, status, reported_on, created_at) "
                          "VALUES (1, 1, :d1, :profile, 'confirmed', '2026-03-01', '2026-03-01')"), {"d1": d1, "profile": profile})
        conn.execute(text("INSERT INTO contact (id, person_id, case_id, setting, last_exposure_on, identified_on, status, "
                          "created_at) VALUES (1, 2, 1, 'household', '2026-03-01', '2026-03-02', 'active', '2026-03-02')"))
        for kind, contact in (("test", 1), ("interview", None)):
            conn.execute(text("INSERT INTO task (kind, person_id, contact_id, jurisdiction_id, team, due_on, status, "
                              "reason, created_on) VALUES (:kind, 2, :contact, :d1, 't', '2026-03-03', 'open', 'r', "
                              "'2026-03-02')"), {"kind": kind, "contact": contact, "d1": d1})
    upgrade(engine)
    with write_session(engine) as session:
        assert dict(session.execute(select(Task.kind, Task.setting)).tuples().all()) == {"test": "household",
                                                                                          "interview": None}
        from epitrace.storage import workbench as wb
        from epitrace.storage.audit import Actor
        from epitrace.storage.scope import EVERYWHERE

        rows, total = wb.list_tasks(session, EVERYWHERE, actor=Actor("test"), today=date(2026, 3, 3), setting="household")
        assert total == 1 and rows[0]["kind"] == "test"
    engine.dispose()


# --- unknown values are errors, not empty lists ------------------------------------------------------

@pytest.mark.parametrize(("url", "params", "message"), [
    ("/api/tasks", {"kind": "bogus"}, "kind 'bogus' is not one of: interview, notify, test, symptom_check"),
    ("/api/tasks", {"status": "closed"}, "status 'closed' is not one of: open, done, cancelled"),
    ("/api/tasks", {"sort": "name"}, "sort 'name' is not one of: due, latest_due, completed"),
    ("/api/tasks", {"overdue": "true", "status": "done"},
     "overdue tasks are open ones, so status 'done' and overdue contradict: drop one of them"),
    ("/api/cases", {"status": "bogus"}, "status 'bogus' is not one of: suspected, probable, confirmed, discarded"),
    ("/api/cases", {"sort": "name"}, "sort 'name' is not one of: newest, oldest"),
    # Out of scope and unknown are told apart by nothing but the code (issue 10).
    ("/api/cases", {"jurisdiction": "D2"}, "jurisdiction 'D2' is not one of yours: use one of D1"),
    ("/api/cases", {"jurisdiction": "NOPE"}, "jurisdiction 'NOPE' is not one of yours: use one of D1"),
    ("/api/persons", {"q": "ana", "sort": "age"}, "sort 'age' is not one of: name, born, newest"),
    ("/api/persons", {"q": "!!"}, "search '!!' has no letters or digits to search for"),
])
def test_api_filters_validated(world: World, url: str, params: dict, message: str) -> None:
    assert assert_error_shape(world.client("tracer-d1").get(url, params=params), 400)["error"] == message


def test_api_page_size_is_bounded(world: World) -> None:
    body = assert_error_shape(world.client("tracer-d1").get("/api/tasks", params={"limit": 501}), 422)
    assert body["error"] == "query.limit: Input should be less than or equal to 500"
    far = world.client("tracer-d1").get("/api/persons", params={"q": "ana", "offset": 2**63})
    assert assert_error_shape(far, 400)["error"] == f"offset must be between 0 and 1000000000, got {2**63}"
    past = world.client("tracer-d1").get("/api/cases", params={"offset": 170}).json()
    assert past == {"data": [], "count": 170}


@pytest.mark.parametrize(("url", "message"), [
    ("/tasks?kind=bogus", "kind &#39;bogus&#39; is not one of: interview, notify, test, symptom_check"),
    ("/tasks?overdue_sort=name", "sort &#39;name&#39; is not one of: due, latest_due, completed"),
    ("/tasks?due_offset=x", "due_offset &#39;x&#39; is not a whole number"),
    ("/queue?show=everything", "show &#39;everything&#39; is not one of: new, all"),
    ("/queue?reported_from=yesterday", "Reported from &#39;yesterday&#39; is not a date: use YYYY-MM-DD"),
    ("/queue?limit=1000", "limit must be between 1 and 500, got 1000"),
    ("/persons?q=ana&sort=age", "sort &#39;age&#39; is not one of: name, born, newest"),
])
def test_page_filters_validated(world: World, url: str, message: str) -> None:
    page = world.client("tracer-d1").get(url)
    assert page.status_code == 400 and message in page.text


@pytest.fixture
def run(world: World, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("EPITRACE_DATABASE_URL", world.url)
    monkeypatch.setenv("COLUMNS", "200")
    return lambda *args: CliRunner().invoke(cli_app, list(args), catch_exceptions=False)


@pytest.mark.parametrize(("args", "message"), [
    (("tasks", "list", "--kind", "bogus"), "Error: kind 'bogus' is not one of: interview, notify, test, symptom_check"),
    (("tasks", "list", "--status", "closed"), "Error: status 'closed' is not one of: open, done, cancelled"),
    (("tasks", "list", "--sort", "name"), "Error: sort 'name' is not one of: due, latest_due, completed"),
    (("tasks", "list", "--due-from", "soon"), "Error: --due-from 'soon' is not a date: expected YYYY-MM-DD, e.g. 2026-03-14"),
    (("tasks", "list", "--limit", "0"), "Error: limit must be between 1 and 500, got 0"),
    (("cases", "list", "--status", "bogus"), "Error: status 'bogus' is not one of: suspected, probable, confirmed, discarded"),
    (("cases", "list", "--sort", "name"), "Error: sort 'name' is not one of: newest, oldest"),
    (("cases", "list", "--jurisdiction", "NOPE"), "Error: jurisdiction 'NOPE' is not a known code: use one of CITY, D1, D2"),
    (("persons", "search", "ana", "--sort", "age"), "Error: sort 'age' is not one of: name, born, newest"),
])
def test_cli_filters_validated(run, args: tuple[str, ...], message: str) -> None:  # type: ignore[no-untyped-def]
    result = run(*args)
    assert (result.exit_code, result.stderr.strip(), result.stdout) == (1, message, "")


def test_cli_lists_say_when_there_is_more(run) -> None:  # type: ignore[no-untyped-def]
    import json

    first = run("cases", "list", "--jurisdiction", "D1", "--limit", "100")
    assert first.exit_code == 0 and len(json.loads(first.stdout)) == 100
    assert first.stderr.strip() == "Showing 1-100 of 170 case(s); the next page: --offset 100"
    last = run("cases", "list", "--jurisdiction", "D1", "--limit", "100", "--offset", "100")
    assert len(json.loads(last.stdout)) == 70 and last.stderr == ""
    tasks = run("tasks", "list", "--kind", "test", "--jurisdiction", "D1", "--today", TODAY.isoformat(),
                "--due-from", TODAY.isoformat(), "--due-to", TODAY.isoformat(), "--limit", "500")
    assert len(json.loads(tasks.stdout)) == 258 and tasks.stderr == ""
    named = json.loads(run("persons", "search", "Silva Ana", "--jurisdiction", "D1").stdout)
    assert {p["name"] for p in named} == {"Ana Silva"} and len(named) == 3  # the probe and two case persons
