"""The loop: positive result -> case -> interview -> contacts -> tasks -> results -> linked case."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from sqlalchemy import func, select

from epitrace.domain.identity import Identity
from epitrace.errors import Conflict, InputError
from epitrace.storage import audit
from epitrace.storage.audit import Actor
from epitrace.storage.db import read_session, write_session
from epitrace.storage.investigation import PlaceSpec, add_contact, add_visit, update_case
from epitrace.storage.models import (
    AuditEvent,
    Case,
    Contact,
    ExposureWindow,
    LabResult,
    MergeCandidate,
    Person,
    Task,
    TransmissionLink,
)
from epitrace.storage.persons import merge_persons
from tests.conftest import lab_line, write_labs

D = date.fromisoformat
ACTOR = Actor("test")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


@pytest.fixture
def case_id(cli, engine) -> int:
    write_labs(cli.cwd / "labs.csv", lab_line("S1", phone="+15550001"))
    assert cli("import", "labs", "labs.csv").exit_code == 0
    with read_session(engine) as session:
        return session.scalars(select(Case.id)).one()


def test_windows_follow_the_infectious_period(engine, case_id) -> None:
    with write_session(engine) as session:
        inside = add_visit(session, case_id, PlaceSpec("Blue Door Café", lat=52.37, lon=4.89),
                           start=utc("2026-03-09T18:00"), end=utc("2026-03-09T20:00"), actor=ACTOR)
        before = add_visit(session, case_id, PlaceSpec("Gym", lat=52.36, lon=4.88),
                           start=utc("2026-03-01T18:00"), end=utc("2026-03-01T19:00"), actor=ACTOR)
        straddling = add_visit(session, case_id, PlaceSpec("Night bus", kind="other"),
                               start=utc("2026-03-07T23:00"), end=utc("2026-03-08T01:00"), actor=ACTOR)
        windows = {w.visit_id: w for w in session.scalars(select(ExposureWindow))}
        # No onset yet: infectious from 2 days before the specimen (2026-03-10), i.e. 2026-03-08.
        assert before.id not in windows
        assert windows[inside.id].start_at == datetime(2026, 3, 9, 18)
        assert (windows[straddling.id].start_at, windows[straddling.id].end_at) == (datetime(2026, 3, 8), datetime(2026, 3, 8, 1))
        assert windows[inside.id].basis.startswith("respiratory profile: from 2 days before specimen date 2026-03-10")
    with write_session(engine) as session:
        update_case(session, case_id, onset=D("2026-03-04"), actor=ACTOR)  # period now 03-02 .. 03-14
        visit_ids = {w.visit_id for w in session.scalars(select(ExposureWindow))}
        assert visit_ids == {inside.id, straddling.id}
        update_case(session, case_id, onset=D("2026-02-25"), isolation=D("2026-03-02"), actor=ACTOR)
        assert {w.visit_id for w in session.scalars(select(ExposureWindow))} == {before.id}


def test_bad_visit_is_refused_and_nothing_written(engine, case_id) -> None:
    with pytest.raises(InputError, match=r"visit end 2026-03-09T18:00:00\+00:00 is not after its start"):
        with write_session(engine) as session:
            add_visit(session, case_id, PlaceSpec("Café"), start=utc("2026-03-09T18:00"), end=utc("2026-03-09T18:00"), actor=ACTOR)
    with pytest.raises(InputError, match="latitude 91.0 is out of range: expected -90 to 90 degrees"):
        with write_session(engine) as session:
            add_visit(session, case_id, PlaceSpec("Café", lat=91.0, lon=0.0), start=utc("2026-03-09T18:00"),
                      end=utc("2026-03-09T19:00"), actor=ACTOR)
    with read_session(engine) as session:
        assert session.scalar(select(func.count()).select_from(ExposureWindow)) == 0


def test_contact_follow_up_and_loop_closing(cli, engine, case_id) -> None:
    with write_session(engine) as session:
        outcome = add_contact(session, case_id, Identity("Bo", "Jensen", D("1985-06-01"), "+15550002"),
                              setting="household", last_exposure=D("2026-03-11"), identified_on=D("2026-03-12"), actor=ACTOR)
        assert outcome.created and outcome.tasks == 2 + 13  # notify, test, checks 03-13..03-25
        # Each task carries the setting the task board filters by.
        assert set(session.scalars(select(Task.setting).where(Task.contact_id == outcome.contact.id))) == {"household"}
        again = add_contact(session, case_id, Identity("bo", "JENSEN", D("1985-06-01")),
                            setting="household", last_exposure=D("2026-03-12"), identified_on=D("2026-03-12"), actor=ACTOR)
        assert not again.created and again.contact.last_exposure_on == D("2026-03-12")
    # The contact's negative test closes their test task; symptom checks continue.
    write_labs(cli.cwd / "neg.csv", lab_line("S2", result="negative", given="Bo", family="Jensen", dob="1985-06-01",
                                             collected="2026-03-13", resulted="2026-03-14"))
    result = cli("import", "labs", "neg.csv")
    assert "contact tests closed: 1" in result.stdout
    # Later the contact turns positive: a new case linked to its source, remaining tasks cancelled.
    write_labs(cli.cwd / "pos.csv", lab_line("S3", given="Bo", family="Jensen", dob="1985-06-01",
                                             collected="2026-03-16", resulted="2026-03-17"))
    result = cli("import", "labs", "pos.csv")
    assert "contacts who became cases: 1" in result.stdout
    with read_session(engine) as session:
        contact = session.scalars(select(Contact)).one()
        assert contact.status == "became_case"
        link = session.scalars(select(TransmissionLink)).one()
        new_case = session.scalars(select(Case).where(Case.id != case_id)).one()
        assert (link.infector_case_id, link.infectee_case_id, link.certainty) == (case_id, new_case.id, "probable")
        assert link.evidence == (f"named as household contact by case {case_id}; last exposure 2026-03-12; "
                                 "positive specimen 4 day(s) later")
        statuses = dict(session.execute(select(Task.kind, Task.status).where(Task.contact_id == contact.id, Task.kind != "symptom_check")).all())
        assert statuses == {"notify": "cancelled", "test": "done"}
        checks = session.scalars(select(Task.status).where(Task.contact_id == contact.id, Task.kind == "symptom_check")).all()
        assert set(checks) == {"cancelled"}
        assert session.scalar(select(func.count()).select_from(Task).where(Task.case_id == new_case.id, Task.kind == "interview")) == 1


def test_contact_named_by_two_cases_gets_possible_links(cli, engine, case_id) -> None:
    write_labs(cli.cwd / "b.csv", lab_line("S9", given="Cy", family="Moss", dob="1970-01-01"))
    cli("import", "labs", "b.csv")
    with write_session(engine) as session:
        other_case = session.scalars(select(Case.id).where(Case.id != case_id)).one()
        for source in (case_id, other_case):
            add_contact(session, source, Identity("Di", "Lo", D("2001-02-03")), setting="work",
                        last_exposure=D("2026-03-11"), identified_on=D("2026-03-12"), actor=ACTOR)
    write_labs(cli.cwd / "c.csv", lab_line("S10", given="Di", family="Lo", dob="2001-02-03", collected="2026-03-15", resulted="2026-03-16"))
    cli("import", "labs", "c.csv")
    with read_session(engine) as session:
        links = session.scalars(select(TransmissionLink)).all()
        assert len(links) == 2 and {l.certainty for l in links} == {"possible"}
        assert all("; 2 cases named this person" in l.evidence for l in links)


def test_second_positive_joins_the_open_case(cli, engine, case_id) -> None:
    write_labs(cli.cwd / "b.csv", lab_line("S5", collected="2026-03-08", resulted="2026-03-12", phone="+15550001"))
    assert "positives joining an open case: 1" in cli("import", "labs", "b.csv").stdout
    with read_session(engine) as session:
        case = session.scalars(select(Case)).one()
        assert case.specimen_date == D("2026-03-08")


def test_person_resolution_and_merge_keep_every_record(cli, engine) -> None:
    write_labs(
        cli.cwd / "labs.csv",
        lab_line("S1", national_id="N-1"),
        lab_line("S2", given="Anna", family="Sylva", national_id="N-1", result="negative"),  # same id: same person
        lab_line("S3", family="Silvs", result="negative"),  # typo, no id: candidate
        lab_line("S4", given="Silva", family="Ana", result="negative"),  # swapped: candidate
    )
    result = cli("import", "labs", "labs.csv")
    assert "New persons: 3." in result.stdout and "2 possible duplicate person(s) found" in result.stdout
    listing = cli("persons", "duplicates", "--format", "csv")
    assert "given and family names swapped" in listing.stdout and "names differ by 1 letter(s)" in listing.stdout
    with read_session(engine) as session:
        ids = session.scalars(select(Person.id).order_by(Person.id)).all()
    result = cli("persons", "merge", str(ids[0]), str(ids[1]))
    assert result.exit_code == 0, result.output
    with read_session(engine) as session:
        assert session.scalar(select(func.count(LabResult.id)).where(LabResult.person_id == ids[0])) == 3
        assert session.get(Person, ids[1]).merged_into_id == ids[0]
        assert session.scalar(select(func.count(Person.id))) == 3  # nothing deleted
        statuses = session.scalars(select(MergeCandidate.status)).all()
        assert sorted(statuses) == ["merged", "open"]  # the swapped-name candidate still waits
    refused = cli("persons", "merge", str(ids[0]), str(ids[1]))
    assert refused.exit_code == 1
    assert refused.stderr.strip() == (f"Error: person {ids[1]} was already merged into person {ids[0]}; "
                                      f"merge into {ids[0]} instead")


def test_merge_refuses_different_national_ids(engine, cli) -> None:
    write_labs(cli.cwd / "l.csv", lab_line("S1", national_id="A"), lab_line("S2", national_id="B", family="Silvo", result="negative"))
    cli("import", "labs", "l.csv")
    with pytest.raises(Conflict, match="have different national ids"):
        with write_session(engine) as session:
            a, b = session.scalars(select(Person.id)).all()
            merge_persons(session, a, b, actor=ACTOR)


def test_personal_data_access_is_audited_in_a_verifiable_chain(cli, engine, case_id) -> None:
    cli("cases", "show", str(case_id))
    with write_session(engine) as session:
        events = session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        assert {("create", "person"), ("create", "case"), ("read", "case")} <= {(e.action, e.record_type) for e in events}
        assert audit.verify(session) is None
        events[1].purpose = "curiosity"  # tampering breaks the chain at that entry
        session.flush()
        assert audit.verify(session) == events[1].id
