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
    for name in ("epicurve", "rt", "chains"):
        assert (out / f"{name}.png").read_bytes()[:4] == b"\x89PNG"
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


def test_cluster_table_suppresses_and_never_names_homes() -> None:
    from datetime import date

    import polars as pl

    from epitrace.reports.report import _cluster_rows

    places = pl.DataFrame({"cluster_id": [1, 2], "place": ["Home of household 12", "Blue Door Café"], "kind": ["home", "venue"],
                           "status": ["proposed", "proposed"], "cases": [3, 9], "first": [date(2026, 3, 1)] * 2, "last": [date(2026, 3, 4)] * 2})
    settings = pl.DataFrame(schema={"source_case": pl.Int64, "setting": pl.String, "cases": pl.UInt32, "first": pl.Date, "last": pl.Date})
    rows = _cluster_rows(places, settings, threshold=5)
    assert [(r["where"], r["cases"]) for r in rows] == [("a household (not named)", "<5"), ("Blue Door Café", 9)]


def test_curve_and_kpis_commands(cli) -> None:
    rows = [lab_line(f"S{i}", given=f"G{i}", dob=f"19{50 + i}-01-01", resulted="2026-03-11" if i < 6 else "2026-03-13")
            for i in range(8)]
    write_labs(cli.cwd / "labs.csv", *rows)
    cli("import", "labs", "labs.csv")
    curve = cli("curve", "--format", "csv").stdout.splitlines()
    assert curve == ["label,cases", "2026-03-11,6", "2026-03-12,0", "2026-03-13,<5"]
    kpis = cli("kpis", "--format", "csv", "--today", "2026-03-14").stdout.splitlines()
    assert kpis[0] == "kpi,value,numerator,denominator,definition"
    assert kpis[-1].startswith("share of new cases already known contacts,0.0,0,8,")
