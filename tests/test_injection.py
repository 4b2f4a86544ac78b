"""No injection (issue 10, point 5): formulas in CSV and spreadsheet cells, markup and control characters
in terminal output, and control or bidirectional characters in what is stored."""

from __future__ import annotations

import csv
import doctest
import io
import json

import polars as pl
import pytest

import epitrace.domain.limits
from epitrace.cli._common import OutputFormat, emit
from epitrace.domain import limits
from epitrace.engine import write_table
from epitrace.errors import InputError
from epitrace.intake.labs import read_lab_csv
from tests import test_api
from tests.conftest import LAB_HEADER, lab_line, write_labs
from tests.test_api import assert_error_shape, client_for

world = test_api.world  # the fixture: two districts, a case each, an account per role

FORMULA = "=cmd|' /C calc'!A0"
MARKUP = "[link=https://evil.example]x[/link]"


def test_the_rules_examples_run() -> None:
    failures, tried = doctest.testmod(epitrace.domain.limits)
    assert tried > 0 and failures == 0


# CSV and spreadsheet cells ---------------------------------------------------------------------------


@pytest.mark.parametrize("value", [FORMULA, "+1+cmd", "-2+3", "@SUM(A1:A9)", "\t=1", "\r=1", "=HYPERLINK(\"http://x\")"])
def test_formula_cells_are_written_as_text(value: str) -> None:
    assert limits.spreadsheet_cell(value) == "'" + value


@pytest.mark.parametrize("value", ["-5", "+15550001", "-1.5e3", "0.25", -5, 2.5, None, "Ana", "a=b", " =1"])
def test_numbers_and_plain_text_are_unchanged(value: object) -> None:
    assert limits.spreadsheet_cell(value) == value


def test_format_csv_neutralises_a_formula_in_a_name(cli) -> None:
    write_labs(cli.cwd / "labs.csv", lab_line("S1", given=FORMULA, family="@Silva"))
    assert cli("import", "labs", "labs.csv").exit_code == 0
    out = cli("cases", "list", "--format", "csv").stdout
    rows = list(csv.DictReader(io.StringIO(out)))
    assert rows[0]["name"] == f"'{FORMULA} @Silva"
    assert rows[0]["case_id"] == "1"  # numbers stay numbers
    persons = list(csv.DictReader(io.StringIO(cli("persons", "search", "Silva", "--format", "csv").stdout)))
    assert persons and all(not p["name"].startswith("=") for p in persons)


def test_the_errors_file_neutralises_values_and_column_names(cli) -> None:
    write_labs(cli.cwd / "labs.csv", lab_line("S1", sex="=1+1", test_type="@cmd"), header=LAB_HEADER + ",=evil()")
    assert cli("import", "labs", "labs.csv").exit_code == 1
    with open(cli.cwd / "labs.csv.errors.csv", newline="", encoding="utf-8") as handle:
        cells = [cell for row in csv.reader(handle) for cell in row]
    assert "'=evil()" in cells and "'=1+1" in cells
    assert not any(cell.startswith(("=", "+", "@")) for cell in cells)
    assert not any(cell.startswith("-") and not limits.PLAIN_NUMBER.fullmatch(cell) for cell in cells)


def test_frames_written_as_csv_neutralise_text_columns(tmp_path) -> None:
    frame = pl.DataFrame({"person_id": [FORMULA, "p2", "-7"], "window_id": ["w1", "@w", "w3"], "overlap_s": [-60, 60, 0]})
    write_table(frame, tmp_path / "out.csv")
    rows = list(csv.DictReader(io.StringIO((tmp_path / "out.csv").read_text(encoding="utf-8"))))
    assert [(r["person_id"], r["window_id"], r["overlap_s"]) for r in rows] == [
        (f"'{FORMULA}", "w1", "-60"), ("p2", "'@w", "60"), ("-7", "w3", "0")]


# Terminal output -------------------------------------------------------------------------------------


def test_table_output_prints_markup_in_names_literally(cli) -> None:
    write_labs(cli.cwd / "labs.csv", lab_line("S1", given=MARKUP, family="[red]Silva:thumbs_up:"))
    assert cli("import", "labs", "labs.csv").exit_code == 0
    table = cli("cases", "list", "--format", "table").stdout
    assert MARKUP in table and "[red]Silva:thumbs_up:" in table
    shown = cli("cases", "show", "1").stdout
    assert f"Case 1 {MARKUP} [red]Silva:thumbs_up: (person 1" in shown


def test_table_and_messages_drop_control_characters(capsys) -> None:
    emit([{"name": "\x1b]0;owned\x07Ana\x1b[2J\u202eevil", "n": -5}], OutputFormat.table)
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    assert "]0;ownedAna[2Jevil" in out and "-5" in out
    from epitrace.cli._common import console, echo

    console.print("line one\nline \x1b[31mtwo [bold]3[/bold]")
    echo("Error: row 2 \x1b[1mx\x9b")
    out = capsys.readouterr().out
    assert out == "line one\nline [31mtwo [bold]3[/bold]\nError: row 2 [1mx\n"


def test_json_output_escapes_control_characters(capsys) -> None:
    emit([{"name": "\x1b[2Jx"}], OutputFormat.json)
    out = capsys.readouterr().out
    assert "\x1b" not in out and json.loads(out) == [{"name": "\x1b[2Jx"}]


# What is stored --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "code_point"), [("An\x00a", "U+0000"), ("Ana\x1b[31m", "U+001B"), ("Ana\u202eavliS", "U+202E"),
                                                  ("Ana\u2066x", "U+2066"), ("Ana\u200f", "U+200F"), ("A\tna", "U+0009"),
                                                  ("Ana\n", "U+000A"), ("Ana\x85", "U+0085")])
def test_names_with_control_or_bidi_characters_are_refused_naming_the_field(text: str, code_point: str) -> None:
    with pytest.raises(InputError) as refused:
        limits.text("given name", text, limits.NAME)
    position = next(i for i, c in enumerate(text) if f"U+{ord(c):04X}" == code_point) + 1
    assert refused.value.message == (f"given name contains the invisible character {code_point} at position {position}; "
                                     "remove it (retype the value if your editor does not show it)")


def test_free_text_keeps_line_breaks_and_marks_but_not_overrides() -> None:
    limits.text("symptoms", "fever\ncough\tsince Monday \u200f", limits.SYMPTOMS, multiline=True)
    with pytest.raises(InputError, match="U\\+202E"):
        limits.text("symptoms", "fever \u202e", limits.SYMPTOMS, multiline=True)
    limits.text("given name", "Zoë Nǐ Bhriain", limits.NAME)
    limits.text("family name", "می\u200cخواهم", limits.NAME)  # a zero-width non-joiner is spelling, not a trick


def test_every_write_path_refuses_a_bidi_override_in_a_name(world, cli) -> None:
    client = client_for(world, "supervisor")
    case = world["cases"]["Ana"]
    contact = {"given_name": "Eve\u202e", "family_name": "Doe", "setting": "work", "last_exposure": "2026-03-10"}
    api = assert_error_shape(client.post(f"/api/cases/{case}/contacts", json=contact), 400)
    assert api["error"].startswith("given name contains the invisible character U+202E at position 4")
    page = client.post(f"/cases/{case}/contacts", data={"given_name": "Eve", "family_name": "Do\x00e",
                                                         "last_exposure": "2026-03-10", "setting": "work"})
    assert page.status_code == 400 and "family name contains the invisible character U+0000 at position 3" in page.text
    symptoms = assert_error_shape(client.patch(f"/api/cases/{case}", json={"symptoms": "fever \u202e"}), 400)
    assert symptoms["error"].startswith("symptoms contains the invisible character U+202E")
    visit = client.post(f"/api/cases/{case}/visits", json={"place": "Caf\u202ee", "start": "2026-03-09T18:00:00Z",
                                                            "end": "2026-03-09T19:00:00Z"})
    assert assert_error_shape(visit, 400)["error"].startswith("place name contains the invisible character U+202E")
    rows = client.post("/api/labs/rows", json={"rows": [{
        "lab_id": "L", "specimen_id": "S9", "collected_on": "2026-03-10", "resulted_on": "2026-03-11", "result": "positive",
        "test_type": "PCR", "given_name": "Ana\u202e", "family_name": "Silva\u2069", "date_of_birth": "1990-01-01",
        "address": "1 Main St\nFlat 2", "jurisdiction_code": "D1"}]})
    assert [(e["field"], e["row"]) for e in assert_error_shape(rows, 422)["errors"]] == [("given_name", 1), ("family_name", 1)]
    result = cli("contacts", "add", str(case), "--given-name", "Eve\u202e", "--family-name", "Doe", "--setting", "work",
                 "--last-exposure", "2026-03-10")
    assert result.exit_code == 1 and "given name contains the invisible character U+202E" in result.stderr
    named = cli("jurisdictions", "add", "D3", "East\u202e", "--parent", "CITY")
    assert named.exit_code == 1 and "jurisdiction name contains the invisible character U+202E" in named.stderr


def test_a_lab_file_with_a_bidi_override_is_a_row_error() -> None:
    lab_file = read_lab_csv((LAB_HEADER + "\n" + lab_line("S1", given="Ana\u202e") + "\n").encode(), source="labs.csv")
    assert [(e.row, e.column, e.reason.split(";")[0]) for e in lab_file.errors] == [
        (2, "given_name", "contains the invisible character U+202E at position 4")]
