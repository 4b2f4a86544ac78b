"""The Spark engine gives exactly the local engine's exposures, and the local engine's errors."""

from __future__ import annotations

import doctest
import os
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

from epitrace.cli import app
from epitrace.engine import match, reference_match
from epitrace.engine.spark import input_errors, spark_match, spark_session
from epitrace.errors import ConfigurationError, InputError

pytestmark = pytest.mark.slow  # starts Spark; run by make test-all / test-pg and CI

# A city, both sides of the antimeridian, the Arctic, and a hair from each pole.
ANCHORS = [(52.37, 4.9), (0.0, 179.9995), (-33.9, -179.9998), (78.2, 15.6), (89.9995, 0.0), (-89.9993, 120.0)]
RUN = CliRunner()


@pytest.fixture(scope="module")
def spark() -> Iterator[object]:
    """One local[2] session for the module; missing pyspark or Java skips, except in CI."""
    with ExitStack() as stack:
        patch = stack.enter_context(pytest.MonkeyPatch.context())
        # Executors are child processes: they must run this venv's Python, with epitrace in it.
        patch.setenv("PYSPARK_PYTHON", sys.executable)
        patch.setenv("PYSPARK_DRIVER_PYTHON", sys.executable)
        try:
            session = stack.enter_context(spark_session("local[2]"))
        except ConfigurationError as error:
            if os.environ.get("CI", "").lower() not in ("", "0", "false"):
                pytest.fail(f"CI must run the Spark tests: {error.message}")
            pytest.skip(error.message)
        session.conf.set("spark.sql.shuffle.partitions", "4")  # not 200 tiny tasks for tiny data
        yield session


def to_spark(spark, frame: pl.DataFrame, partitions: int):  # type: ignore[no-untyped-def]
    """A Spark DataFrame of ``frame``, dealt round-robin into ``partitions`` partitions (1: in order)."""
    rows = spark.createDataFrame(frame.to_arrow())
    return rows.coalesce(1) if partitions == 1 else rows.repartition(partitions)


def collect(exposures) -> pl.DataFrame:  # type: ignore[no-untyped-def]
    with input_errors():
        frame = pl.from_arrow(exposures.toArrow())
    assert isinstance(frame, pl.DataFrame)
    return frame.sort(["person_id", "window_id"])


def geo_case(seed: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Windows around every anchor and presences scattered near them, some a hair outside."""
    rng = np.random.default_rng(seed)
    windows, presences = [], []
    for lat, lon in ANCHORS:
        for _ in range(3):
            start = int(rng.integers(0, 6000))
            windows.append({"window_id": len(windows), "lat": float(np.clip(lat + rng.normal(0, 5e-4), -90, 90)),
                            "lon": lon, "radius_m": float(rng.choice([10.0, 50.0, 120.0, 400.0])),
                            "start": start, "end": start + int(rng.integers(600, 5000))})
        for _ in range(60):
            start = int(rng.integers(0, 9000))
            presences.append({"person_id": f"p{rng.integers(0, 12):02d}",
                              "lat": float(np.clip(lat + rng.normal(0, 1e-3), -90, 90)),
                              "lon": float((lon + rng.normal(0, 2e-3) + 180) % 360 - 180),
                              "start": start, "end": start + int(rng.integers(60, 4000))})
    return pl.DataFrame(presences), pl.DataFrame(windows)


def test_geo_equals_local_and_reference(spark) -> None:  # type: ignore[no-untyped-def]
    presences, windows = geo_case(7)
    # One person, three overlapping stays in window 0, dealt to different partitions: the union of
    # [0, 600), [300, 900) and [600, 1500) after the window opens counts, once, not their sum.
    w0 = windows.row(0, named=True)
    split = pl.DataFrame({"person_id": ["split"] * 3, "lat": [w0["lat"]] * 3, "lon": [w0["lon"]] * 3,
                          "start": [w0["start"] + s for s in (0, 300, 600)], "end": [w0["start"] + e for e in (600, 900, 1500)]})
    presences = pl.concat([split, presences])
    frame = to_spark(spark, presences, 5)
    from pyspark.sql.functions import spark_partition_id

    assert frame.where("person_id = 'split'").select(spark_partition_id()).distinct().count() > 1
    for min_overlap in (0, 900):
        expected = match(presences, windows, min_overlap_s=min_overlap)
        assert expected.height > 20
        got = collect(spark_match(frame, windows, min_overlap_s=min_overlap))
        assert_frame_equal(got, expected)
        assert_frame_equal(got, reference_match(presences, windows, min_overlap_s=min_overlap))
    assert set(expected["window_id"] // 3) >= {1, 2, 4, 5}  # antimeridian and pole windows matched
    union = expected.filter(person_id="split", window_id=0)["overlap_s"].to_list()
    assert union == [min(1500, w0["end"] - w0["start"])]


def test_venue_equals_local_and_reference(spark) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(3)
    starts = rng.integers(0, 9000, 400)
    presences = pl.DataFrame({
        "person_id": rng.integers(0, 30, 400), "venue_id": rng.choice(["v1", "v2", "v3", "v9"], 400),
        "start": starts, "end": starts + rng.integers(60, 4000, 400),
    })
    windows = pl.DataFrame({"window_id": ["w1", "w2", "w3", "w4"], "venue_id": ["v1", "v2", "v2", "v3"],
                            "start": [0, 1000, 5000, 3000], "end": [3600, 4000, 9000, 3300]})
    expected = match(presences, windows, min_overlap_s=600)
    assert expected.height > 20
    got = collect(spark_match(to_spark(spark, presences, 4), windows, min_overlap_s=600))
    assert_frame_equal(got, expected)
    assert_frame_equal(got, reference_match(presences, windows, min_overlap_s=600))


def run(*args: str):  # type: ignore[no-untyped-def]
    return RUN.invoke(app, list(args), catch_exceptions=False)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_cli_spark_engine_writes_the_local_file(spark, tmp_path: Path, suffix: str) -> None:  # type: ignore[no-untyped-def]
    presences, windows = geo_case(11)
    presences = presences.with_columns(pl.col("person_id").str.replace("p", "0"))  # '007' must stay '007'
    (presences.write_csv if suffix == ".csv" else presences.write_parquet)(tmp_path / f"p{suffix}")
    windows.write_csv(tmp_path / "w.csv")
    outputs = {}
    for engine in ("local", "spark"):
        out = tmp_path / f"{engine}.csv"
        result = run("match", "--windows", str(tmp_path / "w.csv"), "--presences", str(tmp_path / f"p{suffix}"),
                     "--out", str(out), "--min-overlap-minutes", "5", "--engine", engine)
        assert result.exit_code == 0, result.output
        outputs[engine] = out.read_text()
    assert outputs["spark"] == outputs["local"]
    rows = outputs["spark"].splitlines()[1:]
    assert len(rows) > 20 and all(row.startswith("0") for row in rows)


@pytest.mark.parametrize(
    "presences_csv",
    [
        "person_id,lat,lon,start,end\n1,0,0,5,9\n2,0,0,9,3\n",  # end before start (found on an executor)
        "person_id,lat,lon,start,end\n1,95,0,5,9\n",  # latitude out of range
        "person_id,lat,lon,start,end\n1,5,0,2026-03-10T18:00:00,9\n",  # time without an offset
        "person_id,lat,lon,start\n1,0,0,5\n",  # missing column (found on the driver)
        "person_id,lat,lon,venue_id,start,end\n1,5,0,v,5,9\n",  # geo and venue columns mixed
        "",  # empty file
    ],
)
def test_bad_file_gives_the_local_engines_error(spark, tmp_path: Path, presences_csv: str) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "p.csv").write_text(presences_csv)
    pl.DataFrame({"window_id": ["w1"], "lat": [0.0], "lon": [0.0], "radius_m": [50.0], "start": [0], "end": [10]}).write_csv(
        tmp_path / "w.csv")
    errors = {}
    for engine in ("local", "spark"):
        result = run("match", "--windows", str(tmp_path / "w.csv"), "--presences", str(tmp_path / "p.csv"),
                     "--out", str(tmp_path / "e.csv"), "--engine", engine)
        errors[engine] = (result.exit_code, result.stderr.strip())
        assert not (tmp_path / "e.csv").exists()
    assert errors["spark"] == errors["local"]
    assert errors["spark"][0] == 1 and errors["spark"][1].startswith("Error: p.csv ")


def test_bad_row_in_a_spark_dataframe_is_an_input_error(spark) -> None:  # type: ignore[no-untyped-def]
    presences = pl.DataFrame({"person_id": ["a", "b"], "venue_id": ["v", "v"], "start": [0, 50], "end": [10, 50]})
    windows = pl.DataFrame({"window_id": ["w"], "venue_id": ["v"], "start": [0], "end": [100]})
    with pytest.raises(InputError) as error:
        collect(spark_match(to_spark(spark, presences, 1), windows))
    assert error.value.message == (
        "presences row 2: end 50 is not after start 50: intervals are half-open [start, end) and need end > start")


def test_docstring_examples_run(spark) -> None:  # type: ignore[no-untyped-def]
    import epitrace.engine.spark

    failures, tried = doctest.testmod(epitrace.engine.spark, extraglobs={"spark": spark})
    assert tried > 0 and failures == 0
