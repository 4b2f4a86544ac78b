"""Fifty tracers at once against `epitrace serve --workers 4`, on the suite's backend: benchmarks/concurrency.py
for 20 seconds (the benchmark's default is 2 minutes). No request fails, no acknowledged write is lost, and
the audit chain verifies (issue 11, point 6)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from epitrace.storage.db import make_engine, read_session
from epitrace.storage.models import Case, Task
from tests.backends import database_url
from tests.scripts import load_benchmark


@pytest.mark.slow
def test_fifty_tracers_for_twenty_seconds_lose_nothing(tmp_path: Path) -> None:
    bench = load_benchmark("concurrency.py", name="concurrency_benchmark")
    url = database_url(tmp_path, "concurrency")
    outcome = bench.run(url, tracers=50, seconds=20, workers=4, cases=100, baseline_seconds=0)
    print(bench.report(outcome, backend=url.split(":")[0], workers=4))
    answers: Counter = outcome.team.answers
    assert outcome.failures == 0, answers
    assert outcome.lost == []
    assert outcome.verified, outcome.verify_output
    assert outcome.team.requests >= 200
    # The run made tracers collide, and the server refused the later write instead of taking it.
    assert answers[("record result", "409")] > 0
    assert answers[("record result", "200")] > 0 and answers[("update case", "200")] > 0
    assert answers[("add contact", "201")] > 0

    # The ledger check finds a lost update when there is one: the same writes, told differently.
    engine = make_engine(url)
    with read_session(engine) as session:
        task_id, result = session.execute(select(Task.id, Task.result).where(Task.status == "done")
                                          .order_by(Task.id)).first()  # type: ignore[misc]
        (case_id, version, symptoms), (other_id, other_version, _) = session.execute(
            select(Case.id, Case.version, Case.symptoms).order_by(Case.id).limit(2)).all()
    engine.dispose()
    told = bench.Ledger()
    told.closed_tasks[task_id] = [result, result]
    told.case_updates[case_id] = [(version, symptoms), (version, symptoms)]  # two writers both told "you won"
    told.case_updates[other_id] = [(other_version, "not what is stored")]
    told.contacts[10**9] = case_id
    found = bench.lost_updates(url, told)
    assert [item.split(":")[0] for item in found] == [
        f"task {task_id} was closed 2 times", f"case {case_id}", f"case {other_id}",
        f"contact {10**9} of case {case_id} was acknowledged but is not stored"]
