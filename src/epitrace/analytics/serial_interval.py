"""The serial interval (days from the infector's onset to the infectee's) and a gamma fitted to it."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy import optimize, stats

from epitrace.errors import InputError


@dataclass(frozen=True)
class SerialInterval:
    """Summary of serial intervals and the gamma distribution fitted to them (maximum likelihood)."""

    n: int
    mean: float
    sd: float | None
    gamma_shape: float | None
    gamma_scale: float | None
    excluded_non_positive: int = 0
    """Intervals <= 0 days (the infectee fell ill first) are summarised but left out of the gamma fit."""

    @property
    def gamma_mean(self) -> float | None:
        return None if self.gamma_shape is None else self.gamma_shape * self.gamma_scale  # type: ignore[operator]

    def as_dict(self) -> dict:
        return asdict(self) | {"gamma_mean": self.gamma_mean}


def from_pairs(gaps_days: np.ndarray) -> SerialInterval:
    """From exact onset differences (infectee minus infector, days).

    Examples
    --------
    >>> s = from_pairs(np.array([3, 5, 4, 4, 6, 2]))
    >>> s.n, s.mean, round(s.sd, 4)
    (6, 4.0, 1.4142)
    """
    gaps = np.asarray(gaps_days, dtype=np.float64)
    if gaps.size == 0:
        raise InputError("no infector-infectee pairs with both onsets: a serial interval needs at least one")
    positive = gaps[gaps > 0]
    shape = scale = None
    if positive.size >= 2 and np.ptp(positive) > 0:
        shape, _, scale = stats.gamma.fit(positive, floc=0)
    return SerialInterval(
        n=int(gaps.size),
        mean=float(gaps.mean()),
        sd=float(gaps.std(ddof=1)) if gaps.size > 1 else None,
        gamma_shape=None if shape is None else float(shape),
        gamma_scale=None if scale is None else float(scale),
        excluded_non_positive=int(gaps.size - positive.size),
    )


def from_interval_censored(lower: np.ndarray, upper: np.ndarray) -> SerialInterval:
    """Fit a gamma when each interval is only known to lie in ``[lower, upper]`` days.

    A row with ``lower == upper`` is an exact observation (its density counts); others contribute
    the probability of their range, F(upper) - F(lower). Use this when onsets are known to the day
    only (``[d - 1, d + 1]``) or only an exposure range is known.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> exact = rng.gamma(4.0, 1.2, 4000)
    >>> fit = from_interval_censored(np.floor(exact), np.floor(exact) + 1)
    >>> truth = from_pairs(exact)  # what the exact values would have given
    >>> abs(fit.mean - truth.gamma_mean) < 0.05, abs(fit.gamma_shape - truth.gamma_shape) < 0.2
    (True, True)
    """
    lo, hi = np.asarray(lower, dtype=np.float64), np.asarray(upper, dtype=np.float64)
    if lo.size == 0 or lo.size != hi.size:
        raise InputError(f"need the same number of lower and upper bounds, at least one; got {lo.size} and {hi.size}")
    bad = np.flatnonzero((lo < 0) | (hi < lo) | ~np.isfinite(lo) | ~np.isfinite(hi))
    if bad.size:
        i = int(bad[0])
        raise InputError(f"row {i + 1}: bounds [{lo[i]:g}, {hi[i]:g}] are not an interval of days >= 0 with lower <= upper")
    exact = lo == hi
    if (exact & (lo == 0)).any():
        raise InputError("an exact serial interval of 0 days has no gamma density: give it as a range, e.g. [0, 1]")

    def negative_log_likelihood(params: np.ndarray) -> float:
        shape, scale = np.exp(params)
        ll = stats.gamma.logpdf(lo[exact], shape, scale=scale).sum()
        width = stats.gamma.cdf(hi[~exact], shape, scale=scale) - stats.gamma.cdf(lo[~exact], shape, scale=scale)
        ll += np.log(np.maximum(width, 1e-300)).sum()
        return -float(ll)

    mid = (lo + hi) / 2
    guess_mean, guess_var = max(float(mid.mean()), 0.1), max(float(mid.var()), 0.1)
    start = np.log([guess_mean**2 / guess_var, guess_var / guess_mean])
    fit = optimize.minimize(negative_log_likelihood, start, method="Nelder-Mead",
                            options={"xatol": 1e-8, "fatol": 1e-10, "maxiter": 5000})
    shape, scale = (float(v) for v in np.exp(fit.x))
    return SerialInterval(
        n=int(lo.size),
        mean=shape * scale,
        sd=math.sqrt(shape) * scale,
        gamma_shape=shape,
        gamma_scale=scale,
    )
