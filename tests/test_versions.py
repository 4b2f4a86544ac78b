"""No lost updates (issue 11, point 3): cases, contacts and tasks carry a version; a write that names a
version the record has moved on from is refused with the current state, through the API, the pages and
concurrent writers, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
import threading
from datetime import date

import pytest
from sqlalchemy import select

from epitrace.errors import StaleRecord
from epitrace.storage import audit
from epitrace.storage import workbench as wb
from epitrace.storage.audit import Actor
from epitrace.storage.db import read_session, write_session
from epitrace.storage.models import Case, Contact, Person, Task
from epitrace.storage.scope import EVERYWHERE
from tests.conftest import lab_line, write_labs
from tests.test_api import assert_error_shape, client_for, world  # noqa: F401 - the shared fixture
from tests.test_pages import signed_in
from tests.threads import in_threads

CHANGED = re.compile(r"case (\d+) was changed by tracer-d1 at \d{4}-\d\d-\d\d \d\d:\d\d UTC since you read version "
                     r"(\d+); it is now version (\d+)\. Check the current values and send your change again with "
                     r"version \3")


def stale_body(response) -> dict:  # type: ignore[no-untyped-def]
    """A refused stale write: the one error shape, plus the record as it is now."""
    body = response.json()
    assert response.status_code == 409, body
    assert set(body) == {"ok", "error", "errors", "status", "current"} and body["ok"] is False and body["status"] == 409
    assert response.headers["ETag"] == f'"{body["current"]["version"]}"'
    return body


def chain_verifies(world) -> bool:  # type: ignore[no-untyped-def]  # noqa: F811
    with read_session(world["engine"]) as session:
        return audit.verify(session) is None


def test_two_clients_read_the_same_case_the_first_write_wins(world) -> None:  # noqa: F811
    ana, bea = client_for(world, "tracer-d1"), client_for(world, "supervisor")
    case_id = world["cases"]["Ana"]
    first, second = ana.get(f"/api/cases/{case_id}"), bea.get(f"/api/cases/{case_id}")
    read = first.json()["version"]
    assert first.headers["ETag"] == second.headers["ETag"] == f'"{read}"'
    won = ana.patch(f"/api/cases/{case_id}", json={"onset": "2026-03-09"}, headers={"If-Match": f'"{read}"'})
    assert won.status_code == 200 and won.json() == {"ok": True, "version": read + 1}
    assert won.headers["ETag"] == f'"{read + 1}"'

    lost = bea.patch(f"/api/cases/{case_id}", json={"onset": "2026-03-08", "isolation": "2026-03-12"},
                     headers={"If-Match": f'"{read}"'})
    body = stale_body(lost)
    assert CHANGED.fullmatch(body["error"]).groups() == (str(case_id), str(read), str(read + 1)), body["error"]
    assert body["errors"] == [{"field": "version", "reason": f"the case is now version {read + 1}", "value": str(read),
                               "row": None}]
    assert body["current"] == bea.get(f"/api/cases/{case_id}").json()  # the same representation as the GET
    assert body["current"]["onset"] == "2026-03-09" and body["current"]["updated_by"] == "tracer-d1"
    with read_session(world["engine"]) as session:
        case = session.get_one(Case, case_id)
        assert (case.onset_date, case.isolation_date, case.version) == (date(2026, 3, 9), None, read + 1)
    assert chain_verifies(world)

    again = bea.patch(f"/api/cases/{case_id}", json={"isolation": "2026-03-12"}, headers={"If-Match": f'"{read + 1}"'})
    assert again.json() == {"ok": True, "version": read + 2}


def test_the_version_field_works_like_if_match(world) -> None:  # noqa: F811
    client = client_for(world, "tracer-d1")
    case_id = world["cases"]["Ana"]
    read = client.get(f"/api/cases/{case_id}").json()["version"]
    assert client.patch(f"/api/cases/{case_id}", json={"onset": "2026-03-09", "version": read}).json()["version"] == read + 1
    body = stale_body(client.patch(f"/api/cases/{case_id}", json={"onset": "2026-03-08", "version": read}))
    assert body["current"]["onset"] == "2026-03-09"
    both = client.patch(f"/api/cases/{case_id}", json={"onset": "2026-03-08", "version": read + 1},
                        headers={"If-Match": f'"{read + 1}"'})
    assert both.json()["version"] == read + 2
    disagree = client.patch(f"/api/cases/{case_id}", json={"onset": "2026-03-07", "version": read + 2},
                            headers={"If-Match": f'"{read + 1}"'})
    assert assert_error_shape(disagree, 400)["error"] == (
        f"If-Match \"{read + 1}\" and the body's version {read + 2} disagree: send the version you read once, or the "
        "same in both")
    future = client.patch(f"/api/cases/{case_id}", json={"onset": "2026-03-07", "version": read + 10})
    assert stale_body(future)["error"] == (f"case {case_id} is at version {read + 2}; version {read + 10} was never "
                                           f"written: send the version you read ({read + 2} now)")
    # No precondition (older clients) and If-Match: * are accepted whatever the version.
    assert client.patch(f"/api/cases/{case_id}", json={"onset": "2026-03-07"}).json()["version"] == read + 3
    assert client.patch(f"/api/cases/{case_id}", json={"onset": "2026-03-06"}, headers={"If-Match": "*"}).status_code == 200


@pytest.mark.parametrize("value", ["4", 'W/"4"', '"abc"', '"0"', '""', '"4", "5"', "'4'", '"99999999999999999999"'])
def test_a_malformed_if_match_is_a_400_naming_it(world, value: str) -> None:  # noqa: F811
    client = client_for(world, "tracer-d1")
    for response in (client.patch(f"/api/cases/{world['cases']['Ana']}", json={"onset": "2026-03-09"},
                                  headers={"If-Match": value}),
                     client.post(f"/api/tasks/{world['tasks']['Ana']}/result", json={"result": "done"},
                                 headers={"If-Match": value})):
        assert assert_error_shape(response, 400)["error"] == (
            f"If-Match {value!r} is not a version: send the ETag you read, a quoted whole number such as \"4\" "
            "(quotes included), or * for any version")


def test_two_clients_record_the_same_tasks_result_the_first_wins(world) -> None:  # noqa: F811
    ana, bea = client_for(world, "tracer-d1"), client_for(world, "supervisor")
    task_id = world["tasks"]["Ana"]
    read = ana.get(f"/api/tasks/{task_id}")
    version = read.json()["version"]
    assert read.headers["ETag"] == f'"{version}"' and read.json()["status"] == "open"
    assert [t["version"] for t in ana.get("/api/tasks").json()["data"] if t["id"] == task_id] == [version]
    won = ana.post(f"/api/tasks/{task_id}/result", json={"result": "reached by phone"}, headers={"If-Match": f'"{version}"'})
    assert won.status_code == 200 and won.json()["version"] == version + 1 and won.headers["ETag"] == f'"{version + 1}"'
    body = stale_body(bea.post(f"/api/tasks/{task_id}/result", json={"result": "no answer", "version": version}))
    assert body["error"].startswith(f"task {task_id} was changed by tracer-d1 at ")
    assert body["current"] == bea.get(f"/api/tasks/{task_id}").json()
    assert (body["current"]["status"], body["current"]["result"]) == ("done", "reached by phone")
    with read_session(world["engine"]) as session:
        assert session.get_one(Task, task_id).result == "reached by phone"
    assert chain_verifies(world)
    # Without a version, a closed task is the Conflict it always was (issue 10), not a stale write.
    closed = assert_error_shape(bea.post(f"/api/tasks/{task_id}/result", json={"result": "no answer"}), 409)
    assert closed["error"].startswith(f"task {task_id} (interview) is already done")


def test_case_detail_gives_versions_of_its_contacts_and_tasks(world) -> None:  # noqa: F811
    client = client_for(world, "tracer-d1")
    case_id = world["cases"]["Ana"]
    client.post(f"/api/cases/{case_id}/contacts", json={"given_name": "Bo", "family_name": "Jensen", "setting": "household",
                                                        "last_exposure": "2026-03-11", "identified_on": "2026-03-12"})
    detail = client.get(f"/api/cases/{case_id}").json()
    assert [c["version"] for c in detail["contacts"]] == [1] and {t["version"] for t in detail["tasks"]} == {1}
    assert client.get(f"/api/cases/{case_id}/contacts").json()[0]["version"] == 1


# -- every write path counts ---------------------------------------------------------------------------

def snapshot(world) -> dict[tuple[str, int], dict]:  # type: ignore[no-untyped-def]  # noqa: F811
    with read_session(world["engine"]) as session:
        return {(model.__tablename__, row.id): {c.key: getattr(row, c.key) for c in model.__mapper__.column_attrs}
                for model in (Case, Contact, Task) for row in session.scalars(select(model))}


STAMP = {"version", "updated_by", "updated_at"}


def changes(before: dict, after: dict) -> set[str]:
    """Tables whose rows changed; every changed row has a higher version and names its writer."""
    changed = set()
    for key, row in after.items():
        old = before.get(key)
        if old is None:
            assert row["version"] == 1 and row["updated_by"] and row["updated_at"], (key, row)
            changed.add(key[0])
            continue
        assert row["version"] >= old["version"], key
        if {k: v for k, v in row.items() if k not in STAMP} != {k: v for k, v in old.items() if k not in STAMP}:
            assert row["version"] > old["version"] and row["updated_by"] and row["updated_at"], (key, old, row)
            changed.add(key[0])
    return changed


def test_every_kind_of_change_raises_the_version(world, cli) -> None:  # noqa: F811
    """Walk the write paths (ORM changes and UPDATE statements): whatever changed a row raised its version."""
    tracer, supervisor = client_for(world, "tracer-d1"), client_for(world, "supervisor")
    ana, bea = world["cases"]["Ana"], world["cases"]["Bea"]
    bo = {"given_name": "Bo", "family_name": "Jensen", "date_of_birth": "1985-06-01", "setting": "household",
          "identified_on": "2026-03-12"}

    def step(expect: set[str], action) -> None:  # type: ignore[no-untyped-def]
        before = snapshot(world)
        action()
        assert changes(before, snapshot(world)) >= expect

    def labs(name: str, *lines: str) -> None:
        write_labs(cli.cwd / name, *lines)
        assert cli("import", "labs", name).exit_code == 0

    step({"case_record", "task"}, lambda: tracer.patch(f"/api/cases/{ana}", json={"onset": "2026-03-09",
                                                                                  "interviewed_on": "2026-03-12"}))
    step({"contact", "task"}, lambda: tracer.post(f"/api/cases/{ana}/contacts", json=bo | {"last_exposure": "2026-03-10"}))
    step({"contact"}, lambda: tracer.post(f"/api/cases/{ana}/contacts", json=bo | {"last_exposure": "2026-03-11"}))
    # A second case names Bo: his open follow-up is extended with an UPDATE statement (tasks.schedule_follow_up).
    supervisor.patch(f"/api/cases/{bea}", json={"onset": "2026-03-09"})
    step({"task"}, lambda: supervisor.post(f"/api/cases/{bea}/contacts", json=bo | {"last_exposure": "2026-03-11"}))
    step({"case_record"}, lambda: labs("again.csv", lab_line("S9", collected="2026-03-08", resulted="2026-03-12",
                                                             phone="+15550001")))
    step({"task"}, lambda: labs("negative.csv", lab_line("B1", given="Bo", family="Jensen", dob="1985-06-01",
                                                         result="negative", collected="2026-03-12", resulted="2026-03-13")))
    # Bo tests positive: his contacts became a case, their tasks closed or cancelled (the loop closes).
    step({"case_record", "contact", "task"}, lambda: labs("positive.csv", lab_line(
        "B2", given="Bo", family="Jensen", dob="1985-06-01", collected="2026-03-13", resulted="2026-03-14")))
    with read_session(world["engine"]) as session:
        bo_id = session.scalar(select(Person.id).where(Person.given_name == "Bo"))
        bo_case = session.scalar(select(Case.id).where(Case.person_id == bo_id))
    step({"task"}, lambda: tracer.post(f"/api/tasks/{_open_task(world, bo_case)}/result", json={"result": "done"}))
    # A duplicate of Bo (another district, another birth date) merged into him: UPDATE statements move his rows.
    labs("duplicate.csv", lab_line("B3", given="Bo", family="Jensen", dob="1985-06-02", jurisdiction="D2",
                                   collected="2026-03-13", resulted="2026-03-14"))
    with read_session(world["engine"]) as session:
        other = session.scalar(select(Person.id).where(Person.given_name == "Bo", Person.id != bo_id))
    step({"case_record", "task"}, lambda: supervisor.post("/api/persons/merge", json={"keep": bo_id, "other": other}))
    assert chain_verifies(world)


def _open_task(world, case_id: int) -> int:  # type: ignore[no-untyped-def]  # noqa: F811
    with read_session(world["engine"]) as session:
        return session.scalar(select(Task.id).where(Task.case_id == case_id, Task.status == "open"))


# -- concurrent writers ---------------------------------------------------------------------------------

THREADS = 8


def test_concurrent_writers_lose_no_update(world) -> None:  # noqa: F811
    """Threads each add their name to the case's symptoms, reading the version first and retrying when
    refused: every name arrives, one write per version (the classic lost update is a missing name)."""
    case_id, engine = world["cases"]["Ana"], world["engine"]
    with read_session(engine) as session:
        start = session.get_one(Case, case_id).version
    refused, errors, start_line = [], [], threading.Barrier(THREADS)

    def writer(n: int) -> None:
        start_line.wait()
        while True:
            with read_session(engine) as session:
                case = session.get_one(Case, case_id)
                version, symptoms = case.version, case.symptoms
            try:
                with write_session(engine) as session:
                    wb.record_interview(session, EVERYWHERE, case_id, actor=Actor(f"user:t{n}"), onset=None,
                                        isolation=None, interviewed_on=None, symptoms=", ".join(filter(None, [symptoms, f"t{n}"])),
                                        expected_version=version)
                return
            except StaleRecord:
                refused.append(n)
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
                return

    in_threads(writer, THREADS)
    assert not errors
    with read_session(engine) as session:
        case = session.get_one(Case, case_id)
        names = sorted(case.symptoms.split(", "))
        assert names == sorted(f"t{n}" for n in range(THREADS))  # no lost update
        assert case.version == start + THREADS  # exactly one write per version
    assert len(refused) >= 1
    assert chain_verifies(world)


def test_concurrent_results_for_one_task_version_one_wins(world) -> None:  # noqa: F811
    task_id, engine = world["tasks"]["Ana"], world["engine"]
    with read_session(engine) as session:
        version = session.get_one(Task, task_id).version
    outcomes, start_line = [], threading.Barrier(THREADS)

    def writer(n: int) -> None:
        start_line.wait()
        try:
            with write_session(engine) as session:
                wb.record_task_result(session, EVERYWHERE, task_id, actor=Actor(f"user:t{n}"), result=f"by t{n}",
                                      on=date(2026, 3, 12), expected_version=version)
            outcomes.append(("won", n))
        except StaleRecord:
            outcomes.append(("stale", n))
        except Exception as exc:  # noqa: BLE001 - reported below
            outcomes.append((repr(exc), n))

    in_threads(writer, THREADS)
    kinds = sorted(kind for kind, _ in outcomes)
    assert kinds == ["stale"] * (THREADS - 1) + ["won"]
    winner = next(n for kind, n in outcomes if kind == "won")
    with read_session(engine) as session:
        task = session.get_one(Task, task_id)
        assert (task.result, task.version, task.updated_by) == (f"by t{winner}", version + 1, f"user:t{winner}")
    assert chain_verifies(world)


# -- pages ----------------------------------------------------------------------------------------------

def test_a_stale_interview_form_keeps_what_was_typed_and_says_who_changed_it(world) -> None:  # noqa: F811
    browser, csrf = signed_in(world, "supervisor")
    case_id = world["cases"]["Ana"]
    opened = browser.get(f"/cases/{case_id}").text
    version = int(re.search(r'name="version" value="(\d+)"', opened).group(1))  # type: ignore[union-attr]
    client_for(world, "tracer-d1").patch(f"/api/cases/{case_id}", json={"onset": "2026-03-09", "version": version})

    page = browser.post(f"/cases/{case_id}/interview", data={
        "csrf_token": csrf, "version": str(version), "onset": "2026-03-08", "isolation": "2026-03-12",
        "interviewed_on": "2026-03-12", "symptoms": ["fever"], "other_symptoms": "hiccups"})
    assert page.status_code == 409
    notice = re.search(r'<p class="error" role="alert">([^<]*)</p>', page.text).group(1)  # type: ignore[union-attr]
    assert re.fullmatch(rf"This case was changed by tracer-d1 at \d\d:\d\d UTC since you opened it \(now version "
                        rf"{version + 1}\)\. Check the current values below and submit again\.", notice), notice
    for typed in ('name="onset" value="2026-03-08"', 'name="isolation" value="2026-03-12"',
                  'name="other_symptoms" value="hiccups"', f'name="version" value="{version + 1}"'):
        assert typed in page.text
    assert "stored now: 2026-03-09" in page.text
    with read_session(world["engine"]) as session:
        case = session.get_one(Case, case_id)
        assert (case.onset_date, case.isolation_date) == (date(2026, 3, 9), None)
    # Submitted again from the page as it is now, what was typed is recorded.
    again = browser.post(f"/cases/{case_id}/interview", data={"csrf_token": csrf, "version": str(version + 1),
                                                              "onset": "2026-03-08", "isolation": "2026-03-12"})
    assert again.status_code == 303
    assert chain_verifies(world)


def test_a_stale_task_result_shows_the_board_with_the_choice_and_who(world) -> None:  # noqa: F811
    tracer = client_for(world, "tracer-d1")
    tracer.post(f"/api/cases/{world['cases']['Ana']}/contacts", json={
        "given_name": "Bo", "family_name": "Jensen", "setting": "household", "last_exposure": "2026-03-11",
        "identified_on": "2026-03-12"})
    task = next(t for t in tracer.get("/api/tasks", params={"kind": "notify"}).json()["data"])
    browser, csrf = signed_in(world, "supervisor")
    board = browser.get("/tasks").text
    assert re.search(rf'action="/tasks/{task["id"]}/result">[^\n]*?name="version" value="{task["version"]}"', board)
    tracer.post(f"/api/tasks/{task['id']}/result", json={"result": "told by phone", "version": task["version"]})
    page = browser.post(f"/tasks/{task['id']}/result", data={"csrf_token": csrf, "version": str(task["version"]),
                                                             "result": "told", "back": "/tasks"})
    assert page.status_code == 409
    assert re.search(rf"This task was changed by tracer-d1 at \d\d:\d\d UTC since you opened it \(now version "
                     rf"{task['version'] + 1}\)\. Check the current values below and submit again\.</p>"
                     rf'<p class="note">Your result for task {task["id"]}, “told”, was not saved\.</p>', page.text), page.text
    with read_session(world["engine"]) as session:
        assert session.get_one(Task, task["id"]).result == "told by phone"
