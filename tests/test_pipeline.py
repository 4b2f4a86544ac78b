"""The whole pipeline on a small synthetic city, checked against the ground truth.

"Every link is true or marked uncertain": the pipeline only ever proposes links (probable or
possible); confirmed is a person's decision. The tests check that no link is confirmed by the
pipeline and that its uncertainty labels are calibrated against the truth.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from sqlalchemy import select

from epitrace.domain.statuses import LinkCertainty
from epitrace.pipeline.demo import run_demo
from epitrace.pipeline.simulation import TeamBehaviour
from epitrace.storage.db import make_engine, read_session
from epitrace.storage.models import (
    Case,
    Cluster,
    ClusterCase,
    Contact,
    ExposureWindow,
    LabResult,
    MergeCandidate,
    Person,
    Place,
    Task,
    TransmissionLink,
    VenueScreening,
    Visit,
)
from epitrace.synth import SynthConfig, generate
from tests.backends import INSTALL_HINT, database_url, postgresql_available, postgresql_url, sqlite_url

pytestmark = pytest.mark.slow  # runs the demo pipeline; run by make test-all / test-pg and CI

PEOPLE, DAYS, SEED = 6_000, 24, 3


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    out = tmp_path_factory.mktemp("demo")
    url = database_url(out, "demo")  # on the suite's backend
    # Fewer venue screenings than the demo's default keep the suite fast; both mechanisms still run.
    summary = run_demo(people=PEOPLE, days=DAYS, seed=SEED, out=out, behaviour=TeamBehaviour(venue_records=0.1),
                       database_url=url)
    outbreak = generate(SynthConfig(people=PEOPLE, days=DAYS, seed=SEED))
    engine = make_engine(url)
    yield out, summary, outbreak, engine
    engine.dispose()


def test_demo_writes_a_report_with_an_epidemic_curve(demo_run) -> None:
    out, summary, _, _ = demo_run
    html = (Path(out) / "report.html").read_text(encoding="utf-8")
    assert '<img src="data:image/png;base64,' in html
    assert (Path(out) / "epicurve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert summary.cases > 0 and summary.contacts > 0 and summary.tasks_done > 0


def test_every_case_is_a_truly_infected_person(demo_run) -> None:
    _, _, outbreak, engine = demo_run
    infected = set(outbreak.infections["person_id"].to_list())
    # Stored persons are tied to the synthetic ones through the specimens they were reported with.
    with read_session(engine) as session:
        positive_specimens = session.scalars(select(LabResult.specimen_id).where(LabResult.result == "positive")).all()
    lab = outbreak.lab_reports
    truth = dict(zip(lab["specimen_id"].to_list(), lab["person_id"].to_list()))
    known = [truth[s] for s in positive_specimens if s in truth]
    assert known, "no spontaneous positive results were imported"
    assert set(known) <= infected


def test_links_are_proposed_never_confirmed_and_probable_ones_are_mostly_true(demo_run) -> None:
    _, summary, _, engine = demo_run
    with read_session(engine) as session:
        links = [(l.certainty, l.evidence) for l in session.scalars(select(TransmissionLink))]
    assert links, "tracing proposed no links at all"
    assert {certainty for certainty, _ in links} <= {LinkCertainty.PROBABLE.value, LinkCertainty.POSSIBLE.value}
    assert all(evidence.startswith(("named as ", "co-located at ")) for _, evidence in links)
    assert summary.links_colocation > 0 and summary.venue_contacts > 0
    assert summary.links_recorded == len(links)
    # Nothing is certain until a tracer confirms it; the label must still mean something:
    # probable links are right more often than possible ones. Measured on seeds 1-6 at this size
    # (7-16 probable links a run, so noisy): probable 0.38-0.86, possible 0.11-0.36. The floor
    # below holds for all six; the comparison is the claim.
    assert summary.links_probable > 0
    probable_precision = summary.links_probable_true / summary.links_probable
    possible_precision = (summary.links_true - summary.links_probable_true) / (summary.links_recorded - summary.links_probable)
    assert probable_precision >= 0.35
    assert probable_precision > possible_precision
    assert 0 < summary.links_true <= summary.true_links_between_cases


def test_tasks_carry_due_dates_and_reasons(demo_run) -> None:
    _, _, _, engine = demo_run
    with read_session(engine) as session:
        contact_case = dict(session.execute(select(Contact.id, Contact.case_id)).all())
        tasks = session.scalars(select(Task)).all()
        assert tasks
        _check_tasks(tasks, contact_case)


def _check_tasks(tasks, contact_case) -> None:  # type: ignore[no-untyped-def]
    for task in tasks:
        assert task.due_on is not None and len(task.reason) > 20
        assert task.due_on >= task.created_on
        if task.contact_id is not None:
            assert f"contact of case {contact_case[task.contact_id]}" in task.reason
        if task.status == "done":
            assert task.result and task.completed_on is not None


# Issue 11, point 5: every query whose row order feeds a random draw (or the order records are made in)
# is ordered, so a seed gives one outbreak history whichever backend stores it. 2,000 people over 16
# days with seed 3 is the smallest run here that has every mechanism: interviews, named contacts, venue
# screenings, co-location links and clusters.
SMALL = {"people": 2_000, "days": 14, "seed": 5, "behaviour": TeamBehaviour(venue_records=0.1)}
STORED = (Person, MergeCandidate, LabResult, Case, Place, Visit, ExposureWindow, Contact, Task, TransmissionLink,
          Cluster, ClusterCase, VenueScreening)
WALL_CLOCK = {"created_at", "updated_at", "updated_by", "reviewed_at", "batch_id"}


def _demo_history(url: str, out: Path):  # type: ignore[no-untyped-def]
    """The demo's summary, and a digest per table of every stored row (by id, without wall-clock times)."""
    summary = run_demo(**SMALL, out=out, database_url=url)
    engine = make_engine(url)
    digests = {}
    with read_session(engine) as session:
        for model in STORED:
            columns = [c for c in model.__table__.columns if c.name not in WALL_CLOCK]
            rows = session.execute(select(*columns).order_by(model.__table__.c.id)).all()
            digests[model.__tablename__] = (len(rows), hashlib.sha256(repr(rows).encode()).hexdigest()[:16])
    engine.dispose()
    return summary, digests


def test_same_seed_same_outcome_on_sqlite_and_postgresql_issue_11(tmp_path) -> None:
    """The same seed on SQLite and on PostgreSQL, whichever the suite's backend: the same summary and the
    same stored rows, id for id (two runs, so also the same outcome twice)."""
    if not postgresql_available():
        message = f"needs PostgreSQL's server binaries ({INSTALL_HINT}) or EPITRACE_TEST_DATABASE_URL"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    urls = [sqlite_url(tmp_path, "on_sqlite"), postgresql_url("on_postgresql")]
    first, second = (_demo_history(url, tmp_path / f"run{n}") for n, url in enumerate(urls))
    assert first[0] == second[0]
    assert first[1] == second[1]
    summary = first[0]
    assert summary.cases > 20 and summary.contacts > 0 and summary.venue_contacts > 0 and summary.links_colocation > 0
