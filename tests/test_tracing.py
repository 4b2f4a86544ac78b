"""Venue records screened against one window; case-to-case co-location; link review."""

from __future__ import annotations

import csv

import pytest
from sqlalchemy import func, select

from epitrace.storage.db import read_session
from epitrace.storage.models import Case, Cluster, ClusterCase, Contact, Person, Task, TransmissionLink, VenueScreening
from tests.conftest import lab_line, write_labs
from tests.test_intake_labs import db_content


def case_with_visit(cli, engine, specimen: str, *, given: str, collected: str, resulted: str, onset: str,  # type: ignore[no-untyped-def]
                    place: str, start: str, end: str, kind: str = "venue") -> int:
    write_labs(cli.cwd / f"{specimen}.csv", lab_line(specimen, given=given, collected=collected, resulted=resulted))
    assert cli("import", "labs", f"{specimen}.csv").exit_code == 0
    with read_session(engine) as session:
        case_id = session.scalars(select(Case.id).order_by(Case.id.desc())).first()
    assert cli("cases", "update", str(case_id), "--onset", onset).exit_code == 0
    out = cli("visits", "add", str(case_id), "--place", place, "--kind", kind, "--lat", "52.37", "--lon", "4.89",
              "--start", start, "--end", end)
    assert out.exit_code == 0, out.output
    return case_id


@pytest.fixture
def venue_case(cli, engine) -> int:
    return case_with_visit(cli, engine, "S1", given="Ana", collected="2026-03-10", resulted="2026-03-11", onset="2026-03-09",
                           place="Blue Door Café", start="2026-03-08T18:00+00:00", end="2026-03-08T20:00+00:00")


def write_records(path, rows) -> None:  # type: ignore[no-untyped-def]
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["given_name", "family_name", "phone", "date_of_birth", "check_in", "check_out"])
        writer.writerows(rows)


def test_venue_records_become_contacts_only_inside_the_window(cli, engine, venue_case) -> None:
    write_records(cli.cwd / "checkins.csv", [
        ["Bo", "Jensen", "+15550002", "1985-06-01", "2026-03-08T19:00:00+01:00", "2026-03-08T20:10:00+01:00"],  # 18:00-19:10Z: 70 min
        ["Cy", "Moss", "+15550003", "", "2026-03-08T17:50:00Z", "2026-03-08T18:05:00Z"],  # 5 min inside
        ["Di", "Lo", "+15550004", "", "2026-03-07T18:00:00Z", "2026-03-07T20:00:00Z"],  # another day
    ])
    result = cli("import", "venue-records", "checkins.csv", "--window", "1", "--legal-basis",
                 "Public Health Act s.12; order 2026-031", "--on", "2026-03-12")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == (
        "Screened 3 record(s) from checkins.csv against window 1 (Blue Door Café): 1 overlapped it and became "
        "contacts (1 new); the other 2 were discarded, not stored. Screening 1 records the legal basis.")
    with read_session(engine) as session:
        contact = session.scalars(select(Contact)).one()
        assert (contact.setting, contact.window_id, contact.screening_id, str(contact.last_exposure_on)) == (
            "venue", 1, 1, "2026-03-08")
        names = set(session.scalars(select(Person.family_name)))
        assert names == {"Silva", "Jensen"}  # the visitors outside the window were never stored
        screening = session.scalars(select(VenueScreening)).one()
        assert (screening.legal_basis, screening.rows_screened, screening.rows_matched) == (
            "Public Health Act s.12; order 2026-031", 3, 1)
        test_reason = session.scalars(select(Task.reason).where(Task.kind == "test")).one()
        assert test_reason.endswith(f"venue contact of case {venue_case}, last exposed 2026-03-08 (at Blue Door Café "
                                    "2026-03-08 18:00-19:10 UTC, 70 min within exposure window 1)")


def test_venue_records_need_a_legal_basis_and_valid_rows(cli, db_url, venue_case) -> None:
    write_records(cli.cwd / "r.csv", [["Bo", "Jensen", "+1555", "", "2026-03-08T19:00:00Z", "2026-03-08T18:00:00Z"]])
    before = db_content(db_url)
    short = cli("import", "venue-records", "r.csv", "--window", "1", "--legal-basis", "ok")
    assert (short.exit_code, short.stderr.strip()) == (1, (
        "Error: --legal-basis 'ok' is too short: name the law or order that allows using this venue's records for "
        "this window, e.g. 'Public Health Act s.12; order 2026-031'"))
    bad = cli("import", "venue-records", "r.csv", "--window", "1", "--legal-basis", "Public Health Act s.12")
    assert bad.exit_code == 1
    assert "  row 2, check_out '2026-03-08T18:00:00Z': is not after check_in; stays are [check_in, check_out)" in bad.stderr
    missing = cli("import", "venue-records", "r.csv", "--window", "99", "--legal-basis", "Public Health Act s.12")
    assert missing.stderr.strip() == "Error: no exposure window 99; see a case's windows with `epitrace cases show CASE_ID`"
    assert db_content(db_url) == before


def test_homes_have_no_venue_records(cli, engine) -> None:
    case_with_visit(cli, engine, "S5", given="Ana", collected="2026-03-10", resulted="2026-03-11", onset="2026-03-09",
                    place="Home", kind="home", start="2026-03-08T18:00+00:00", end="2026-03-08T20:00+00:00")
    write_records(cli.cwd / "r.csv", [["Bo", "Jensen", "+1555", "", "2026-03-08T19:00:00Z", "2026-03-08T20:00:00Z"]])
    out = cli("import", "venue-records", "r.csv", "--window", "1", "--legal-basis", "Public Health Act s.12")
    assert out.stderr.strip() == "Error: window 1 is at a residential place (home); venue records apply only to venues"


def test_colocation_proposes_a_link_and_a_cluster_once(cli, engine, venue_case) -> None:
    later = case_with_visit(cli, engine, "S2", given="Bo", collected="2026-03-13", resulted="2026-03-14", onset="2026-03-12",
                            place="Blue Door Café", start="2026-03-08T19:00+00:00", end="2026-03-08T21:00+00:00")
    first = cli("colocate")
    # Only Ana was infectious on 8 March (Bo from 10 March), so one directed pair.
    assert first.stdout.startswith("1 case pair(s) shared a place and time; 1 new link(s) proposed; 1 cluster(s) updated with 2 new case(s).")
    again = cli("colocate")
    assert "0 new link(s) proposed" in again.stdout and "with 0 new case(s)" in again.stdout
    with read_session(engine) as session:
        link = session.scalars(select(TransmissionLink)).one()
        assert (link.infector_case_id, link.infectee_case_id, link.certainty, link.source) == (venue_case, later, "possible", "co-location")
        assert link.evidence == (f"co-located at Blue Door Café on 2026-03-08 19:00-20:00 UTC (60 min) while case {venue_case} "
                                 f"was infectious; case {later} first showed signs 4 day(s) later")
        assert session.scalar(select(func.count()).select_from(ClusterCase)) == 2
        assert session.scalars(select(Cluster.status)).one() == "proposed"
    listing = cli("clusters", "list", "--format", "csv").stdout.splitlines()
    assert listing[1].startswith("1,Blue Door Café,2,2026-03-08T19:00:00,2026-03-08T20:00:00,proposed,")  # the shared time
    listed = cli("links", "list", "--format", "csv").stdout.splitlines()
    assert listed[0] == "link,infector_case,infectee_case,certainty,source,evidence,reviewed_by"
    assert listed[1].startswith(f"1,{venue_case},{later},possible,co-location,co-located at Blue Door Café")
    confirmed = cli("links", "confirm", "1")
    assert confirmed.stdout.strip() == f"Link 1 (case {venue_case} -> case {later}) is now confirmed."
    twice = cli("links", "reject", "1")
    assert twice.exit_code == 1 and "was already reviewed by cli:" in twice.stderr


def test_colocation_needs_plausible_timing(cli, engine, venue_case) -> None:
    # The second case fell ill before the shared visit: it cannot have been infected there.
    case_with_visit(cli, engine, "S3", given="Cy", collected="2026-03-08", resulted="2026-03-09", onset="2026-03-07",
                    place="Blue Door Café", start="2026-03-08T19:00+00:00", end="2026-03-08T21:00+00:00")
    out = cli("colocate")
    with read_session(engine) as session:
        links = session.execute(select(TransmissionLink.infector_case_id, TransmissionLink.infectee_case_id)).all()
    # Only the direction that fits: the earlier case (onset 03-07) may have infected Ana (onset 03-09).
    assert links == [(venue_case + 1, venue_case)] and "1 new link(s) proposed" in out.stdout
