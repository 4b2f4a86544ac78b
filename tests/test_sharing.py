"""Voluntary sharing with a one-time code: consent, infectious period only, tracer confirms, nothing raw kept."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlalchemy import select

from epitrace.api import create_app
from epitrace.storage.db import make_engine, read_session
from epitrace.storage.models import Consent, ExposureWindow, Visit
from epitrace.storage.sharing import INVALID
from tests.conftest import lab_line, write_labs

TRAIL = ("lat,lon,start,end\n52.3701,4.8901,2026-03-09T18:30:00Z,2026-03-09T19:40:00Z\n"  # inside the period
         "52.30,4.70,2026-02-01T10:00:00Z,2026-02-01T12:00:00Z\n")  # weeks before: not shared


def test_share_with_a_code_then_confirm(cli, db_url) -> None:
    write_labs(cli.cwd / "l.csv", lab_line("S1"))
    cli("import", "labs", "l.csv")
    cli("cases", "update", "1", "--onset", "2026-03-09")
    issued = cli("share", "issue", "--case", "1").stdout
    code = issued.split(": ", 1)[1].split(" ")[0]
    engine = make_engine(db_url)
    client = TestClient(create_app(engine))
    refused = client.post("/api/share", data={"code": code}, files={"trail": ("trail.csv", TRAIL.encode(), "text/csv")})
    assert refused.status_code == 400 and refused.json()["error"].startswith("sharing needs your consent")
    ok = client.post("/api/share", data={"code": code.lower(), "consent": "true"},
                     files={"trail": ("trail.csv", TRAIL.encode(), "text/csv")})
    assert ok.json() == {"visits_shared": 1, "stays_outside_infectious_period": 1, "checkins_shared": 0, "raw_file_kept": False}
    again = client.post("/api/share", data={"code": code, "consent": "true"}, files={"trail": ("t.csv", TRAIL.encode(), "text/csv")})
    assert (again.status_code, again.json()["error"]) == (404, INVALID)
    with read_session(engine) as session:
        visit = session.scalars(select(Visit)).one()
        assert (visit.source, visit.confirmed) == ("trail", False)
        assert session.scalars(select(ExposureWindow)).all() == []  # nothing counts until a tracer confirms
        consent = session.scalars(select(Consent)).one()
        assert json.loads(consent.shared) == {"trail_stays_in_period": 1, "trail_stays_outside_period": 1,
                                              "checkins_in_period": 0, "raw_file_kept": False}
        visit_id = visit.id
    assert cli("visits", "confirm", str(visit_id)).exit_code == 0
    with read_session(engine) as session:
        assert len(session.scalars(select(ExposureWindow)).all()) == 1
    engine.dispose()


def test_wrong_codes_are_refused_the_same_way(cli, db_url) -> None:
    client = TestClient(create_app(make_engine(db_url)))
    response = client.post("/api/share", data={"code": "AAAAA-BBBBB", "consent": "true"},
                           files={"trail": ("trail.csv", TRAIL.encode(), "text/csv")})
    assert (response.status_code, response.json()["error"]) == (404, INVALID)


def test_share_page_keeps_the_code_on_error_and_thanks_on_success(cli, db_url) -> None:
    write_labs(cli.cwd / "l.csv", lab_line("S1"))
    cli("import", "labs", "l.csv")
    cli("cases", "update", "1", "--onset", "2026-03-09")
    code = cli("share", "issue", "--case", "1").stdout.split(": ", 1)[1].split(" ")[0]
    client = TestClient(create_app(make_engine(db_url)))
    assert "One-time code" in client.get("/share").text
    no_file = client.post("/share", data={"code": code, "consent": "true"})
    assert no_file.status_code == 400 and f'value="{code}"' in no_file.text
    ok = client.post("/share", data={"code": code, "consent": "true"}, files={"trail": ("trail.csv", TRAIL.encode(), "text/csv")})
    assert "Thank you. 1 place(s) and time(s) were shared with your tracer; 1 from other days were left out." in ok.text
