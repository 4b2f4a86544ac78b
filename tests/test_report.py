"""`epitrace report`: files, suppression, no identifiers, audit."""

from __future__ import annotations

from sqlalchemy import select

from epitrace.storage.db import read_session
from epitrace.storage.models import AuditEvent, Case
from tests.conftest import lab_line, write_labs


def test_report_files_suppression_and_no_identifiers(cli, engine) -> None:
    rows = [lab_line(f"S{i}", given=f"Given{i}", family="Uniquename", dob=f"19{50 + i}-01-01",
                     collected=f"2026-03-{1 + i % 12:02d}", resulted=f"2026-03-{2 + i % 12:02d}") for i in range(30)]
    write_labs(cli.cwd / "labs.csv", *rows)
    assert cli("import", "labs", "labs.csv").exit_code == 0
    with read_session(engine) as session:
        first = session.scalars(select(Case.id).order_by(Case.id)).first()
    assert cli("visits", "add", str(first), "--place", "Home", "--kind", "home", "--start", "2026-03-01T18:00+00:00",
               "--end", "2026-03-02T08:00+00:00").exit_code == 0
    result = cli("report", "--out", "out", "--today", "2026-03-20")
    assert result.exit_code == 0, result.output
    out = cli.cwd / "out"
    html = (out / "report.html").read_text(encoding="utf-8")
    assert (out / "report.pdf").read_bytes()[:5] == b"%PDF-"
    for name in ("epicurve", "chains"):
        assert (out / f"{name}.png").read_bytes()[:4] == b"\x89PNG"
    # Every day has 2 or 3 cases: an Rt drawn from them would give each day's count away (issue 9).
    assert not (out / "rt.png").exists()
    assert "Rt is not shown: every 7-day window includes a day whose count is suppressed." in html
    assert "Uniquename" not in html and "Given1" not in html
    assert "30 cases in all" in html
    assert "share of new cases already known contacts" in html
    with read_session(engine) as session:
        assert session.scalars(select(AuditEvent.action).where(AuditEvent.action == "report")).one() == "report"


def test_report_rejects_unknown_basis(cli) -> None:
    result = cli("report", "--out", "out", "--by", "specimen")
    assert (result.exit_code, result.stderr.strip()) == (1, "Error: --by 'specimen' is not known: expected report or onset")


def test_curve_figure_hides_small_counts() -> None:
    from datetime import date, timedelta

    import polars as pl

    from epitrace.reports.figures import epicurve_figure

    days = [date(2026, 3, 1) + timedelta(days=i) for i in range(4)]
    fig = epicurve_figure(pl.DataFrame({"period": days, "cases": [2, 7, 0, 1]}), threshold=5, title="t")
    shown, hidden = fig.axes[0].containers
    assert [bar.get_height() for bar in shown] == [7]
    assert [bar.get_height() for bar in hidden] == [4, 4]  # drawn at the threshold, not at 2 and 1
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["new cases", "1-4 cases (suppressed)"]


def test_cluster_table_suppresses_and_never_names_homes(cli, engine) -> None:
    from datetime import datetime

    from epitrace.storage import aggregates
    from epitrace.storage.audit import Actor
    from epitrace.storage.colocation import upsert_cluster
    from epitrace.storage.db import write_session
    from epitrace.storage.models import Place
    from epitrace.storage.scope import EVERYWHERE

    write_labs(cli.cwd / "labs.csv", *[lab_line(f"S{i}", given=f"G{i}", dob=f"19{50 + i}-01-01") for i in range(12)])
    assert cli("import", "labs", "labs.csv").exit_code == 0
    with write_session(engine) as session:
        ids = session.scalars(select(Case.id).order_by(Case.id)).all()
        home, cafe = Place(kind="home", name="Home of household 12"), Place(kind="venue", name="Blue Door Café")
        session.add_all([home, cafe])
        session.flush()
        start, end = datetime(2026, 3, 1, 12), datetime(2026, 3, 4, 12)
        upsert_cluster(session, place_id=home.id, case_ids=set(ids[:3]), first_start=start, last_end=end, evidence="e")
        upsert_cluster(session, place_id=cafe.id, case_ids=set(ids[3:]), first_start=start, last_end=end, evidence="e")
        rows = aggregates.clusters(session, EVERYWHERE, actor=Actor("test")).rows
    assert [(r["where"], r["cases"]) for r in rows] == [("Blue Door Café", 9), ("a household (not named)", "<5")]


def test_curve_and_kpis_commands(cli) -> None:
    rows = [lab_line(f"S{i}", given=f"G{i}", dob=f"19{50 + i}-01-01", resulted="2026-03-11" if i < 6 else "2026-03-13")
            for i in range(8)]
    write_labs(cli.cwd / "labs.csv", *rows)
    cli("import", "labs", "labs.csv")
    curve = cli("curve", "--format", "csv").stdout.splitlines()
    # The week's 8 minus the 11th's 6 would give the 13th's "<5" away, so the 11th is withheld too (issue 9).
    assert curve == ["label,cases", "2026-03-11,x", "2026-03-12,0", "2026-03-13,<5"]
    assert cli("curve", "--format", "csv", "--interval", "week").stdout.splitlines() == ["label,cases", "2026-W11,8"]
    kpis = cli("kpis", "--format", "csv", "--today", "2026-03-14").stdout.splitlines()
    assert kpis[0] == "kpi,value,numerator,denominator,definition"
    assert kpis[-1].startswith("share of new cases already known contacts,0.0,0,8,")
