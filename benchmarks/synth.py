"""Time and size `epitrace.synth.generate` at a given scale.

Usage: python benchmarks/synth.py --people 1000000 --days 30

Prints wall seconds, peak RSS, presence and infection counts, and the ratio of a
floor (one numpy pass writing as many int32 presence rows as the run produced, into
fresh memory) to the generation time: the share of the run that writing the output
alone explains. Then times building the interview index and a few hundred interviews.
"""

from __future__ import annotations

import argparse
import mmap
import resource
import sys
import time

import numpy as np

from epitrace.synth import SynthConfig, generate

PRESENCE_COLUMNS = 4  # person_id, place_id, start, end


def floor_seconds(rows: int) -> tuple[float, float]:
    """Seconds to write `rows` four-column int32 rows in one numpy pass: (cold, warm).

    Cold writes into a fresh anonymous mapping, so it pays the page faults that the
    generator also pays for its output; warm rewrites the same, now mapped, pages
    and measures write bandwidth alone.
    """
    buffer = mmap.mmap(-1, max(rows, 1) * PRESENCE_COLUMNS * 4)
    table = np.frombuffer(buffer, dtype=np.int32).reshape(-1, PRESENCE_COLUMNS)
    began = time.perf_counter()
    table[:] = 1
    cold = time.perf_counter() - began
    began = time.perf_counter()
    table[:] = 2
    warm = time.perf_counter() - began
    del table
    buffer.close()
    return cold, warm


def peak_rss_mib() -> float:
    """Peak resident set size of this process (ru_maxrss is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=20_000, help="residents of the city")
    parser.add_argument("--days", type=int, default=30, help="simulated days")
    parser.add_argument("--seed", type=int, default=1, help="random seed")
    parser.add_argument(
        "--interviews",
        type=int,
        default=200,
        help="interviews to time after generation (0 to skip)",
    )
    args = parser.parse_args()

    began = time.perf_counter()
    outbreak = generate(SynthConfig(people=args.people, days=args.days, seed=args.seed))
    generate_seconds = time.perf_counter() - began
    rss_after_generate = peak_rss_mib()
    rows = len(outbreak.presence_arrays())
    floor_cold, floor_warm = floor_seconds(rows)

    print(f"people            {args.people:,}")
    print(f"days              {args.days}")
    print(f"generate_seconds  {generate_seconds:.2f}")
    print(f"peak_rss_mib      {rss_after_generate:,.0f}")
    print(f"presences         {rows:,}")
    print(f"infections        {outbreak.infections.height:,}")
    print(f"lab_reports       {outbreak.lab_reports.height:,}")
    print(f"floor_seconds     {floor_cold:.3f}  (warm pages: {floor_warm:.3f})")
    print(f"floor_ratio       {floor_cold / generate_seconds:.4f}")

    if args.interviews:
        cases = outbreak.infections["person_id"].to_numpy()[: args.interviews]
        began = time.perf_counter()
        outbreak.interview(int(cases[0]), since=outbreak.epoch, until=outbreak.epoch + 86_400)
        index_seconds = time.perf_counter() - began
        began = time.perf_counter()
        for day, person in enumerate(cases.tolist()):
            since = outbreak.epoch + (day % args.days) * 86_400
            outbreak.interview(person, since=since, until=since + 7 * 86_400)
            outbreak.test_result(person, collected_day=day % args.days)
        per_call = (time.perf_counter() - began) / len(cases)
        print(f"index_seconds     {index_seconds:.2f}")
        print(f"interview_ms      {per_call * 1000:.2f}")
        print(f"peak_rss_mib_all  {peak_rss_mib():,.0f}")


if __name__ == "__main__":
    main()
