"""Rt equals EpiEstim's estimates on EpiEstim's own data sets, and simple cases by hand."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

from epitrace.analytics.rt import Incidence, discr_si, estimate_rt, incidence_from_frame
from epitrace.cli import app
from epitrace.errors import InputError

HERE = Path(__file__).parent / "epiestim"
DATASETS = ["Flu2009", "Flu1918", "Measles1861", "SARS2003", "Smallpox1972"]


def expected(name: str) -> pl.DataFrame:
    """EpiEstim's output without the windows it leaves as NA (t_end <= mean SI)."""
    frame = pl.read_csv(HERE / f"{name}.expected.csv", null_values="NA")
    return frame.filter(pl.col("mean").is_not_null()).with_columns(pl.col("t_start", "t_end").cast(pl.Int64))


def run_cli(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, ["rt", *args], catch_exceptions=False)


@pytest.mark.parametrize("name", DATASETS)
def test_non_parametric_matches_epiestim(name: str, tmp_path) -> None:
    out = tmp_path / "rt.csv"
    result = run_cli("--incidence", str(HERE / f"{name}.incidence.csv"), "--si-distr", str(HERE / f"{name}.si_distr.csv"),
                     "--out", str(out))
    assert result.exit_code == 0, result.output
    assert_frame_equal(pl.read_csv(out), expected(f"{name}.non_parametric"), check_exact=False, rel_tol=1e-6, abs_tol=0)


def test_parametric_flu2009_matches_epiestim(tmp_path) -> None:
    out = tmp_path / "rt.csv"
    result = run_cli("--incidence", str(HERE / "Flu2009.incidence.csv"), "--si-mean", "2.6", "--si-sd", "1.5", "--out", str(out))
    assert result.stdout.strip() == f"25 window(s) estimated; written to {out}."
    assert_frame_equal(pl.read_csv(out), expected("Flu2009.parametric"), check_exact=False, rel_tol=1e-6, abs_tol=0)


def test_imported_cases_windows_and_prior_match_epiestim(tmp_path) -> None:
    out = tmp_path / "rt.csv"
    run_cli("--incidence", str(HERE / "Flu2009.imported.incidence.csv"), "--si-mean", "2.6", "--si-sd", "1.5",
            "--t-start", "2,5,10,20", "--t-end", "6,12,18,32", "--prior-mean", "2", "--prior-sd", "1", "--out", str(out))
    assert_frame_equal(pl.read_csv(out), expected("Flu2009.imported.parametric"), check_exact=False, rel_tol=1e-6, abs_tol=0)


@pytest.mark.slow
def test_live_epiestim_agrees_with_the_stored_references(tmp_path) -> None:
    """Regenerate the references with R's EpiEstim itself, so they cannot drift from it."""
    if shutil.which("Rscript") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("Rscript is missing under CI: .ci/run installs r-base-core and r-cran-epiestim")
        pytest.skip("R is not installed: apt-get install r-base-core r-cran-epiestim")
    subprocess.run(["Rscript", str(HERE / "reference.R"), str(tmp_path)], check=True, capture_output=True)
    for path in HERE.glob("*.csv"):
        fresh = pl.read_csv(tmp_path / path.name, null_values="NA")
        assert_frame_equal(fresh, pl.read_csv(path, null_values="NA"), check_exact=False, rel_tol=1e-12)


def test_one_day_serial_interval_by_hand() -> None:
    # w = (0, 1): everyone infects exactly one day later, so lambda_t = I_{t-1}. With 10 cases a
    # day, a window of 7 days gives shape a + 70 and rate 1/b + 70; prior mean 5, sd 5 -> a = 1, b = 5.
    incidence = Incidence(np.array([0.0] + [10.0] * 9), np.array([10.0] + [0.0] * 9))
    r = estimate_rt(incidence, si_distr=np.array([0.0, 1.0]), t_start=np.array([3]), t_end=np.array([9]))
    shape, rate = 1 + 70, 1 / 5 + 70
    assert r["mean"].item() == pytest.approx(shape / rate, rel=1e-12)
    assert r["std"].item() == pytest.approx(np.sqrt(shape) / rate, rel=1e-12)


def test_doubling_every_serial_interval_gives_r_near_two() -> None:
    cases = 2.0 ** np.arange(20)
    r = estimate_rt(Incidence(np.concatenate([[0], cases[1:]]), np.concatenate([[1.0], np.zeros(19)])),
                    si_distr=np.array([0.0, 1.0]), prior_mean=1, prior_sd=100)
    assert np.allclose(r["mean"].to_numpy()[-5:], 2.0, rtol=1e-3)


def test_discretised_serial_interval_sums_to_one_when_long_enough() -> None:
    w = discr_si(np.arange(200), 6.5, 4.0)
    assert w[0] == 0 and w.sum() == pytest.approx(1.0, abs=1e-9)
    assert float(np.sum(w * np.arange(200))) == pytest.approx(6.5, rel=1e-6)


def test_windows_before_the_mean_serial_interval_are_left_out() -> None:
    incidence = Incidence(np.array([0.0, 3, 4, 5, 6, 7, 8, 9, 10, 11]), np.array([2.0] + [0] * 9))
    r = estimate_rt(incidence, si_mean=6.0, si_sd=1.0, t_start=np.array([2, 2, 2]), t_end=np.array([4, 6, 8]))
    assert r["t_end"].to_list() == [6, 8]  # the mean of discr_si over 0..9 is about 6


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (pl.DataFrame({"cases": [1, 2]}), "incidence has columns cases: expected a column I (all cases) or the columns local "
                                          "and imported, one row per consecutive day"),
        (pl.DataFrame({"I": [1, -2, 3]}), "incidence row 2: I -2 is not a count: expected a whole number >= 0"),
        (pl.DataFrame({"I": [1.0, 2.5, 3.0]}), "incidence row 2: I 2.5 is not a count: expected a whole number >= 0"),
        (pl.DataFrame({"I": [1]}), "incidence has 1 day(s): Rt needs at least 2 consecutive days of incidence"),
    ],
)
def test_bad_incidence(frame: pl.DataFrame, message: str) -> None:
    with pytest.raises(InputError) as error:
        incidence_from_frame(frame)
    assert error.value.message == message


def test_cli_errors(tmp_path) -> None:
    incidence = HERE / "Flu2009.incidence.csv"
    both = run_cli("--incidence", str(incidence), "--si-mean", "2.6", "--si-sd", "1.5", "--si-distr", str(HERE / "Flu2009.si_distr.csv"),
                   "--out", str(tmp_path / "r.csv"))
    assert both.stderr.strip() == "Error: give either --si-distr or --si-mean with --si-sd, not both"
    early = run_cli("--incidence", str(incidence), "--si-mean", "2.6", "--si-sd", "1.5", "--t-start", "1", "--t-end", "7",
                    "--out", str(tmp_path / "r.csv"))
    assert early.stderr.strip() == ("Error: t_start 1 is too early: windows start on day 2 or later (day 1 has no earlier "
                                    "cases to infect it)")
    short_mean = run_cli("--incidence", str(incidence), "--si-mean", "0.8", "--si-sd", "1.5", "--out", str(tmp_path / "r.csv"))
    assert short_mean.stderr.strip() == ("Error: serial interval mean must be > 1 day (the distribution is shifted by one day), "
                                         "got 0.8")
    (tmp_path / "si.csv").write_text("k,p\n0,0.1\n1,0.9\n")
    bad_si = run_cli("--incidence", str(incidence), "--si-distr", str(tmp_path / "si.csv"), "--out", str(tmp_path / "r.csv"))
    assert bad_si.stderr.strip() == ("Error: serial interval must start with k = 0 and p = 0 (nobody infects on the day they "
                                     "are infected), got p = 0.1 at k = 0")
