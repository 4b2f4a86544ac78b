"""The kill test (issue 11, point 6): ``kill -9`` a lab import three times; each leaves all of the file or none.

The same trials as ``benchmarks/kill_import.py`` (its functions, loaded by path), on the suite's backend
and a smaller file: one kill during start-up, one while rows are being written (after the importer is
seen in its write transaction, so it lands there whatever the machine's speed), and one at the COMMIT.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from tests.backends import POSTGRES, database_url
from tests.scripts import load_benchmark

ROWS = 300



ki = load_benchmark("kill_import.py")


@pytest.mark.slow
def test_a_killed_import_leaves_all_of_the_file_or_none_and_a_rerun_imports_it_cleanly(tmp_path: Path) -> None:
    numbers = itertools.count()
    databases = ki.Databases(lambda name, copy_of: database_url(tmp_path, f"{name}{next(numbers)}", copy_of=copy_of))
    setup = ki.set_up(databases, tmp_path, rows=ROWS, seed=5, clean_runs=1)
    before, after = setup.expected
    assert (before.rows("lab_result"), after.rows("lab_result")) == (200, 200 + ROWS)
    phases = setup.phases
    writing_takes = phases.starts["commit"] - phases.starts["write"]
    at_commit = ki.Moment(phases.starts["commit"]) if POSTGRES else ki.Moment(3 * phases.duration,
                                                                              wal_bytes=phases.wal_bytes // 2)
    moments = [
        ki.Moment(phases.starts["check"] / 2),  # start-up: Python importing epitrace, reading the file
        ki.Moment(3 * phases.duration, after_writing=writing_takes / 3),
        at_commit,
    ]

    trials = ki.run(setup, moments)

    report = "\n".join(ki.describe(t, phases.duration) for t in trials)
    assert [t.outcome for t in trials if t.outcome not in ("none", "all")] == [], report
    assert [t for t in trials if t.failed] == [], report
    assert (trials[0].killed, trials[0].outcome) == (True, "none"), report
    assert trials[1].while_writing, report  # killed mid-write, and nothing of the file was left
