"""Kill -9 a large lab import at random moments: each trial must leave all of the file or none (issue 11, point 6).

Usage:
    python benchmarks/kill_import.py                                  # SQLite, 1,500 rows, 20 trials
    python benchmarks/kill_import.py --backend postgresql             # a throw-away durable PostgreSQL server
    python benchmarks/kill_import.py --database-url postgresql+psycopg://me@host/postgres   # your server
    python benchmarks/kill_import.py --rows 5000 --trials 5 --seed 7

The import (``epitrace import labs FILE``) is one transaction: the file is read and checked, then
every row is written under the writers' lock (SQLite ``BEGIN IMMEDIATE``, PostgreSQL an advisory
lock), and one COMMIT ends it. Each trial starts that command as its own OS process, with the
environment a user has (``EPITRACE_DATABASE_URL``), on a fresh copy of a template database that
already holds an earlier small import (so "none" is a non-empty state), and kills it with SIGKILL
at a moment drawn (``--seed``) from the duration of an uninterrupted import: stratified over the
whole run and a little past its end, plus a fifth of the trials aimed at the COMMIT. Then:

* outcome: the database is compared, table by table (row counts and a content digest), with the
  template (``none``) and with a reference copy the file was imported into cleanly (``all``);
  anything else is ``PARTIAL``. The digest leaves out wall-clock columns and the audit hashes built
  from them, and replaces ids by the rank of the row they name, so a PostgreSQL sequence advanced by
  a rolled-back attempt does not count as a difference;
* ``epitrace audit verify`` must exit 0;
* the import is run again to completion: after ``none`` it must import the whole file, after
  ``all`` say that everything was imported before; either way the database must then equal the
  reference, and ``audit verify`` pass again.

Where the kill landed is told two ways: by the phases of an instrumented clean run (start-up and
reading the file, checking against the database, writing rows, COMMIT, committed), and by a sign read
from the database just before the kill: on PostgreSQL whether the importer's transaction had
written (``pg_stat_activity.backend_xid``), on SQLite whether it held the WAL write lock
(``/proc/locks``: taken at ``BEGIN IMMEDIATE``, so also while checking) and how big the WAL was.
The run exits 1 if any trial is partial or fails a check.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import DateTime, Engine, Integer, create_engine, make_url, select, text
from sqlalchemy.pool import NullPool

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
HEADER = ("lab_id,specimen_id,collected_on,resulted_on,result,test_type,given_name,family_name,date_of_birth,"
          "sex,phone,national_id,address,jurisdiction_code")
GIVEN = ("Ana", "Bram", "Chloe", "Daan", "Eva", "Finn", "Gwen", "Hugo", "Ines", "Jan", "Kim", "Lars", "Mila", "Noah",
         "Olga", "Piet", "Quinn", "Rosa", "Sem", "Tess", "Umar", "Vera", "Wout", "Xena", "Yara", "Zoe")
FAMILY = ("Silva", "de Vries", "Jansen", "Bakker", "Visser", "Smit", "Meijer", "de Boer", "Mulder", "de Groot",
          "Bos", "Vos", "Peters", "Hendriks", "van Dijk", "Dekker", "Brouwer", "de Wit", "Dijkstra", "Smits")
LAST_DAY = date(2026, 11, 30)  # every result date on or before it (the importer refuses future results)
AUDIT_ID_TABLES = {"person": "person", "case": "case_record", "lab result": "lab_result", "task": "task",
                   "contact": "contact"}
"""Audit record types whose ``record_id`` is a row id, and the table it numbers."""
SKIPPED_COLUMNS = {"audit_event": {"hash", "prev_hash"}}
"""Columns derived from wall-clock values (the chain's hashes cover each entry's time)."""
PHASES = ("start-up+read", "check", "write", "commit", "committed")
# Run inside the calibration import only: notes when the first statement, the first INSERT and the COMMIT happen.
PROBE = """
import atexit, sys, time
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
marks = {}
def note(name):
    marks.setdefault(name, time.monotonic())
@event.listens_for(Engine, "before_cursor_execute")
def _statement(conn, cursor, statement, *args):
    note("check")
    if statement.lstrip().upper().startswith("INSERT"):
        note("write")
@event.listens_for(Engine, "commit")
def _commit(conn):
    marks["commit"] = time.monotonic()  # the last COMMIT is the import's
@event.listens_for(Session, "after_commit")
def _committed(session):
    marks["committed"] = time.monotonic()
atexit.register(lambda: sys.stderr.write("PROBE " + repr(marks) + "\\n"))
sys.argv = ["epitrace", *sys.argv[1:]]
from epitrace.cli import main
main()
"""


# The lab file ---------------------------------------------------------------------------------------------------

def lab_lines(rows: int, *, seed: int, prefix: str = "S") -> list[str]:
    """``rows`` CSV lines of lab results: about 60% distinct persons, the rest repeat tests of earlier
    ones (a positive joins their open case, a negative closes nothing), and a few near-duplicates."""
    rng = random.Random(seed)
    persons: list[tuple[str, str, str, str, str]] = []
    lines = []
    for i in range(rows):
        if not persons or rng.random() < 0.6:
            given, family = rng.choice(GIVEN), rng.choice(FAMILY)
            born = (date(1940, 1, 1) + timedelta(days=rng.randrange(25_000))).isoformat()
            phone = f"+316{rng.randrange(10**8):08d}" if rng.random() < 0.7 else ""
            national = f"NL{rng.randrange(10**9):09d}" if rng.random() < 0.3 else ""
            if persons and rng.random() < 0.02:  # a near-duplicate: another spelling, no phone
                given, family, born, _, _ = rng.choice(persons)
                given, phone, national = given + "a", "", ""
            persons.append((given, family, born, phone, national))
            person = persons[-1]
        else:
            person = rng.choice(persons)
        given, family, born, phone, national = person
        collected = LAST_DAY - timedelta(days=rng.randrange(120))
        resulted = min(LAST_DAY, collected + timedelta(days=rng.randrange(4)))
        result = rng.choices(("positive", "negative", "inconclusive"), weights=(40, 55, 5))[0]
        lines.append(",".join([f"LAB-{'ABC'[i % 3]}", f"{prefix}{i:07d}", collected.isoformat(), resulted.isoformat(),
                               result, rng.choice(("PCR", "antigen")), given, family, born,
                               rng.choice(("female", "male", "")), phone, national, f"{1 + i % 200} Main St",
                               rng.choice(("D1", "D2", "D2"))]))
    return lines


def write_lab_file(path: Path, rows: int, *, seed: int, prefix: str = "S") -> Path:
    path.write_text("\n".join([HEADER, *lab_lines(rows, seed=seed, prefix=prefix)]) + "\n", encoding="utf-8")
    return path


# Databases ------------------------------------------------------------------------------------------------------

def prepare_template(url: str, folder: Path, *, seed: int) -> None:
    """Migrate ``url``, add CITY > D1, D2 and import a small earlier file (the state a kill must leave)."""
    from epitrace.cli.labs import _import
    from epitrace.intake.labs import read_lab_csv
    from epitrace.storage.db import make_engine, write_session
    from epitrace.storage.jurisdictions import add_jurisdiction
    from epitrace.storage.migrate import upgrade

    engine = make_engine(url)
    try:
        upgrade(engine)
        with write_session(engine) as session:
            add_jurisdiction(session, "CITY", "Synthville")
            add_jurisdiction(session, "D1", "North District", parent_code="CITY")
            add_jurisdiction(session, "D2", "South District", parent_code="CITY")
    finally:
        engine.dispose()
    earlier = write_lab_file(folder / "earlier.csv", 200, seed=seed + 1, prefix="E")
    previous = os.environ.get("EPITRACE_DATABASE_URL")
    os.environ["EPITRACE_DATABASE_URL"] = url
    try:
        data = earlier.read_bytes()
        _import(read_lab_csv(data, source=earlier.name), source=str(earlier), sha256=hashlib.sha256(data).hexdigest(),
                dry_run=False)
    finally:
        if previous is None:
            os.environ.pop("EPITRACE_DATABASE_URL")
        else:
            os.environ["EPITRACE_DATABASE_URL"] = previous


@dataclass(frozen=True)
class Snapshot:
    """Row count and content digest of every table."""

    tables: dict[str, tuple[int, str]]

    def differences(self, other: Snapshot) -> list[str]:
        return [f"{name}: {self.tables.get(name)} vs {other.tables.get(name)}"
                for name in sorted(set(self.tables) | set(other.tables)) if self.tables.get(name) != other.tables.get(name)]

    def rows(self, table: str) -> int:
        return self.tables[table][0]


def snapshot(url: str) -> Snapshot:
    """Every table's rows and digest. Foreign keys and audit ids are replaced by the rank of the row they
    name in its table, and a row's own id is left out; so are wall-clock columns and the hashes over them."""
    from epitrace.storage.models import Base

    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            ranks: dict[str, dict[int, int]] = {}
            for table in Base.metadata.sorted_tables:
                if "id" in table.c and isinstance(table.c.id.type, Integer):
                    ranks[table.name] = {i: n for n, i in enumerate(conn.scalars(select(table.c.id).order_by(table.c.id)))}
            tables = {}
            for table in Base.metadata.sorted_tables:
                # A row's own id is left out (rows are compared as a set): the order some rows are inserted in is
                # not fixed (merge candidates follow an unordered query), only what they say and point to.
                columns = [c for c in table.c if not isinstance(c.type, DateTime) and not (c.name == "id" and table.name in ranks)
                           and c.name not in SKIPPED_COLUMNS.get(table.name, ())]
                refer = {c.name: next(iter(c.foreign_keys)).column.table.name for c in columns if c.foreign_keys}
                if table.name == "audit_event":
                    refer["person_id"] = "person"
                rows = []
                for row in conn.execute(select(*columns)).mappings():
                    values = {}
                    for name, value in row.items():
                        if name in refer and value is not None:
                            value = ranks[refer[name]].get(value, f"missing {value}")
                        elif isinstance(value, date):
                            value = value.isoformat()
                        values[name] = value
                    if table.name == "audit_event" and str(values["record_id"]).isdigit() \
                            and values["record_type"] in AUDIT_ID_TABLES:
                        values["record_id"] = ranks[AUDIT_ID_TABLES[values["record_type"]]].get(int(values["record_id"]))
                    rows.append(json.dumps(values, sort_keys=True, default=str))
                rows.sort()
                tables[table.name] = (len(rows), hashlib.sha256("\n".join(rows).encode()).hexdigest()[:16])
            return Snapshot(tables)
    finally:
        engine.dispose()


@dataclass
class Databases:
    """Makes trial databases: ``new(name, copy_of)`` returns a URL, ``drop(url)`` removes one."""

    new: Callable[[str, str | None], str]
    drop: Callable[[str], None] = lambda url: None


def sqlite_databases(folder: Path) -> Databases:
    def new(name: str, copy_of: str | None) -> str:
        path = folder / f"{name}.db"
        for stale in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            stale.unlink(missing_ok=True)
        if copy_of:
            shutil.copyfile(make_url(copy_of).database, path)  # type: ignore[arg-type]
            path.chmod(0o600)
        return f"sqlite:///{path}"

    def drop(url: str) -> None:
        path = make_url(url).database
        for stale in (path, f"{path}-wal", f"{path}-shm"):
            Path(stale).unlink(missing_ok=True)  # type: ignore[arg-type]

    return Databases(new, drop)


def postgresql_databases(server_url: str) -> Databases:
    """Databases on the server at ``server_url`` (a maintenance database), named ``kill_<name>``."""
    admin = create_engine(make_url(server_url), isolation_level="AUTOCOMMIT", poolclass=NullPool)

    def new(name: str, copy_of: str | None) -> str:
        database = f"kill_{name}"
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
            template = f' TEMPLATE "{make_url(copy_of).database}"' if copy_of else ""
            conn.execute(text(f'CREATE DATABASE "{database}"{template}'))
        return make_url(server_url).set(database=database).render_as_string(hide_password=False)

    def drop(url: str) -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))

    return Databases(new, drop)


# Running the command --------------------------------------------------------------------------------------------

def command_env(url: str) -> dict[str, str]:
    """The environment a user runs epitrace with: theirs, without other EPITRACE_* settings, plus the database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EPITRACE_")}
    env["EPITRACE_DATABASE_URL"] = url
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(SRC), env.get("PYTHONPATH", "")) if p)
    return env


def epitrace(url: str, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run ``epitrace ARGS`` to completion as its own process."""
    return subprocess.run([sys.executable, "-m", "epitrace", *args], env=command_env(url), capture_output=True,
                          text=True, timeout=timeout, check=False)


@dataclass(frozen=True)
class Phases:
    """When each phase of a clean import began, in seconds after the process was started, its whole
    duration, and (SQLite) the most the WAL held meanwhile: the COMMIT writes it."""

    starts: dict[str, float]
    duration: float
    wal_bytes: int = 0

    def at(self, moment: float) -> str:
        """The phase under way ``moment`` seconds after the start (``after`` once the process has ended)."""
        if moment >= self.duration:
            return "after"
        return [name for name in PHASES if self.starts.get(name, 0.0) <= moment][-1]


@dataclass(frozen=True)
class Moment:
    """When to kill: ``at`` seconds after the start, or sooner: (SQLite) as soon as the WAL holds
    ``wal_bytes``, or ``after_writing`` seconds after the process was first seen in its write
    transaction (see ``writing``)."""

    at: float
    wal_bytes: int | None = None
    after_writing: float | None = None


def writing(sign: str) -> bool:
    """Whether a sign says the importer is in its write transaction (PostgreSQL: it has written, so has an
    xid; SQLite: it holds the write lock, taken at BEGIN IMMEDIATE just before the ~50 ms check)."""
    return sign.startswith(("written", "write lock"))


def wal_size(url: str) -> int:
    """Bytes in a SQLite database's WAL file (0 for none, and on PostgreSQL)."""
    if not url.startswith("sqlite"):
        return 0
    try:
        return os.stat(f"{make_url(url).database}-wal").st_size
    except FileNotFoundError:
        return 0


def probed_import(url: str, lab_file: Path) -> Phases:
    """A clean import with its phases noted (``PROBE``); the database at ``url`` gets the file."""
    started = time.monotonic()
    process = subprocess.Popen([sys.executable, "-c", PROBE, "import", "labs", str(lab_file)], env=command_env(url),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    most = 0
    while process.poll() is None:
        most = max(most, wal_size(url))
        time.sleep(0.001)
    duration = time.monotonic() - started
    _, stderr = process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"the probed import failed ({process.returncode}): {stderr[-2000:]}")
    line = next(line for line in stderr.splitlines() if line.startswith("PROBE "))
    marks = eval(line.removeprefix("PROBE "), {})  # noqa: S307 - a dict of floats this module's probe printed
    return Phases({"start-up+read": 0.0, **{k: v - started for k, v in marks.items()}}, duration, most)


def _sqlite_sign(url: str, pid: int) -> str:
    """Whether ``pid`` holds the WAL write lock (byte 120 of the -shm file) and how big the WAL is."""
    path = make_url(url).database
    try:
        inode = os.stat(f"{path}-shm").st_ino
    except FileNotFoundError:
        return "no wal"
    locked = False
    for line in Path("/proc/locks").read_text().splitlines():
        parts = line.split()
        if "->" in parts:
            continue  # a waiter
        if len(parts) >= 8 and parts[4] == str(pid) and parts[5].endswith(f":{inode}") and parts[6] == "120":
            locked = True
    wal = os.stat(f"{path}-wal").st_size if os.path.exists(f"{path}-wal") else 0
    return f"{'write lock' if locked else 'no lock'}, wal {wal // 1024} KiB"


def _postgresql_sign(probe: Engine | None) -> str:
    """Whether another backend on the database is in a transaction that has written (has an xid)."""
    if probe is None:
        return ""
    with probe.connect() as conn:
        row = conn.execute(text("SELECT state, backend_xid IS NOT NULL, left(query, 30) FROM pg_stat_activity "
                                "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                                "AND backend_type = 'client backend'")).first()
    if row is None:
        return "not connected"
    return f"{'written' if row[1] else 'not written'} ({row[0]})"


def settle(url: str) -> None:
    """Wait until no other backend is left on a PostgreSQL database (the killed client's backend ends
    when it notices, committing if COMMIT was already sent); nothing to wait for on SQLite."""
    if not url.startswith("postgresql"):
        return
    engine = create_engine(url, poolclass=NullPool)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                if not conn.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                        "AND pid <> pg_backend_pid() AND backend_type = 'client backend'")):
                    return
            time.sleep(0.05)
        raise RuntimeError(f"a backend is still connected to {make_url(url).database} a minute after the kill")
    finally:
        engine.dispose()


@dataclass
class Trial:
    """What one trial found."""

    number: int
    kill_at: float
    phase: str
    sign: str = ""
    returncode: int | None = None
    outcome: str = ""
    differences: list[str] = field(default_factory=list)
    verify: str = ""
    rerun: str = ""
    verify_after: str = ""

    @property
    def killed(self) -> bool:
        return self.returncode == -signal.SIGKILL

    @property
    def while_writing(self) -> bool:
        """Killed in its write transaction, before the COMMIT took: the sign read at the kill says so
        (``writing``, or the COMMIT's WAL growing), whatever the timed phase (runs vary by a fifth)."""
        growing = self.sign.startswith("wal ") and self.sign != "wal 0 KiB"
        return self.killed and self.outcome == "none" and (writing(self.sign) or growing)

    @property
    def failed(self) -> bool:
        return self.outcome not in ("none", "all") or not self.verify.startswith("ok") \
            or not self.rerun.startswith("ok") or not self.verify_after.startswith("ok")


def kill_import(url: str, lab_file: Path, moment: Moment) -> tuple[int, float, str]:
    """Start the import and SIGKILL it at ``moment``; returns its exit code (``-9``: killed; 0: it had
    finished), when the kill was sent (seconds after the start) and the sign read just before it."""
    probe = create_engine(url, poolclass=NullPool) if url.startswith("postgresql") else None
    try:
        started = time.monotonic()
        process = subprocess.Popen([sys.executable, "-m", "epitrace", "import", "labs", str(lab_file)],
                                   env=command_env(url), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = started + moment.at
            wal, writing_since = 0, None
            sign_now = (lambda: _postgresql_sign(probe)) if probe is not None else (
                lambda: _sqlite_sign(url, process.pid))
            while process.poll() is None and time.monotonic() < deadline:
                if moment.wal_bytes is not None:  # a short sleep: the COMMIT writes its WAL in milliseconds
                    if (wal := wal_size(url)) >= moment.wal_bytes:
                        break
                    time.sleep(0.0002)
                elif moment.after_writing is not None and writing_since is None:
                    if writing(sign_now()):
                        writing_since = time.monotonic()
                        deadline = writing_since + moment.after_writing
                    else:
                        time.sleep(0.005)
                else:
                    time.sleep(min(0.01, max(0.0, deadline - time.monotonic())))
            killed_at = time.monotonic() - started
            sign = "finished"
            if process.poll() is None:
                if moment.wal_bytes is not None:
                    sign = f"wal {wal // 1024} KiB"  # reading /proc/locks first would let the COMMIT run on
                else:
                    sign = sign_now()
                os.kill(process.pid, signal.SIGKILL)  # a zombie (finished, not yet waited for) ignores it
            return process.wait(), killed_at, sign
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    finally:
        if probe is not None:
            probe.dispose()


def check(url: str, *, expected: tuple[Snapshot, Snapshot]) -> tuple[str, list[str]]:
    """``none``, ``all`` or ``PARTIAL``, and the tables that differ from the nearer of the two."""
    before, after = expected
    found = snapshot(url)
    if found == before:
        return "none", []
    if found == after:
        return "all", []
    near = before if found.rows("lab_result") == before.rows("lab_result") else after
    return "PARTIAL", found.differences(near)


def verify(url: str) -> str:
    done = epitrace(url, "audit", "verify")
    return "ok" if done.returncode == 0 else f"FAILED ({done.returncode}: {(done.stdout + done.stderr).strip()[:200]})"


def rerun(url: str, lab_file: Path, *, outcome: str, rows: int, reference: Snapshot) -> str:
    """Import again to completion: the whole file after ``none``, nothing after ``all``; the database
    must then equal the reference."""
    done = epitrace(url, "import", "labs", str(lab_file))
    if done.returncode != 0:
        return f"FAILED (exit {done.returncode}: {(done.stdout + done.stderr).strip()[:300]})"
    said = done.stdout.strip().splitlines()[0] if done.stdout.strip() else ""
    wanted = f"Imported {rows} result(s)" if outcome == "none" else "Nothing to import"
    if not said.startswith(wanted):
        return f"FAILED (expected {wanted!r}, got {said[:200]!r})"
    differences = snapshot(url).differences(reference)
    if differences:
        return f"FAILED (differs from the reference: {'; '.join(differences)})"
    return "ok, imported all" if outcome == "none" else "ok, already imported"


def run_trial(number: int, url: str, lab_file: Path, moment: Moment, *, phases: Phases, rows: int,
              expected: tuple[Snapshot, Snapshot]) -> Trial:
    returncode, killed_at, sign = kill_import(url, lab_file, moment)
    phase = "commit" if moment.wal_bytes is not None else phases.at(killed_at)  # only the COMMIT writes the WAL
    trial = Trial(number, killed_at, phase, sign, returncode)
    settle(url)
    trial.outcome, trial.differences = check(url, expected=expected)
    trial.verify = verify(url)
    if trial.outcome in ("none", "all"):
        trial.rerun = rerun(url, lab_file, outcome=trial.outcome, rows=rows, reference=expected[1])
        trial.verify_after = verify(url)
    else:
        trial.rerun = trial.verify_after = "not run (partial)"
    return trial


# Kill moments ---------------------------------------------------------------------------------------------------

def kill_moments(trials: int, phases: Phases, *, seed: int) -> list[Moment]:
    """When to kill, in shuffled order: a fifth of the trials (at least one, from two trials) at the COMMIT
    (SQLite: once the WAL holds a random share of what the COMMIT writes; PostgreSQL: within 60 ms of
    it), the rest stratified over the whole run and 5% past its end."""
    rng = random.Random(seed)
    near_commit = max(1, trials // 5) if trials >= 2 else 0
    spread = trials - near_commit
    moments = [Moment((i + rng.random()) / spread * 1.05 * phases.duration) for i in range(spread)]
    for _ in range(near_commit):
        if phases.wal_bytes:
            moments.append(Moment(3 * phases.duration, wal_bytes=rng.randint(1, phases.wal_bytes)))
        else:
            commit = phases.starts.get("commit", phases.duration)
            moments.append(Moment(rng.uniform(commit - 0.06, phases.starts.get("committed", commit) + 0.06)))
    rng.shuffle(moments)
    return moments


# The benchmark --------------------------------------------------------------------------------------------------

@dataclass
class Setup:
    """A template database, a reference with the file imported, the file, and a clean run's phases."""

    databases: Databases
    template: str
    lab_file: Path
    rows: int
    expected: tuple[Snapshot, Snapshot]
    phases: Phases
    clean_durations: list[float]


def set_up(databases: Databases, folder: Path, *, rows: int, seed: int, clean_runs: int = 2) -> Setup:
    """Build the template, write the file, and time ``clean_runs`` uninterrupted imports (the first probed)."""
    template = databases.new("template", None)
    prepare_template(template, folder, seed=seed)
    lab_file = write_lab_file(folder / "labs.csv", rows, seed=seed)
    before = snapshot(template)
    reference = databases.new("reference", template)
    phases = probed_import(reference, lab_file)
    durations = [phases.duration]
    after = snapshot(reference)
    for n in range(clean_runs - 1):
        url = databases.new(f"clean{n}", template)
        started = time.monotonic()
        done = epitrace(url, "import", "labs", str(lab_file))
        durations.append(time.monotonic() - started)
        if done.returncode != 0:
            raise RuntimeError(f"a clean import failed: {done.stderr[-2000:]}")
        if snapshot(url) != after:
            raise RuntimeError(f"two clean imports differ: {snapshot(url).differences(after)}")
        databases.drop(url)
    return Setup(databases, template, lab_file, rows, (before, after),
                 Phases(phases.starts, statistics.median(durations), phases.wal_bytes), durations)


def run(setup: Setup, moments: list[Moment], *, report: Callable[[Trial], None] = lambda t: None) -> list[Trial]:
    trials = []
    for number, moment in enumerate(moments, 1):
        url = setup.databases.new("trial", setup.template)
        trial = run_trial(number, url, setup.lab_file, moment, phases=setup.phases, rows=setup.rows,
                          expected=setup.expected)
        setup.databases.drop(url)
        report(trial)
        trials.append(trial)
    return trials


def describe(trial: Trial, duration: float) -> str:
    killed = "killed" if trial.killed else f"exit {trial.returncode}"
    line = (f"{trial.number:>3}  {trial.kill_at * 1000:>7.0f} ms  {trial.kill_at / duration:>5.2f}  {trial.phase:<13}  "
            f"{killed:<8}  {trial.sign:<26}  {trial.outcome:<7}  {trial.verify:<6}  {trial.rerun:<20}  {trial.verify_after}")
    if trial.differences:
        line += "\n       " + "\n       ".join(trial.differences)
    return line


def summary(trials: list[Trial]) -> str:
    killed = [t for t in trials if t.killed]
    return (f"trials {len(trials)}, killed-before-commit {sum(t.outcome == 'none' for t in killed)}, "
            f"killed-after-commit {sum(t.outcome == 'all' for t in killed)}, "
            f"finished-before-kill {sum(t.returncode == 0 for t in trials)}, "
            f"killed-while-writing {sum(t.while_writing for t in trials)}, "
            f"partial {sum(t.outcome == 'PARTIAL' for t in trials)}, "
            f"verify failures {sum(not t.verify.startswith('ok') or not t.verify_after.startswith('ok') for t in trials)}, "
            f"re-run failures {sum(not t.rerun.startswith('ok') for t in trials)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite",
                        help="sqlite: files in a temporary folder; postgresql: a throw-away durable server")
    parser.add_argument("--database-url", help="a PostgreSQL maintenance database URL on a server the benchmark "
                        "may create kill_* databases on (instead of a throw-away server)")
    parser.add_argument("--rows", type=int, default=1_500, help="rows in the lab file (default 1,500)")
    parser.add_argument("--trials", type=int, default=20, help="kill trials (default 20)")
    parser.add_argument("--seed", type=int, default=11, help="seed of the file and the kill moments")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="epitrace-kill-"))
    try:
        if args.database_url:
            if not args.database_url.startswith("postgresql"):
                parser.error(f"--database-url {args.database_url!r}: expected a postgresql+psycopg:// URL; "
                             "for SQLite use --backend sqlite")
            databases, where = postgresql_databases(args.database_url), make_url(args.database_url).render_as_string()
        elif args.backend == "postgresql":
            sys.path.insert(0, str(ROOT))
            from benchmarks._postgres import start_throwaway_server

            server = start_throwaway_server(durable=True)
            databases, where = postgresql_databases(server), f"throw-away durable PostgreSQL ({server})"
        else:
            databases, where = sqlite_databases(folder), f"SQLite files in {folder}"
        print(f"{datetime.now():%Y-%m-%d %H:%M}  {where}; {args.rows:,} rows, {args.trials} trials, seed {args.seed}")
        setup = set_up(databases, folder, rows=args.rows, seed=args.seed)
        phases = setup.phases
        print(f"clean import: {', '.join(f'{d * 1000:.0f} ms' for d in setup.clean_durations)} (median "
              f"{phases.duration * 1000:.0f} ms); phases from "
              + ", ".join(f"{name} {phases.starts[name] * 1000:.0f}" for name in PHASES if name in phases.starts)
              + " ms" + (f"; the COMMIT wrote {phases.wal_bytes // 1024:,} KiB of WAL" if phases.wal_bytes else ""))
        before, after = setup.expected
        print("rows before/after: " + ", ".join(f"{t} {before.rows(t)}/{after.rows(t)}" for t in
                                                ("lab_result", "person", "case_record", "task", "merge_candidate",
                                                 "import_batch", "audit_event")))
        print("  #     kill at  frac  phase          process   sign at kill                outcome  verify  "
              "re-run                verify after")
        moments = kill_moments(args.trials, phases, seed=args.seed)
        trials = run(setup, moments, report=lambda t: print(describe(t, phases.duration), flush=True))
        print(summary(trials))
        sys.exit(1 if any(t.failed for t in trials) else 0)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
