"""Serial intervals: exact pairs, and gamma fits that recover known distributions."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from epitrace.analytics.serial_interval import from_interval_censored, from_pairs
from epitrace.errors import InputError


def test_pairs_mean_sd_and_non_positive_intervals() -> None:
    s = from_pairs(np.array([3, 5, 4, -1, 0]))
    assert (s.n, s.mean, s.excluded_non_positive) == (5, 2.2, 2)
    assert s.sd == pytest.approx(np.std([3, 5, 4, -1, 0], ddof=1))


def test_gamma_fit_of_exact_values_is_the_mle() -> None:
    data = stats.gamma.rvs(3.0, scale=1.5, size=3000, random_state=np.random.default_rng(2))
    s = from_pairs(data)
    # At the maximum the derivative of the log-likelihood in the shape vanishes:
    # log(shape) - digamma(shape) = log(mean) - mean(log x).
    from scipy.special import digamma

    assert np.log(s.gamma_shape) - digamma(s.gamma_shape) == pytest.approx(np.log(data.mean()) - np.log(data).mean(), rel=1e-4)
    assert s.gamma_shape * s.gamma_scale == pytest.approx(data.mean(), rel=1e-4)


@pytest.mark.parametrize(("shape", "scale"), [(4.0, 1.2), (2.0, 3.0), (9.0, 0.5)])
def test_interval_censored_fit_recovers_the_distribution(shape: float, scale: float) -> None:
    exact = stats.gamma.rvs(shape, scale=scale, size=5000, random_state=np.random.default_rng(7))
    day = np.floor(exact)
    fit = from_interval_censored(day, day + 1)
    assert fit.mean == pytest.approx(shape * scale, rel=0.04)
    assert fit.sd == pytest.approx(np.sqrt(shape) * scale, rel=0.06)
    # Treating the day as exact (the naive fit) is biased low by about half a day; the censored fit is not.
    assert abs(fit.mean - shape * scale) < abs(day[day > 0].mean() - shape * scale)


def test_exact_and_censored_rows_mix() -> None:
    fit = from_interval_censored(np.array([2.0, 3, 4, 5, 3]), np.array([2.0, 3, 4, 5, 6]))
    assert 2.5 < fit.mean < 5.5


def test_bad_bounds() -> None:
    with pytest.raises(InputError) as error:
        from_interval_censored(np.array([1.0, 5]), np.array([2.0, 4]))
    assert error.value.message == "row 2: bounds [5, 4] are not an interval of days >= 0 with lower <= upper"
    with pytest.raises(InputError, match="no infector-infectee pairs"):
        from_pairs(np.array([]))


def test_cli_from_onset_pairs(tmp_path) -> None:
    import json

    from typer.testing import CliRunner

    from epitrace.cli import app

    (tmp_path / "p.csv").write_text("infector_onset,infectee_onset\n2026-03-01,2026-03-04\n2026-03-02,2026-03-07\n2026-03-05,2026-03-09\n")
    out = CliRunner().invoke(app, ["serial-interval", "--pairs", str(tmp_path / "p.csv")])
    result = json.loads(out.stdout)
    assert (result["n"], result["mean"], result["sd"]) == (3, 4.0, 1.0)
