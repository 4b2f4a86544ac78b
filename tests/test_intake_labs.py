"""`epitrace import labs`: every error class, all-or-nothing, idempotence."""

from __future__ import annotations

import csv
import sqlite3
from pathlib import Path

from sqlalchemy import func, select

from epitrace.storage.db import read_session
from epitrace.storage.models import Case, LabResult, Person, Task
from tests.conftest import LAB_HEADER, lab_line, write_labs


def db_content(url: str) -> list[str]:
    """Every row of every table, as SQL text: equal lists mean equal content."""
    connection = sqlite3.connect(url.removeprefix("sqlite:///"))
    try:
        return list(connection.iterdump())
    finally:
        connection.close()


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


def test_dry_run_writes_nothing(cli, db_url) -> None:
    before = db_content(db_url)
    labs = write_labs(cli.cwd / "labs.csv", lab_line("S1"))
    result = cli("import", "labs", str(labs), "--dry-run")
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0] == "Would import 1 result(s) from labs.csv (1 positive)."
    assert result.stdout.splitlines()[-1] == "Dry run: nothing was written."
    assert db_content(db_url) == before


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
