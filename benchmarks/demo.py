"""Time `epitrace demo` end to end at a given size.

Usage: python benchmarks/demo.py --people 20000 --days 30

Prints the demo's wall seconds and peak RSS, and the ratio of a floor measured in the same run
(generating the same synthetic city alone, which the demo must also do) to the demo's time: the
share of the demo that the city generation explains; the rest is the tracing pipeline on SQLite.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from epitrace.pipeline.demo import run_demo
from epitrace.synth import SynthConfig, generate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    started = time.perf_counter()
    generate(SynthConfig(people=args.people, days=args.days, seed=args.seed))
    floor = time.perf_counter() - started

    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        summary = run_demo(people=args.people, days=args.days, seed=args.seed, out=Path(out))
        demo = time.perf_counter() - started
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"people={args.people} days={args.days} cases={summary.cases} contacts={summary.contacts}")
    print(f"demo seconds: {demo:.1f}  (budget 120 s at 20,000 people x 30 days)")
    print(f"floor (generate the city alone) seconds: {floor:.2f}")
    print(f"ratio floor/demo: {floor / demo:.3f}")
    print(f"peak RSS MiB: {peak_mib:.0f}")


if __name__ == "__main__":
    main()
