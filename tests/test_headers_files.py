"""Issue 10, points 6 and 7: closed means closed; headers on every answer; files readable by the owner only."""

from __future__ import annotations

import re
from datetime import date

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
    """How many cases and audit entries there are, and whether the audit chain verifies."""
    with write_session(world["engine"]) as session:
        return (session.scalar(select(func.count()).select_from(Case)) or 0,
                session.scalar(select(func.count()).select_from(AuditEvent)) or 0, audit.verify(session) is None)


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
    back = "/tasks?kind=test&done_from=2026-03-01"
    first = client.post(f"/tasks/{task}/result", data={"csrf_token": csrf, "result": "negative", "back": back})
    assert first.status_code == 303 and first.headers["location"] == back
    before = _state(world)
    # A second tab still showed the task open: its "positive" button is pressed after the negative.
    page = client.post(f"/tasks/{task}/result", data={"csrf_token": csrf, "result": "positive", "back": back})
    assert page.status_code == 409, page.text
    message = _closed_message(task, "test", "done", "negative", TODAY).replace("'", "&#39;")
    assert f'<p class="error" role="alert">{message}</p>' in page.text
    # The board again, with the filters of the page the button was on, showing the task as it is now.
    assert '<option value="test" selected>test</option>' in page.text and 'value="2026-03-01"' in page.text
    assert f'data-testid="task-{task}"' in page.text and '<span class="tag">negative</span>' in page.text
    assert f'name="back" value="/tasks/{task}/result"' not in page.text
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
