"""Speed and memory of the exposure engine on seeded, city-like data.

Usage:
    python benchmarks/match.py --presences 10000000 --windows 10000
    python benchmarks/match.py --scaling                  # 1 M, 3 M, 10 M, 30 M presences
    python benchmarks/match.py --parquet 100000000        # stream 100 M presences from Parquet

Each size runs in a fresh subprocess so peak RSS belongs to that run alone. It prints presences
per second, peak RSS, and the ratio to a floor measured in the same process: one vectorised pass
computing a spatial bucket key for every presence (the least any grid-based matcher must do).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

CITY_LAT, CITY_LON = 52.37, 4.90
CITY_HALF_DEG = 0.09  # about 20 km across
DAYS = 30
EPOCH = 1_772_409_600  # 2026-03-02T00:00Z


def city(presences: int, windows: int, *, seed: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """People at places (homes, venues) with GPS jitter; windows at a subset of the places."""
    rng = np.random.default_rng(seed)
    n_places = max(1000, presences // 40)
    place_lat = CITY_LAT + rng.uniform(-CITY_HALF_DEG, CITY_HALF_DEG, n_places)
    place_lon = CITY_LON + rng.uniform(-CITY_HALF_DEG, CITY_HALF_DEG, n_places) * 1.6
    # Popular places get more visits (Zipf-like), as in a real city.
    weights = 1 / np.arange(1, n_places + 1) ** 0.6
    place = rng.choice(n_places, size=presences, p=weights / weights.sum())
    jitter = 10 / 111_195  # ~10 m of GPS noise
    start = EPOCH + rng.integers(0, DAYS * 86_400, presences)
    duration = np.clip(rng.lognormal(np.log(5400), 0.8, presences), 600, 36_000).astype(np.int64)
    presence_frame = pl.DataFrame({
        "person_id": rng.integers(0, max(1, presences // 20), presences),
        "lat": place_lat[place] + rng.normal(0, jitter, presences),
        "lon": place_lon[place] + rng.normal(0, jitter * 1.6, presences),
        "start": start,
        "end": start + duration,
    })
    window_place = rng.choice(n_places, size=windows, p=weights / weights.sum())
    window_start = EPOCH + rng.integers(0, DAYS * 86_400, windows)
    window_frame = pl.DataFrame({
        "window_id": np.arange(windows),
        "lat": place_lat[window_place],
        "lon": place_lon[window_place],
        "radius_m": rng.choice([30.0, 50.0, 100.0, 150.0], windows),
        "start": window_start,
        "end": window_start + rng.integers(3600, 4 * 3600, windows),
    })
    return presence_frame, window_frame


def floor_seconds(lat: np.ndarray, lon: np.ndarray) -> float:
    """One vectorised pass computing a spatial bucket key per presence (best of three)."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        key = (np.floor((lat + 90) * 1000).astype(np.int64) << 20) + np.floor((lon + 180) * 1000).astype(np.int64)
        best = min(best, time.perf_counter() - started)
        del key
    return best


def run_one(presences: int, windows: int, seed: int) -> dict:
    from epitrace.engine import match

    p, w = city(presences, windows, seed=seed)
    floor = floor_seconds(p["lat"].to_numpy(), p["lon"].to_numpy())
    started = time.perf_counter()
    exposures = match(p, w)
    seconds = time.perf_counter() - started
    return {
        "presences": presences, "windows": windows, "exposures": exposures.height, "seconds": seconds,
        "rate": presences / seconds, "floor_rate": presences / floor,
        "peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
    }


def run_parquet(presences: int, windows: int, seed: int, chunk_rows: int) -> dict:
    from epitrace.engine import iter_table, match_chunks

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "presences.parquet"
        import pyarrow.parquet as pq

        writer = None
        _, w = city(10_000, windows, seed=seed)
        for i, offset in enumerate(range(0, presences, chunk_rows)):
            part, _ = city(min(chunk_rows, presences - offset), windows, seed=seed + i)
            table = part.to_arrow()
            writer = writer or pq.ParquetWriter(path, table.schema)
            writer.write_table(table)
        writer.close()  # type: ignore[union-attr]
        generated_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
        started = time.perf_counter()
        exposures = match_chunks(iter_table(path, chunk_rows=chunk_rows), w)
        seconds = time.perf_counter() - started
        size_gib = path.stat().st_size / 2**30
    return {"presences": presences, "windows": windows, "exposures": exposures.height, "seconds": seconds,
            "rate": presences / seconds, "parquet_gib": size_gib, "chunk_rows": chunk_rows,
            "peak_rss_gib_while_writing": generated_rss,
            "peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20}


def in_subprocess(args: list[str]) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def report(result: dict) -> None:
    line = (f"presences {result['presences']:>11,}  windows {result['windows']:,}  exposures {result['exposures']:,}  "
            f"{result['seconds']:.2f} s  {result['rate'] / 1e6:.1f} M presences/s  peak RSS {result['peak_rss_gib']:.2f} GiB")
    if "floor_rate" in result:
        line += f"  floor {result['floor_rate'] / 1e6:.0f} M/s  ratio {result['rate'] / result['floor_rate']:.2f}"
    print(line, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presences", type=int, default=10_000_000)
    parser.add_argument("--windows", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scaling", action="store_true", help="Run 1 M, 3 M, 10 M and 30 M presences.")
    parser.add_argument("--parquet", type=int, metavar="N", help="Stream N presences from a Parquet file.")
    parser.add_argument("--chunk-rows", type=int, default=5_000_000)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        if args.parquet:
            result = run_parquet(args.parquet, args.windows, args.seed, args.chunk_rows)
        else:
            result = run_one(args.presences, args.windows, args.seed)
        print(json.dumps(result))
        return
    common = ["--windows", str(args.windows), "--seed", str(args.seed)]
    if args.parquet:
        result = in_subprocess([*common, "--parquet", str(args.parquet), "--chunk-rows", str(args.chunk_rows)])
        report(result)
        print(f"  Parquet file {result['parquet_gib']:.2f} GiB, read in chunks of {result['chunk_rows']:,} rows")
        return
    sizes = [1_000_000, 3_000_000, 10_000_000, 30_000_000] if args.scaling else [args.presences]
    results = [in_subprocess([*common, "--presences", str(n)]) for n in sizes]
    for result in results:
        report(result)
    if len(results) > 1:
        base = results[0]
        for result in results[1:]:
            growth = (result["seconds"] / base["seconds"]) / (result["presences"] / base["presences"])
            print(f"  time per presence at {result['presences']:,} vs {base['presences']:,}: x{growth:.2f} (1.00 = linear)")


if __name__ == "__main__":
    main()
