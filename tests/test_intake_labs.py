"""`epitrace import labs`: every error class in one pass, all-or-nothing, idempotence, dry runs; the demo's environment."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

from sqlalchemy import func, select
from typer.testing import CliRunner

from epitrace.storage.accounts import add_user
from epitrace.storage.db import make_engine, read_session, write_session
from epitrace.storage.models import Base, Case, Jurisdiction, LabResult, Person, Task
from tests.conftest import LAB_HEADER, lab_line, write_labs
from tests.test_api import PASSWORD, assert_error_shape, client_for, world  # noqa: F401 - the shared fixture


def db_content(url: str) -> list[tuple]:
    """Every row of every table, tagged with its table: equal lists mean equal content (either backend)."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return [(table.name, *row) for table in Base.metadata.sorted_tables
                    for row in conn.execute(select(table).order_by(*table.primary_key.columns))]
    finally:
        engine.dispose()


def errors_csv(path: Path) -> list[dict[str, str]]:
    with open(f"{path}.errors.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_valid_file_imports_in_one_go(cli, engine) -> None:
    labs = write_labs(cli.cwd / "labs.csv", lab_line("S1"), lab_line("S2", result="negative", given="Bob", family="Jones"))
    result = cli("import", "labs", str(labs))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == "Imported 2 result(s) from labs.csv (1 negative, 1 positive)."
    with read_session(engine) as session:
        assert session.scalar(select(func.count(LabResult.id))) == 2
        assert session.scalar(select(func.count(Case.id))) == 1
        interview = session.scalars(select(Task)).one()
        assert interview.kind == "interview"
        assert str(interview.due_on) == "2026-03-12"
        assert "Positive PCR result from LAB-A for specimen S1" in interview.reason


def test_reimport_changes_nothing_and_says_so(cli, db_url) -> None:
    labs = write_labs(cli.cwd / "labs.csv", lab_line("S1"), lab_line("S2", given="Bob"))
    assert cli("import", "labs", str(labs)).exit_code == 0
    before = db_content(db_url)
    again = cli("import", "labs", str(labs))
    assert again.exit_code == 0
    assert again.stdout.strip() == (
        "Nothing to import from labs.csv: all 2 row(s) were imported before (same lab_id and specimen_id, "
        "same content). The database is unchanged."
    )
    assert db_content(db_url) == before


def test_missing_column(cli, db_url) -> None:
    header = LAB_HEADER.replace(",result,", ",")
    line = lab_line("S1").replace(",positive,", ",")
    labs = write_labs(cli.cwd / "labs.csv", line, header=header)
    result = cli("import", "labs", str(labs))
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        "Error: labs.csv is missing the column(s) result: expected the columns lab_id, specimen_id, collected_on, "
        "resulted_on, result, test_type, given_name, family_name, date_of_birth, sex, phone, national_id, address, "
        "jurisdiction_code in the header row"
    )
    assert errors_csv(labs) == [{
        "row": "1", "column": "result", "value": "",
        "reason": "missing column 'result'; add it to the header row (it may be empty in rows where it is optional)",
    }]


def test_bad_date_names_row_column_and_value(cli, db_url) -> None:
    before = db_content(db_url)
    labs = write_labs(cli.cwd / "labs.csv", lab_line("S1"), lab_line("S2", collected="2026-13-01"))
    result = cli("import", "labs", str(labs))
    assert result.exit_code == 1
    assert "  row 3, collected_on '2026-13-01': expected a date as YYYY-MM-DD, e.g. 2026-03-14" in result.stderr.splitlines()
    assert errors_csv(labs) == [{
        "row": "3", "column": "collected_on", "value": "2026-13-01",
        "reason": "expected a date as YYYY-MM-DD, e.g. 2026-03-14",
    }]
    assert db_content(db_url) == before  # the valid first row was not imported either


def test_unknown_result_value(cli, db_url) -> None:
    labs = write_labs(cli.cwd / "labs.csv", lab_line("S1", result="detected"))
    result = cli("import", "labs", str(labs))
    assert result.exit_code == 1
    assert errors_csv(labs)[0]["reason"] == "expected one of positive, negative, inconclusive"
    assert "  row 2, result 'detected': expected one of positive, negative, inconclusive" in result.stderr


def test_unknown_jurisdiction(cli, db_url) -> None:
    before = db_content(db_url)
    labs = write_labs(cli.cwd / "labs.csv", lab_line("S1"), lab_line("S2", jurisdiction="X9"))
    result = cli("import", "labs", str(labs))
    assert result.exit_code == 1
    assert errors_csv(labs) == [{
        "row": "3", "column": "jurisdiction_code", "value": "X9",
        "reason": "unknown jurisdiction code; add it with `epitrace jurisdictions add X9 NAME` or use a code "
                  "from `epitrace jurisdictions list`",
    }]
    assert db_content(db_url) == before


def test_conflicting_duplicate_specimen_is_an_error_not_an_overwrite(cli, db_url) -> None:
    first = write_labs(cli.cwd / "first.csv", lab_line("S1", result="negative"))
    assert cli("import", "labs", str(first)).exit_code == 0
    before = db_content(db_url)
    second = write_labs(cli.cwd / "second.csv", lab_line("S2", given="Bob"), lab_line("S1", result="positive"))
    result = cli("import", "labs", str(second))
    assert result.exit_code == 1
    assert errors_csv(second) == [{
        "row": "3", "column": "result", "value": "positive",
        "reason": "specimen LAB-A/S1 was imported before with result 'negative'; a stored result is never "
                  "overwritten: if the laboratory corrected it, import the correction under a new specimen_id "
                  "or ask an administrator to amend the record",
    }]
    assert db_content(db_url) == before


def test_conflict_within_one_file(cli, db_url) -> None:
    labs = write_labs(cli.cwd / "labs.csv", lab_line("S1"), lab_line("S1", resulted="2026-03-12"))
    result = cli("import", "labs", str(labs))
    assert result.exit_code == 1
    assert errors_csv(labs)[0]["reason"].startswith(
        "specimen LAB-A/S1 appears earlier in this file (row 2) with resulted_on '2026-03-11'"
    )


def test_empty_file(cli, db_url) -> None:
    labs = cli.cwd / "empty.csv"
    labs.write_bytes(b"")
    result = cli("import", "labs", str(labs))
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        "Error: empty.csv is empty: expected a header row with the columns lab_id, specimen_id, collected_on, "
        "resulted_on, result, test_type, given_name, family_name, date_of_birth, sex, phone, national_id, "
        "address, jurisdiction_code, then one row per result"
    )


def test_bytes_that_are_not_utf8(cli, db_url) -> None:
    before = db_content(db_url)
    labs = cli.cwd / "latin1.csv"
    data = (LAB_HEADER + "\n" + lab_line("S1", given="Zoë")).encode("latin-1") + b"\n"
    labs.write_bytes(data)
    offset = data.index(b"\xeb")
    result = cli("import", "labs", str(labs))
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        f"Error: latin1.csv is not UTF-8 text: byte 0xeb on line 2 (offset {offset}) cannot be decoded; save the "
        "file as UTF-8 (CSV UTF-8 in a spreadsheet) and import again"
    )
    assert db_content(db_url) == before


def test_every_problem_is_reported_at_once(cli, db_url) -> None:
    labs = write_labs(
        cli.cwd / "labs.csv",
        lab_line("S1", dob="02/04/1990"),
        lab_line("S2", sex="f"),
        lab_line("S3", resulted="2026-03-09"),
        lab_line("", given=""),
    )
    assert cli("import", "labs", str(labs)).exit_code == 1
    assert [(e["row"], e["column"]) for e in errors_csv(labs)] == [
        ("2", "date_of_birth"), ("3", "sex"), ("4", "resulted_on"), ("5", "specimen_id"), ("5", "given_name"),
    ]


def test_utf8_names_and_bom_are_accepted(cli, engine) -> None:
    labs = cli.cwd / "bom.csv"
    labs.write_bytes(("\ufeff" + LAB_HEADER + "\n" + lab_line("S1", given="Zoë", family="Ní Bhriain") + "\n").encode())
    assert cli("import", "labs", str(labs)).exit_code == 0
    with read_session(engine) as session:
        person = session.scalars(select(Person)).one()
        assert (person.given_name, person.family_name, person.name_key) == ("Zoë", "Ní Bhriain", "zoe|ni bhriain")


def directory_listing(path: Path) -> dict[str, bytes]:
    """Every file under ``path`` with its bytes (the database's -wal/-shm files included), but the writers'
    lock file, which the first write session makes and which stays empty (storage/sqlite_writers.py)."""
    files = {str(f.relative_to(path)): f.read_bytes() for f in sorted(path.rglob("*")) if f.is_file()}
    assert all(not content for name, content in files.items() if name.endswith("-writer"))
    return {name: content for name, content in files.items() if not name.endswith("-writer")}


def test_dry_run_writes_nothing(cli, db_url) -> None:
    valid = write_labs(cli.cwd / "labs.csv", lab_line("S1"))
    invalid = write_labs(cli.cwd / "bad.csv", lab_line("S2", collected="2026-13-01"), lab_line("S3", jurisdiction="X9"))
    files, before = directory_listing(cli.cwd), db_content(db_url)

    failing = cli("import", "labs", str(invalid), "--dry-run")
    assert failing.exit_code == 1
    assert failing.stderr.splitlines() == [
        "Error: bad.csv: 2 problem(s) found; nothing was imported",
        "  row 2, collected_on '2026-13-01': expected a date as YYYY-MM-DD, e.g. 2026-03-14",
        "  row 3, jurisdiction_code 'X9': unknown jurisdiction code; add it with `epitrace jurisdictions add X9 NAME` "
        "or use a code from `epitrace jurisdictions list`",
        f"Dry run: nothing was written; without --dry-run these problems would also be written to {invalid}.errors.csv. "
        "Fix them and import the file again.",
    ]
    assert directory_listing(cli.cwd) == files  # no bad.csv.errors.csv, and the database file is untouched
    assert db_content(db_url) == before

    passing = cli("import", "labs", str(valid), "--dry-run")
    assert passing.exit_code == 0
    assert passing.stdout.splitlines()[0] == "Would import 1 result(s) from labs.csv (1 positive)."
    assert passing.stdout.splitlines()[-1] == "Dry run: nothing was written."
    assert directory_listing(cli.cwd) == files
    assert db_content(db_url) == before


def test_dry_run_lists_every_problem_and_keeps_an_earlier_errors_file(cli) -> None:
    labs = write_labs(cli.cwd / "labs.csv", *(lab_line(f"S{i}", result="pos") for i in range(25)))
    assert cli("import", "labs", str(labs)).exit_code == 1
    earlier = Path(f"{labs}.errors.csv").read_bytes()
    dry = cli("import", "labs", str(labs), "--dry-run")
    assert dry.exit_code == 1
    assert sum(line.endswith("'pos': expected one of positive, negative, inconclusive") for line in dry.stderr.splitlines()) == 25
    assert Path(f"{labs}.errors.csv").read_bytes() == earlier  # neither rewritten nor removed
    write_labs(labs, lab_line("S1"))
    fixed = cli("import", "labs", str(labs), "--dry-run")
    assert fixed.exit_code == 0
    assert fixed.stderr.strip() == f"{labs}.errors.csv is from an earlier attempt; it is removed when the file is imported."
    assert Path(f"{labs}.errors.csv").exists()


def test_errors_file_is_removed_after_a_successful_retry(cli) -> None:
    labs = write_labs(cli.cwd / "labs.csv", lab_line("S1", result="pos"))
    assert cli("import", "labs", str(labs)).exit_code == 1
    assert Path(f"{labs}.errors.csv").exists()
    write_labs(labs, lab_line("S1"))
    assert cli("import", "labs", str(labs)).exit_code == 0
    assert not Path(f"{labs}.errors.csv").exists()


def test_missing_file(cli) -> None:
    result = cli("import", "labs", "nope.csv")
    assert result.exit_code == 1
    assert result.stderr.strip() == "Error: lab file 'nope.csv' does not exist or is not a file; check the path"


def test_lab_import_reports_every_problem_in_one_pass(cli, db_url) -> None:
    """Format, reference and conflict problems come together, row by row (issue 9, point 7)."""
    first = write_labs(cli.cwd / "first.csv", lab_line("S1", result="negative"))
    assert cli("import", "labs", str(first)).exit_code == 0
    before = db_content(db_url)
    labs = write_labs(
        cli.cwd / "labs.csv",
        lab_line("S2", collected="2026-13-01"),  # format
        lab_line("S3", jurisdiction="X9"),  # reference
        lab_line("S1", result="positive"),  # conflict with the stored specimen
        lab_line("S1", dob="02/04/1990", jurisdiction="X9", result="positive"),  # all three in one row
        lab_line("S4", sex="f"),
        lab_line("S4", sex="female", given="Ann"),  # conflict with row 6, which has a format error itself
    )
    result = cli("import", "labs", str(labs))
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == "Error: labs.csv: 8 problem(s) found; nothing was imported"
    stored = ("a stored result is never overwritten: if the laboratory corrected it, import the correction under "
              "a new specimen_id or ask an administrator to amend the record")
    unknown = ("unknown jurisdiction code; add it with `epitrace jurisdictions add X9 NAME` or use a code from "
               "`epitrace jurisdictions list`")
    assert errors_csv(labs) == [
        {"row": "2", "column": "collected_on", "value": "2026-13-01", "reason": "expected a date as YYYY-MM-DD, e.g. 2026-03-14"},
        {"row": "3", "column": "jurisdiction_code", "value": "X9", "reason": unknown},
        {"row": "4", "column": "result", "value": "positive",
         "reason": f"specimen LAB-A/S1 was imported before with result 'negative'; {stored}"},
        {"row": "5", "column": "result", "value": "positive",
         "reason": f"specimen LAB-A/S1 was imported before with result 'negative' (and jurisdiction_code); {stored}"},
        {"row": "5", "column": "date_of_birth", "value": "02/04/1990", "reason": "expected a date as YYYY-MM-DD, e.g. 2026-03-14"},
        {"row": "5", "column": "jurisdiction_code", "value": "X9", "reason": unknown},
        {"row": "6", "column": "sex", "value": "f", "reason": "expected one of female, male, other, unknown, or empty"},
        {"row": "7", "column": "given_name", "value": "Ann",
         "reason": f"specimen LAB-A/S4 appears earlier in this file (row 6) with given_name 'Ana'; {stored}"},
    ]
    assert db_content(db_url) == before


def test_lab_import_over_the_api_reports_scope_and_conflicts_in_one_pass(world) -> None:  # noqa: F811
    """A D1 supervisor's upload: out-of-scope rows, stored conflicts and format errors come back together,
    and a specimen stored for D2 is neither compared nor echoed."""
    with write_session(world["engine"]) as session:
        add_user(session, "supervisor-d1", PASSWORD, role="supervisor", jurisdiction_code="D1")
    client = client_for(world, "supervisor-d1")
    before = db_content(str(world["engine"].url))
    upload = "\n".join([
        LAB_HEADER,
        lab_line("S2", given="Zed", family="Quinn", dob="1970-07-07"),  # S2 is stored for D2 (Bea Stone)
        lab_line("S7", jurisdiction="D2"),  # a new result, but for D2
        lab_line("S8", collected="2026-02-30"),
        lab_line("S1", result="negative", given="Ana", phone="+15550001"),  # S1 is stored for D1: comparable
        lab_line("S9", jurisdiction="X9"),
        lab_line("S2", jurisdiction="D2", given="Bea", family="Stone", dob="1980-02-02"),  # S2 exactly as stored
    ]).encode()
    body = assert_error_shape(client.post("/api/labs", files={"file": ("labs.csv", upload, "text/csv")}), 422)
    assert body["error"] == "labs.csv: 7 problem(s) found; nothing was imported"
    elsewhere = ("this specimen was already reported; the owning jurisdiction can resolve it (if this row is a "
                 "different specimen, check its lab_id and specimen_id)")
    outside = ("outside your jurisdiction: you can import results only for the jurisdiction(s) you work for; "
               "correct the code, or have the row imported by an account of D2")
    assert [(e["row"], e["field"], e["value"]) for e in body["errors"]] == [
        (2, "specimen_id", None), (3, "jurisdiction_code", "D2"), (4, "collected_on", "2026-02-30"),
        (5, "result", "negative"), (6, "jurisdiction_code", "X9"), (7, "specimen_id", None), (7, "jurisdiction_code", "D2"),
    ]
    reasons = [e["reason"] for e in body["errors"]]
    assert reasons[0] == reasons[5] == elsewhere  # not even the specimen id is echoed (issue 10)
    assert reasons[1] == reasons[6] == outside
    assert reasons[3].startswith("specimen LAB-A/S1 was imported before with result 'positive';")
    assert not any(stored in reasons[0] for stored in ("Bea", "Stone", "1980-02-02", "D2"))
    after = db_content(str(world["engine"].url))
    # Nothing was written but the refusals, audited as denied (issue 10): the D2 code, and S2 (Bea's).
    denied = [row for row in after if row[0] == "audit_event" and row[4] == "denied"]  # (table, id, at, actor, ...)
    assert [row[3:8] for row in denied] == [
        ("user:supervisor-d1", "denied", "jurisdiction", "D2", None),
        ("user:supervisor-d1", "denied", "lab result", "2", world["persons"]["Bea"])]
    assert [line for line in after if line not in denied] == before


def test_lab_rows_over_the_api_report_format_and_reference_problems_together(world) -> None:  # noqa: F811
    supervisor = client_for(world, "supervisor")
    row = dict(zip(LAB_HEADER.split(","), lab_line("S5", jurisdiction="X9", sex="f").split(","), strict=True))
    body = assert_error_shape(supervisor.post("/api/labs/rows", json={"rows": [row], "dry_run": True}), 422)
    assert [(e["row"], e["field"], e["value"]) for e in body["errors"]] == [(1, "sex", "f"), (1, "jurisdiction_code", "X9")]


def test_demo_prints_environment_lines(tmp_path, monkeypatch) -> None:
    """`epitrace demo` says, before serving, how to point the command line at its database and date."""
    import epitrace
    import epitrace.pipeline.demo as pipeline_demo
    from epitrace.cli import app

    served = []
    monkeypatch.setattr(pipeline_demo, "_serve", lambda engine, **kw: (served.append((str(engine.url), kw)),
                                                                       print("SERVING")))
    monkeypatch.chdir(tmp_path)
    out = CliRunner().invoke(app, ["demo", "--people", "300", "--days", "3", "--out", "demo"], catch_exceptions=False)
    assert out.exit_code == 0, out.output
    db = tmp_path / "demo" / "epitrace.db"
    lines = out.stdout.splitlines()
    exports = [line for line in lines if line.startswith("export ")]
    assert exports == [f"export EPITRACE_DATABASE_URL=sqlite:///{db}", "export EPITRACE_TODAY=2026-03-04"]
    assert lines.index(exports[1]) < lines.index("SERVING")
    assert served == [(f"sqlite:///{db}", {"last_day": date(2026, 3, 4), "host": "127.0.0.1", "port": 8000})]

    # The printed lines, pasted into a shell elsewhere, make the command line use the demo.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    script = "\n".join([*exports, f'"{sys.executable}" -m epitrace jurisdictions list --format csv',
                        f'"{sys.executable}" -c "from epitrace import settings; print(settings.today())"'])
    env = {k: v for k, v in os.environ.items() if not k.startswith("EPITRACE_")}
    env["PYTHONPATH"] = str(Path(epitrace.__file__).parents[1])
    shell = subprocess.run(["bash", "-c", script], cwd=elsewhere, env=env, capture_output=True, text=True, timeout=120)
    assert shell.returncode == 0, shell.stderr
    listed = shell.stdout.splitlines()
    demo_db = make_engine(f"sqlite:///{db}")
    with read_session(demo_db) as session:
        codes = sorted(session.scalars(select(Jurisdiction.code)))
    demo_db.dispose()
    assert sorted(line.split(",")[0] for line in listed[1:-1]) == codes and len(codes) > 1
    assert listed[-1] == "2026-03-04"
    assert sorted(p.name for p in elsewhere.iterdir()) == []  # no ./epitrace.db created there


def test_demo_runs_on_the_database_url_it_is_given_and_refuses_one_with_data_issue_11(tmp_path, monkeypatch) -> None:
    """`epitrace demo --database-url URL` migrates and fills that (empty) database, prints it in the
    environment lines and serves on it; a second run on it is refused, naming the URL."""
    import epitrace.pipeline.demo as pipeline_demo
    from epitrace.cli import app
    from epitrace.storage.db import without_password
    from tests.backends import database_url

    served = []
    monkeypatch.setattr(pipeline_demo, "_serve", lambda engine, **kw: served.append(
        engine.url.render_as_string(hide_password=False)))
    monkeypatch.chdir(tmp_path)
    url = database_url(tmp_path, "demo")
    args = ["demo", "--people", "300", "--days", "3", "--out", "out", "--database-url", url]
    out = CliRunner().invoke(app, args, catch_exceptions=False)
    assert out.exit_code == 0, out.output
    exports = [line for line in out.stdout.splitlines() if line.startswith("export ")]
    assert exports[0] in (f"export EPITRACE_DATABASE_URL={url}", f"export EPITRACE_DATABASE_URL='{url}'")
    assert served == [url]
    assert (tmp_path / "out" / "report.html").exists() and not (tmp_path / "out" / "epitrace.db").exists()
    engine = make_engine(url)
    with read_session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Jurisdiction)) > 1
        assert session.scalar(select(func.count()).select_from(LabResult)) > 0
    engine.dispose()

    again = CliRunner().invoke(app, [*args, "--no-serve"])
    assert again.exit_code == 1
    assert again.output.startswith(f"Error: the database at {without_password(url)} already holds data (")
    assert "the demo needs an empty database" in again.output


def test_demo_environment_lines_never_print_a_password_issue_11() -> None:
    from epitrace.cli.demo import environment_lines

    assert environment_lines("postgresql+psycopg://bob:s3cret@db.example/demo", date(2026, 3, 4)).splitlines() == [
        "To use the command line on this outbreak, run in your shell:",
        "export EPITRACE_DATABASE_URL='postgresql+psycopg://bob:***@db.example/demo'"
        "  # put the password back in place of ***",
        "export EPITRACE_TODAY=2026-03-04",
    ]


def test_the_demo_without_a_url_starts_afresh_each_time(tmp_path, monkeypatch) -> None:
    """`make demo` twice: the second run replaces the demo's own SQLite file, it is not refused as a
    database holding data (that refusal is for --database-url)."""
    from epitrace.cli import app

    monkeypatch.chdir(tmp_path)
    args = ["demo", "--people", "300", "--days", "3", "--out", "out", "--no-serve"]
    for _ in range(2):
        out = CliRunner().invoke(app, args, catch_exceptions=False)
        assert out.exit_code == 0, out.output
    assert (tmp_path / "out" / "epitrace.db").exists()
