"""The time-varying reproduction number Rt by the Cori method, with EpiEstim's conventions.

Cori A, Ferguson NM, Fraser C, Cauchemez S (2013) Am J Epidemiol 178:1505-1512; the conventions
follow EpiEstim 2.2 (``estimate_R`` with ``parametric_si`` or ``non_parametric_si``):

- Incidence is one row per consecutive day. With a single column ``I``, day-1 cases count as
  imported; with ``local`` and ``imported``, imported cases add to infectiousness only.
- Infectiousness on day t: lambda_t = sum_{k=0}^{t-1} w_k (local + imported)_{t-k}.
- A parametric serial interval is EpiEstim's ``discr_si``: a gamma shifted by one day,
  discretised so that w_0 = 0, over k = 0..T-1.
- With a Gamma(a, scale b) prior on R (from mean and sd), the posterior over the window
  [t_start, t_end] is Gamma(a + sum local, scale 1 / (1/b + sum lambda)).
- A window is estimated only when t_end exceeds the mean of the discrete serial interval used.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy import stats

from epitrace.analytics.defaults import DEFAULT_SI_MEAN, DEFAULT_SI_SD
from epitrace.errors import InputError

QUANTILES = {"q2_5": 0.025, "q5": 0.05, "q25": 0.25, "median": 0.5, "q75": 0.75, "q95": 0.95, "q97_5": 0.975}
OUTPUT_COLUMNS = ("t_start", "t_end", "mean", "std", *QUANTILES)


@dataclass(frozen=True)
class Incidence:
    """Daily local and imported cases, day 1 first."""

    local: np.ndarray
    imported: np.ndarray

    @property
    def days(self) -> int:
        return int(self.local.size)


def incidence_from_frame(frame: pl.DataFrame, *, source: str = "incidence") -> Incidence:
    """Read ``I`` or ``local``/``imported`` columns (other columns, like ``date``, are ignored)."""
    if {"local", "imported"} <= set(frame.columns):
        local, imported = _counts(frame, "local", source), _counts(frame, "imported", source)
    elif "I" in frame.columns:
        total = _counts(frame, "I", source)
        local, imported = total.copy(), np.zeros_like(total)
        local[0], imported[0] = 0, total[0]  # EpiEstim: day-1 cases are imported
    else:
        raise InputError(
            f"{source} has columns {', '.join(frame.columns) or '(none)'}: expected a column I (all cases) or the "
            "columns local and imported, one row per consecutive day"
        )
    if local.size < 2:
        raise InputError(f"{source} has {local.size} day(s): Rt needs at least 2 consecutive days of incidence")
    if local[0] > 0:
        # EpiEstim moves day-1 local cases to imported (nothing before them could have infected them).
        imported = imported.copy()
        imported[0] += local[0]
        local = local.copy()
        local[0] = 0
    return Incidence(local, imported)


def _counts(frame: pl.DataFrame, column: str, source: str) -> np.ndarray:
    series = frame[column]
    if series.null_count():
        row = int(series.is_null().arg_max())  # type: ignore[arg-type]
        raise InputError(f"{source} row {row + 1}: {column} is empty; give 0 for a day without cases")
    try:
        values = series.cast(pl.Float64).to_numpy()
    except pl.exceptions.InvalidOperationError:
        raise InputError(f"{source} column {column} must hold whole numbers of cases") from None
    bad = np.flatnonzero((values < 0) | (values != np.floor(values)))
    if bad.size:
        raise InputError(
            f"{source} row {bad[0] + 1}: {column} {values[bad[0]]:g} is not a count: expected a whole number >= 0"
        )
    return values


def discr_si(k: np.ndarray, mean: float, sd: float) -> np.ndarray:
    """EpiEstim's discretised serial interval: gamma shifted by one day, w_0 = 0.

    Examples
    --------
    >>> w = discr_si(np.arange(0, 6), 2.6, 1.5)
    >>> float(w[0]), round(float(w[1]), 4)
    (0.0, 0.2332)
    """
    if not sd > 0:
        raise InputError(f"serial interval sd must be > 0 days (a gamma distribution needs a spread), got {sd:g}: "
                         "give the sd of the serial interval, e.g. --si-sd 1.5, or a discrete one with --si-distr")
    if mean <= 1:
        raise InputError(f"serial interval mean must be > 1 day (the distribution is shifted by one day), got {mean:g}")
    k = np.asarray(k, dtype=np.float64)
    a = ((mean - 1) / sd) ** 2
    b = sd**2 / (mean - 1)

    def cdf(x: np.ndarray, shape: float) -> np.ndarray:
        return stats.gamma.cdf(x, shape, scale=b)

    res = k * cdf(k, a) + (k - 2) * cdf(k - 2, a) - 2 * (k - 1) * cdf(k - 1, a)
    res = res + a * b * (2 * cdf(k - 1, a + 1) - cdf(k - 2, a + 1) - cdf(k, a + 1))
    return np.maximum(res, 0.0)


def check_si_distr(w: np.ndarray, *, source: str = "serial interval") -> np.ndarray:
    """A user-given discrete serial interval, checked as EpiEstim checks it."""
    w = np.asarray(w, dtype=np.float64)
    if w.size == 0 or w[0] != 0:
        raise InputError(f"{source} must start with k = 0 and p = 0 (nobody infects on the day they are infected), "
                         f"got p = {w[0] if w.size else 'nothing'} at k = 0")
    if (w < 0).any():
        raise InputError(f"{source} has a negative probability at k = {int(np.argmax(w < 0))}")
    if abs(w.sum() - 1) > 0.01:
        raise InputError(f"{source} sums to {w.sum():.4f}: the probabilities must sum to 1 (within 0.01)")
    return w


def default_windows(days: int) -> tuple[np.ndarray, np.ndarray]:
    """Weekly sliding windows: t_start = 2..T-6, t_end = 8..T (1-based, inclusive)."""
    if days < 8:
        raise InputError(f"weekly windows need at least 8 days of incidence, got {days}; give --t-start and --t-end")
    return np.arange(2, days - 5), np.arange(8, days + 1)


def estimate_rt(
    incidence: Incidence,
    *,
    si_mean: float | None = None,
    si_sd: float | None = None,
    si_distr: np.ndarray | None = None,
    t_start: np.ndarray | None = None,
    t_end: np.ndarray | None = None,
    prior_mean: float = 5.0,
    prior_sd: float = 5.0,
) -> pl.DataFrame:
    """Posterior of Rt over each window (Cori et al. 2013, EpiEstim's conventions).

    Give either ``si_mean`` and ``si_sd`` (parametric) or ``si_distr`` (p for k = 0, 1, ...).

    Returns
    -------
    polars.DataFrame
        ``t_start, t_end, mean, std, q2_5, q5, q25, median, q75, q95, q97_5``, one row per
        window whose t_end exceeds the mean of the discrete serial interval used.

    Examples
    --------
    >>> flu = Incidence(np.array([0, 1, 0, 2, 5, 3, 3, 3, 6, 2.]), np.array([1, 0, 0, 0, 0, 0, 0, 0, 0, 0.]))
    >>> r = estimate_rt(flu, si_mean=2.6, si_sd=1.5)
    >>> r.select("t_start", "t_end").rows()
    [(2, 8), (3, 9), (4, 10)]
    """
    days = incidence.days
    if prior_mean <= 0 or prior_sd <= 0:
        raise InputError(f"the prior mean and sd must be > 0, got mean {prior_mean:g} and sd {prior_sd:g}")
    if si_distr is not None:
        if si_mean is not None or si_sd is not None:
            raise InputError("give either a serial interval distribution or its mean and sd, not both")
        w = check_si_distr(si_distr)
    elif si_mean is not None and si_sd is not None:
        w = discr_si(np.arange(days), si_mean, si_sd)
    else:
        raise InputError("a serial interval is needed: give its mean and sd, or a distribution (k, p)")
    if w.size < days + 1:
        w = np.concatenate([w, np.zeros(days + 1 - w.size)])
    if t_start is None or t_end is None:
        t_start, t_end = default_windows(days)
    t_start, t_end = _check_windows(np.asarray(t_start), np.asarray(t_end), days)
    total = incidence.local + incidence.imported
    # lambda_t for t = 2..T (1-based): convolution of total incidence with w (w_0 = 0 adds nothing).
    conv = np.convolve(total, w[:days])[:days]
    infectivity = np.concatenate([[np.nan], conv[1:]])
    mean_si = float(np.sum(w * np.arange(w.size)))
    keep = t_end > mean_si
    t_start, t_end = t_start[keep], t_end[keep]
    cum_local = np.concatenate([[0.0], np.cumsum(incidence.local)])
    cum_lambda = np.concatenate([[0.0, 0.0], np.cumsum(infectivity[1:])])
    a_prior = (prior_mean / prior_sd) ** 2
    b_prior = prior_sd**2 / prior_mean
    shape = a_prior + (cum_local[t_end] - cum_local[t_start - 1])
    scale = 1 / (1 / b_prior + (cum_lambda[t_end] - cum_lambda[t_start - 1]))
    columns: dict[str, np.ndarray] = {
        "t_start": t_start.astype(np.int64),
        "t_end": t_end.astype(np.int64),
        "mean": shape * scale,
        "std": np.sqrt(shape) * scale,
    }
    for name, q in QUANTILES.items():
        columns[name] = stats.gamma.ppf(q, shape, scale=scale)
    return pl.DataFrame(columns)


def _check_windows(t_start: np.ndarray, t_end: np.ndarray, days: int) -> tuple[np.ndarray, np.ndarray]:
    if t_start.size != t_end.size:
        raise InputError(f"--t-start has {t_start.size} value(s) and --t-end {t_end.size}: give one end per start")
    if t_start.size == 0:
        raise InputError("no windows given: --t-start and --t-end need at least one value each")
    if (t_start < 2).any():
        raise InputError(f"t_start {int(t_start.min())} is too early: windows start on day 2 or later (day 1 has no "
                         "earlier cases to infect it)")
    if (t_end > days).any():
        raise InputError(f"t_end {int(t_end.max())} is after the last day of incidence ({days})")
    if (t_end < t_start).any():
        i = int(np.argmax(t_end < t_start))
        raise InputError(f"window {i + 1}: t_end {int(t_end[i])} is before t_start {int(t_start[i])}")
    return t_start.astype(np.int64), t_end.astype(np.int64)


def rt_from_daily_counts(counts: pl.Series, *, si_mean: float = DEFAULT_SI_MEAN, si_sd: float = DEFAULT_SI_SD) -> pl.DataFrame | None:
    """Rt over weekly windows from one count per consecutive day (day-1 cases imported); None before 8 days."""
    if counts.len() < 8:
        return None
    return estimate_rt(incidence_from_frame(pl.DataFrame({"I": counts})), si_mean=si_mean, si_sd=si_sd)
