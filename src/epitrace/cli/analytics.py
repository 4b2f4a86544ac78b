"""`epitrace rt` and `epitrace chains`: epidemiological estimates from files."""

from __future__ import annotations

from pathlib import Path

import typer

from epitrace.cli._common import console
from epitrace.errors import InputError


def _int_list(text: str | None, *, option: str) -> list[int] | None:
    if text is None:
        return None
    try:
        return [int(part) for part in text.replace(" ", "").split(",") if part]
    except ValueError:
        raise InputError(f"{option} {text!r} is not a list of days: expected whole numbers separated by commas, e.g. 2,9,16") from None


def rt_command(
    incidence: Path = typer.Option(..., "--incidence", help="CSV, one row per consecutive day: column I, or local and imported."),
    out: Path = typer.Option(..., "--out", help="Where to write the estimates (CSV)."),
    si_mean: float | None = typer.Option(None, "--si-mean", help="Mean serial interval in days (parametric, > 1)."),
    si_sd: float | None = typer.Option(None, "--si-sd", help="Standard deviation of the serial interval in days."),
    si_distr: Path | None = typer.Option(None, "--si-distr", help="CSV k,p: the discrete serial interval, k = 0, 1, ..."),
    t_start: str | None = typer.Option(None, "--t-start", help="Window starts, 1-based days, comma-separated (default 2..T-6)."),
    t_end: str | None = typer.Option(None, "--t-end", help="Window ends, inclusive, comma-separated (default 8..T)."),
    prior_mean: float = typer.Option(5.0, "--prior-mean", help="Mean of the gamma prior on R."),
    prior_sd: float = typer.Option(5.0, "--prior-sd", help="Standard deviation of the gamma prior on R."),
) -> None:
    """Estimate the reproduction number Rt (Cori et al. 2013, as EpiEstim computes it).

    Output columns: t_start, t_end, mean, std, q2_5, q5, q25, median, q75, q95, q97_5.

    Example:

    \b
        epitrace rt --incidence cases.csv --si-mean 2.6 --si-sd 1.5 --out rt.csv
        epitrace rt --incidence cases.csv --si-distr si.csv --t-start 2,9 --t-end 8,15 --out rt.csv
    """
    import numpy as np
    import polars as pl

    from epitrace.analytics.rt import estimate_rt, incidence_from_frame
    from epitrace.engine import read_table

    if si_distr is not None and (si_mean is not None or si_sd is not None):
        raise InputError("give either --si-distr or --si-mean with --si-sd, not both")
    if si_distr is None and (si_mean is None or si_sd is None):
        raise InputError("a serial interval is needed: give --si-mean and --si-sd, or --si-distr FILE")
    frame = read_table(incidence)
    distribution = None
    if si_distr is not None:
        table = read_table(si_distr)
        if not {"k", "p"} <= set(table.columns):
            raise InputError(f"{si_distr.name} must have columns k and p (k = 0, 1, 2, ...), got {', '.join(table.columns)}")
        table = table.sort("k")
        if table["k"].to_list() != list(range(table.height)):
            raise InputError(f"{si_distr.name}: k must be 0, 1, 2, ... without gaps")
        distribution = table["p"].cast(pl.Float64).to_numpy()
    starts, ends = _int_list(t_start, option="--t-start"), _int_list(t_end, option="--t-end")
    if (starts is None) != (ends is None):
        raise InputError("give --t-start and --t-end together, or neither for weekly sliding windows")
    result = estimate_rt(
        incidence_from_frame(frame, source=incidence.name), si_mean=si_mean, si_sd=si_sd, si_distr=distribution,
        t_start=None if starts is None else np.array(starts), t_end=None if ends is None else np.array(ends),
        prior_mean=prior_mean, prior_sd=prior_sd,
    )
    result.write_csv(out)
    console.print(f"{result.height} window(s) estimated; written to {out}.")


def chains_command(
    links: Path = typer.Option(..., "--links", help="CSV case_id, infector_id (empty = unknown source), optional onset."),
    out: Path = typer.Option(..., "--out", help="Where to write the statistics (JSON)."),
) -> None:
    """Transmission-chain statistics: roots, chain sizes, generations, offspring, serial interval.

    Example:

    \b
        epitrace chains --links links.csv --out chains.json
    """
    import csv
    import json

    from epitrace.analytics.chains import chain_statistics, links_from_rows
    from epitrace.intake.labs import decode_csv_bytes

    if not links.is_file():
        raise InputError(f"{links} does not exist or is not a file; check the path")
    text = decode_csv_bytes(links.read_bytes(), source=links.name)
    rows = list(csv.DictReader(text.splitlines()))
    stats = chain_statistics(links_from_rows(rows, source=links.name))
    out.write_text(json.dumps(stats, indent=2) + "\n", encoding="utf-8")
    console.print(f"{stats['n_cases']} case(s) in {len(stats['chain_sizes'])} chain(s); written to {out}.")


def serial_interval_command(
    pairs: Path = typer.Option(..., "--pairs", help="CSV: infector_onset, infectee_onset (dates), or si_lower, si_upper (days)."),
) -> None:
    """Serial interval from infector-infectee pairs (exact onsets or interval-censored), with a gamma fit.

    Prints JSON: n, mean, sd, gamma_shape, gamma_scale, gamma_mean.

    Example:

    \b
        epitrace serial-interval --pairs pairs.csv
    """
    import json

    import polars as pl

    from epitrace.analytics.serial_interval import from_interval_censored, from_pairs
    from epitrace.engine import read_table

    frame = read_table(pairs)
    if {"infector_onset", "infectee_onset"} <= set(frame.columns):
        try:
            dates = frame.select(pl.col("infector_onset", "infectee_onset").cast(pl.String).str.to_date("%Y-%m-%d"))
        except pl.exceptions.InvalidOperationError:
            raise InputError(f"{pairs.name}: onsets must be dates as YYYY-MM-DD") from None
        gaps = (dates["infectee_onset"] - dates["infector_onset"]).dt.total_days().drop_nulls().to_numpy()
        result = from_pairs(gaps)
    elif {"si_lower", "si_upper"} <= set(frame.columns):
        result = from_interval_censored(frame["si_lower"].cast(pl.Float64).to_numpy(),
                                        frame["si_upper"].cast(pl.Float64).to_numpy())
    else:
        raise InputError(f"{pairs.name} has columns {', '.join(frame.columns)}: expected infector_onset and infectee_onset "
                         "(dates), or si_lower and si_upper (days)")
    print(json.dumps({k: (None if v is None else (round(v, 6) if isinstance(v, float) else v))
                      for k, v in result.as_dict().items()}, indent=2))
