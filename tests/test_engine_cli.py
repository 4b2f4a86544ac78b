"""`epitrace match` from files: CSV and Parquet, both modes, clear errors."""

from __future__ import annotations

import polars as pl
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

from epitrace.cli import app
from epitrace.engine import match

RUN = CliRunner()

PRESENCES = pl.DataFrame({
    "person_id": ["a", "a", "b", "c"], "lat": [52.37, 52.37, 52.3702, 52.40], "lon": [4.9, 4.9, 4.9, 4.9],
    "start": [0, 600, 100, 0], "end": [1200, 1800, 1500, 3600],
})
WINDOWS = pl.DataFrame({"window_id": ["w1"], "lat": [52.3701], "lon": [4.9], "radius_m": [50.0], "start": [300], "end": [3000]})


def run(*args: str):  # type: ignore[no-untyped-def]
    return RUN.invoke(app, list(args), catch_exceptions=False)


def test_csv_and_parquet_give_the_same_exposures(tmp_path) -> None:
    expected = match(PRESENCES, WINDOWS)
    assert expected["person_id"].to_list() == ["a", "b"]
    PRESENCES.write_csv(tmp_path / "p.csv")
    WINDOWS.write_csv(tmp_path / "w.csv")
    PRESENCES.write_parquet(tmp_path / "p.parquet")
    WINDOWS.write_parquet(tmp_path / "w.parquet")
    result = run("match", "--windows", str(tmp_path / "w.csv"), "--presences", str(tmp_path / "p.csv"), "--out", str(tmp_path / "e.csv"))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("2 exposure(s) of 2 person(s) to 1 window(s) written to")
    assert_frame_equal(pl.read_csv(tmp_path / "e.csv", schema_overrides={"person_id": pl.String, "window_id": pl.String}), expected)
    result = run("match", "--windows", str(tmp_path / "w.parquet"), "--presences", str(tmp_path / "p.parquet"),
                 "--out", str(tmp_path / "e.parquet"), "--chunk-rows", "1")
    assert result.exit_code == 0, result.output
    assert_frame_equal(pl.read_parquet(tmp_path / "e.parquet"), expected)


def test_min_overlap_option(tmp_path) -> None:
    PRESENCES.write_csv(tmp_path / "p.csv")
    WINDOWS.write_csv(tmp_path / "w.csv")
    run("match", "--windows", str(tmp_path / "w.csv"), "--presences", str(tmp_path / "p.csv"), "--out", str(tmp_path / "e.csv"),
        "--min-overlap-minutes", "21")
    assert pl.read_csv(tmp_path / "e.csv")["person_id"].to_list() == ["a"]  # 25 min; b has 20


def test_venue_files(tmp_path) -> None:
    (tmp_path / "p.csv").write_text("person_id,venue_id,start,end\n007,cafe,2026-03-10T18:00:00+01:00,2026-03-10T18:40:00+01:00\n")
    (tmp_path / "w.csv").write_text("window_id,venue_id,start,end\nW1,cafe,2026-03-10T17:10:00Z,2026-03-10T19:00:00Z\n")
    result = run("match", "--windows", str(tmp_path / "w.csv"), "--presences", str(tmp_path / "p.csv"), "--out", str(tmp_path / "e.csv"))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "e.csv").read_text().splitlines() == [
        "person_id,window_id,overlap_s,min_distance_m,first_start,last_end",
        "007,W1,1800,0.0,1773162600,1773164400",
    ]


def error_of(tmp_path, presences_csv: str) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    (tmp_path / "p.csv").write_text(presences_csv)
    WINDOWS.write_csv(tmp_path / "w.csv")
    result = run("match", "--windows", str(tmp_path / "w.csv"), "--presences", str(tmp_path / "p.csv"), "--out", str(tmp_path / "e.csv"))
    assert not (tmp_path / "e.csv").exists()
    return result.exit_code, result.stderr.strip()


def test_errors_name_the_value_the_expectation_and_the_fix(tmp_path) -> None:
    assert error_of(tmp_path, "person_id,lat,lon,start\n1,0,0,5\n") == (
        1, "Error: p.csv is missing column(s) 'end': expected person_id, lat, lon, start, end (geo) or person_id, venue_id, "
           "start, end (venue)")
    assert error_of(tmp_path, "person_id,lat,lon,start,end\n1,0,0,5,9\n2,0,0,9,3\n") == (
        1, "Error: p.csv row 2: end 3 is not after start 9: intervals are half-open [start, end) and need end > start")
    assert error_of(tmp_path, "person_id,lat,lon,start,end\n1,95,0,5,9\n") == (
        1, "Error: p.csv row 1: lat 95.0 is out of range: latitude must be between -90 and 90 degrees")
    assert error_of(tmp_path, "person_id,lat,lon,venue_id,start,end\n1,5,0,v,5,9\n")[1].startswith(
        "Error: p.csv mixes geo columns (lat, lon) and a venue column (venue_id)")
    assert error_of(tmp_path, "") == (1, "Error: p.csv is empty: expected a header row and one row per record")


def test_file_type_is_checked(tmp_path) -> None:
    WINDOWS.write_csv(tmp_path / "w.csv")
    (tmp_path / "p.json").write_text("{}")
    result = run("match", "--windows", str(tmp_path / "w.csv"), "--presences", str(tmp_path / "p.json"), "--out", str(tmp_path / "e.csv"))
    assert (result.exit_code, result.stderr.strip()) == (1, "Error: p.json: unknown file type '.json'; expected a .csv or .parquet file")
